/* What the per-instruction-set files share: the epilogue a micro-kernel applies, the erf
 * coefficients of the GELU, and the per-set entry points lttw_sgemm dispatches to. */
#ifndef LTTW_INTERNAL_H
#define LTTW_INTERNAL_H

#include "CKernels.h"

/* What a micro-kernel does to its tile after the multiply-adds, in this order:
 * alpha · sum, + beta · c (c not read when beta is 0), + bias (NR values or NULL), GELU. */
typedef struct {
    float alpha, beta;
    const float *bias;
    int gelu;
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

#endif
