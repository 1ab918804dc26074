/* AVX2+FMA micro-kernel: 6 rows x 16 columns (two ymm per row, 12 accumulators of the 16
 * registers). Target attributes per function, as in gemm_avx512.c. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "internal.h"

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET

INLINE __m256 gelu256(__m256 x) {
    const __m256 limit = _mm256_set1_ps(LTTW_ERF_CLAMP);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(LTTW_INV_SQRT2));
    z = _mm256_max_ps(_mm256_min_ps(z, limit), _mm256_sub_ps(_mm256_setzero_ps(), limit));
    const __m256 z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(LTTW_ERF_P0);
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LTTW_ERF_P1));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LTTW_ERF_P2));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LTTW_ERF_P3));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LTTW_ERF_P4));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LTTW_ERF_P5));
    p = _mm256_fmadd_ps(p, z2, _mm256_set1_ps(LTTW_ERF_P6));
    p = _mm256_mul_ps(p, z);
    __m256 q = _mm256_set1_ps(LTTW_ERF_Q0);
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LTTW_ERF_Q1));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LTTW_ERF_Q2));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LTTW_ERF_Q3));
    q = _mm256_fmadd_ps(q, z2, _mm256_set1_ps(LTTW_ERF_Q4));
    const __m256 half_x = _mm256_mul_ps(x, _mm256_set1_ps(0.5f));
    return _mm256_mul_ps(half_x, _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(p, q)));
}

INLINE void finish256(__m256 sum, float *c, const float *bias, const lttw_epilogue *e) {
    __m256 v = _mm256_mul_ps(sum, _mm256_set1_ps(e->alpha));
    if (e->beta != 0.0f) v = _mm256_fmadd_ps(_mm256_loadu_ps(c), _mm256_set1_ps(e->beta), v);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    if (e->activation == LTTW_ACTIVATION_GELU) v = gelu256(v);
    else if (e->activation == LTTW_ACTIVATION_RELU6) v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
    _mm256_storeu_ps(c, v);
}

INLINE void tile256(const int R, long kc, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc, const lttw_epilogue *e) {
    __m256 acc[6][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (long p = 0; p < kc; p++) {
        const __m256 b0 = _mm256_loadu_ps(b + p * ldb), b1 = _mm256_loadu_ps(b + p * ldb + 8);
        for (int r = 0; r < R; r++) {
            const __m256 x = _mm256_broadcast_ss(a + r * lda + p);
            acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        finish256(acc[r][0], c + r * ldc, e->bias, e);
        finish256(acc[r][1], c + r * ldc + 8, e->bias ? e->bias + 8 : NULL, e);
    }
}

/* One row: four k-steps on separate accumulators, as in row512. */
INLINE void row256(long kc, const float *a, const float *b, long ldb, float *c, const lttw_epilogue *e) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        const float *bp = b + p * ldb;
        s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p), _mm256_loadu_ps(bp), s0);
        s1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p), _mm256_loadu_ps(bp + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p + 1), _mm256_loadu_ps(bp + ldb), s2);
        s3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p + 1), _mm256_loadu_ps(bp + ldb + 8), s3);
        s4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p + 2), _mm256_loadu_ps(bp + 2 * ldb), s4);
        s5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p + 2), _mm256_loadu_ps(bp + 2 * ldb + 8), s5);
        s6 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p + 3), _mm256_loadu_ps(bp + 3 * ldb), s6);
        s7 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p + 3), _mm256_loadu_ps(bp + 3 * ldb + 8), s7);
    }
    for (; p < kc; p++) {
        s0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p), _mm256_loadu_ps(b + p * ldb), s0);
        s1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + p), _mm256_loadu_ps(b + p * ldb + 8), s1);
    }
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s4, s6));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(s1, s3), _mm256_add_ps(s5, s7));
    finish256(lo, c, e->bias, e);
    finish256(hi, c + 8, e->bias ? e->bias + 8 : NULL, e);
}

static TARGET void kernel256(int rows, long kc, const float *a, long lda, const float *b, long ldb,
                             float *c, long ldc, const lttw_epilogue *e) {
    switch (rows) {
    case 1: row256(kc, a, b, ldb, c, e); break;
    case 2: tile256(2, kc, a, lda, b, ldb, c, ldc, e); break;
    case 3: tile256(3, kc, a, lda, b, ldb, c, ldc, e); break;
    case 4: tile256(4, kc, a, lda, b, ldb, c, ldc, e); break;
    case 5: tile256(5, kc, a, lda, b, ldb, c, ldc, e); break;
    default: tile256(6, kc, a, lda, b, ldb, c, ldc, e); break;
    }
}

#define LTTW_NR 16
#define LTTW_MR 6
#define LTTW_KC 256
#define LTTW_MC 120
#define LTTW_KERNEL kernel256
#define LTTW_DRIVER lttw_sgemm_avx2
#include "driver.inc"

/* 12 independent accumulators of the 16 ymm registers. */
TARGET double lttw_fma_loop_avx2(long iterations) {
    __m256 acc[12];
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    __asm__ volatile("" : "+x"(x), "+x"(y));
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    }
    __m256 total = acc[0];
    for (int i = 1; i < 12; i++) total = _mm256_add_ps(total, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    volatile float sink = lanes[0];
    (void)sink;
    return (double)iterations * 12 * 8 * 2;
}
#endif
