#ifndef WEIGHTKIT_PRIVATE_H
#define WEIGHTKIT_PRIVATE_H
/* Private to the kernels: what several of the C files share. */
#include "wk_qkernels.h"
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes of one block of each wk_qtype: for the 32-value types a 2-byte f16 scale [+ 2-byte min]
   then the quants (Q5's 4 bytes of high bits first); Q4_K 144, Q6_K 210, Q5_K 176, Q3_K 110,
   Q2_K 84, IQ4_NL 18, IQ4_XS 136. */
static const long wk_block_bytes[12] = {34, 18, 20, 22, 24, 144, 210, 176, 110, 84, 18, 136};

/* IQ4_NL's 16 values (ggml's kvalues_iq4nl): a nibble n stands for d·wk_iq4nl_values[n]. */
static const int8_t wk_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* A K type (super-blocks of 256 values); qtype may carry WK_QX4. */
static inline int wk_is_k(int qtype) { return (qtype & ~WK_QX4) >= WK_Q4_K && (qtype & ~WK_QX4) <= WK_Q2_K; }

/* A type with blocks of 256 values: the K types and IQ4_XS; qtype may carry WK_QX4. */
static inline int wk_is_256(int qtype) { return wk_is_k(qtype) || (qtype & ~WK_QX4) == WK_IQ4_XS; }

/* Bytes of one row of `cols` values. */
static inline long wk_row_bytes(int qtype, long cols) { return cols / (wk_is_256(qtype) ? 256 : 32) * wk_block_bytes[qtype & ~WK_QX4]; }

/* Where row r's super-block b of an interleaved IQ4_XS matrix (nb per row) starts: the four rows'
   super-blocks of index b lie back to back, in row order. */
static inline long wk_iq4xs_x4_offset(long nb, long r, long b) { return (((r / 4) * nb + b) * 4 + r % 4) * wk_block_bytes[WK_IQ4_XS]; }

/* IQ4_XS super-block b's 6-bit scale of sub-block j (values 32j .. 32j+31), minus 32: the low four
   bits in scales_l (byte 4 + j/2, low nibble for even j), the high two in scales_h (bytes 2-3, bits
   2j and 2j+1). Sub-block j's values are d·(this)·level, its nibbles at b + 8 + 16j. */
static inline int wk_iq4xs_scale(const uint8_t *b, int j) {
    int high = ((b[2] | b[3] << 8) >> (2 * j)) & 3;
    return (((b[4 + j / 2] >> (4 * (j % 2))) & 0x0F) | (high << 4)) - 32;
}

/* A 32-value type with a per-block f16 minimum after the scale (x = d·q + m). */
static inline int wk_has_min(int qtype) { return qtype == WK_Q4_1 || qtype == WK_Q5_1; }

/* The interleaved layout (WK_QX4, 32-value types only): per block index, the four rows' scales
   (and Q4_1/Q5_1's mins), then each row's quants of wk_x4_quants bytes (Q5: high bits, nibbles). */
static inline long wk_x4_header(int qtype) { return wk_has_min(qtype) ? 16 : 8; }
static inline long wk_x4_quants(int qtype) { return qtype == WK_Q8_0 ? 32 : qtype == WK_Q5_0 || qtype == WK_Q5_1 ? 20 : 16; }

/* Q4_0's and Q4_1's interleaved layout goes by pairs of blocks, so that decode reads two blocks
   of a row with one load and takes their nibbles apart with shifts and masks in 16-bit lanes (no
   widening shuffles): per group of four rows and block pair (2p, 2p+1) a unit of 8 blocks' bytes
   (144 or 160) — the eight f16 scales (block 2p's four rows, then block 2p+1's), for Q4_1 the
   eight f16 mins in the same order, then each row's 32 bytes: block 2p's quants, then block
   2p+1's, each in wk_q4_pair_order. A row with an odd number of blocks ends in a zero block
   (scale, min and quants 0). */
static inline int wk_x4_paired(int qtype) { return qtype == WK_Q4_0 || qtype == WK_Q4_1; }
/* Bytes before a paired unit's quants: eight scales, and for Q4_1 eight mins. */
static inline long wk_x4_pair_header(int qtype) { return wk_has_min(qtype) ? 32 : 16; }

/* A Q4_0 or Q4_1 block's 16 quant bytes (byte j: element j in the low nibble, j+16 in the high one) in
   the paired layout's order, where 16-bit lane i holds elements i, i+8, i+16 and i+24 in its
   four nibbles, lowest first; and back. */
static inline void wk_q4_pair_order(const uint8_t qs[16], uint8_t out[16]) {
    for (int i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)((qs[i] & 0x0F) | (qs[i + 8] << 4));
        out[2 * i + 1] = (uint8_t)((qs[i] >> 4) | (qs[i + 8] & 0xF0));
    }
}
static inline void wk_q4_block_order(const uint8_t p[16], uint8_t qs[16]) {
    for (int i = 0; i < 8; i++) {
        qs[i] = (uint8_t)((p[2 * i] & 0x0F) | (p[2 * i + 1] << 4));
        qs[i + 8] = (uint8_t)((p[2 * i] >> 4) | (p[2 * i + 1] & 0xF0));
    }
}

