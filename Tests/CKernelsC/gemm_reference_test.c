/* The C kernels against a naive double-precision reference, for every kernel this CPU runs:
 * every b layout, odd shapes, one row, k = 1, large k, alpha/beta, bias, GELU; and the row
 * operations (softmax with masked entries and fully masked rows, layer norm with and without its
 * affine part, in place, a large mean) on every row length around the vector widths. Built and run
 * by scripts/test_neon.sh for AArch64 under qemu (NEON and portable); on x86 it runs natively.
 * Prints one line per failure and exits 1 if any. */
#include <float.h>
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
                 int with_bias, lttw_activation activation) {
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
    lttw_gemm g = {m, n, k, a, lda, b, ldb, layout, c, ldc, alpha, beta, with_bias ? bias : NULL, activation};
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
            if (activation == LTTW_ACTIVATION_GELU) expected = gelu(expected);
            if (activation == LTTW_ACTIVATION_RELU6) expected = fmin(fmax(expected, 0.0), 6.0);
            const double tolerance = 1e-5 * (1.0 + fabs(alpha) * magnitude + fabs(beta) + 1.0);
            const double got = c[i * ldc + j];
            if (!(fabs(got - expected) <= tolerance)) {
                printf("FAIL kernel %d layout %d %ldx%ldx%ld alpha %g beta %g bias %d activation %d: c[%ld][%ld] = %.7g, expected %.7g\n",
                       (int)kernel, (int)layout, m, n, k, alpha, beta, with_bias, (int)activation, i, j, got, expected);
                failures = 1;
                break;
            }
        }
    free(a); free(w); free(b); free(packed); free(c); free(c0); free(bias);
    return failures;
}

/* exp within 2 ulp of the double exp on [−87, 0] (steps of 1/4096, in odd-length runs so every
 * tail path runs), exactly 0 below −87.34 and exactly 1 at 0. */
static int check_exp(lttw_kernel kernel) {
    enum { RUN = 37 };
    float x[RUN], y[RUN];
    double worst = 0;
    for (long start = -87 * 4096; start <= 0; start += RUN) {
        long n = 0;
        for (; n < RUN && start + n <= 0; n++) x[n] = (float)(start + n) / 4096.0f;
        lttw_exp(kernel, x, y, n);
        for (long i = 0; i < n; i++) {
            const float exact = (float)exp((double)x[i]);
            const double ulps = fabs((double)y[i] - exact) / (nextafterf(exact, INFINITY) - exact);
            worst = ulps > worst ? ulps : worst;
        }
    }
    const float edges[] = {-INFINITY, -1000.0f, -88.0f, -87.5f, -1e30f, 0.0f};
    float out[6];
    lttw_exp(kernel, edges, out, 6);
    int failures = 0;
    for (int i = 0; i < 5; i++) failures += out[i] != 0.0f;
    failures += out[5] != 1.0f;
    if (worst > 2.0 || failures) {
        printf("FAIL kernel %d exp: worst %.2f ulp on [-87, 0], %d edge values wrong\n", (int)kernel, worst, failures);
        return 1;
    }
    return 0;
}

/* Softmax of `rows` rows of `cols` (stride cols + 3) against a double reference: relative error
 * at most 1e-6 per probability (exp within 2 ulp, a sum of up to a few hundred terms) plus the
 * rounding of x − max in float (half an ulp of the difference, which exp turns into a relative
 * error of that size); −∞ entries give exactly 0 and a fully masked row all zeros. */
