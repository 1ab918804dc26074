// libFuzzer target: CVBridge's full decode path (limits, header and completeness checks, the JPEG
// scan cap and data-versus-header check, then libjpeg for JPEG, libpng for PNG and, through the
// media plugin .build-fuzz/libCVMedia.so, OpenCV's decoders for the rest) on any bytes. The pixel limit is lowered to 4 megapixels so each input decodes in
// milliseconds; the checks are the same.
// What must hold: no crash or sanitizer report, every failure has a message, a decoded image has
// the size its header declared, a JPEG or PNG the bridge accepts decodes to exactly the pixels
// cv::imdecode(IMREAD_COLOR) gives (the bridge's libjpeg path must only ever refuse more), and the
// media plugin loads (a harness without it would fuzz nothing past the JPEG and PNG paths).
#include "CVBridge.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

/// The bridge's RGB pixels against OpenCV's own decode of the same bytes.
bool sameAsOpenCV(const uint8_t *data, size_t size, const cvb_view &view) {
    const cv::Mat encoded(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t *>(data));
    const cv::Mat bgr = cv::imdecode(encoded, cv::IMREAD_COLOR);
    if (bgr.empty() || bgr.cols != view.width || bgr.rows != view.height) return false;
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const cv::Mat ours(view.height, view.width, CV_8UC3, view.data, view.stride);
    return cv::norm(ours, rgb, cv::NORM_INF) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cvb_decode_limits limits{};
    limits.max_file_bytes = 1 << 20;
    limits.max_pixels = 4'000'000;
    cvb_image *image = nullptr;
    cvb_error error{};
    const cvb_status status = cvb_decode_memory(data, size, &limits, &image, &error);
    if (status == CVB_ERR_MISSING_LIBRARY) {
        std::fprintf(stderr, "%s\n", error.message);
        std::abort();
    }
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
    if ((format == CVB_FORMAT_JPEG || format == CVB_FORMAT_PNG) && !sameAsOpenCV(data, size, view)) std::abort();
    cvb_image_free(image);
    return 0;
}
