/* Products over ggml's K super-blocks (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: 256 values each, layouts in Core's
 * QuantBlocks.swift / ggml-common.h), computed on the blocks as stored: no copy to f32 at load.
 *
 * Decode (wk_kmatvec) with AVX2 and int16 activations uses the activations of the 32-value
 * types (wk_qact: per 32 values an int16 vector, its scale da and its f32 sum), because both K
 * layouts divide into 32-value groups that share one sub-block scale (Q4_K) or two (Q6_K):
 *   Q4_K  x = d·sc_j·q − dmin·m_j (sub-block j of 32, q 0..15, sc, m 6-bit):
 *         Σ x·a·da = Σ_j (d·sc_j·da_j)·Σ q·a  −  dmin·Σ_j m_j·xsum_j
 *   Q5_K  as Q4_K with q 0..31 (a fifth bit from qh)
 *   Q6_K  x = d·sc_k·(q − 32) (sub-block k of 16, q 0..63, sc int8): the sub-block scale is
 *         multiplied into the int16 weights (|(q − 32)·sc| ≤ 4096), then madd with the
 *         activations; one float scale d·da per 32 values.
 *   Q3_K  as Q6_K with q −4..3 and 6-bit signed scales (|q·sc| ≤ 128)
 *   Q2_K  x = d·sc_k·q − dmin·m_k (sub-block k of 16, q 0..3, sc and m 4-bit): Σ(sc·q)·a as an
 *         integer sum; the mins' term dmin·Σ_k m_k·Σx_k from the f32 sums of each 16 activations.
 *   Q3_K and Q2_K take activations with one scale per super-block (wk_quantize_activations_sb),
 *   so the integer sum runs over all 256 values and meets a float once per super-block.
 * Integer sums cannot overflow: a madd lane is at most 2 · 4096 · 32767 < 2^28; Q3_K's and Q2_K's
 * lanes gather 16 of at most 2 · 128 · 32767 each (< 2^28).
 * The error bound is the int16 activations' (wk_private.h): ~1.5e-5 of a 32-value group's
 * largest |x| per element (of a 256-value super-block's for Q3_K and Q2_K). With f32 activations, and in the portable body, each super-block is
 * decoded to f32 (wk_kdequantize_block) and multiplied with x.
 * Prefill decodes super-blocks into gemm.c's f32 panels (wk_qdequantize_blocks). */
#include "wk_private.h"
#include "wk_half.h"
#include <string.h>

/* The decoders give Core's QuantBlocks values bit for bit: the same products, never fused. */
#pragma STDC FP_CONTRACT OFF

static inline float khalf(const uint8_t *p) { return wk_half_to_float((uint16_t)(p[0] | (p[1] << 8))); }