/* The interleaved layout of the K types (WK_QX4): each super-block is cut into
   segments, and a unit (four rows, one super-block index) holds segment 0 of the four rows, then
   segment 1 of the four rows, and so on, in the order decode reads them: one 32-byte load then
   gives a chunk of quants from four rows, the four rows' scales decode together, and a unit is
   read front to back. Q4_K (unit of 576 bytes): d, dmin, the three dwords of its packed scales
   (unit bytes 0, 8, 16, 32, 48), then its 128 bytes of quants in chunks of 8 (chunk i at 64 + 32i).
   Q6_K (840): d (0), the 16 scales (8), then for half h and chunk c (t = 4h + c, at 72 + 96t) ql
   bytes 64h + 8c, ql bytes 64h + 32 + 8c and qh bytes 128 + 32h + 8c, 8 of each. Segment i's
   length (0 past the last), its offset in the block in *src. */
static inline int wk_kx4_segment(int qtype, int i, long *src) {
    if (qtype == WK_Q2_K) { /* 336: d (0), dmin (8), scales (16), qs chunk t = 4h + c (80 + 32t) */
        if (i > 10) return 0;
        if (i < 3) { *src = i == 0 ? 80 : i == 1 ? 82 : 0; return i < 2 ? 2 : 16; }
        *src = 16 + 8 * (i - 3);
        return 8;
    }
    if (qtype == WK_Q3_K) { /* 440: d (0), packed scales (8), hmask chunk c (56 + 64c) with the first half's qs chunk c after it, the second half's qs chunks (312 + 32c) */
        if (i > 13) return 0;
        if (i < 2) { *src = i ? 96 : 108; return i ? 12 : 2; }
        if (i < 10) { long c = (i - 2) / 2; *src = (i - 2) % 2 ? 32 + 8 * c : 8 * c; return 8; }
        *src = 64 + 8 * (i - 10);
        return 8;
    }
    if (qtype == WK_Q4_K || qtype == WK_Q5_K) { /* Q5_K: qh's chunks (64 + 32c) between the scales and qs (192 + 32i) */
        int five = qtype == WK_Q5_K;
        if (i > (five ? 24 : 20)) return 0;
        if (i < 5) { *src = i < 2 ? 2 * i : 4 + 4 * (i - 2); return i < 2 ? 2 : 4; }
        *src = five && i < 9 ? 16 + 8 * (i - 5) : (five ? 48 : 16) + 8 * (i - (five ? 9 : 5));
        return 8;
    }
    if (qtype == WK_Q6_K) {
        if (i > 25) return 0;
        if (i < 2) { *src = i ? 192 : 208; return i ? 16 : 2; }
        long t = (i - 2) / 3, h = t / 4, c = t % 4, part = (i - 2) % 3;
        *src = part == 2 ? 128 + 32 * h + 8 * c : 64 * h + 32 * part + 8 * c;
        return 8;
    }
    return 0;
}

/* Where row r's block b keeps its f16 scale, its f16 min (Q4_1; NULL otherwise) and its quants,
   in the ordinary layout or, with WK_QX4 in qtype, the interleaved one (nb blocks per row). In
   Q4_0's and Q4_1's interleaved layout the 16 quant bytes are in wk_q4_pair_order, not the block's. */
typedef struct {
    const uint8_t *scale, *min, *quants;
} wk_qblock_ref;