static int check_softmax(lttw_kernel kernel, long rows, long cols) {
    const long ld = cols + 3;
    float *x = malloc(sizeof(float) * (rows * ld + 1));
    float *x0 = malloc(sizeof(float) * (rows * ld + 1));
    for (long i = 0; i < rows * ld; i++) x0[i] = next_float() * 30.0f;
    for (long r = 0; r < rows; r++) {
        if (r % 3 == 1) for (long j = 0; j < cols; j += 2) x0[r * ld + j] = -INFINITY;
        if (r == rows - 1 && rows > 1) for (long j = 0; j < cols; j++) x0[r * ld + j] = -INFINITY;
        if (r == 0) x0[r * ld] = 80.0f; /* a large logit: the maximum is subtracted first */
    }
    memcpy(x, x0, sizeof(float) * rows * ld);
    lttw_softmax_rows(kernel, x, rows, cols, ld);
    int failures = 0;
    for (long r = 0; r < rows && !failures; r++) {
        double maximum = -INFINITY, sum = 0;
        for (long j = 0; j < cols; j++) maximum = fmax(maximum, x0[r * ld + j]);
        for (long j = 0; j < cols; j++) sum += maximum == -INFINITY ? 0.0 : exp((double)x0[r * ld + j] - maximum);
        for (long j = 0; j < ld && !failures; j++) {
            const double got = x[r * ld + j];
            if (j >= cols) {
                if (memcmp(&x[r * ld + j], &x0[r * ld + j], sizeof(float)) != 0) {
                    printf("FAIL kernel %d softmax %ldx%ld: wrote past the row at [%ld][%ld]\n", (int)kernel, rows, cols, r, j);
                    failures = 1;
                }
                continue;
            }
            const double expected = maximum == -INFINITY ? 0.0 : exp((double)x0[r * ld + j] - maximum) / sum;
            const int exact = maximum == -INFINITY || x0[r * ld + j] == -INFINITY;
            if (exact ? got != expected : !(fabs(got - expected) <= (1e-6 + 1.2e-7 * fabs((double)x0[r * ld + j] - maximum)) * expected + 1e-30)) {
                printf("FAIL kernel %d softmax %ldx%ld: [%ld][%ld] = %.9g, expected %.9g\n", (int)kernel, rows, cols, r, j,
                       got, expected);
                failures = 1;
            }
        }
    }
    free(x); free(x0);
    return failures;
}

/* Layer norm of `rows` rows of `cols` around a mean of 100 (where one running sum of squares
 * would lose digits), with gamma and beta, without them, and in place; within 2e-5 of the double
 * reference (values of order 1, a float sum over up to 768 terms) plus what float can hold: the
 * inputs and their mean are known to a few ulp of 100, which the division by the spread magnifies
 * (a row of three values may have a spread of 0.3). */
static int check_layer_norm(lttw_kernel kernel, long rows, long cols) {
    const long ldx = cols + 1, ldy = cols + 2;
    float *x = malloc(sizeof(float) * (rows * ldx + 1));
    float *y = malloc(sizeof(float) * (rows * ldy + 1));
    float *gamma = malloc(sizeof(float) * (cols + 1));
    float *beta = malloc(sizeof(float) * (cols + 1));
    for (long i = 0; i < rows * ldx; i++) x[i] = 100.0f + next_float() * 3.0f;
    for (long j = 0; j < cols; j++) { gamma[j] = 1.0f + next_float(); beta[j] = next_float(); }
    int failures = 0;
    for (int variant = 0; variant < 3 && !failures; variant++) {
        const int affine = variant != 1, in_place = variant == 2;
        float *out = in_place ? malloc(sizeof(float) * (rows * ldx + 1)) : y;
        const long ldo = in_place ? ldx : ldy;
        if (in_place) memcpy(out, x, sizeof(float) * rows * ldx);
        lttw_layer_norm_rows(kernel, in_place ? out : x, ldx, out, ldo, rows, cols, affine ? gamma : NULL,
                             affine ? beta : NULL, 1e-5f);
        for (long r = 0; r < rows && !failures; r++) {
            double mean = 0, var = 0;
            for (long j = 0; j < cols; j++) mean += x[r * ldx + j];
            mean /= cols;
            for (long j = 0; j < cols; j++) var += (x[r * ldx + j] - mean) * (x[r * ldx + j] - mean);
            var /= cols;
            for (long j = 0; j < cols; j++) {
                double expected = (x[r * ldx + j] - mean) / sqrt(var + 1e-5);
                if (affine) expected = expected * gamma[j] + beta[j];
                const double got = out[r * ldo + j];
                const double input_ulps = 4.0 * 100.0 * FLT_EPSILON / sqrt(var + 1e-5) * (affine ? fabs(gamma[j]) : 1.0);
                if (!(fabs(got - expected) <= 2e-5 * (1.0 + fabs(expected)) + input_ulps)) {
                    printf("FAIL kernel %d layer norm %ldx%ld variant %d: [%ld][%ld] = %.7g, expected %.7g\n", (int)kernel,
                           rows, cols, variant, r, j, got, expected);
                    failures = 1;
                    break;
                }
            }
        }
        if (in_place) free(out);
    }
    free(x); free(y); free(gamma); free(beta);
    return failures;
}

/* MobileNetV2's depthwise 3×3 convolution (ReLU6 on its output, tap-major weights; its input in
 * [0, 6], as the product before it clamps)
 * against a double reference from the definition, on a `size`² input of `channels`, the output
 * positions written in two shares; within 2e-5 plus 1e-5 relative (nine products in float). */
