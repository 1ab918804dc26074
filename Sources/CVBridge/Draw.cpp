// Drawing for debug overlays and image encoding.
#include "Internal.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace {
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
}

extern "C" cvb_status cvb_draw_rectangle(const cvb_view *image, int32_t x, int32_t y, int32_t width, int32_t height,
                                         const uint8_t color[3], int32_t thickness, cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || color == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "draw rectangle: bad image or colour");
    }
    return cvb::guarded(error, "draw rectangle", [&]() -> cvb_status {
        cv::rectangle(m, cv::Rect(x, y, width, height), cvb::scalarFromColor(color), thickness < 0 ? cv::FILLED : thickness,
                      cv::LINE_8);
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_draw_line(const cvb_view *image, int32_t x0, int32_t y0, int32_t x1, int32_t y1,
                                    const uint8_t color[3], int32_t thickness, cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || color == nullptr || thickness <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "draw line: bad image, colour or thickness");
    }
    return cvb::guarded(error, "draw line", [&]() -> cvb_status {
        cv::line(m, {x0, y0}, {x1, y1}, cvb::scalarFromColor(color), thickness, cv::LINE_AA);
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_draw_arrow(const cvb_view *image, int32_t x0, int32_t y0, int32_t x1, int32_t y1,
                                     const uint8_t color[3], int32_t thickness, cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || color == nullptr || thickness <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "draw arrow: bad image, colour or thickness");
    }
    return cvb::guarded(error, "draw arrow", [&]() -> cvb_status {
        cv::arrowedLine(m, {x0, y0}, {x1, y1}, cvb::scalarFromColor(color), thickness, cv::LINE_AA, 0, 0.2);
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_draw_text(const cvb_view *image, const char *text, int32_t x, int32_t y, double scale,
                                    const uint8_t color[3], int32_t thickness, cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || text == nullptr || color == nullptr || !(scale > 0) || thickness <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "draw text: bad image, text, colour, scale or thickness");
    }
    return cvb::guarded(error, "draw text", [&]() -> cvb_status {
        cv::putText(m, text, {x, y}, kFont, scale, cvb::scalarFromColor(color), thickness, cv::LINE_AA);
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_measure_text(const char *text, double scale, int32_t thickness, int32_t *width,
                                       int32_t *height, int32_t *baseline, cvb_error *error) {
    if (text == nullptr || !(scale > 0) || thickness <= 0) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "measure text: bad text, scale or thickness");
    }
    return cvb::guarded(error, "measure text", [&]() -> cvb_status {
        int base = 0;
        const cv::Size size = cv::getTextSize(text, kFont, scale, thickness, &base);
        if (width) *width = size.width;
        if (height) *height = size.height;
        if (baseline) *baseline = base;
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_encode(const cvb_view *image, cvb_image_format format, int32_t quality, cvb_buffer **out,
                                 cvb_error *error) {
    cv::Mat m;
    if (!cvb::matFromView(image, m) || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "encode: bad image or output");
    }
    *out = nullptr;
    const char *extension = nullptr;
    std::vector<int> params;
    switch (format) {
        case CVB_FORMAT_JPEG:
            extension = ".jpg";
            params = {cv::IMWRITE_JPEG_QUALITY, std::max(0, std::min(100, static_cast<int>(quality)))};
            break;
        case CVB_FORMAT_PNG: extension = ".png"; break;
        case CVB_FORMAT_BMP: extension = ".bmp"; break;
        case CVB_FORMAT_WEBP:
            extension = ".webp";
            params = {cv::IMWRITE_WEBP_QUALITY, std::max(1, std::min(101, static_cast<int>(quality)))};
            break;
        case CVB_FORMAT_TIFF: extension = ".tiff"; break;
        default: return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "encode: unknown format %d", int(format));
    }
    return cvb::guarded(error, "encode", [&]() -> cvb_status {
        cv::Mat bgr;
        if (m.channels() == 3) cv::cvtColor(m, bgr, cv::COLOR_RGB2BGR);
        else bgr = m;
        auto *buffer = new cvb_buffer();
        if (!cv::imencode(extension, bgr, buffer->bytes, params)) {
            delete buffer;
            return cvb::fail(error, CVB_ERR_ENCODE, "encode: OpenCV could not encode %s", cvb::formatName(format));
        }
        *out = buffer;
        return cvb::ok(error);
    });
}

extern "C" const uint8_t *cvb_buffer_data(const cvb_buffer *buffer) {
    return buffer ? buffer->bytes.data() : nullptr;
}
extern "C" size_t cvb_buffer_size(const cvb_buffer *buffer) { return buffer ? buffer->bytes.size() : 0; }
extern "C" void cvb_buffer_free(cvb_buffer *buffer) { delete buffer; }
