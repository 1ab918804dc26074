/* AVX-512 micro-kernel: 8 rows x 32 columns (two zmm per row, 16 accumulators). Every function
 * that uses AVX-512 carries the target attribute, so this file builds for baseline x86-64 and
 * runs only where lttw_kernel_supported says the CPU and OS can. */
#if defined(__x86_64__)
#include <immintrin.h>
#include "internal.h"

#define TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET

INLINE __m512 gelu512(__m512 x) {
    const __m512 limit = _mm512_set1_ps(LTTW_ERF_CLAMP);
    __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(LTTW_INV_SQRT2));
    z = _mm512_max_ps(_mm512_min_ps(z, limit), _mm512_sub_ps(_mm512_setzero_ps(), limit));
    const __m512 z2 = _mm512_mul_ps(z, z);
    __m512 p = _mm512_set1_ps(LTTW_ERF_P0);
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LTTW_ERF_P1));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LTTW_ERF_P2));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LTTW_ERF_P3));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LTTW_ERF_P4));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LTTW_ERF_P5));
    p = _mm512_fmadd_ps(p, z2, _mm512_set1_ps(LTTW_ERF_P6));
    p = _mm512_mul_ps(p, z);
    __m512 q = _mm512_set1_ps(LTTW_ERF_Q0);
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LTTW_ERF_Q1));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LTTW_ERF_Q2));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LTTW_ERF_Q3));
    q = _mm512_fmadd_ps(q, z2, _mm512_set1_ps(LTTW_ERF_Q4));
    const __m512 half_x = _mm512_mul_ps(x, _mm512_set1_ps(0.5f));
    return _mm512_mul_ps(half_x, _mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(p, q)));
}

INLINE void finish512(__m512 sum, float *c, const float *bias, const lttw_epilogue *e) {
    __m512 v = _mm512_mul_ps(sum, _mm512_set1_ps(e->alpha));
    if (e->beta != 0.0f) v = _mm512_fmadd_ps(_mm512_loadu_ps(c), _mm512_set1_ps(e->beta), v);
    if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias));
    if (e->activation == LTTW_ACTIVATION_GELU) v = gelu512(v);
    else if (e->activation == LTTW_ACTIVATION_RELU6) v = _mm512_min_ps(_mm512_max_ps(v, _mm512_setzero_ps()), _mm512_set1_ps(6.0f));
    _mm512_storeu_ps(c, v);
}

/* R rows (a compile-time constant after inlining), so the accumulators stay in registers. */
INLINE void tile512(const int R, long kc, const float *a, long lda, const float *b, long ldb,
                    float *c, long ldc, const lttw_epilogue *e) {
    __m512 acc[8][2];
    for (int r = 0; r < R; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long p = 0; p < kc; p++) {
        const __m512 b0 = _mm512_loadu_ps(b + p * ldb), b1 = _mm512_loadu_ps(b + p * ldb + 16);
        for (int r = 0; r < R; r++) {
            const __m512 x = _mm512_set1_ps(a[r * lda + p]);
            acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        finish512(acc[r][0], c + r * ldc, e->bias, e);
        finish512(acc[r][1], c + r * ldc + 16, e->bias ? e->bias + 16 : NULL, e);
    }
}

/* One row (a decoder token): two accumulators per column vector would leave the FMA units
 * waiting on latency, so four k-steps run on separate accumulators and are summed at the end. */
INLINE void row512(long kc, const float *a, const float *b, long ldb, float *c, const lttw_epilogue *e) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    long p = 0;
    for (; p + 4 <= kc; p += 4) {
        const float *bp = b + p * ldb;
        s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), _mm512_loadu_ps(bp), s0);
        s1 = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), _mm512_loadu_ps(bp + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_set1_ps(a[p + 1]), _mm512_loadu_ps(bp + ldb), s2);
        s3 = _mm512_fmadd_ps(_mm512_set1_ps(a[p + 1]), _mm512_loadu_ps(bp + ldb + 16), s3);
        s4 = _mm512_fmadd_ps(_mm512_set1_ps(a[p + 2]), _mm512_loadu_ps(bp + 2 * ldb), s4);
        s5 = _mm512_fmadd_ps(_mm512_set1_ps(a[p + 2]), _mm512_loadu_ps(bp + 2 * ldb + 16), s5);
        s6 = _mm512_fmadd_ps(_mm512_set1_ps(a[p + 3]), _mm512_loadu_ps(bp + 3 * ldb), s6);
        s7 = _mm512_fmadd_ps(_mm512_set1_ps(a[p + 3]), _mm512_loadu_ps(bp + 3 * ldb + 16), s7);
    }
    for (; p < kc; p++) {
        s0 = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), _mm512_loadu_ps(b + p * ldb), s0);
        s1 = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), _mm512_loadu_ps(b + p * ldb + 16), s1);
    }
    const __m512 lo = _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s4, s6));
    const __m512 hi = _mm512_add_ps(_mm512_add_ps(s1, s3), _mm512_add_ps(s5, s7));
    finish512(lo, c, e->bias, e);
    finish512(hi, c + 16, e->bias ? e->bias + 16 : NULL, e);
}

static TARGET void kernel512(int rows, long kc, const float *a, long lda, const float *b, long ldb,
                             float *c, long ldc, const lttw_epilogue *e) {
    switch (rows) {
    case 1: row512(kc, a, b, ldb, c, e); break;
    case 2: tile512(2, kc, a, lda, b, ldb, c, ldc, e); break;
    case 3: tile512(3, kc, a, lda, b, ldb, c, ldc, e); break;
    case 4: tile512(4, kc, a, lda, b, ldb, c, ldc, e); break;
    case 5: tile512(5, kc, a, lda, b, ldb, c, ldc, e); break;
    case 6: tile512(6, kc, a, lda, b, ldb, c, ldc, e); break;
    case 7: tile512(7, kc, a, lda, b, ldb, c, ldc, e); break;
    default: tile512(8, kc, a, lda, b, ldb, c, ldc, e); break;
    }
}

#define LTTW_NR 32
#define LTTW_MR 8
#define LTTW_KC 256
#define LTTW_MC 128
#define LTTW_KERNEL kernel512
#define LTTW_DRIVER lttw_sgemm_avx512
#include "driver.inc"

/* 24 independent accumulators: enough to cover the FMA latency (4 cycles) on two ports. */
TARGET double lttw_fma_loop_avx512(long iterations) {
    __m512 acc[24];
    for (int i = 0; i < 24; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    __asm__ volatile("" : "+v"(x), "+v"(y));
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 24; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    __m512 total = acc[0];
    for (int i = 1; i < 24; i++) total = _mm512_add_ps(total, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(total);
    (void)sink;
    return (double)iterations * 24 * 16 * 2;
}
#endif
