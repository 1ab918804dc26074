/* NEON micro-kernel (AArch64, where NEON is baseline): 8 rows x 8 columns, two q registers per
 * row, 16 accumulators of the 32 vector registers. */
#if defined(__aarch64__)
#include <arm_neon.h>
#include "internal.h"

#define INLINE static inline __attribute__((always_inline))

INLINE float32x4_t gelu128(float32x4_t x) {
    float32x4_t z = vmulq_n_f32(x, LTTW_INV_SQRT2);
    z = vmaxq_f32(vminq_f32(z, vdupq_n_f32(LTTW_ERF_CLAMP)), vdupq_n_f32(-LTTW_ERF_CLAMP));
    const float32x4_t z2 = vmulq_f32(z, z);
    float32x4_t p = vdupq_n_f32(LTTW_ERF_P0);
    p = vfmaq_f32(vdupq_n_f32(LTTW_ERF_P1), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LTTW_ERF_P2), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LTTW_ERF_P3), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LTTW_ERF_P4), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LTTW_ERF_P5), p, z2);
    p = vfmaq_f32(vdupq_n_f32(LTTW_ERF_P6), p, z2);
    p = vmulq_f32(p, z);
    float32x4_t q = vdupq_n_f32(LTTW_ERF_Q0);
    q = vfmaq_f32(vdupq_n_f32(LTTW_ERF_Q1), q, z2);
    q = vfmaq_f32(vdupq_n_f32(LTTW_ERF_Q2), q, z2);
    q = vfmaq_f32(vdupq_n_f32(LTTW_ERF_Q3), q, z2);
    q = vfmaq_f32(vdupq_n_f32(LTTW_ERF_Q4), q, z2);
    return vmulq_f32(vmulq_n_f32(x, 0.5f), vaddq_f32(vdupq_n_f32(1.0f), vdivq_f32(p, q)));
}

INLINE void finish128(float32x4_t sum, float *c, const float *bias, const lttw_epilogue *e) {
    float32x4_t v = vmulq_n_f32(sum, e->alpha);
    if (e->beta != 0.0f) v = vfmaq_n_f32(v, vld1q_f32(c), e->beta);
    if (bias) v = vaddq_f32(v, vld1q_f32(bias));
    if (e->activation == LTTW_ACTIVATION_GELU) v = gelu128(v);
    else if (e->activation == LTTW_ACTIVATION_RELU6) v = vminq_f32(vmaxq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(6.0f));
    vst1q_f32(c, v);
}

INLINE void tile128(const int R, long kc, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc, const lttw_epilogue *e) {
    float32x4_t acc[8][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = vdupq_n_f32(0.0f);
    for (long p = 0; p < kc; p++) {
        const float32x4_t b0 = vld1q_f32(b + p * ldb), b1 = vld1q_f32(b + p * ldb + 4);
        for (int r = 0; r < R; r++) {
            const float x = a[r * lda + p];
            acc[r][0] = vfmaq_n_f32(acc[r][0], b0, x);
            acc[r][1] = vfmaq_n_f32(acc[r][1], b1, x);
        }
    }
    for (int r = 0; r < R; r++) {
        finish128(acc[r][0], c + r * ldc, e->bias, e);
        finish128(acc[r][1], c + r * ldc + 4, e->bias ? e->bias + 4 : NULL, e);
    }
}

/* One row: four k-steps on separate accumulators, as in row512. */
INLINE void row128(long kc, const float *a, const float *b, long ldb, float *c, const lttw_epilogue *e) {
    float32x4_t s[8];
    for (int i = 0; i < 8; i++) s[i] = vdupq_n_f32(0.0f);
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        for (int u = 0; u < 4; u++) {
            const float *bp = b + (p + u) * ldb;
            s[2 * u] = vfmaq_n_f32(s[2 * u], vld1q_f32(bp), a[p + u]);
            s[2 * u + 1] = vfmaq_n_f32(s[2 * u + 1], vld1q_f32(bp + 4), a[p + u]);
        }
    }
    for (; p < kc; p++) {
        s[0] = vfmaq_n_f32(s[0], vld1q_f32(b + p * ldb), a[p]);
        s[1] = vfmaq_n_f32(s[1], vld1q_f32(b + p * ldb + 4), a[p]);
    }
    const float32x4_t lo = vaddq_f32(vaddq_f32(s[0], s[2]), vaddq_f32(s[4], s[6]));
    const float32x4_t hi = vaddq_f32(vaddq_f32(s[1], s[3]), vaddq_f32(s[5], s[7]));
    finish128(lo, c, e->bias, e);
    finish128(hi, c + 4, e->bias ? e->bias + 4 : NULL, e);
}

static void kernel128(int rows, long kc, const float *a, long lda, const float *b, long ldb,
                      float *c, long ldc, const lttw_epilogue *e) {
    switch (rows) {
    case 1: row128(kc, a, b, ldb, c, e); break;
    case 2: tile128(2, kc, a, lda, b, ldb, c, ldc, e); break;
    case 3: tile128(3, kc, a, lda, b, ldb, c, ldc, e); break;
    case 4: tile128(4, kc, a, lda, b, ldb, c, ldc, e); break;
    case 5: tile128(5, kc, a, lda, b, ldb, c, ldc, e); break;
    case 6: tile128(6, kc, a, lda, b, ldb, c, ldc, e); break;
    case 7: tile128(7, kc, a, lda, b, ldb, c, ldc, e); break;
    default: tile128(8, kc, a, lda, b, ldb, c, ldc, e); break;
    }
}

#define LTTW_NR 8
#define LTTW_MR 8
#define LTTW_KC 256
#define LTTW_MC 128
#define LTTW_KERNEL kernel128
#define LTTW_DRIVER lttw_sgemm_neon
#include "driver.inc"

/* 24 independent accumulators of the 32 q registers. */
double lttw_fma_loop_neon(long iterations) {
    float32x4_t acc[24];
    for (int i = 0; i < 24; i++) acc[i] = vdupq_n_f32((float)i * 1e-3f);
    float32x4_t x = vdupq_n_f32(0.999999f), y = vdupq_n_f32(1e-7f);
    __asm__ volatile("" : "+w"(x), "+w"(y));
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = vfmaq_f32(y, acc[i], x);
    }
    float32x4_t total = acc[0];
    for (int i = 1; i < 24; i++) total = vaddq_f32(total, acc[i]);
    volatile float sink = vaddvq_f32(total);
    (void)sink;
    return (double)iterations * 24 * 4 * 2;
}
#endif