static inline wk_qblock_ref wk_qblock_at(int qtype, const uint8_t *w, long nb, long r, long b) {
    int plain = qtype & ~WK_QX4;
    long bb = wk_block_bytes[plain];
    wk_qblock_ref ref;
    if ((qtype & WK_QX4) && wk_x4_paired(plain)) {
        const uint8_t *unit = w + ((r / 4) * ((nb + 1) / 2) + b / 2) * 8 * bb;
        long k = 4 * (b & 1) + r % 4;
        ref.scale = unit + 2 * k;
        ref.min = wk_has_min(plain) ? unit + 16 + 2 * k : NULL;
        ref.quants = unit + wk_x4_pair_header(plain) + 32 * (r % 4) + 16 * (b & 1);
    } else if (qtype & WK_QX4) {
        const uint8_t *unit = w + ((r / 4) * nb + b) * 4 * bb;
        long j = r % 4;
        ref.scale = unit + 2 * j;
        ref.min = wk_has_min(plain) ? unit + 8 + 2 * j : NULL;
        ref.quants = unit + wk_x4_header(plain) + j * wk_x4_quants(plain);
    } else {
        const uint8_t *blk = w + (r * nb + b) * bb;
        ref.scale = blk;
        ref.min = wk_has_min(plain) ? blk + 2 : NULL;
        ref.quants = blk + (bb - wk_x4_quants(plain));
    }
    return ref;
}

/* Q4_K's eight 6-bit scales and eight 6-bit mins from its 12 packed bytes (get_scale_min_k4 for
   every j at once): sc[0..7], m[0..7]. */
static inline void wk_q4k_scales(const uint8_t *packed, uint8_t sc[8], uint8_t m[8]) {
    uint32_t u[4];
    memcpy(u, packed, 12);
    u[3] = ((u[2] >> 4) & 0x0f0f0f0fu) | (((u[1] >> 6) & 0x03030303u) << 4);
    uint32_t mins_lo = u[1] & 0x3f3f3f3fu;
    u[1] = (u[2] & 0x0f0f0f0fu) | (((u[0] >> 6) & 0x03030303u) << 4);
    u[2] = mins_lo;
    u[0] &= 0x3f3f3f3fu;
    memcpy(sc, u, 8);
    memcpy(m, u + 2, 8);
}

/* Q3_K's sixteen 6-bit scales from its 12 packed bytes (low nibbles in bytes 0-7, two high bits
   each in bytes 8-11), as signed values sc - 32. */
static inline int8_t wk_q3k_scale(const uint8_t *packed, int i) {
    int low = i < 8 ? packed[i] & 0x0F : packed[i - 8] >> 4;
    int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    return (int8_t)((low | high << 4) - 32);
}

static inline void wk_q3k_scales(const uint8_t *packed, int8_t sc[16]) {
    for (int i = 0; i < 16; i++) sc[i] = wk_q3k_scale(packed, i);
}

/* kkernels.c: one K super-block decoded (the values of Core's QuantBlocks, bit for bit), and
   decode's matrix-vector product on K rows (ordinary layout only). */
void wk_kdequantize_block(int qtype, const uint8_t *block, float *out);
void wk_kmatvec(wk_config cfg, int qtype, const void *w, const float *x, float *y, long cols, long row0, long row1);
#if defined(__x86_64__) || defined(_M_X64)
/* Q6_K, Q3_K or Q2_K super-blocks to f32 with AVX2 (the values of wk_kdequantize_block). */
__attribute__((target("avx2,fma,f16c"))) void wk_kdequantize_blocks_avx2(int qtype, const uint8_t *b, long nblocks, float *y);
#endif

/* qkernels.c: blocks [b0, b0 + n) of row r of a paired Q4_0 or Q4_1 matrix (wk_x4_paired, nb
   blocks per row) to floats, two blocks per load, with AVX2 when isa allows and b0 is even
   (prefill's panels and row lookups; the values of dequantize_block). Returns how many blocks it
   decoded: the whole pairs from b0 on, or 0; the caller decodes the rest. */
long wk_q4_pairs_dequantize(int isa, int qtype, const uint8_t *w, long nb, long r, long b0, long n, float *out);

/* A hint to fetch the cache line at p (a no-op where unsupported; never faults). */
static inline void wk_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

/* Hints for every cache line of the `bytes` from p: decode's interleaved kernels fetch a unit a
   few units ahead of the one they read (a sequential stream of 2-13 lines a step outruns the
   hardware prefetcher; Q8_0, Q4_K and Q6_K from memory in docs/BENCHMARKS.md). */
static inline void wk_prefetch_bytes(const void *p, long bytes) {
    for (long o = 0; o < bytes; o += 64) wk_prefetch((const char *)p + o);
}

