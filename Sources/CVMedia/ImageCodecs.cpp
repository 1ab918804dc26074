// OpenCV's image decoders (every format but JPEG, which CVBridge decodes through libjpeg) and
// encoders, with OpenCV's BGR turned into the bridge's RGB both ways.
#include "Media.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

cvb_status cvm::decode(const uint8_t *data, size_t size, const char *formatName, cvb_image **out,
                       cvb_error *error) {
    return cvb::guarded(error, "decode", [&]() -> cvb_status {
        const cv::Mat encoded(1, static_cast<int>(size), CV_8UC1, const_cast<uint8_t *>(data));
        cv::Mat bgr = cv::imdecode(encoded, cv::IMREAD_COLOR);
        if (bgr.empty()) {
            return cvb::fail(error, CVB_ERR_CORRUPT, "%s data is damaged: the decoder could not read the pixels",
                             formatName);
        }
        auto *image = new cvb_image();
        cv::cvtColor(bgr, image->pixels, cv::COLOR_BGR2RGB);
        *out = image;
        return cvb::ok(error);
    });
}

cvb_status cvm::encode(const cvb_view *image, cvb_image_format format, int32_t quality, cvb_buffer **out,
                       cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "encode: bad image or output");
    }
    *out = nullptr;
    const char *extension = nullptr, *name = nullptr;
    std::vector<int> params;
    switch (format) {
        case CVB_FORMAT_JPEG:
            extension = ".jpg", name = "JPEG";
            params = {cv::IMWRITE_JPEG_QUALITY, std::max(0, std::min(100, static_cast<int>(quality)))};
            break;
        case CVB_FORMAT_PNG: extension = ".png", name = "PNG"; break;
        case CVB_FORMAT_BMP: extension = ".bmp", name = "BMP"; break;
        case CVB_FORMAT_WEBP:
            extension = ".webp", name = "WebP";
            params = {cv::IMWRITE_WEBP_QUALITY, std::max(1, std::min(101, static_cast<int>(quality)))};
            break;
        case CVB_FORMAT_TIFF: extension = ".tiff", name = "TIFF"; break;
        default: return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "encode: unknown format %d", int(format));
    }
    return cvb::guarded(error, "encode", [&]() -> cvb_status {
        cv::Mat bgr;
        if (m.channels() == 3) cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
        else bgr = m;
        auto *buffer = new cvb_buffer();
        if (!cv::imencode(extension, bgr, buffer->bytes, params)) {
            delete buffer;
            return cvb::fail(error, CVB_ERR_ENCODE, "encode: OpenCV could not encode %s", name);
        }
        *out = buffer;
        return cvb::ok(error);
    });
}
