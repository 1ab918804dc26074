// Resizing, letterboxing, colour conversion and the model's input tensor.
#include "Internal.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

struct cvb_scratch {
    std::vector<uchar> resized;
    std::vector<cvb::AreaTab> tables;
    std::vector<int> offsets;
    std::vector<float> rows;
};

extern "C" cvb_scratch *cvb_scratch_create(int32_t input_size, int32_t max_side) {
    auto *scratch = new (std::nothrow) cvb_scratch();
    if (scratch == nullptr) return nullptr;
    try {
        const size_t size = size_t(std::max(input_size, 1)), side = size_t(std::max(max_side, 1));
        scratch->resized.resize(size * size * 3);
        scratch->rows.resize(size * 3 * 2);
        scratch->tables.resize(side * 4);
        // Whole-number shrink factors: one offset per source pixel of a block.
        const size_t factor = side / size + 1;
        scratch->offsets.resize(factor * factor);
    } catch (...) {
        delete scratch;
        return nullptr;
    }
    return scratch;
}

extern "C" void cvb_scratch_free(cvb_scratch *scratch) { delete scratch; }

namespace {

template <typename T>
T *reserve(std::vector<T> &buffer, size_t count) {
    if (buffer.size() < count) buffer.resize(count);
    return buffer.data();
}

/// OpenCV's saturate_cast<uchar>(float): round half to even (cvRound, which on x86 is this very
/// instruction), then clamp.
inline uchar saturateByte(float value) {
#if defined(__SSE2__)
    const int rounded = _mm_cvtss_si32(_mm_set_ss(value));
#else
    const long rounded = std::lrint(value);
#endif
    return static_cast<uchar>(rounded < 0 ? 0 : (rounded > 255 ? 255 : rounded));
}

/// computeResizeAreaTab from OpenCV 4.6's imgproc/src/resize.cpp: for each output column (or
/// row), the source columns it covers and the fraction of each.
int areaTable(int ssize, int dsize, int cn, double scale, cvb::AreaTab *tab) {
    int k = 0;
    for (int dx = 0; dx < dsize; dx++) {
        const double fsx1 = dx * scale;
        const double fsx2 = fsx1 + scale;
        const double cellWidth = std::min(scale, ssize - fsx1);
        int sx1 = static_cast<int>(std::ceil(fsx1)), sx2 = static_cast<int>(std::floor(fsx2));
        sx2 = std::min(sx2, ssize - 1);
        sx1 = std::min(sx1, sx2);
        if (sx1 - fsx1 > 1e-3) {
            tab[k].di = dx * cn;
            tab[k].si = (sx1 - 1) * cn;
            tab[k++].alpha = static_cast<float>((sx1 - fsx1) / cellWidth);
        }
        for (int sx = sx1; sx < sx2; sx++) {
            tab[k].di = dx * cn;
            tab[k].si = sx * cn;
            tab[k++].alpha = static_cast<float>(1.0 / cellWidth);
        }
        if (fsx2 - sx2 > 1e-3) {
            tab[k].di = dx * cn;
            tab[k].si = sx2 * cn;
            tab[k++].alpha = static_cast<float>(std::min(std::min(fsx2 - sx2, 1.), cellWidth) / cellWidth);
        }
    }
    return k;
}

/// INTER_AREA when both scales are whole numbers (resizeAreaFast_ with ResizeAreaFastVec): the
/// mean of each block. 2×2 blocks of 1, 3 or 4 channels take OpenCV's vector path, (sum + 2) >> 2;
/// other blocks take its scalar path, sum · (1 / area) rounded. Output rows [r0, r1).
void areaWhole(const cv::Mat &in, uchar *out, int dw, int r0, int r1, int sx, int sy, int *offsets) {
    const int cn = in.channels();
    const size_t step = in.step;
    const int area = sx * sy;
    const float scale = 1.f / static_cast<float>(area);
    const int rowValues = dw * cn;
    if (sx == 2 && sy == 2 && (cn == 1 || cn == 3 || cn == 4)) {
        for (int dy = r0; dy < r1; dy++) {
            const uchar *s0 = in.ptr<uchar>(2 * dy), *s1 = s0 + step;
            uchar *d = out + size_t(dy) * rowValues;
            for (int dx = 0; dx < rowValues; dx += cn) {
                const int index = dx * 2;
                for (int c = 0; c < cn; c++) {
                    d[dx + c] = static_cast<uchar>((s0[index + c] + s0[index + cn + c] + s1[index + c] + s1[index + cn + c] + 2) >> 2);
                }
            }
        }
        return;
    }
    for (int y = 0, k = 0; y < sy; y++)
        for (int x = 0; x < sx; x++) offsets[k++] = static_cast<int>(y * step + x * cn);
    for (int dy = r0; dy < r1; dy++) {
        const uchar *row = in.ptr<uchar>(dy * sy);
        uchar *d = out + size_t(dy) * rowValues;
        for (int dx = 0; dx < rowValues; dx++) {
            const int j = dx / cn, c = dx % cn;
            const uchar *s = row + j * sx * cn + c;
            int sum = 0;
            int k = 0;
            for (; k <= area - 4; k += 4) sum += s[offsets[k]] + s[offsets[k + 1]] + s[offsets[k + 2]] + s[offsets[k + 3]];
            for (; k < area; k++) sum += s[offsets[k]];
            d[dx] = saturateByte(static_cast<float>(sum) * scale);
        }
    }
}

/// OpenCV's horizontal pass of one source row, buf[di + c] += s[si + c] · alpha over the column
/// table, with each output column's sum kept in registers: areaTable lists a column's entries
/// together, so the same float32 operations run in the same order (from buf's zero) without a
/// store and a reload of buf per entry, the stall that made this loop most of the resize.
void spreadRow(const uchar *s, const cvb::AreaTab *xtab, int xsize, int cn, float *buf) {
    if (cn == 1) {
        for (int k = 0; k < xsize;) {
            const int dxn = xtab[k].di;
            float a = buf[dxn];
            for (; k < xsize && xtab[k].di == dxn; k++) a = a + s[xtab[k].si] * xtab[k].alpha;
            buf[dxn] = a;
        }
    } else if (cn == 3) {
        for (int k = 0; k < xsize;) {
            const int dxn = xtab[k].di;
            float a0 = buf[dxn], a1 = buf[dxn + 1], a2 = buf[dxn + 2];
            for (; k < xsize && xtab[k].di == dxn; k++) {
                const uchar *p = s + xtab[k].si;
                const float alpha = xtab[k].alpha;
                a0 = a0 + p[0] * alpha;
                a1 = a1 + p[1] * alpha;
                a2 = a2 + p[2] * alpha;
            }
            buf[dxn] = a0;
            buf[dxn + 1] = a1;
            buf[dxn + 2] = a2;
        }
    } else {
        for (int k = 0; k < xsize; k++) {
            const int sxn = xtab[k].si, dxn = xtab[k].di;
            const float alpha = xtab[k].alpha;
            for (int c = 0; c < cn; c++) buf[dxn + c] = buf[dxn + c] + s[sxn + c] * alpha;
        }
    }
}

/// INTER_AREA otherwise (resizeArea_ with ResizeArea_Invoker): each source row is spread over
/// the output columns with the column table's weights, and the rows are summed with the row
/// table's weights, in float32, in OpenCV's order. Output rows [r0, r1), as one of OpenCV's
/// parallel stripes computes them.
void areaFractional(const cv::Mat &in, uchar *out, int dw, int dh, int r0, int r1, double scaleX, double scaleY,
                    cvb_scratch &scratch) {
    const int cn = in.channels();
    const int sw = in.cols, sh = in.rows;
    cvb::AreaTab *xtab = reserve(scratch.tables, size_t(sw + sh) * 2);
    cvb::AreaTab *ytab = xtab + sw * 2;
    const int xsize = areaTable(sw, dw, cn, scaleX, xtab);
    const int ysize = areaTable(sh, dh, 1, scaleY, ytab);
    int first = 0;
    while (first < ysize && ytab[first].di < r0) first++;
    int last = first;
    while (last < ysize && ytab[last].di < r1) last++;
    if (first == last) return;
    const int rowValues = dw * cn;
    float *buf = reserve(scratch.rows, size_t(rowValues) * 2);
    float *sum = buf + rowValues;
    for (int dx = 0; dx < rowValues; dx++) sum[dx] = 0.f;
    int previous = ytab[first].di;
    for (int j = first; j < last; j++) {
        const float beta = ytab[j].alpha;
        const int dy = ytab[j].di;
        const uchar *s = in.ptr<uchar>(ytab[j].si);
        for (int dx = 0; dx < rowValues; dx++) buf[dx] = 0.f;
        spreadRow(s, xtab, xsize, cn, buf);
        if (dy != previous) {
            uchar *d = out + size_t(previous) * rowValues;
            for (int dx = 0; dx < rowValues; dx++) {
                d[dx] = saturateByte(sum[dx]);
                sum[dx] = beta * buf[dx];
            }
            previous = dy;
        } else {
            for (int dx = 0; dx < rowValues; dx++) sum[dx] += beta * buf[dx];
        }
    }
    uchar *d = out + size_t(previous) * rowValues;
    for (int dx = 0; dx < rowValues; dx++) d[dx] = saturateByte(sum[dx]);
}

/// The scale factors cv::resize derives from the sizes, the same doubles.
struct AreaPlan {
    double scaleX, scaleY;
    int wholeX, wholeY;
    bool same, shrinking, whole;
};

AreaPlan planArea(int sw, int sh, int dw, int dh) {
    AreaPlan plan{};
    plan.same = sw == dw && sh == dh;
    plan.scaleX = 1. / (static_cast<double>(dw) / sw);
    plan.scaleY = 1. / (static_cast<double>(dh) / sh);
    plan.shrinking = plan.scaleX >= 1 && plan.scaleY >= 1;
    plan.wholeX = static_cast<int>(std::lrint(plan.scaleX));
    plan.wholeY = static_cast<int>(std::lrint(plan.scaleY));
    plan.whole = std::abs(plan.scaleX - plan.wholeX) < DBL_EPSILON && std::abs(plan.scaleY - plan.wholeY) < DBL_EPSILON;
    return plan;
}

/// Whether the bridge's own INTER_AREA code computes this resize (else cv::resize does).
bool exactAreaApplies(const cv::Mat &in, int dw, int dh, cvb_interpolation interpolation) {
    if (interpolation != CVB_INTERP_AREA) return false;
    const AreaPlan plan = planArea(in.cols, in.rows, dw, dh);
    return plan.same || plan.shrinking;
}

/// Output rows [r0, r1) of cv::resize(in, dw × dh, INTER_AREA); only when exactAreaApplies.
void resizeAreaExact(const cv::Mat &in, uchar *out, int dw, int dh, int r0, int r1, cvb_scratch &scratch) {
    const AreaPlan plan = planArea(in.cols, in.rows, dw, dh);
    const size_t rowBytes = size_t(dw) * in.channels();
    if (plan.same) {
        for (int y = r0; y < r1; y++) std::memcpy(out + size_t(y) * rowBytes, in.ptr<uchar>(y), rowBytes);
    } else if (plan.whole) {
        areaWhole(in, out, dw, r0, r1, plan.wholeX, plan.wholeY, reserve(scratch.offsets, size_t(plan.wholeX) * plan.wholeY));
    } else {
        areaFractional(in, out, dw, dh, r0, r1, plan.scaleX, plan.scaleY, scratch);
    }
}

}  // namespace