#if defined(__x86_64__) || defined(_M_X64)
#define WK_X86 1
#include <immintrin.h>
#define WK_AVX2 __attribute__((target("avx2,fma,f16c")))
/* AVX2 plus AVX-512 F/BW/VL/VNNI: the VNNI prefill, and the decode bodies compiled again with
   it (the same source: the compiler fuses each madd and add into one vpdpwssd). */
#define WK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

/* An 8 x 8 tile of 32-bit lanes transposed in registers (unpack, shuffle, lane permute):
   afterwards r[k] holds lane k of the eight rows it held. */
WK_AVX2 static inline void wk_transpose8x8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

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

/* 32 activations x rounded to int16 a (32-byte aligned) with x ≈ a / inv (inv = 32767 / the largest
   |x| of the values sharing the scale, 0 when they are all zero), round to nearest. Returns the
   exact f32 Σx. */
WK_AVX2 static inline float wk_round_block_i16(const float *x, int16_t *a, __m256 inv) {
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, inv)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, inv));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, inv)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, inv));
    /* packs works within 128-bit lanes; the permute restores element order. */
    _mm256_store_si256((__m256i *)a, _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8));
    _mm256_store_si256((__m256i *)(a + 16), _mm256_permute4x64_epi64(_mm256_packs_epi32(i2, i3), 0xD8));
    return wk_hsum(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)));
}

/* An IQ4_NL block's 16 quant bytes looked up in wk_iq4nl_values: the 16 low nibbles' values, then
   the 16 high nibbles' (the block's first and second halves), as int8. */
WK_AVX2 static inline __m256i wk_iq4nl_lookup(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs), low = _mm_set1_epi8(0x0F);
    __m128i values = _mm_loadu_si128((const __m128i *)wk_iq4nl_values);
    return _mm256_set_m128i(_mm_shuffle_epi8(values, _mm_and_si128(_mm_srli_epi16(v, 4), low)),
                            _mm_shuffle_epi8(values, _mm_and_si128(v, low)));
}

/* The largest |x| of x[0 ..< 32·n]. */
WK_AVX2 static inline float wk_absmax32(const float *x, long n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (long i = 0; i < 32 * n; i += 32) {
        m = _mm256_max_ps(m, _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 8))),
                                           _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 16)), _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 24)))));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 0x55));
    return _mm_cvtss_f32(m4);
}

/* 32 activations x rounded to int16 a (32-byte aligned) with x ≈ scale·a: scale = max|x| / limit
   (32767, or less where the products need headroom), round to nearest (relative error ≤ 0.5 / limit
   of the block's largest |x|: 1.5e-5 at 32767). Returns the exact f32 Σx. The one rounding
   recipe of the int16 paths: decode (qkernels.c) and the VNNI prefill. */
WK_AVX2 static inline float wk_quantize_block_i16(const float *x, int16_t *a, float *scale, float limit) {
    float amax = wk_absmax32(x, 1);
    *scale = amax / limit;
    return wk_round_block_i16(x, a, _mm256_set1_ps(amax != 0 ? limit / amax : 0));
}

/* Q6_K's six-bit values q (0..63) as bytes from 32 bytes of each of ql's two runs (l0: bytes l of
   a half, l1: bytes 32 + l) and of qh (bytes l): g[0] = low nibbles of l0 with bits 0-1 of qh,
   g[1] = low nibbles of l1 with bits 2-3, g[2] = high nibbles of l0 with bits 4-5, g[3] = high
   nibbles of l1 with bits 6-7. */