static int check_depthwise(lttw_kernel kernel, long size, long channels, long stride) {
    const long out = (size - 1) / stride + 1;
    float *x = malloc(sizeof(float) * size * size * channels);
    float *w = malloc(sizeof(float) * 9 * channels);
    float *b = malloc(sizeof(float) * channels);
    float *y = malloc(sizeof(float) * out * out * channels);
    for (long i = 0; i < size * size * channels; i++) x[i] = 3.0f + 3.0f * next_float(); /* [0, 6] */
    for (long i = 0; i < 9 * channels; i++) w[i] = next_float();
    for (long i = 0; i < channels; i++) b[i] = 2.0f * next_float();
    /* Three shares, as three lanes would run them: most start and end inside an output row. */
    const long third = out * out / 3, twoThirds = 2 * out * out / 3;
    lttw_depthwise3x3(kernel, x, size, channels, stride, w, b, y, twoThirds, out * out - twoThirds);
    lttw_depthwise3x3(kernel, x, size, channels, stride, w, b, y, 0, third);
    lttw_depthwise3x3(kernel, x, size, channels, stride, w, b, y, third, twoThirds - third);
    int failures = 0;
    for (long p = 0; p < out * out && !failures; p++) {
        const long oy = p / out, ox = p % out;
        for (long c = 0; c < channels && !failures; c++) {
            double sum = b[c];
            for (long ky = 0; ky < 3; ky++)
                for (long kx = 0; kx < 3; kx++) {
                    const long iy = oy * stride - 1 + ky, ix = ox * stride - 1 + kx;
                    if (iy < 0 || iy >= size || ix < 0 || ix >= size) continue;
                    sum += x[(iy * size + ix) * channels + c] * w[(ky * 3 + kx) * channels + c];
                }
            const double expected = fmin(fmax(sum, 0.0), 6.0), got = y[p * channels + c];
            if (!(fabs(got - expected) <= 2e-5 + 1e-5 * fabs(expected))) {
                printf("FAIL kernel %d depthwise %ld² x %ld stride %ld: [%ld][%ld] = %.9g, expected %.9g\n", (int)kernel, size,
                       channels, stride, p, c, got, expected);
                failures = 1;
            }
        }
    }
    free(x); free(w); free(b); free(y);
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
    int failures = 0, runs = 0, rowRuns = 0;
    for (unsigned kk = 0; kk < 4; kk++) {
        if (!lttw_kernel_supported(kernels[kk])) continue;
        int before = failures;
        for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int layout = 0; layout < 3; layout++)
                for (int variant = 0; variant < 5; variant++) {
                    const float alpha = variant == 2 ? 0.125f : 1.0f;
                    const float beta = variant == 1 ? 1.0f : (variant == 3 ? 0.5f : 0.0f);
                    /* Variant 4: ReLU6 at alpha 4, so sums fall past both of its bounds. */
                    const lttw_activation activation = variant == 4 ? LTTW_ACTIVATION_RELU6
                        : (variant == 0 || variant == 3 ? LTTW_ACTIVATION_GELU : LTTW_ACTIVATION_NONE);
                    failures += check(kernels[kk], shapes[s][0], shapes[s][1], shapes[s][2], (lttw_b_layout)layout,
                                      variant == 4 ? 4.0f : alpha, beta, variant != 2, activation);
                    runs++;
                }
        static const long lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 101, 192, 257, 768};
        failures += check_exp(kernels[kk]);
        rowRuns++;
        for (unsigned l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
            failures += check_softmax(kernels[kk], 7, lengths[l]);
            failures += check_layer_norm(kernels[kk], 5, lengths[l]);
            rowRuns += 2;
        }
        static const long convolutions[][3] = {{8, 16, 1}, {8, 16, 2}, {7, 24, 2}, {5, 5, 1}, {9, 37, 2}, {1, 8, 1}, {16, 96, 1},
                                                    {2, 16, 1}, {3, 16, 2}, {3, 33, 1}, {4, 20, 2}, {10, 48, 2}};
        for (unsigned v = 0; v < sizeof convolutions / sizeof convolutions[0]; v++) {
            failures += check_depthwise(kernels[kk], convolutions[v][0], convolutions[v][1], convolutions[v][2]);
            rowRuns++;
        }
        printf("%s: %s\n", names[kk], failures == before ? "ok" : "FAILED");
    }
    printf("%d products and %d row operations and convolutions checked, %d failed; best kernel here: %s\n", runs, rowRuns, failures,
           names[lttw_kernel_best()]);
    return failures ? 1 : 0;
}
