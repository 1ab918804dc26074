/* Softmax and layer norm on zmm registers, 16 values at a time; rows_portable.c's scheme. The
 * functions carry the target attribute, so the file builds for baseline x86-64. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "internal.h"

#define TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET

INLINE __m512 exp512(__m512 input) {
    const __m512 x = _mm512_min_ps(_mm512_max_ps(input, _mm512_set1_ps(LTTW_EXP_LOW)), _mm512_set1_ps(LTTW_EXP_HIGH));
    const __m512 magic = _mm512_set1_ps(LTTW_EXP_MAGIC);
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(LTTW_EXP_LOG2E), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LTTW_EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LTTW_EXP_LN2_LO), r);
    __m512 y = _mm512_set1_ps(LTTW_EXP_C0);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(LTTW_EXP_C1));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(LTTW_EXP_C2));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(LTTW_EXP_C3));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(LTTW_EXP_C4));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(LTTW_EXP_C5));
    y = _mm512_add_ps(_mm512_fmadd_ps(y, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    const __m512i biased = _mm512_castps_si512(_mm512_add_ps(n, _mm512_set1_ps(127.0f + 8388608.0f)));
    const __m512 scale = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_and_si512(biased, _mm512_set1_epi32(0x7FFFFF)), 23));
    const __mmask16 under = _mm512_cmp_ps_mask(input, _mm512_set1_ps(LTTW_EXP_LOW), _CMP_LT_OQ);
    return _mm512_maskz_mul_ps((__mmask16)~under, y, scale);
}

INLINE __mmask16 tail_mask(long remaining) { return (__mmask16)((1u << remaining) - 1u); }

TARGET void lttw_exp_avx512(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp512(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, exp512(_mm512_maskz_loadu_ps(k, x + i)));
    }
}

TARGET void lttw_softmax_rows_avx512(float *x, long rows, long cols, long ld) {
    if (cols <= 0) return;
    const __m512 minus_inf = _mm512_set1_ps(-INFINITY);
    const long full = cols & ~15L;
    const __mmask16 tail = tail_mask(cols - full);
    for (long r = 0; r < rows; r++) {
        float *p = x + r * ld;
        __m512 m = minus_inf;
        for (long i = 0; i < full; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(p + i));
        if (tail) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(minus_inf, tail, p + full));
        const float maximum = _mm512_reduce_max_ps(m);
        if (maximum == -INFINITY) {
            for (long i = 0; i < cols; i++) p[i] = 0.0f;
            continue;
        }
        const __m512 shift = _mm512_set1_ps(maximum);
        __m512 sum = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) {
            const __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(p + i), shift));
            _mm512_storeu_ps(p + i, e);
            sum = _mm512_add_ps(sum, e);
        }
        if (tail) {
            const __m512 e = exp512(_mm512_sub_ps(_mm512_mask_loadu_ps(minus_inf, tail, p + full), shift));
            _mm512_mask_storeu_ps(p + full, tail, e);
            sum = _mm512_add_ps(sum, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
        for (long i = 0; i < full; i += 16) _mm512_storeu_ps(p + i, _mm512_mul_ps(_mm512_loadu_ps(p + i), inv));
        if (tail) _mm512_mask_storeu_ps(p + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, p + full), inv));
    }
}

TARGET void lttw_layer_norm_rows_avx512(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                                        const float *gamma, const float *beta, float eps) {
    if (cols <= 0) return;
    const long full = cols & ~15L;
    const __mmask16 tail = tail_mask(cols - full);
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        float *dst = y + r * ldy;
        __m512 acc = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) acc = _mm512_add_ps(acc, _mm512_loadu_ps(src + i));
        if (tail) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(tail, src + full));
        const float mean = _mm512_reduce_add_ps(acc) / (float)cols;
        const __m512 mean_v = _mm512_set1_ps(mean);
        __m512 sq = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) {
            const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(src + i), mean_v);
            sq = _mm512_fmadd_ps(d, d, sq);
        }
        if (tail) {
            const __m512 d = _mm512_maskz_sub_ps(tail, _mm512_maskz_loadu_ps(tail, src + full), mean_v);
            sq = _mm512_fmadd_ps(d, d, sq);
        }
        const float inv = 1.0f / sqrtf(_mm512_reduce_add_ps(sq) / (float)cols + eps);
        const __m512 inv_v = _mm512_set1_ps(inv);
        const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
        for (long i = 0; i < cols; i += 16) {
            const __mmask16 k = i < full ? (__mmask16)0xFFFF : tail;
            __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, src + i), mean_v), inv_v);
            v = _mm512_mul_ps(v, gamma ? _mm512_maskz_loadu_ps(k, gamma + i) : one);
            v = _mm512_add_ps(v, beta ? _mm512_maskz_loadu_ps(k, beta + i) : zero);
            _mm512_mask_storeu_ps(dst + i, k, v);
        }
    }
}
#endif
