/*
 * The engine's single-precision matrix products: micro-kernels for AVX-512, AVX2+FMA, NEON and
 * portable C, one cache-blocked driver around them, and the CPU feature checks that choose among
 * them at run time; beside them the row operations between the products (softmax, layer norm) on
 * the same instruction sets. Swift sees only this header (through Kernels); nothing here allocates.
 */
#ifndef LTTW_CKERNELS_H
#define LTTW_CKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An instruction set the products can run on. */
typedef enum {
    LTTW_KERNEL_PORTABLE = 0,
    LTTW_KERNEL_AVX2 = 1,
    LTTW_KERNEL_AVX512 = 2,
    LTTW_KERNEL_NEON = 3,
} lttw_kernel;

/* How the right-hand operand b is laid out. */
typedef enum {
    /* Panels of lttw_panel_width columns x k, made by lttw_pack (a weight packed at load). */
    LTTW_B_PACKED = 0,
    /* b is [k, n], row-major with stride ldb (attention's P·V). */
    LTTW_B_ROWS = 1,
    /* b is [n, k], row-major with stride ldb: the product is a·bᵀ (attention's Q·Kᵀ). */
    LTTW_B_TRANSPOSED = 2,
} lttw_b_layout;

/* What a product applies to its result, last (fused into the micro-kernel's store). */
typedef enum {
    LTTW_ACTIVATION_NONE = 0,
    /* The exact (erf) GELU, as PyTorch's nn.GELU(). */
    LTTW_ACTIVATION_GELU = 1,
    /* min(max(x, 0), 6), as PyTorch's nn.ReLU6 (MobileNetV2's expansions and stem). */
    LTTW_ACTIVATION_RELU6 = 2,
} lttw_activation;

/* c = activation(alpha · a·b + beta · c + bias), a [m, k]; c [m, n]. When beta is 0, c is not read. */
typedef struct {
    long m, n, k;
    const float *a;
    long lda;
    /* For LTTW_B_PACKED: the panel holding column 0 of this product (a panel boundary). */
    const float *b;
    long ldb;
    lttw_b_layout b_layout;
    float *c;
    long ldc;
    float alpha, beta;
    /* n values added to every row, or NULL. */
    const float *bias;
    lttw_activation activation;
} lttw_gemm;

/* Whether this CPU (and its operating system) can run `kernel`: cpuid and xgetbv on x86,
 * HWCAP on Arm. Never reads the environment. */
int lttw_kernel_supported(lttw_kernel kernel);

/* The fastest kernel this CPU supports. */
lttw_kernel lttw_kernel_best(void);

/* Columns per packed panel (the micro-kernel's NR); always divides 32. */
long lttw_panel_width(lttw_kernel kernel);

/* Values lttw_pack writes for an [n, k] weight. */
long lttw_packed_count(lttw_kernel kernel, long n, long k);

/* Copies the [n, k] weight w (row stride ldw) into panels of lttw_panel_width(kernel) columns:
 * panel q holds columns q·NR ..< q·NR+NR, k rows of NR values, zero past column n. */
void lttw_pack(lttw_kernel kernel, const float *w, long ldw, long n, long k, float *packed);

/* The product described by `g` on `kernel`, which must be supported (and, for LTTW_B_PACKED,
 * the kernel the weight was packed for). Single-threaded; the caller splits work. */
void lttw_sgemm(lttw_kernel kernel, const lttw_gemm *g);

/* Runs a register-only loop of independent fused multiply-adds (plain multiply-adds for the
 * portable kernel) `iterations` times on `kernel`'s widest vectors; returns the floating-point
 * operations done (2 per multiply-add). For measuring the CPU's peak per thread. */
double lttw_fma_loop(lttw_kernel kernel, long iterations);

/* Softmax of each of `rows` rows of `cols` values (row stride ld), in place, on `kernel`: the
 * row maximum is subtracted before exp, so large logits cannot overflow; −∞ entries (masked) get
 * probability 0, and a row whose entries are all −∞ becomes zeros (not NaN as in PyTorch), so one
 * fully masked row cannot poison what follows. */
void lttw_softmax_rows(lttw_kernel kernel, float *x, long rows, long cols, long ld);

/* y[i] = exp(x[i]) for n values with the exp softmax uses on `kernel` (within 2 ulp of libm's expf
 * on [−87, 0]; exactly 0 below −87.34, −∞ included). y may be x. For tests of that exp. */
void lttw_exp(lttw_kernel kernel, const float *x, float *y, long n);

/* torch.nn.LayerNorm over each row: y = (x − mean) / sqrt(var + eps) · gamma + beta, biased
 * variance, mean and variance in two passes (a running sum of squares loses digits when the mean
 * is large next to the spread, common in residual streams). gamma and beta hold `cols` values or
 * are NULL. y may be x itself (each row is read fully before it is written). */
void lttw_layer_norm_rows(lttw_kernel kernel, const float *x, long ldx, float *y, long ldy, long rows, long cols,
                          const float *gamma, const float *beta, float eps);

/* MobileNetV2's depthwise 3×3 convolution (padding 1, stride 1 or 2) and the ReLU6 after it,
 * over a position-major input x [size·size, channels]: output positions first ..< first+count of
 * y [out·out, channels], out = (size − 1) / stride + 1. The input is read as it lies: the layer
 * before applies its own ReLU6 (a product with LTTW_ACTIVATION_RELU6). weight is tap-major
 * [9, channels] (kernel row, then column), the batch norm folded into it and bias.
 * Single-threaded; the caller splits the positions. Its NEON build is the portable C, which the
 * compiler vectorises for AArch64. */
void lttw_depthwise3x3(lttw_kernel kernel, const float *x, long size, long channels, long stride, const float *weight,
                       const float *bias, float *y, long first, long count);

#ifdef __cplusplus
}
#endif

#endif