void wk_kdequantize_block(int qtype, const uint8_t *b, float *y) {
    if (qtype == WK_Q4_K) {
        float d = khalf(b), dmin = khalf(b + 2);
        uint8_t sc[8], m[8];
        wk_q4k_scales(b + 4, sc, m);
        const uint8_t *qs = b + 16;
        for (int pair = 0; pair < 4; pair++) {
            float d1 = d * (float)sc[2 * pair], dm1 = dmin * (float)m[2 * pair];
            float d2 = d * (float)sc[2 * pair + 1], dm2 = dmin * (float)m[2 * pair + 1];
            for (int l = 0; l < 32; l++) {
                uint8_t q = qs[pair * 32 + l];
                y[pair * 64 + l] = d1 * (float)(q & 0x0F) - dm1;
                y[pair * 64 + 32 + l] = d2 * (float)(q >> 4) - dm2;
            }
        }
        return;
    }
    if (qtype == WK_Q5_K) { /* as Q4_K, with a fifth bit: bit g of qh[l] for value l of group g */
        float d = khalf(b), dmin = khalf(b + 2);
        uint8_t sc[8], m[8];
        wk_q4k_scales(b + 4, sc, m);
        const uint8_t *qh = b + 16, *qs = b + 48;
        for (int g = 0; g < 8; g++) {
            float dg = d * (float)sc[g], mg = dmin * (float)m[g];
            for (int l = 0; l < 32; l++) {
                int q = ((g % 2 ? qs[(g / 2) * 32 + l] >> 4 : qs[(g / 2) * 32 + l]) & 0x0F) | (((qh[l] >> g) & 1) << 4);
                y[g * 32 + l] = dg * (float)q - mg;
            }
        }
        return;
    }
    if (qtype == WK_Q3_K) { /* hmask[32], qs[64], scales[12], d: q = (2 bits) - 4·(high bit clear) */
        float d = khalf(b + 108);
        int8_t sc[16];
        wk_q3k_scales(b + 96, sc);
        for (int g = 0; g < 8; g++) {
            const uint8_t *qs = b + 32 + (g / 4) * 32;
            int shift = 2 * (g % 4);
            for (int l = 0; l < 32; l++) {
                int q = ((qs[l] >> shift) & 3) - (((b[l] >> g) & 1) ? 0 : 4);
                y[g * 32 + l] = (d * (float)sc[2 * g + l / 16]) * (float)q;
            }
        }
        return;
    }
    if (qtype == WK_Q2_K) { /* scales[16] (scale | min << 4), qs[64], d, dmin: x = d·sc·q − dmin·m */
        float d = khalf(b + 80), dmin = khalf(b + 82);
        for (int g = 0; g < 8; g++) {
            const uint8_t *qs = b + 16 + (g / 4) * 32;
            int shift = 2 * (g % 4);
            for (int l = 0; l < 32; l++) {
                uint8_t s = b[2 * g + l / 16];
                y[g * 32 + l] = (d * (float)(s & 0x0F)) * (float)((qs[l] >> shift) & 3) - dmin * (float)(s >> 4);
            }
        }
        return;
    }
    /* Q6_K: ql[128], qh[64], scales[16] (int8), d. Each half of 128 values: four groups of 32,
       low/high nibbles of ql[0..32) and ql[32..64) with two bits each of qh[0..32). */
    float d = khalf(b + 208);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b + half * 64, *qh = b + 128 + half * 32;
        const int8_t *sc = (const int8_t *)(b + 192 + half * 8);
        float *out = y + half * 128;
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = (ql[l] & 0x0F) | ((qh[l] & 3) << 4), q2 = (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4);
            int q3 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4), q4 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
            out[l] = (d * (float)sc[is]) * (float)(q1 - 32);
            out[l + 32] = (d * (float)sc[is + 2]) * (float)(q2 - 32);
            out[l + 64] = (d * (float)sc[is + 4]) * (float)(q3 - 32);
            out[l + 96] = (d * (float)sc[is + 6]) * (float)(q4 - 32);
        }
    }
}

/* Σ_c W[row, c] x[c]: each super-block decoded, then four running sums (the portable body, and
   the f32-activation one). */
