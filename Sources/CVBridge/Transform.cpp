// Resizing, letterboxing, colour conversion and the model's input tensor.
#include "Internal.hpp"

#include <opencv2/imgproc.hpp>

#include <cmath>

namespace {

int interpolationFlag(cvb_interpolation interpolation) {
    switch (interpolation) {
        case CVB_INTERP_BILINEAR: return cv::INTER_LINEAR;
        case CVB_INTERP_NEAREST: return cv::INTER_NEAREST;
        case CVB_INTERP_AREA:
        default: return cv::INTER_AREA;
    }
}

}  // namespace

extern "C" cvb_status cvb_resize(const cvb_view *src, const cvb_view *dst, cvb_interpolation interpolation,
                                 cvb_error *error) {
    cv::Mat in, out;
    if (!cvb::matFromView(src, in)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "resize: bad source image");
    if (!cvb::matFromView(dst, out)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "resize: bad target image");
    if (in.channels() != out.channels()) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "resize: source has %d channels, target %d", in.channels(),
                         out.channels());
    }
    return cvb::guarded(error, "resize", [&]() -> cvb_status {
        const uchar *before = out.data;
        cv::resize(in, out, out.size(), 0, 0, interpolationFlag(interpolation));
        if (out.data != before) return cvb::fail(error, CVB_ERR_INTERNAL, "resize: OpenCV reallocated the target");
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_letterbox(const cvb_view *src, const cvb_view *dst, cvb_interpolation interpolation,
                                    const uint8_t pad[3], double *scale, int32_t *offset_x, int32_t *offset_y,
                                    cvb_error *error) {
    cv::Mat in, out;
    if (!cvb::matFromView(src, in)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "letterbox: bad source image");
    if (!cvb::matFromView(dst, out)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "letterbox: bad target image");
    if (in.channels() != out.channels() || pad == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "letterbox: channel mismatch or no pad colour");
    }
    return cvb::guarded(error, "letterbox", [&]() -> cvb_status {
        const double s = std::min(double(out.cols) / in.cols, double(out.rows) / in.rows);
        const int w = std::max(1, std::min(out.cols, int(std::lround(in.cols * s))));
        const int h = std::max(1, std::min(out.rows, int(std::lround(in.rows * s))));
        const int x = (out.cols - w) / 2;
        const int y = (out.rows - h) / 2;
        out.setTo(cvb::scalarFromColor(pad));
        cv::Mat roi = out(cv::Rect(x, y, w, h));
        cv::resize(in, roi, roi.size(), 0, 0, interpolationFlag(interpolation));
        if (scale) *scale = s;
        if (offset_x) *offset_x = x;
        if (offset_y) *offset_y = y;
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_convert_color(const cvb_view *src, const cvb_view *dst, cvb_error *error) {
    cv::Mat in, out;
    if (!cvb::matFromView(src, in)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "convert: bad source image");
    if (!cvb::matFromView(dst, out)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "convert: bad target image");
    if (in.size() != out.size()) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "convert: sizes differ");
    return cvb::guarded(error, "convert", [&]() -> cvb_status {
        if (in.channels() == 3 && out.channels() == 1) {
            cv::cvtColor(in, out, cv::COLOR_RGB2GRAY);
        } else if (in.channels() == 1 && out.channels() == 3) {
            cv::cvtColor(in, out, cv::COLOR_GRAY2RGB);
        } else {
            in.copyTo(out);
        }
        return cvb::ok(error);
    });
}

extern "C" cvb_status cvb_preprocess(const cvb_view *src, int32_t size, cvb_interpolation interpolation,
                                     const float *mean, const float *std, float *out, size_t out_count,
                                     cvb_error *error) {
    cv::Mat in;
    if (!cvb::matFromView(src, in)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: bad source image");
    if (size <= 0 || mean == nullptr || std == nullptr || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: bad size, statistics or output");
    }
    const int channels = in.channels();
    const size_t plane = size_t(size) * size_t(size);
    if (out_count < plane * size_t(channels)) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: output holds %zu floats, needs %zu", out_count,
                         plane * size_t(channels));
    }
    for (int c = 0; c < channels; ++c) {
        if (!(std[c] > 0.0f)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: std[%d] is not positive", c);
    }
    return cvb::guarded(error, "preprocess", [&]() -> cvb_status {
        // Reused per thread so that steady-state preprocessing does not allocate.
        thread_local cv::Mat resized;
        cv::resize(in, resized, cv::Size(size, size), 0, 0, interpolationFlag(interpolation));
        // Same float32 operations, in the same order, as numpy: (u8 / 255 - mean) / std.
        for (int c = 0; c < channels; ++c) {
            const float m = mean[c];
            const float s = std[c];
            float *planeOut = out + size_t(c) * plane;
            for (int y = 0; y < size; ++y) {
                const uint8_t *row = resized.ptr<uint8_t>(y);
                float *rowOut = planeOut + size_t(y) * size_t(size);
                for (int x = 0; x < size; ++x) {
                    const float v = static_cast<float>(row[x * channels + c]) / 255.0f;
                    rowOut[x] = (v - m) / s;
                }
            }
        }
        return cvb::ok(error);
    });
}
