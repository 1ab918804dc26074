/* Softmax and layer norm on ymm registers with FMA, 8 values at a time; rows_portable.c's scheme.
 * A row's last 1–7 values go through an 8-value buffer on the stack (padded with −∞ for softmax,
 * whose exp is 0). The functions carry the target attribute, so the file builds for baseline
 * x86-64. */
#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include "internal.h"

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET

INLINE __m256 exp256(__m256 input) {
    const __m256 x = _mm256_min_ps(_mm256_max_ps(input, _mm256_set1_ps(LTTW_EXP_LOW)), _mm256_set1_ps(LTTW_EXP_HIGH));
    const __m256 magic = _mm256_set1_ps(LTTW_EXP_MAGIC);
    const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(LTTW_EXP_LOG2E), magic), magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LTTW_EXP_LN2_HI), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LTTW_EXP_LN2_LO), r);
    __m256 y = _mm256_set1_ps(LTTW_EXP_C0);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(LTTW_EXP_C1));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(LTTW_EXP_C2));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(LTTW_EXP_C3));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(LTTW_EXP_C4));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(LTTW_EXP_C5));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i biased = _mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(127.0f + 8388608.0f)));
    const __m256 scale = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(biased, _mm256_set1_epi32(0x7FFFFF)), 23));
    const __m256 kept = _mm256_cmp_ps(input, _mm256_set1_ps(LTTW_EXP_LOW), _CMP_GE_OQ);
    return _mm256_and_ps(_mm256_mul_ps(y, scale), kept);
}

INLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TARGET void lttw_exp_avx2(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float pad[8] = {0};
        for (long j = 0; j < n - i; j++) pad[j] = x[i + j];
        _mm256_storeu_ps(pad, exp256(_mm256_loadu_ps(pad)));
        for (long j = 0; j < n - i; j++) y[i + j] = pad[j];
    }
}

TARGET void lttw_softmax_rows_avx2(float *x, long rows, long cols, long ld) {
    if (cols <= 0) return;
    const long full = cols & ~7L, rest = cols - full;
    for (long r = 0; r < rows; r++) {
        float *p = x + r * ld;
        float pad[8];
        for (long j = 0; j < 8; j++) pad[j] = j < rest ? p[full + j] : -INFINITY;
        __m256 m = _mm256_loadu_ps(pad);
        for (long i = 0; i < full; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(p + i));
        const float maximum = hmax256(m);
        if (maximum == -INFINITY) {
            for (long i = 0; i < cols; i++) p[i] = 0.0f;
            continue;
        }
        const __m256 shift = _mm256_set1_ps(maximum);
        __m256 sum = _mm256_setzero_ps();
        for (long i = 0; i < full; i += 8) {
            const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(p + i), shift));
            _mm256_storeu_ps(p + i, e);
            sum = _mm256_add_ps(sum, e);
        }
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(pad), shift));
        _mm256_storeu_ps(pad, e);
        sum = _mm256_add_ps(sum, e);
        const float inv = 1.0f / hsum256(sum);
        const __m256 inv_v = _mm256_set1_ps(inv);
        for (long i = 0; i < full; i += 8) _mm256_storeu_ps(p + i, _mm256_mul_ps(_mm256_loadu_ps(p + i), inv_v));
        for (long j = 0; j < rest; j++) p[full + j] = pad[j] * inv;
    }
}

TARGET void lttw_layer_norm_rows_avx2(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                                      const float *gamma, const float *beta, float eps) {
    if (cols <= 0) return;
    const long full = cols & ~7L;
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * ldx;
        float *dst = y + r * ldy;
        __m256 acc = _mm256_setzero_ps();
        for (long i = 0; i < full; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(src + i));
        float sum = hsum256(acc);
        for (long i = full; i < cols; i++) sum += src[i];
        const float mean = sum / (float)cols;
        const __m256 mean_v = _mm256_set1_ps(mean);
        __m256 sq = _mm256_setzero_ps();
        for (long i = 0; i < full; i += 8) {
            const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(src + i), mean_v);
            sq = _mm256_fmadd_ps(d, d, sq);
        }
        float squares = hsum256(sq);
        for (long i = full; i < cols; i++) squares += (src[i] - mean) * (src[i] - mean);
        const float inv = 1.0f / sqrtf(squares / (float)cols + eps);
        const __m256 inv_v = _mm256_set1_ps(inv);
        long i = 0;
        if (gamma && beta) {
            for (; i < full; i += 8) {
                const __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(src + i), mean_v), inv_v);
                _mm256_storeu_ps(dst + i, _mm256_fmadd_ps(v, _mm256_loadu_ps(gamma + i), _mm256_loadu_ps(beta + i)));
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