static float kdot_decoded(int qtype, const uint8_t *row, const float *x, long cols) {
    float tmp[256], sum = 0;
    long nb = cols / 256, bb = wk_block_bytes[qtype];
    for (long b = 0; b < nb; b++) {
        wk_kdequantize_block(qtype, row + b * bb, tmp);
        float acc[4] = {0, 0, 0, 0};
        for (int i = 0; i < 256; i += 4)
            for (int k = 0; k < 4; k++) acc[k] += tmp[i + k] * x[b * 256 + i + k];
        sum += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    return sum;
}

#if WK_X86
/* Q4_K's and Q5_K's header (d, dmin, eight 6-bit scale/min pairs): subtracts the mins' term of all
   eight sub-blocks from *acc lane by lane (dmin·m_j·Σx_j) and returns the groups' scales d·sc_j·da_j. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q45k_header(const uint8_t *blk, const wk_qact *q, long g0, __m256 *acc) {
    uint8_t sc[8], m[8];
    wk_q4k_scales(blk + 4, sc, m);
    __m256 dd = _mm256_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)blk[0] | (uint32_t)blk[1] << 8 | (uint32_t)blk[2] << 16 |
                                                         (uint32_t)blk[3] << 24)));
    __m256 d = _mm256_permutevar8x32_ps(dd, _mm256_setzero_si256());
    __m256 dmin = _mm256_permutevar8x32_ps(dd, _mm256_set1_epi32(1));
    __m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)sc)));
    __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)m)));
    *acc = _mm256_fnmadd_ps(_mm256_mul_ps(dmin, mf), _mm256_loadu_ps(q->xsum + g0), *acc);
    return _mm256_mul_ps(_mm256_mul_ps(d, scf), _mm256_loadu_ps(q->da + g0));
}

/* One Q4_K super-block of a row against its activations (groups g0 .. g0+8 of q), into acc. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q4k_block(const uint8_t *blk, const wk_qact *q, long g0, __m256 acc) {
    __m256 s = q45k_header(blk, q, g0, &acc);
    const uint8_t *qs = blk + 16;
    const int16_t *a = q->a + g0 * 32;
    const __m256i low = _mm256_set1_epi16(0x0F);
    for (int pair = 0; pair < 4; pair++, qs += 32, a += 64) {
        __m256i v0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
        __m256i v1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qs + 16)));
        __m256i p0 = _mm256_add_epi32(_mm256_madd_epi16(_mm256_and_si256(v0, low), _mm256_load_si256((const __m256i *)a)),
                                      _mm256_madd_epi16(_mm256_and_si256(v1, low), _mm256_load_si256((const __m256i *)(a + 16))));
        __m256i p1 = _mm256_add_epi32(_mm256_madd_epi16(_mm256_srli_epi16(v0, 4), _mm256_load_si256((const __m256i *)(a + 32))),
                                      _mm256_madd_epi16(_mm256_srli_epi16(v1, 4), _mm256_load_si256((const __m256i *)(a + 48))));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * pair)), acc);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * pair + 1)), acc);
    }
    return acc;
}

/* 32 int16 weights (the bytes of w widened by ext: sign- or zero-extended) times two
   sub-block scales s0, s1 (16 values each), madd'ed with activations a: 8 int32 sums. */
#define K_GROUP(ext, w, s0, s1, a)                                                                                   \
    _mm256_add_epi32(_mm256_madd_epi16(_mm256_mullo_epi16(ext(_mm256_castsi256_si128(w)), _mm256_set1_epi16(s0)),       \
                                       _mm256_load_si256((const __m256i *)(a))),                                     \
                     _mm256_madd_epi16(_mm256_mullo_epi16(ext(_mm256_extracti128_si256(w, 1)), _mm256_set1_epi16(s1)), \
                                       _mm256_load_si256((const __m256i *)((a) + 16))))

/* One Q6_K super-block of a row against its activations (groups g0 .. g0+8 of q), into acc. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q6k_block(const uint8_t *blk, const wk_qact *q, long g0, __m256 acc) {
    float d = khalf(blk + 208);
    const int8_t *sc = (const int8_t *)(blk + 192);
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3), bias = _mm256_set1_epi8(32);
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = blk + half * 64, *qh = blk + 128 + half * 32;
        __m256i l0 = _mm256_loadu_si256((const __m256i *)ql), l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
        __m256i h = _mm256_loadu_si256((const __m256i *)qh);
        __m256i g[4];
        g[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
        g[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
        g[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
        g[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
        for (int k = 0; k < 4; k++) {
            long grp = g0 + half * 4 + k;
            __m256i p = K_GROUP(_mm256_cvtepi8_epi16, _mm256_sub_epi8(g[k], bias), sc[half * 8 + 2 * k], sc[half * 8 + 2 * k + 1], q->a + grp * 32);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * q->da[grp]), acc);
        }
    }
    return acc;
}

/* One Q5_K super-block: Q4_K's arithmetic with the fifth bit of each value from qh. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q5k_block(const uint8_t *blk, const wk_qact *q, long g0, __m256 acc) {
    __m256 s = q45k_header(blk, q, g0, &acc);
    const uint8_t *qs = blk + 48;
    const int16_t *a = q->a + g0 * 32;
    const __m256i low = _mm256_set1_epi16(0x0F), five = _mm256_set1_epi16(0x10);
    /* qh as 16-bit lanes, shifted right by 2 after each pair: bit 0 then bit 1 of each lane are
       the current pair's two groups. */
    __m256i h0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 16)));
    __m256i h1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + 32)));
    for (int pair = 0; pair < 4; pair++, qs += 32, a += 64) {
        __m256i v0 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
        __m256i v1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qs + 16)));
        __m256i w0 = _mm256_or_si256(_mm256_and_si256(v0, low), _mm256_and_si256(_mm256_slli_epi16(h0, 4), five));
        __m256i w1 = _mm256_or_si256(_mm256_and_si256(v1, low), _mm256_and_si256(_mm256_slli_epi16(h1, 4), five));
        __m256i w2 = _mm256_or_si256(_mm256_srli_epi16(v0, 4), _mm256_and_si256(_mm256_slli_epi16(h0, 3), five));
        __m256i w3 = _mm256_or_si256(_mm256_srli_epi16(v1, 4), _mm256_and_si256(_mm256_slli_epi16(h1, 3), five));
        __m256i p0 = _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_load_si256((const __m256i *)a)),
                                      _mm256_madd_epi16(w1, _mm256_load_si256((const __m256i *)(a + 16))));
        __m256i p1 = _mm256_add_epi32(_mm256_madd_epi16(w2, _mm256_load_si256((const __m256i *)(a + 32))),
                                      _mm256_madd_epi16(w3, _mm256_load_si256((const __m256i *)(a + 48))));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * pair)), acc);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_permutevar8x32_ps(s, _mm256_set1_epi32(2 * pair + 1)), acc);
        h0 = _mm256_srli_epi16(h0, 2);
        h1 = _mm256_srli_epi16(h1, 2);
    }
    return acc;
}

