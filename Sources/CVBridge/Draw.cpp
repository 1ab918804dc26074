// Drawing for debug overlays (imgproc only; encoding them is Encode.cpp's, through the media plugin).
#include "Internal.hpp"

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