WK_AVX2 static inline void wk_q6k_groups(__m256i l0, __m256i l1, __m256i qh, __m256i g[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    g[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
    g[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
    g[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
    g[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
}

/* Half h (0, 1) of a Q6_K super-block: its four groups of 32 values. */
WK_AVX2 static inline void wk_q6k_half(const uint8_t *blk, int h, __m256i g[4]) {
    const uint8_t *ql = blk + h * 64;
    wk_q6k_groups(_mm256_loadu_si256((const __m256i *)ql), _mm256_loadu_si256((const __m256i *)(ql + 32)),
                  _mm256_loadu_si256((const __m256i *)(blk + 128 + h * 32)), g);
}

/* Group g (0..7, 32 values) of a K super-block as bytes: Q3_K's q + 4 (0..7: two bits of qs,
   plus 4 where bit g of hmask is set), Q2_K's q (0..3). The _bits forms take the 32 bytes of qs
   (of the group's half) and of hmask, or any 32 of their bytes at the same places (the
   interleaved layout's four rows' chunks). */
WK_AVX2 static inline __m256i wk_q3k_bits(__m256i qs, __m256i hm, int g) {
    __m256i low = _mm256_and_si256(_mm256_srli_epi16(qs, 2 * (g % 4)), _mm256_set1_epi8(3));
    return _mm256_add_epi8(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, g), _mm256_set1_epi8(1)), 2));
}
WK_AVX2 static inline __m256i wk_q3k_group(const uint8_t *blk, int g) {
    return wk_q3k_bits(_mm256_loadu_si256((const __m256i *)(blk + 32 + 32 * (g / 4))), _mm256_loadu_si256((const __m256i *)blk), g);
}
WK_AVX2 static inline __m256i wk_q2k_bits(__m256i qs, int j) { return _mm256_and_si256(_mm256_srli_epi16(qs, 2 * j), _mm256_set1_epi8(3)); }
WK_AVX2 static inline __m256i wk_q2k_group(const uint8_t *blk, int g) {
    return wk_q2k_bits(_mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * (g / 4))), g % 4);
}

/* name_avx2 and name_vnni: `body`, an always-inline matrix-vector product, compiled for AVX2 and
   for AVX-512 VNNI (the same source: the compiler fuses madd and add into vpdpwssd where it
   pays), and name(isa, ...) calling the one the isa allows. */
#define WK_MATVEC_BODIES(name, body)                                                                              \
    WK_AVX2 static void name##_avx2(int qtype, const uint8_t *base, long stride, const float *x, float *y, long cols, long row0, \
                                    long row1) {                                                                   \
        body(qtype, base, stride, x, y, cols, row0, row1);                                                        \
    }                                                                                                             \
    WK_VNNI static void name##_vnni(int qtype, const uint8_t *base, long stride, const float *x, float *y, long cols, long row0, \
                                    long row1) {                                                                   \
        body(qtype, base, stride, x, y, cols, row0, row1);                                                        \
    }                                                                                                             \
    static void name(int isa, int qtype, const uint8_t *base, long stride, const float *x, float *y, long cols, long row0,  \
                     long row1) {                                                                                  \
        if (isa >= WK_ISA_AVX512VNNI) name##_vnni(qtype, base, stride, x, y, cols, row0, row1);                   \
        else name##_avx2(qtype, base, stride, x, y, cols, row0, row1);                                            \
    }

/* The activations of one matrix-vector product, quantized once per call: per block of 32 an
   int16 vector a with x ≈ da·a (da = max|x| / 32767, round to nearest), and the block's exact
   f32 sum (Q4_1's min term). Relative error per element ≤ 1.5e-5 of the block's largest |x| —
   about 250 times finer than ggml's 8-bit activations, whose 0.3 % error flipped greedy tokens
   of SmolLM2 in our tests — while the products still run on integers: 16 weight x activation
   products per madd, instead of widening every weight to a float. A row wider than WK_QA_COLS
   columns runs in chunks of that many, each chunk's sums added to the previous ones'. */
#define WK_QA_COLS 8192

typedef struct {
    int16_t a[WK_QA_COLS] __attribute__((aligned(32)));
    float da[WK_QA_COLS / 32];
    float xsum[WK_QA_COLS / 32];
    float asum8[WK_QA_COLS / 32]; /* -8 · Σ a per block (exact: |Σ a| < 2^24): Q4_0's offset */
} wk_qact;

WK_AVX2 static inline void wk_quantize_activations_i16(const float *x, long cols, wk_qact *q) {
    for (long b = 0; b < cols / 32; b++) {
        q->xsum[b] = wk_quantize_block_i16(x + b * 32, q->a + b * 32, &q->da[b], 32767.0f);
        __m256i p01 = _mm256_load_si256((const __m256i *)(q->a + b * 32));
        __m256i p23 = _mm256_load_si256((const __m256i *)(q->a + b * 32 + 16));
        __m256i s32 = _mm256_add_epi32(_mm256_madd_epi16(p01, _mm256_set1_epi16(1)), _mm256_madd_epi16(p23, _mm256_set1_epi16(1)));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        q->asum8[b] = -8.0f * (float)_mm_cvtsi128_si32(s4);
    }
}
#endif

#endif