/* Q3_K and Q2_K run on activations with one scale per super-block (wk_quantize_activations_sb):
   their integer sums then add up over the whole super-block and meet a float once. An int32
   lane gathers 16 madd results of at most 2·128·32767 each (< 2^28). */

/* The sixteen signed 6-bit scales of a Q3_K super-block (wk_q3k_scales, in registers): low nibbles
   of bytes 0-7 then their high nibbles, or'ed with 2 bits of byte 8 + i % 4 at shift 2·(i / 4); minus 32. */
WK_AVX2 static inline void q3k_scales(const uint8_t *packed, int8_t sc[16]) {
    __m128i p8 = _mm_loadl_epi64((const __m128i *)packed), m4 = _mm_set1_epi8(0x0F), m2 = _mm_set1_epi8(3);
    __m128i low = _mm_unpacklo_epi64(_mm_and_si128(p8, m4), _mm_and_si128(_mm_srli_epi16(p8, 4), m4));
    uint32_t h32;
    memcpy(&h32, packed + 8, 4);
    __m128i h = _mm_set1_epi32((int)h32);
    __m128i h01 = _mm_unpacklo_epi32(_mm_and_si128(h, m2), _mm_and_si128(_mm_srli_epi16(h, 2), m2));
    __m128i h23 = _mm_unpacklo_epi32(_mm_and_si128(_mm_srli_epi16(h, 4), m2), _mm_and_si128(_mm_srli_epi16(h, 6), m2));
    __m128i high = _mm_unpacklo_epi64(h01, h23);
    _mm_storeu_si128((__m128i *)sc, _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32)));
}

