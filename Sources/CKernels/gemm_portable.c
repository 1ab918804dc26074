/* Portable micro-kernel in plain C: 4 rows x 8 columns. The compiler vectorises it for whatever
 * the package is built for (SSE2 on baseline x86-64); it is the fallback for CPUs with none of
 * the other instruction sets, and the reference the others are tested beside. */
#include "internal.h"

#define INLINE static inline __attribute__((always_inline))

INLINE void tile_portable(const int R, long kc, const float *a, long lda, const float *b, long ldb,
                          float *c, long ldc, const lttw_epilogue *e) {
    float acc[4][8] = {{0}};
    for (long p = 0; p < kc; p++) {
        const float *bp = b + p * ldb;
        for (int r = 0; r < R; r++) {
            const float x = a[r * lda + p];
            for (int j = 0; j < 8; j++) acc[r][j] += x * bp[j];
        }
    }
    for (int r = 0; r < R; r++) {
        float *out = c + r * ldc;
        for (int j = 0; j < 8; j++) {
            float v = e->alpha * acc[r][j];
            if (e->beta != 0.0f) v += e->beta * out[j];
            if (e->bias) v += e->bias[j];
            if (e->activation == LTTW_ACTIVATION_GELU) v = lttw_gelu_scalar(v);
            else if (e->activation == LTTW_ACTIVATION_RELU6) v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
            out[j] = v;
        }
    }
}

static void kernel_portable(int rows, long kc, const float *a, long lda, const float *b, long ldb,
                            float *c, long ldc, const lttw_epilogue *e) {
    switch (rows) {
    case 1: tile_portable(1, kc, a, lda, b, ldb, c, ldc, e); break;
    case 2: tile_portable(2, kc, a, lda, b, ldb, c, ldc, e); break;
    case 3: tile_portable(3, kc, a, lda, b, ldb, c, ldc, e); break;
    default: tile_portable(4, kc, a, lda, b, ldb, c, ldc, e); break;
    }
}

#define LTTW_NR 8
#define LTTW_MR 4
#define LTTW_KC 256
#define LTTW_MC 128
#define LTTW_KERNEL kernel_portable
#define LTTW_DRIVER lttw_sgemm_portable
#include "driver.inc"

/* Multiply-adds on 16 independent 4-wide vectors (the compiler's generic vectors: SSE2 on x86,
 * NEON on Arm), counted as 2 operations each. */
double lttw_fma_loop_portable(long iterations) {
    typedef float v4 __attribute__((vector_size(16)));
    v4 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = (v4){1, 2, 3, 4} * ((float)i * 1e-3f);
    v4 x = {0.999999f, 0.999999f, 0.999999f, 0.999999f}, y = {1e-7f, 1e-7f, 1e-7f, 1e-7f};
    __asm__ volatile("" : "+m"(x), "+m"(y));
    for (long it = 0; it < iterations; it++) {
        for (int i = 0; i < 16; i++) acc[i] = acc[i] * x + y;
    }
    v4 total = acc[0];
    for (int i = 1; i < 16; i++) total += acc[i];
    volatile float sink = total[0];
    (void)sink;
    return (double)iterations * 16 * 4 * 2;
}
