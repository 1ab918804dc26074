// libFuzzer target: CVBridge's full decode path (limits, header and completeness checks, the JPEG
// scan cap and data-versus-header check, then OpenCV's decoders) on any bytes. The pixel limit is
// lowered to 4 megapixels so each input decodes in milliseconds; the checks are the same.
// What must hold: no crash or sanitizer report, every failure has a message, and a decoded image
// has the size its header declared.
#include "CVBridge.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvb_decode_limits limits{};
    limits.max_file_bytes = 1 << 20;
    limits.max_pixels = 4'000'000;
    cvb_image *image = nullptr;
    cvb_error error{};
    const cvb_status status = cvb_decode_memory(data, size, &limits, &image, &error);
    if (status != CVB_OK) {
        if (image != nullptr || error.message[0] == '\0') std::abort();
        return 0;
    }
    const cvb_view view = cvb_image_view(image);
    int32_t width = 0, height = 0;
    cvb_image_format format{};
    if (cvb_probe_memory(data, size, &format, &width, &height, nullptr) != CVB_OK) std::abort();
    // EXIF orientation may turn a JPEG by 90°, swapping the sides.
    const bool same = (view.width == width && view.height == height) || (view.width == height && view.height == width);
    if (!same || view.channels != 3) std::abort();
    cvb_image_free(image);
    return 0;
}