extern "C" int cvb_preprocess_splits(const cvb_view *src, int32_t size, cvb_interpolation interpolation) {
    cv::Mat in;
    if (!cvb::matFromView(src, in) || size <= 0) return 0;
    return exactAreaApplies(in, size, size, interpolation) ? 1 : 0;
}

extern "C" cvb_status cvb_preprocess(const cvb_view *src, int32_t size, cvb_interpolation interpolation,
                                     const float *mean, const float *std, float *out, size_t out_count,
                                     cvb_scratch *scratch, cvb_error *error) {
    return cvb_preprocess_rows(src, size, interpolation, mean, std, out, out_count, 0, size, scratch, error);
}

extern "C" cvb_status cvb_preprocess_rows(const cvb_view *src, int32_t size, cvb_interpolation interpolation,
                                          const float *mean, const float *std, float *out, size_t out_count,
                                          int32_t row_begin, int32_t row_end, cvb_scratch *scratch,
                                          cvb_error *error) {
    cv::Mat in;
    if (!cvb::matFromView(src, in)) return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: bad source image");
    if (size <= 0 || mean == nullptr || std == nullptr || out == nullptr) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: bad size, statistics or output");
    }
    if (row_begin < 0 || row_end > size || row_begin > row_end) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: rows %d..<%d outside 0..<%d", row_begin, row_end, size);
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
    const bool exact = scratch != nullptr && exactAreaApplies(in, size, size, interpolation);
    if (!exact && (row_begin != 0 || row_end != size)) {
        return cvb::fail(error, CVB_ERR_INVALID_ARGUMENT, "preprocess: only the bridge's area resize splits by rows");
    }
    return cvb::guarded(error, "preprocess", [&]() -> cvb_status {
        cvb_scratch local;
        cvb_scratch &memory = scratch != nullptr ? *scratch : local;
        cv::Mat resized(size, size, CV_8UC(channels), reserve(memory.resized, plane * size_t(channels)));
        if (exact) {
            resizeAreaExact(in, resized.data, size, size, row_begin, row_end, memory);
        } else {
            const uchar *before = resized.data;
            cv::resize(in, resized, cv::Size(size, size), 0, 0, interpolationFlag(interpolation));
            if (resized.data != before) return cvb::fail(error, CVB_ERR_INTERNAL, "preprocess: OpenCV reallocated the target");
        }
        // Same float32 operations, in the same order, as numpy: (u8 / 255 - mean) / std, computed
        // once per byte value and channel (256 values, not size² divisions per channel).
        float normalised[256];
        for (int c = 0; c < channels; ++c) {
            const float m = mean[c];
            const float s = std[c];
            for (int value = 0; value < 256; ++value) {
                const float v = static_cast<float>(value) / 255.0f;
                normalised[value] = (v - m) / s;
            }
            float *planeOut = out + size_t(c) * plane;
            for (int y = row_begin; y < row_end; ++y) {
                const uint8_t *row = resized.ptr<uint8_t>(y);
                float *rowOut = planeOut + size_t(y) * size_t(size);
                for (int x = 0; x < size; ++x) rowOut[x] = normalised[row[x * channels + c]];
            }
        }
        return cvb::ok(error);
    });
}
