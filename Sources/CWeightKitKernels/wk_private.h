#ifndef WEIGHTKIT_PRIVATE_H
#define WEIGHTKIT_PRIVATE_H
/* Private to the kernels: what several of the C files share. */
#include "wk_qkernels.h"
#include <stddef.h>
#include <stdint.h>

/* Bytes of one block of each wk_qtype (2-byte f16 scale [+ 2-byte min] + quants). */
static const long wk_block_bytes[3] = {34, 18, 20};

/* The interleaved layout (WK_QX4): per block index, the four rows' scales (and Q4_1's mins),
   then each row's quants of wk_x4_quants bytes. */
static inline long wk_x4_header(int qtype) { return qtype == WK_Q4_1 ? 16 : 8; }
static inline long wk_x4_quants(int qtype) { return qtype == WK_Q8_0 ? 32 : 16; }

/* Where row r's block b keeps its f16 scale, its f16 min (Q4_1; NULL otherwise) and its quants,
   in the ordinary layout or, with WK_QX4 in qtype, the interleaved one (nb blocks per row). */
typedef struct {
    const uint8_t *scale, *min, *quants;
} wk_qblock_ref;

static inline wk_qblock_ref wk_qblock_at(int qtype, const uint8_t *w, long nb, long r, long b) {
    int plain = qtype & ~WK_QX4;
    long bb = wk_block_bytes[plain];
    wk_qblock_ref ref;
    if (qtype & WK_QX4) {
        const uint8_t *unit = w + ((r / 4) * nb + b) * 4 * bb;
        long j = r % 4;
        ref.scale = unit + 2 * j;
        ref.min = plain == WK_Q4_1 ? unit + 8 + 2 * j : NULL;
        ref.quants = unit + wk_x4_header(plain) + j * wk_x4_quants(plain);
    } else {
        const uint8_t *blk = w + (r * nb + b) * bb;
        ref.scale = blk;
        ref.min = plain == WK_Q4_1 ? blk + 2 : NULL;
        ref.quants = blk + (bb - wk_x4_quants(plain));
    }
    return ref;
}

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

/* The sums of four vectors' lanes, as one vector (v_i's sum in lane i). */
WK_AVX2 static inline __m128 wk_hsum4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3)); /* s0 s1 s2 s3 | s0 s1 s2 s3 */
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* 32 activations x rounded to int16 a (32-byte aligned) with x ≈ scale·a: scale = max|x| / 32767,
   round to nearest (relative error ≤ 1.5e-5 of the block's largest |x|). Returns the exact f32
   Σx. The one rounding recipe of the int16 paths: decode (qkernels.c) and the VNNI prefill. */
WK_AVX2 static inline float wk_quantize_block_i16(const float *x, int16_t *a, float *scale) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                             _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 0x55));
    float amax = _mm_cvtss_f32(m4);
    *scale = amax / 32767.0f;
    __m256 inv = _mm256_set1_ps(amax != 0 ? 32767.0f / amax : 0);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inv));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inv));
    /* packs works within 128-bit lanes; the permute restores element order. */
    _mm256_store_si256((__m256i *)a, _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8));
    _mm256_store_si256((__m256i *)(a + 16), _mm256_permute4x64_epi64(_mm256_packs_epi32(i2, i3), 0xD8));
    return wk_hsum(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)));
}
#endif

#endif