/* One Q3_K super-block: per group g of 32, two bits of qs (shift 2·(g % 4) of half g / 4) minus 4
   where bit g of hmask is clear, times the signed sub-block scales (|q·sc| ≤ 128). */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q3k_block(const uint8_t *blk, const wk_qact *q, long g0, __m256 acc) {
    int8_t sc[16];
    q3k_scales(blk + 96, sc);
    const __m256i three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
    __m256i hm = _mm256_loadu_si256((const __m256i *)blk), sum = _mm256_setzero_si256();
    const int16_t *a = q->a + g0 * 32;
    for (int half = 0; half < 2; half++) {
        __m256i qv = _mm256_loadu_si256((const __m256i *)(blk + 32 + 32 * half));
        for (int j = 0; j < 4; j++, a += 32) {
            int g = half * 4 + j;
            __m256i v = _mm256_sub_epi8(_mm256_add_epi8(_mm256_and_si256(qv, three), _mm256_slli_epi16(_mm256_and_si256(hm, one), 2)), four);
            sum = _mm256_add_epi32(sum, K_GROUP(_mm256_cvtepi8_epi16, v, sc[2 * g], sc[2 * g + 1], a));
            qv = _mm256_srli_epi16(qv, 2);
            hm = _mm256_srli_epi16(hm, 1);
        }
    }
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(khalf(blk + 108) * q->da[g0]), acc);
}

/* One Q2_K super-block: per 16 values a 4-bit scale and a 4-bit min, q of 2 bits:
   Σ x·a = d·Σ (sc·q)·a − dmin·Σ m·a per group, both integer sums. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q2k_block(const uint8_t *blk, const wk_qact *q, const float *xs16, long g0,
                                                                      __m256 acc) {
    const __m256i three = _mm256_set1_epi8(3);
    __m256i sum = _mm256_setzero_si256();
    const int16_t *a = q->a + g0 * 32;
    for (int half = 0; half < 2; half++) {
        __m256i qv = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * half));
        for (int j = 0; j < 4; j++, a += 32) {
            int g = half * 4 + j;
            __m256i v = _mm256_and_si256(qv, three);
            sum = _mm256_add_epi32(sum, K_GROUP(_mm256_cvtepu8_epi16, v, blk[2 * g] & 0x0F, blk[2 * g + 1] & 0x0F, a));
            qv = _mm256_srli_epi16(qv, 2);
        }
    }
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_set1_ps(khalf(blk + 80) * q->da[g0]), acc);
    /* The mins' term, dmin · Σ_k m_k · (Σ x over sub-block k), from the f32 sums of 16. */
    __m128i m8 = _mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)blk), 4), _mm_set1_epi8(0x0F));
    __m256 m0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m8)), m1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(m8, 8)));
    const float *s = xs16 + 2 * g0;
    __m256 t = _mm256_fmadd_ps(m1, _mm256_loadu_ps(s + 8), _mm256_mul_ps(m0, _mm256_loadu_ps(s)));
    return _mm256_fnmadd_ps(t, _mm256_set1_ps(khalf(blk + 82)), acc);
}

/* Rows [row0, row1) over super-blocks [sb0, sb0 + nsb) of the activations in q (its group 0 is
   super-block sb0's first): y set, or with `accumulate` added to. One row at a time: each row's
   bytes are one sequential stream. */
WK_AVX2 static inline __attribute__((always_inline)) void krows_i16(int qtype, const uint8_t *base, long stride, const wk_qact *q, const float *xs16, long nsb, float *y,
                              long row0, long row1, int accumulate) {
    long bb = wk_block_bytes[qtype];
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = base + r * stride;
        __m256 acc = _mm256_setzero_ps();
        switch (qtype) {
        case WK_Q4_K: for (long b = 0; b < nsb; b++) acc = q4k_block(row + b * bb, q, b * 8, acc); break;
        case WK_Q5_K: for (long b = 0; b < nsb; b++) acc = q5k_block(row + b * bb, q, b * 8, acc); break;
        case WK_Q3_K: for (long b = 0; b < nsb; b++) acc = q3k_block(row + b * bb, q, b * 8, acc); break;
        case WK_Q2_K: for (long b = 0; b < nsb; b++) acc = q2k_block(row + b * bb, q, xs16, b * 8, acc); break;
        default: for (long b = 0; b < nsb; b++) acc = q6k_block(row + b * bb, q, b * 8, acc); break;
        }
        float sum = wk_hsum(acc);
        y[r] = accumulate ? y[r] + sum : sum;
    }
}

/* The activations with one scale per super-block of 256 (da of its eight groups equal): each
   element within 1.5e-5 of its super-block's largest |x|. xsum per group as wk_qact's. */
