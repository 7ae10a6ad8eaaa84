#ifndef WEIGHTKIT_PRIVATE_H
#define WEIGHTKIT_PRIVATE_H
/* Private to the kernels: what several of the C files share. */
#include "wk_qkernels.h"

/* Bytes of one block of each wk_qtype (2-byte f16 scale [+ 2-byte min] + quants). */
static const long wk_block_bytes[3] = {34, 18, 20};

/* The interleaved layout (WK_QX4): per block index, the four rows' scales (and Q4_1's mins),
   then each row's quants of wk_x4_quants bytes. */
static inline long wk_x4_header(int qtype) { return qtype == WK_Q4_1 ? 16 : 8; }
static inline long wk_x4_quants(int qtype) { return qtype == WK_Q8_0 ? 32 : 16; }

/* A hint to fetch the cache line at p (a no-op where unsupported; never faults). */
static inline void wk_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#if defined(__x86_64__) || defined(_M_X64)
#define WK_X86 1
#include <immintrin.h>
#define WK_AVX2 __attribute__((target("avx2,fma,f16c")))

/* The sum of a vector's eight lanes. */
WK_AVX2 static inline float wk_hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 0x55));
    return _mm_cvtss_f32(lo);
}
#endif

#endif
