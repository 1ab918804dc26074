/* Which kernels this CPU can run, and the entry points that send a product or a row operation to a kernel.
 * The choice comes from the CPU's own feature bits (cpuid and the OS's saved register state via
 * xgetbv on x86; HWCAP on Arm), never from environment variables. */
#include "internal.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* AVX2 and FMA in cpuid, and the OS saving the ymm state (XCR0 bits 1 and 2). */
static int has_avx2(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!fma || !osxsave || !avx) return 0;
    if ((xgetbv0() & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;
}

/* AVX-512 F, DQ, BW and VL in cpuid, and the OS saving the opmask and zmm state (XCR0 bits 5–7). */
static int has_avx512(void) {
    if (!has_avx2()) return 0;
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (!(f && dq && bw && vl)) return 0;
    return (xgetbv0() & 0xE6) == 0xE6;
}
#endif

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#endif

int lttw_kernel_supported(lttw_kernel kernel) {
    switch (kernel) {
    case LTTW_KERNEL_PORTABLE: return 1;
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX2: return has_avx2();
    case LTTW_KERNEL_AVX512: return has_avx512();
#endif
#if defined(__aarch64__)
    case LTTW_KERNEL_NEON:
#if defined(__linux__)
        return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
#else
        return 1;
#endif
#endif
    default: return 0;
    }
}

lttw_kernel lttw_kernel_best(void) {
    static const lttw_kernel order[] = {LTTW_KERNEL_AVX512, LTTW_KERNEL_AVX2, LTTW_KERNEL_NEON};
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++)
        if (lttw_kernel_supported(order[i])) return order[i];
    return LTTW_KERNEL_PORTABLE;
}

long lttw_panel_width(lttw_kernel kernel) {
    switch (kernel) {
    case LTTW_KERNEL_AVX512: return 32;
    case LTTW_KERNEL_AVX2: return 16;
    default: return 8;
    }
}

long lttw_packed_count(lttw_kernel kernel, long n, long k) {
    const long nr = lttw_panel_width(kernel);
    return (n + nr - 1) / nr * nr * k;
}

void lttw_pack(lttw_kernel kernel, const float *w, long ldw, long n, long k, float *packed) {
    const long nr = lttw_panel_width(kernel);
    for (long j0 = 0; j0 < n; j0 += nr) {
        float *panel = packed + j0 * k;
        for (long j = 0; j < nr; j++) {
            if (j0 + j < n) {
                const float *row = w + (j0 + j) * ldw;
                for (long p = 0; p < k; p++) panel[p * nr + j] = row[p];
            } else {
                for (long p = 0; p < k; p++) panel[p * nr + j] = 0.0f;
            }
        }
    }
}

void lttw_sgemm(lttw_kernel kernel, const lttw_gemm *g) {
    switch (kernel) {
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX512: lttw_sgemm_avx512(g); return;
    case LTTW_KERNEL_AVX2: lttw_sgemm_avx2(g); return;
#endif
#if defined(__aarch64__)
    case LTTW_KERNEL_NEON: lttw_sgemm_neon(g); return;
#endif
    default: lttw_sgemm_portable(g); return;
    }
}

double lttw_fma_loop(lttw_kernel kernel, long iterations) {
    switch (kernel) {
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX512: return lttw_fma_loop_avx512(iterations);
    case LTTW_KERNEL_AVX2: return lttw_fma_loop_avx2(iterations);
#endif
#if defined(__aarch64__)
    case LTTW_KERNEL_NEON: return lttw_fma_loop_neon(iterations);
#endif
    default: return lttw_fma_loop_portable(iterations);
    }
}

void lttw_exp(lttw_kernel kernel, const float *x, float *y, long n) {
    switch (kernel) {
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX512: lttw_exp_avx512(x, y, n); return;
    case LTTW_KERNEL_AVX2: lttw_exp_avx2(x, y, n); return;
#endif
#if defined(__aarch64__)
    case LTTW_KERNEL_NEON: lttw_exp_neon(x, y, n); return;
#endif
    default: lttw_exp_portable(x, y, n); return;
    }
}

void lttw_softmax_rows(lttw_kernel kernel, float *x, long rows, long cols, long ld) {
    switch (kernel) {
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX512: lttw_softmax_rows_avx512(x, rows, cols, ld); return;
    case LTTW_KERNEL_AVX2: lttw_softmax_rows_avx2(x, rows, cols, ld); return;
#endif
#if defined(__aarch64__)
    case LTTW_KERNEL_NEON: lttw_softmax_rows_neon(x, rows, cols, ld); return;
#endif
    default: lttw_softmax_rows_portable(x, rows, cols, ld); return;
    }
}

void lttw_layer_norm_rows(lttw_kernel kernel, const float *x, long ldx, float *y, long ldy, long rows, long cols,
                          const float *gamma, const float *beta, float eps) {
    switch (kernel) {
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX512: lttw_layer_norm_rows_avx512(x, ldx, y, ldy, rows, cols, gamma, beta, eps); return;
    case LTTW_KERNEL_AVX2: lttw_layer_norm_rows_avx2(x, ldx, y, ldy, rows, cols, gamma, beta, eps); return;
#endif
#if defined(__aarch64__)
    case LTTW_KERNEL_NEON: lttw_layer_norm_rows_neon(x, ldx, y, ldy, rows, cols, gamma, beta, eps); return;
#endif
    default: lttw_layer_norm_rows_portable(x, ldx, y, ldy, rows, cols, gamma, beta, eps); return;
    }
}
