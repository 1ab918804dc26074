/* MobileNetV2's depthwise 3×3 convolution, one copy per instruction set from depthwise.inc. The
 * x86 copies carry their target attribute, so the file builds for baseline x86-64. */
#include "internal.h"

#define DEPTHWISE_NAME lttw_depthwise3x3_portable
#define DEPTHWISE_TARGET
#include "depthwise.inc"
#undef DEPTHWISE_NAME
#undef DEPTHWISE_TARGET

#if defined(__x86_64__)
#define DEPTHWISE_NAME lttw_depthwise3x3_avx2
#define DEPTHWISE_TARGET __attribute__((target("avx2,fma")))
#include "depthwise.inc"
#undef DEPTHWISE_NAME
#undef DEPTHWISE_TARGET

#define DEPTHWISE_NAME lttw_depthwise3x3_avx512
#define DEPTHWISE_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#include "depthwise.inc"
#undef DEPTHWISE_NAME
#undef DEPTHWISE_TARGET
#endif

void lttw_depthwise3x3(lttw_kernel kernel, const float *x, long size, long channels, long stride, const float *weight,
                       const float *bias, float *y, long first, long count) {
    switch (kernel) {
#if defined(__x86_64__)
    case LTTW_KERNEL_AVX512: lttw_depthwise3x3_avx512(x, size, channels, stride, weight, bias, y, first, count); return;
    case LTTW_KERNEL_AVX2: lttw_depthwise3x3_avx2(x, size, channels, stride, weight, bias, y, first, count); return;
#endif
    default: lttw_depthwise3x3_portable(x, size, channels, stride, weight, bias, y, first, count); return;
    }
}
