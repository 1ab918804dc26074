/* What the per-instruction-set files share: the epilogue a micro-kernel applies, the erf
 * coefficients of the GELU, and the per-set entry points lttw_sgemm dispatches to. */
#ifndef LTTW_INTERNAL_H
#define LTTW_INTERNAL_H

#include "CKernels.h"

/* What a micro-kernel does to its tile after the multiply-adds, in this order:
 * alpha · sum, + beta · c (c not read when beta is 0), + bias (NR values or NULL), the activation. */
typedef struct {
    float alpha, beta;
    const float *bias;
    lttw_activation activation;
} lttw_epilogue;

/* erf(x) for |x| ≤ 4 as p(x)/q(x) — the rational approximation Eigen and XLA use, the same as
 * Kernels' GELU.erf in Swift (max absolute error 4.2e-7); erf is ±1 in float32 outside. */
#define LTTW_ERF_CLAMP 4.0f
#define LTTW_ERF_P0 -2.72614225801306e-10f
#define LTTW_ERF_P1 2.77068142495902e-08f
#define LTTW_ERF_P2 -2.10102402082508e-06f
#define LTTW_ERF_P3 -5.69250639462346e-05f
#define LTTW_ERF_P4 -7.34990630326855e-04f
#define LTTW_ERF_P5 -2.95459980854025e-03f
#define LTTW_ERF_P6 -1.60960333262415e-02f
#define LTTW_ERF_Q0 -1.45660718464996e-05f
#define LTTW_ERF_Q1 -2.13374055278905e-04f
#define LTTW_ERF_Q2 -1.68282697438203e-03f
#define LTTW_ERF_Q3 -7.37332916720468e-03f
#define LTTW_ERF_Q4 -1.42647390514189e-02f
#define LTTW_INV_SQRT2 0.7071067811865476f

/* Scalar GELU with the same erf, for the portable kernel. */
static inline float lttw_gelu_scalar(float x) {
    float z = x * LTTW_INV_SQRT2;
    z = z < -LTTW_ERF_CLAMP ? -LTTW_ERF_CLAMP : (z > LTTW_ERF_CLAMP ? LTTW_ERF_CLAMP : z);
    const float z2 = z * z;
    float p = LTTW_ERF_P0;
    p = p * z2 + LTTW_ERF_P1;
    p = p * z2 + LTTW_ERF_P2;
    p = p * z2 + LTTW_ERF_P3;
    p = p * z2 + LTTW_ERF_P4;
    p = p * z2 + LTTW_ERF_P5;
    p = p * z2 + LTTW_ERF_P6;
    p = p * z;
    float q = LTTW_ERF_Q0;
    q = q * z2 + LTTW_ERF_Q1;
    q = q * z2 + LTTW_ERF_Q2;
    q = q * z2 + LTTW_ERF_Q3;
    q = q * z2 + LTTW_ERF_Q4;
    return 0.5f * x * (1.0f + p / q);
}

void lttw_sgemm_portable(const lttw_gemm *g);
double lttw_fma_loop_portable(long iterations);
#if defined(__x86_64__)
void lttw_sgemm_avx2(const lttw_gemm *g);
void lttw_sgemm_avx512(const lttw_gemm *g);
double lttw_fma_loop_avx2(long iterations);
double lttw_fma_loop_avx512(long iterations);
#endif
#if defined(__aarch64__)
void lttw_sgemm_neon(const lttw_gemm *g);
double lttw_fma_loop_neon(long iterations);
#endif

/* exp(x) for float32 lanes, the Cephes expf scheme every rows_*.c file follows: x clamped to
 * [LTTW_EXP_LOW, LTTW_EXP_HIGH], n = round(x·log2 e) (by adding and subtracting 1.5·2²³),
 * r = x − n·ln 2 with ln 2 split in two so n·ln2_hi is exact, e^r by a degree-6 polynomial, 2ⁿ
 * built in the exponent bits; inputs below LTTW_EXP_LOW (masked scores, −∞) give exactly 0.
 * Within 2 ulp of libm's expf on [−87, 0], the range softmax feeds it. */
#define LTTW_EXP_LOW -87.33654f
#define LTTW_EXP_HIGH 88.72283f
#define LTTW_EXP_LOG2E 1.442695040888963f
#define LTTW_EXP_MAGIC 12582912.0f
#define LTTW_EXP_LN2_HI 0.693359375f
#define LTTW_EXP_LN2_LO -2.12194440e-4f
#define LTTW_EXP_C0 1.9875691500e-4f
#define LTTW_EXP_C1 1.3981999507e-3f
#define LTTW_EXP_C2 8.3334519073e-3f
#define LTTW_EXP_C3 4.1665795894e-2f
#define LTTW_EXP_C4 1.6666665459e-1f
#define LTTW_EXP_C5 5.0000001201e-1f

/* The row operations, per instruction set (rows_*.c); lttw_exp, lttw_softmax_rows and
 * lttw_layer_norm_rows dispatch to them. */
void lttw_exp_portable(const float *x, float *y, long n);
void lttw_softmax_rows_portable(float *x, long rows, long cols, long ld);
void lttw_layer_norm_rows_portable(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                                   const float *gamma, const float *beta, float eps);
#if defined(__x86_64__)
void lttw_exp_avx2(const float *x, float *y, long n);
void lttw_softmax_rows_avx2(float *x, long rows, long cols, long ld);
void lttw_layer_norm_rows_avx2(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                               const float *gamma, const float *beta, float eps);
void lttw_exp_avx512(const float *x, float *y, long n);
void lttw_softmax_rows_avx512(float *x, long rows, long cols, long ld);
void lttw_layer_norm_rows_avx512(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                                 const float *gamma, const float *beta, float eps);
#endif
#if defined(__aarch64__)
void lttw_exp_neon(const float *x, float *y, long n);
void lttw_softmax_rows_neon(float *x, long rows, long cols, long ld);
void lttw_layer_norm_rows_neon(const float *x, long ldx, float *y, long ldy, long rows, long cols,
                               const float *gamma, const float *beta, float eps);
#endif

/* The depthwise convolution per instruction set (depthwise.c); lttw_depthwise3x3 dispatches. */
void lttw_depthwise3x3_portable(const float *x, long size, long channels, long stride, const float *weight,
                                const float *bias, float *y, long first, long count);
#if defined(__x86_64__)
void lttw_depthwise3x3_avx2(const float *x, long size, long channels, long stride, const float *weight,
                            const float *bias, float *y, long first, long count);
void lttw_depthwise3x3_avx512(const float *x, long size, long channels, long stride, const float *weight,
                              const float *bias, float *y, long first, long count);
#endif

#endif
