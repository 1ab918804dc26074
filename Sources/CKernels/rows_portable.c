/* Softmax and layer norm in plain C, one value at a time: the reference the vector files follow
 * (the same exp, the same passes) and the fallback on CPUs without a vector kernel. */
#include <math.h>
#include "internal.h"

static float exp_scalar(float input) {
    if (input < LTTW_EXP_LOW) return 0.0f;
    const float x = input > LTTW_EXP_HIGH ? LTTW_EXP_HIGH : input;
    const float n = (x * LTTW_EXP_LOG2E + LTTW_EXP_MAGIC) - LTTW_EXP_MAGIC;
    float r = x - n * LTTW_EXP_LN2_HI;
    r = r - n * LTTW_EXP_LN2_LO;
    float y = LTTW_EXP_C0;
    y = y * r + LTTW_EXP_C1;
    y = y * r + LTTW_EXP_C2;
    y = y * r + LTTW_EXP_C3;
    y = y * r + LTTW_EXP_C4;
    y = y * r + LTTW_EXP_C5;
    y = y * (r * r) + r + 1.0f;
    /* 2ⁿ: n + 127 placed in the exponent field; n ≥ −126 here, so the field stays ≥ 1. */
    union { float f; unsigned u; } biased = {n + (127.0f + 8388608.0f)}, scale;
    scale.u = (biased.u & 0x7FFFFFu) << 23;
    return y * scale.f;
}

void lttw_exp_portable(const float *x, float *y, long n) {
    for (long i = 0; i < n; i++) y[i] = exp_scalar(x[i]);
}

void lttw_softmax_rows_portable(float *x, long rows, long cols, long ld) {
    if (cols <= 0) return;
    for (long r = 0; r < rows; r++) {
        float *p = x + r * ld;
        float maximum = -INFINITY;
        for (long i = 0; i < cols; i++) maximum = p[i] > maximum ? p[i] : maximum;
        if (maximum == -INFINITY) {
            for (long i = 0; i < cols; i++) p[i] = 0.0f;
            continue;
        }
        float sum = 0.0f;
        for (long i = 0; i < cols; i++) {
            p[i] = exp_scalar(p[i] - maximum);
            sum += p[i];
        }
        const float inv = 1.0f / sum;
        for (long i = 0; i < cols; i++) p[i] *= inv;
    }
}

/* Sums in eight interleaved partial sums, as the vector files do: closer to the exact sum than one
 * running total over a long row, and the compiler can vectorise them. */
static float row_sum(const float *p, long n) {
    float part[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) part[j] += p[i + j];
    float total = 0.0f;
    for (int j = 0; j < 8; j++) total += part[j];
    for (; i < n; i++) total += p[i];
    return total;
}

static float row_squares(const float *p, long n, float mean) {
    float part[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) part[j] += (p[i + j] - mean) * (p[i + j] - mean);
    float total = 0.0f;
    for (int j = 0; j < 8; j++) total += part[j];
    for (; i < n; i++) total += (p[i] - mean) * (p[i] - mean);
    return total;
}

void lttw_layer_norm_rows_portable(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                                   const float *gamma, const float *beta, float eps) {
    if (cols <= 0) return;
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        float *dst = y + r * ldy;
        const float mean = row_sum(src, cols) / (float)cols;
        const float inv = 1.0f / sqrtf(row_squares(src, cols, mean) / (float)cols + eps);
        for (long i = 0; i < cols; i++) {
            float v = (src[i] - mean) * inv;
            if (gamma) v *= gamma[i];
            if (beta) v += beta[i];
            dst[i] = v;
        }
    }
}
