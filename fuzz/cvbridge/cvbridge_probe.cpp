// libFuzzer target: CVBridge's header probing (format detection and declared size) on any bytes.
// What must hold: no crash, no out-of-bounds read, and a success only with a positive size.
#include "CVBridge.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvb_image_format format = CVB_FORMAT_UNKNOWN;
    int32_t width = 0, height = 0;
    cvb_error error{};
    const cvb_status status = cvb_probe_memory(data, size, &format, &width, &height, &error);
    if (status == CVB_OK && (width <= 0 || height <= 0 || format == CVB_FORMAT_UNKNOWN)) std::abort();
    if (status != CVB_OK && error.message[0] == '\0') std::abort();  // every failure says why
    return 0;
}