WK_AVX2 static void wk_quantize_activations_sb(const float *x, long cols, wk_qact *q) {
    for (long s = 0; s < cols / 256; s++) {
        float amax = wk_absmax32(x + 256 * s, 8);
        __m256 inv = _mm256_set1_ps(amax != 0 ? 32767.0f / amax : 0);
        for (long b = 8 * s; b < 8 * s + 8; b++) {
            q->xsum[b] = wk_round_block_i16(x + b * 32, q->a + b * 32, inv);
            q->da[b] = amax / 32767.0f;
        }
    }
}

WK_AVX2 static inline __attribute__((always_inline)) void kmatvec_i16(int qtype, const uint8_t *base, long stride, const float *x,
                                                                     float *y, long cols, long row0, long row1) {
    static __thread wk_qact q;
    static __thread float xs16[WK_QA_COLS / 16]; /* Q2_K: the f32 sum of each 16 activations */
    for (long c0 = 0; c0 < cols; c0 += WK_QA_COLS) { /* WK_QA_COLS is a multiple of 256 */
        long cc = cols - c0 < WK_QA_COLS ? cols - c0 : WK_QA_COLS;
        if (qtype == WK_Q3_K || qtype == WK_Q2_K) wk_quantize_activations_sb(x + c0, cc, &q);
        else wk_quantize_activations_i16(x + c0, cc, &q);
        if (qtype == WK_Q2_K)
            for (long i = 0; i < cc / 16; i++)
                xs16[i] = wk_hsum(_mm256_add_ps(_mm256_loadu_ps(x + c0 + 16 * i), _mm256_loadu_ps(x + c0 + 16 * i + 8)));
        krows_i16(qtype, base + c0 / 256 * wk_block_bytes[qtype], stride, &q, xs16, cc / 256, y, row0, row1, c0 > 0);
    }
}

/* The int16 decode body for AVX2, and the same source compiled for AVX-512 VNNI. */
WK_AVX2 static void kmatvec_i16_avx2(int qtype, const uint8_t *base, long stride, const float *x, float *y, long cols, long row0,
                                     long row1) {
    kmatvec_i16(qtype, base, stride, x, y, cols, row0, row1);
}
WK_VNNI static void kmatvec_i16_vnni(int qtype, const uint8_t *base, long stride, const float *x, float *y, long cols, long row0,
                                     long row1) {
    kmatvec_i16(qtype, base, stride, x, y, cols, row0, row1);
}

/* The f32-activation body: each super-block decoded, then FMAs. */
WK_AVX2 static float kdot_f32_avx2(int qtype, const uint8_t *row, const float *x, long cols) {
    float tmp[256] __attribute__((aligned(32)));
    long nb = cols / 256, bb = wk_block_bytes[qtype];
    __m256 acc = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++, x += 256) {
        wk_kdequantize_block(qtype, row + b * bb, tmp);
        for (int i = 0; i < 256; i += 8) acc = _mm256_fmadd_ps(_mm256_load_ps(tmp + i), _mm256_loadu_ps(x + i), acc);
    }
    return wk_hsum(acc);
}
#endif

void wk_kmatvec(wk_config cfg, int qtype, const void *w, const float *x, float *y, long cols, long row0, long row1) {
    const uint8_t *base = (const uint8_t *)w;
    long stride = wk_row_bytes(qtype, cols);
#if WK_X86
    if (cfg.isa >= WK_ISA_AVX2) {
        if (!cfg.f32_activations) {
            if (cfg.isa >= WK_ISA_AVX512VNNI) kmatvec_i16_vnni(qtype, base, stride, x, y, cols, row0, row1);
            else kmatvec_i16_avx2(qtype, base, stride, x, y, cols, row0, row1);
            return;
        }
        for (long r = row0; r < row1; r++) y[r] = kdot_f32_avx2(qtype, base + r * stride, x, cols);
        return;
    }
#endif
    (void)cfg;
    for (long r = row0; r < row1; r++) y[r] = kdot_decoded(qtype, base + r * stride, x, cols);
}
