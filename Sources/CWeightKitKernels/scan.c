/* Value census of an f32 array for `weightkit validate`: NaN, ±Inf, non-zero, largest finite
 * magnitude, finite values beyond two limits. Branch-free on the bit patterns (|x| as an unsigned
 * integer orders like the magnitude for non-negative floats, NaNs sort above Inf), so the compiler
 * turns the loop into integer vector code; the AVX2 copy is the same C compiled for AVX2. */
#include "wk_kernels.h"
#include <string.h>

#define WK_SCAN_BODY                                                                              \
    uint32_t lim = 0, tgt = 0;                                                                    \
    memcpy(&lim, &limit, 4);                                                                      \
    memcpy(&tgt, &target, 4);                                                                     \
    for (long start = 0; start < n; start += 1L << 20) {                                         \
        long end = n - start < (1L << 20) ? n : start + (1L << 20);                               \
        uint32_t nan = 0, inf = 0, nonzero = 0, over_lim = 0, over_tgt = 0, max_bits = 0;         \
        for (long i = start; i < end; i++) {                                                      \
            uint32_t b;                                                                           \
            memcpy(&b, x + i, 4);                                                                 \
            b &= 0x7fffffffu;                                                                     \
            uint32_t finite = b < 0x7f800000u;                                                    \
            nan += b > 0x7f800000u;                                                               \
            inf += b == 0x7f800000u;                                                              \
            nonzero += finite & (b != 0);                                                         \
            over_lim += finite & (b > lim);                                                       \
            over_tgt += finite & (b > tgt);                                                       \
            uint32_t m = finite ? b : 0;                                                          \
            max_bits = m > max_bits ? m : max_bits;                                               \
        }                                                                                         \
        out->nan += nan;                                                                          \
        out->inf += inf;                                                                          \
        out->nonzero += nonzero;                                                                  \
        out->beyond_limit += over_lim;                                                            \
        out->beyond_target += over_tgt;                                                           \
        if (max_bits > out->max_abs_bits) out->max_abs_bits = max_bits;                           \
    }

static void scan_portable(const float *x, long n, float limit, float target, wk_value_scan *out) { WK_SCAN_BODY }

#if defined(__x86_64__) || defined(_M_X64)
__attribute__((target("avx2"))) static void scan_avx2(const float *x, long n, float limit, float target, wk_value_scan *out) {
    WK_SCAN_BODY
}
#endif

void wk_scan_f32_isa(int isa, const float *x, long n, float limit, float target, wk_value_scan *out) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa >= WK_ISA_AVX2) { scan_avx2(x, n, limit, target, out); return; }
#endif
    (void)isa;
    scan_portable(x, n, limit, target, out);
}

void wk_scan_f32(const float *x, long n, float limit, float target, wk_value_scan *out) {
    wk_scan_f32_isa(wk_cpu_isa(), x, n, limit, target, out);
}
