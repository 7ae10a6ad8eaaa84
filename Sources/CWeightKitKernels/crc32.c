/* CRC-32 (the zlib / zip polynomial, bit-reflected 0xEDB88320) by carry-less multiplication.
 *
 * Folding 64-byte blocks with PCLMULQDQ runs about three times as fast as zlib's table-driven
 * crc32_z (figures in docs/BENCHMARKS.md). The method is the one in Intel's paper "Fast CRC
 * Computation for Generic Polynomials Using PCLMULQDQ Instruction" (Gopal et al., 2009): keep four
 * 128-bit lanes of the running remainder, multiply each by x^(512±64) mod P to move it 64 bytes
 * on and xor in the next block; then fold the four lanes into one, the 128 bits to 64, and reduce
 * to 32 with Barrett's method. The constants below are those powers of x modulo P, bit-reflected
 * (k1 = x^(4*128+32) mod P << 1, k2 = x^(4*128-32) mod P << 1, k3/k4 the same for 128, k5 =
 * x^64 mod P << 1, mu = floor(x^64 / P) and P itself with its x^32 term).
 *
 * The caller passes whole 16-byte units (at least 64 bytes) and finishes the tail with zlib. */
#include "wk_kernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

int wk_has_pclmul(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    }
    return cached;
}

#define WK_CLMUL __attribute__((target("pclmul,sse4.1")))

WK_CLMUL static inline __m128i fold(__m128i acc, __m128i k, __m128i next) {
    __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(acc, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(hi, lo), next);
}

WK_CLMUL uint32_t wk_crc32_fold(uint32_t crc, const unsigned char *p, size_t len) {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124LL);
    const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    /* zlib's convention: the register holds the complement. */
    __m128i x1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)p), _mm_cvtsi32_si128((int)~crc));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    p += 64;
    len -= 64;
    for (; len >= 64; p += 64, len -= 64) {
        x1 = fold(x1, k1k2, _mm_loadu_si128((const __m128i *)p));
        x2 = fold(x2, k1k2, _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = fold(x3, k1k2, _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = fold(x4, k1k2, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    /* Four lanes into one, then the remaining 16-byte units. */
    x1 = fold(x1, k3k4, x2);
    x1 = fold(x1, k3k4, x3);
    x1 = fold(x1, k3k4, x4);
    for (; len >= 16; p += 16, len -= 16) x1 = fold(x1, k3k4, _mm_loadu_si128((const __m128i *)p));

    /* 128 bits to 64: the low half times k4 into the high half, then 96 bits to 64 with k5. */
    __m128i t = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    t = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00), t);

    /* Barrett reduction to 32 bits. */
    t = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), poly, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return ~(uint32_t)_mm_extract_epi32(x1, 1);
}
#else
int wk_has_pclmul(void) { return 0; }
uint32_t wk_crc32_fold(uint32_t crc, const unsigned char *p, size_t len) { (void)p; (void)len; return crc; }
#endif
