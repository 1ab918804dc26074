/* Softmax and layer norm on AArch64's q registers, 4 values at a time; rows_portable.c's scheme.
 * A row's last 1–3 values go through a 4-value buffer on the stack (padded with −∞ for softmax,
 * whose exp is 0). */
#if defined(__aarch64__)
#include <arm_neon.h>
#include <math.h>
#include "internal.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float32x4_t exp128(float32x4_t input) {
    const float32x4_t x = vminq_f32(vmaxq_f32(input, vdupq_n_f32(LTTW_EXP_LOW)), vdupq_n_f32(LTTW_EXP_HIGH));
    const float32x4_t magic = vdupq_n_f32(LTTW_EXP_MAGIC);
    const float32x4_t n = vsubq_f32(vfmaq_f32(magic, x, vdupq_n_f32(LTTW_EXP_LOG2E)), magic);
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(LTTW_EXP_LN2_HI));
    r = vfmsq_f32(r, n, vdupq_n_f32(LTTW_EXP_LN2_LO));
    float32x4_t y = vdupq_n_f32(LTTW_EXP_C0);
    y = vfmaq_f32(vdupq_n_f32(LTTW_EXP_C1), y, r);
    y = vfmaq_f32(vdupq_n_f32(LTTW_EXP_C2), y, r);
    y = vfmaq_f32(vdupq_n_f32(LTTW_EXP_C3), y, r);
    y = vfmaq_f32(vdupq_n_f32(LTTW_EXP_C4), y, r);
    y = vfmaq_f32(vdupq_n_f32(LTTW_EXP_C5), y, r);
    y = vaddq_f32(vfmaq_f32(r, y, vmulq_f32(r, r)), vdupq_n_f32(1.0f));
    const uint32x4_t biased = vreinterpretq_u32_f32(vaddq_f32(n, vdupq_n_f32(127.0f + 8388608.0f)));
    const float32x4_t scale = vreinterpretq_f32_u32(vshlq_n_u32(vandq_u32(biased, vdupq_n_u32(0x7FFFFF)), 23));
    const uint32x4_t kept = vcgeq_f32(input, vdupq_n_f32(LTTW_EXP_LOW));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(vmulq_f32(y, scale)), kept));
}

void lttw_exp_neon(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, exp128(vld1q_f32(x + i)));
    if (i < n) {
        float pad[4] = {0};
        for (long j = 0; j < n - i; j++) pad[j] = x[i + j];
        vst1q_f32(pad, exp128(vld1q_f32(pad)));
        for (long j = 0; j < n - i; j++) y[i + j] = pad[j];
    }
}

void lttw_softmax_rows_neon(float *x, long rows, long cols, long ld) {
    if (cols <= 0) return;
    const long full = cols & ~3L, rest = cols - full;
    for (long r = 0; r < rows; r++) {
        float *p = x + r * ld;
        float pad[4];
        for (long j = 0; j < 4; j++) pad[j] = j < rest ? p[full + j] : -INFINITY;
        float32x4_t m = vld1q_f32(pad);
        for (long i = 0; i < full; i += 4) m = vmaxq_f32(m, vld1q_f32(p + i));
        const float maximum = vmaxvq_f32(m);
        if (maximum == -INFINITY) {
            for (long i = 0; i < cols; i++) p[i] = 0.0f;
            continue;
        }
        const float32x4_t shift = vdupq_n_f32(maximum);
        float32x4_t sum = vdupq_n_f32(0.0f);
        for (long i = 0; i < full; i += 4) {
            const float32x4_t e = exp128(vsubq_f32(vld1q_f32(p + i), shift));
            vst1q_f32(p + i, e);
            sum = vaddq_f32(sum, e);
        }
        const float32x4_t e = exp128(vsubq_f32(vld1q_f32(pad), shift));
        vst1q_f32(pad, e);
        sum = vaddq_f32(sum, e);
        const float inv = 1.0f / vaddvq_f32(sum);
        for (long i = 0; i < full; i += 4) vst1q_f32(p + i, vmulq_n_f32(vld1q_f32(p + i), inv));
        for (long j = 0; j < rest; j++) p[full + j] = pad[j] * inv;
    }
}

void lttw_layer_norm_rows_neon(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                               const float *gamma, const float *beta, float eps) {
    if (cols <= 0) return;
    const long full = cols & ~3L;
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        float *dst = y + r * ldy;
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (long i = 0; i < full; i += 4) acc = vaddq_f32(acc, vld1q_f32(src + i));
        float sum = vaddvq_f32(acc);
        for (long i = full; i < cols; i++) sum += src[i];
        const float mean = sum / (float)cols;
        const float32x4_t mean_v = vdupq_n_f32(mean);
        float32x4_t sq = vdupq_n_f32(0.0f);
        for (long i = 0; i < full; i += 4) {
            const float32x4_t d = vsubq_f32(vld1q_f32(src + i), mean_v);
            sq = vfmaq_f32(sq, d, d);
        }
        float squares = vaddvq_f32(sq);
        for (long i = full; i < cols; i++) squares += (src[i] - mean) * (src[i] - mean);
        const float inv = 1.0f / sqrtf(squares / (float)cols + eps);
        long i = 0;
        if (gamma && beta) {
            for (; i < full; i += 4) {
                const float32x4_t v = vmulq_n_f32(vsubq_f32(vld1q_f32(src + i), mean_v), inv);
                vst1q_f32(dst + i, vfmaq_f32(vld1q_f32(beta + i), v, vld1q_f32(gamma + i)));
            }
        }
        for (; i < cols; i++) {
            float v = (src[i] - mean) * inv;
            if (gamma) v *= gamma[i];
            if (beta) v += beta[i];
            dst[i] = v;
        }
    }
}
#endif
