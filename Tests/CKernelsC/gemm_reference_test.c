/* The C kernels against a naive double-precision reference, for every kernel this CPU runs:
 * every b layout, odd shapes, one row, k = 1, large k, alpha/beta, bias, GELU. Built and run
 * by scripts/test_neon.sh for AArch64 under qemu (NEON and portable); on x86 it runs natively.
 * Prints one line per failure and exits 1 if any. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "CKernels.h"

static unsigned long long state = 12345;
static float next_float(void) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((state >> 40) & 0xFFFFFF) / (float)0x1000000 * 2.0f - 1.0f;
}

static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

static int check(lttw_kernel kernel, long m, long n, long k, lttw_b_layout layout, float alpha, float beta,
                 int with_bias, int with_gelu) {
    const long lda = k + 3, ldc = n + 5;
    const long ldb = layout == LTTW_B_ROWS ? n + 2 : k + 1;
    float *a = malloc(sizeof(float) * (m * lda + 1));
    float *w = malloc(sizeof(float) * (n * (k + 1) + 1)); /* [n, k] logical weight, stride k + 1 */
    float *b = malloc(sizeof(float) * ((layout == LTTW_B_ROWS ? k * ldb : n * ldb) + 1));
    float *packed = malloc(sizeof(float) * (lttw_packed_count(kernel, n, k) + 1));
    float *c = malloc(sizeof(float) * (m * ldc + 1));
    float *c0 = malloc(sizeof(float) * (m * ldc + 1));
    float *bias = malloc(sizeof(float) * (n + 1));
    for (long i = 0; i < m * lda; i++) a[i] = next_float();
    for (long i = 0; i < n * (k + 1); i++) w[i] = next_float();
    for (long i = 0; i < n; i++) bias[i] = next_float();
    for (long i = 0; i < m * ldc; i++) c0[i] = beta == 0.0f ? NAN : next_float();
    memcpy(c, c0, sizeof(float) * m * ldc);
    for (long j = 0; j < n; j++)
        for (long p = 0; p < k; p++) {
            if (layout == LTTW_B_ROWS) b[p * ldb + j] = w[j * (k + 1) + p];
            else b[j * ldb + p] = w[j * (k + 1) + p];
        }
    lttw_gemm g = {m, n, k, a, lda, b, ldb, layout, c, ldc, alpha, beta, with_bias ? bias : NULL, with_gelu};
    if (layout == LTTW_B_PACKED) {
        lttw_pack(kernel, w, k + 1, n, k, packed);
        g.b = packed;
    }
    lttw_sgemm(kernel, &g);
    int failures = 0;
    for (long i = 0; i < m && !failures; i++)
        for (long j = 0; j < n; j++) {
            double sum = 0, magnitude = 0;
            for (long p = 0; p < k; p++) {
                sum += (double)a[i * lda + p] * w[j * (k + 1) + p];
                magnitude += fabs((double)a[i * lda + p] * w[j * (k + 1) + p]);
            }
            double expected = alpha * sum + (beta != 0.0f ? beta * (double)c0[i * ldc + j] : 0.0)
                + (with_bias ? bias[j] : 0.0);
            if (with_gelu) expected = gelu(expected);
            const double tolerance = 1e-5 * (1.0 + fabs(alpha) * magnitude + fabs(beta) + 1.0);
            const double got = c[i * ldc + j];
            if (!(fabs(got - expected) <= tolerance)) {
                printf("FAIL kernel %d layout %d %ldx%ldx%ld alpha %g beta %g bias %d gelu %d: c[%ld][%ld] = %.7g, expected %.7g\n",
                       (int)kernel, (int)layout, m, n, k, alpha, beta, with_bias, with_gelu, i, j, got, expected);
                failures = 1;
                break;
            }
        }
    free(a); free(w); free(b); free(packed); free(c); free(c0); free(bias);
    return failures;
}

int main(void) {
    static const long shapes[][3] = {
        {1, 1, 1}, {1, 7, 9}, {1, 128, 512}, {1, 99, 128}, {2, 33, 1}, {3, 5, 17}, {5, 33, 65}, {7, 40, 300},
        {8, 32, 64}, {9, 31, 257}, {13, 64, 513}, {17, 4, 8}, {51, 101, 64}, {64, 64, 64}, {101, 192, 768},
        {129, 70, 33}, {6, 16, 0},
    };
    static const lttw_kernel kernels[] = {LTTW_KERNEL_PORTABLE, LTTW_KERNEL_AVX2, LTTW_KERNEL_AVX512, LTTW_KERNEL_NEON};
    static const char *names[] = {"portable", "avx2", "avx512", "neon"};
    int failures = 0, runs = 0;
    for (unsigned kk = 0; kk < 4; kk++) {
        if (!lttw_kernel_supported(kernels[kk])) continue;
        int before = failures;
        for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int layout = 0; layout < 3; layout++)
                for (int variant = 0; variant < 4; variant++) {
                    const float alpha = variant == 2 ? 0.125f : 1.0f;
                    const float beta = variant == 1 ? 1.0f : (variant == 3 ? 0.5f : 0.0f);
                    failures += check(kernels[kk], shapes[s][0], shapes[s][1], shapes[s][2], (lttw_b_layout)layout,
                                      alpha, beta, variant != 2, variant == 0 || variant == 3);
                    runs++;
                }
        printf("%s: %s\n", names[kk], failures == before ? "ok" : "FAILED");
    }
    printf("%d products checked, %d failed; best kernel here: %s\n", runs, failures, names[lttw_kernel_best()]);
    return failures ? 1 : 0;
}
