/* Products over ggml's K super-blocks (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K: 256 values each, layouts in Core's
 * QuantBlocks.swift / ggml-common.h), computed on the blocks as stored: no copy to f32 at load.
 *
 * Decode (wk_kmatvec) with AVX2 and int16 activations (wk_kact): one activation scale da per
 * super-block, and each int16 activation split into bytes, a = 256·hi + lo, so that byte products
 * (maddubs: unsigned × signed, pairs summed into int16) give the exact int16 products — twice the
 * byte multiplies of ggml's 8-bit activations, none of their rounding. Each product pair is then
 * multiplied by its sub-block scale in the madd that widens it to int32, and the whole
 * super-block sums in integers before meeting the float d·da once:
 *   Q4_K  x = d·sc_j·q − dmin·m_j (sub-block j of 32, q 0..15, sc, m 6-bit):
 *         Σ x·a·da = d·da·Σ_j sc_j·Σ q·a  −  dmin·Σ_j m_j·xsum_j (xsum: f32 Σx per 32)
 *   Q5_K  as Q4_K with q 0..31 (a fifth bit from qh)
 *   Q6_K  x = d·sc_k·(q − 32) (sub-block k of 16, q 0..63, sc int8): q unsigned in the
 *         products, the −32 through the integer Σa of each 16 (s16)
 *   Q3_K  as Q6_K with q + 4 in 0..7 and 6-bit signed scales, the −4 through s16
 *   Q2_K  x = d·sc_k·q − dmin·m_k (sub-block k of 16, q 0..3, sc and m 4-bit); the mins' term
 *         from the f32 sums of each 16 activations.
 * Nothing overflows: a maddubs pair is at most 2·63·128 (hi) or 2·255·63 (lo) < 2^15, an int32
 * lane of a super-block gathers 8 madds of at most 2·32130·128 < 2^23.
 * The error bound is the int16 activations' (wk_private.h): ~1.5e-5 of a 256-value super-block's
 * largest |x| per element.
 * The runtime's decode copy has its K matrices in the interleaved layout (WK_QX4, wk_kx4_segment:
 * four rows' super-blocks cut into chunks of 8 quants, a chunk of the four rows one 32-byte load).
 * Its kernels (q45k_x4_group, k16_x4_group) compute four rows at once: the 8 activations of a
 * chunk are broadcast to the four rows, a sub-block's chunks sum their byte products in int16,
 * and one madd applies the four rows' scales — a quarter of the row kernel's scale madds for
 * Q4_K, with the scale and mins decoding shared by four rows (ggml repacks Q4_K and Q2_K into
 * eight-row blocks on AVX2 for the same reasons). Same products, same error bound. With f32 activations, and in the portable body, each super-block is
 * decoded to f32 (wk_kdequantize_block) and multiplied with x.
 * Prefill: gemm_vnni.c (Q4_K, Q5_K, Q3_K with AVX-512 VNNI), else super-blocks decoded into gemm.c's
 * f32 panels (wk_qdequantize_blocks). */
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
/* An f16 at p, converted by F16C (khalf's software conversion costs more than a block's products). */
WK_AVX2 static inline float hhalf(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* Decode's activations for K rows: per super-block of 256 one scale da (x ≈ da·a, a int16, round
   to nearest: each element within 1.5e-5 of its super-block's largest |x|), and a split into
   bytes, a = 256·hi + lo (hi signed, lo unsigned), so that byte products (maddubs) give the exact
   int16 products: w·a = 256·(w·hi) + lo·w. Also per 16 values Σa (s16, for the −32 and −4
   offsets of Q6_K and Q3_K), per 32 and per 16 the f32 Σx (the mins of Q4_K/Q5_K and Q2_K). */
typedef struct {
    uint8_t lo[WK_QA_COLS] __attribute__((aligned(32)));
    int8_t hi[WK_QA_COLS] __attribute__((aligned(32)));
    float da[WK_QA_COLS / 256];
    int32_t s16[WK_QA_COLS / 16] __attribute__((aligned(32)));
    float xsum[WK_QA_COLS / 32];
    float xs16[WK_QA_COLS / 16];
} wk_kact;

WK_AVX2 static void kquantize(const float *x, long cols, int qtype, wk_kact *q) {
    int16_t a[256] __attribute__((aligned(32)));
    for (long s = 0; s < cols / 256; s++) {
        const float *xs = x + 256 * s;
        float amax = wk_absmax32(xs, 8);
        __m256 inv = _mm256_set1_ps(amax != 0 ? 32767.0f / amax : 0);
        q->da[s] = amax / 32767.0f;
        for (long b = 0; b < 8; b++) q->xsum[8 * s + b] = wk_round_block_i16(xs + 32 * b, a + 32 * b, inv);
        for (long i = 0; i < 256; i += 32) {
            __m256i v0 = _mm256_load_si256((const __m256i *)(a + i)), v1 = _mm256_load_si256((const __m256i *)(a + i + 16));
            __m256i lo = _mm256_packus_epi16(_mm256_and_si256(v0, _mm256_set1_epi16(0xFF)), _mm256_and_si256(v1, _mm256_set1_epi16(0xFF)));
            __m256i hi = _mm256_packs_epi16(_mm256_srai_epi16(v0, 8), _mm256_srai_epi16(v1, 8));
            _mm256_store_si256((__m256i *)(q->lo + 256 * s + i), _mm256_permute4x64_epi64(lo, 0xD8));
            _mm256_store_si256((__m256i *)(q->hi + 256 * s + i), _mm256_permute4x64_epi64(hi, 0xD8));
            /* Σa of each 16: madd by 1 gives pair sums; two horizontal adds finish each half. */
            __m256i p0 = _mm256_madd_epi16(v0, _mm256_set1_epi16(1)), p1 = _mm256_madd_epi16(v1, _mm256_set1_epi16(1));
            __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_setzero_si256()); /* v0, v1 first 8 | v0, v1 last 8 */
            int32_t t[8];
            _mm256_storeu_si256((__m256i *)t, h);
            q->s16[16 * s + i / 16] = t[0] + t[4];
            q->s16[16 * s + i / 16 + 1] = t[1] + t[5];
        }
        if (qtype == WK_Q2_K)
            for (long i = 0; i < 16; i++)
                q->xs16[16 * s + i] = wk_hsum(_mm256_add_ps(_mm256_loadu_ps(xs + 16 * i), _mm256_loadu_ps(xs + 16 * i + 8)));
    }
}

/* 32 weights w (bytes, 0 ≤ w < 64) at activation index p, each half of 16 with the int16 scale
   of its lanes in scl: adds Σ w·hi·scl to *hs and Σ lo·w·scl to *ls (int32 lanes). maddubs
   cannot saturate: |2·63·128| and 2·255·63 are below 2^15. */
#define K_DOT(w, p, scl, hs, ls)                                                                                      \
    do {                                                                                                              \
        hs = _mm256_add_epi32(hs, _mm256_madd_epi16(_mm256_maddubs_epi16(w, _mm256_load_si256((const __m256i *)(q->hi + (p)))), scl)); \
        ls = _mm256_add_epi32(ls, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_load_si256((const __m256i *)(q->lo + (p))), w), scl)); \
    } while (0)

/* The scales of group g (32 values: two sub-blocks of 16) as int16 lanes: sc[2g] for lanes 0-7,
   sc[2g + 1] for lanes 8-15, from 16 signed byte scales. */
WK_AVX2 static inline __m256i k_pair_scales(__m128i sc8, int g) {
    __m128i pick = _mm_add_epi8(_mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1), _mm_set1_epi8((char)(2 * g)));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, pick));
}

/* The super-block's integer sums, 256·hs + ls, times d·da, minus `offset`·Σ_k sc_k·s16_k (sc8:
   the 16 sub-block scales; offset 0 skips it), into acc. */
WK_AVX2 static inline __m256 k_finish(__m256i hs, __m256i ls, float dda, __m128i sc8, const int32_t *s16, int offset, __m256 acc) {
    __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hs), _mm256_set1_ps(256.0f), _mm256_cvtepi32_ps(ls));
    if (offset) {
        __m256i b = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_cvtepi8_epi32(sc8), _mm256_loadu_si256((const __m256i *)s16)),
                                     _mm256_mullo_epi32(_mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8)), _mm256_loadu_si256((const __m256i *)(s16 + 8))));
        f = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(b), _mm256_set1_ps((float)offset), f);
    }
    return _mm256_fmadd_ps(f, _mm256_set1_ps(dda), acc);
}

/* Q4_K (x = d·sc_j·q − dmin·m_j per 32) and Q5_K (q with a fifth bit from qh) super-block s. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q45k_block(int five, const uint8_t *blk, const wk_kact *q, long s, __m256 acc) {
    uint8_t sc[8], m[8];
    wk_q4k_scales(blk + 4, sc, m);
    float d = hhalf(blk), dmin = hhalf(blk + 2);
    /* The mins' term from the f32 sums of 32. */
    __m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)m)));
    acc = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_set1_ps(dmin), mf), _mm256_loadu_ps(q->xsum + 8 * s), acc);
    const uint8_t *qs = blk + (five ? 48 : 16);
    const __m256i low = _mm256_set1_epi8(0x0F), bit = _mm256_set1_epi8(0x10);
    __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
    __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
    for (int pair = 0; pair < 4; pair++, qs += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)qs);
        __m256i w0 = _mm256_and_si256(v, low), w1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        if (five) {
            w0 = _mm256_or_si256(w0, _mm256_and_si256(_mm256_slli_epi16(qh, 4), bit));
            w1 = _mm256_or_si256(w1, _mm256_and_si256(_mm256_slli_epi16(qh, 3), bit));
            qh = _mm256_srli_epi16(qh, 2);
        }
        long p = 256 * s + 64 * pair;
        K_DOT(w0, p, _mm256_set1_epi16(sc[2 * pair]), hs, ls);
        K_DOT(w1, p + 32, _mm256_set1_epi16(sc[2 * pair + 1]), hs, ls);
    }
    return k_finish(hs, ls, d * q->da[s], _mm_setzero_si128(), NULL, 0, acc);
}

/* Q6_K super-block s: x = d·sc_k·(q − 32) per 16, q six bits from ql and qh. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q6k_block(const uint8_t *blk, const wk_kact *q, long s, __m256 acc) {
    __m128i sc8 = _mm_loadu_si128((const __m128i *)(blk + 192));
    __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
    for (int half = 0; half < 2; half++) {
        __m256i g[4];
        wk_q6k_half(blk, half, g);
        for (int k = 0; k < 4; k++) K_DOT(g[k], 256 * s + 32 * (4 * half + k), k_pair_scales(sc8, 4 * half + k), hs, ls);
    }
    return k_finish(hs, ls, hhalf(blk + 208) * q->da[s], sc8, q->s16 + 16 * s, 32, acc);
}

/* The sixteen signed 6-bit scales of a Q3_K super-block (wk_q3k_scales, in registers): low nibbles
   of bytes 0-7 then their high nibbles, or'ed with 2 bits of byte 8 + i % 4 at shift 2·(i / 4); minus 32. */
WK_AVX2 static inline __m128i q3k_scales(const uint8_t *packed) {
    __m128i p8 = _mm_loadl_epi64((const __m128i *)packed), m4 = _mm_set1_epi8(0x0F), m2 = _mm_set1_epi8(3);
    __m128i low = _mm_unpacklo_epi64(_mm_and_si128(p8, m4), _mm_and_si128(_mm_srli_epi16(p8, 4), m4));
    uint32_t h32;
    memcpy(&h32, packed + 8, 4);
    __m128i h = _mm_set1_epi32((int)h32);
    __m128i h01 = _mm_unpacklo_epi32(_mm_and_si128(h, m2), _mm_and_si128(_mm_srli_epi16(h, 2), m2));
    __m128i h23 = _mm_unpacklo_epi32(_mm_and_si128(_mm_srli_epi16(h, 4), m2), _mm_and_si128(_mm_srli_epi16(h, 6), m2));
    __m128i high = _mm_unpacklo_epi64(h01, h23);
    return _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
}

/* Q3_K super-block s: per group g of 32, two bits of qs (shift 2·(g % 4) of half g / 4) plus 4
   where bit g of hmask is set (q + 4, 0..7), times the signed sub-block scales; the −4 through s16. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q3k_block(const uint8_t *blk, const wk_kact *q, long s, __m256 acc) {
    __m128i sc8 = q3k_scales(blk + 96);
    __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
    for (int g = 0; g < 8; g++) K_DOT(wk_q3k_group(blk, g), 256 * s + 32 * g, k_pair_scales(sc8, g), hs, ls);
    return k_finish(hs, ls, hhalf(blk + 108) * q->da[s], sc8, q->s16 + 16 * s, 4, acc);
}

/* Q2_K super-block s: per 16 values a 4-bit scale and a 4-bit min, q of 2 bits:
   x = d·sc_k·q − dmin·m_k; the mins' term from the f32 sums of each 16 activations. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 q2k_block(const uint8_t *blk, const wk_kact *q, long s, __m256 acc) {
    __m128i packed = _mm_loadu_si128((const __m128i *)blk);
    __m128i sc8 = _mm_and_si128(packed, _mm_set1_epi8(0x0F)), m8 = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
    for (int g = 0; g < 8; g++) K_DOT(wk_q2k_group(blk, g), 256 * s + 32 * g, k_pair_scales(sc8, g), hs, ls);
    acc = k_finish(hs, ls, hhalf(blk + 80) * q->da[s], sc8, NULL, 0, acc);
    __m256 m0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(m8)), m1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(m8, 8)));
    const float *x16 = q->xs16 + 16 * s;
    __m256 t = _mm256_fmadd_ps(m1, _mm256_loadu_ps(x16 + 8), _mm256_mul_ps(m0, _mm256_loadu_ps(x16)));
    return _mm256_fnmadd_ps(t, _mm256_set1_ps(hhalf(blk + 82)), acc);
}

/* Rows [row0, row1) over super-blocks [0, nsb) of the activations in q (the chunk's first): y set,
   or with `accumulate` added to. One row at a time: each row's bytes are one sequential stream. */
WK_AVX2 static inline __attribute__((always_inline)) void krows_i16(int qtype, const uint8_t *base, long stride, const wk_kact *q, long nsb,
                                                                    float *y, long row0, long row1, int accumulate) {
    long bb = wk_block_bytes[qtype];
    for (long r = row0; r < row1; r++) {
        const uint8_t *row = base + r * stride;
        __m256 acc = _mm256_setzero_ps();
        switch (qtype) {
        case WK_Q4_K: for (long b = 0; b < nsb; b++) acc = q45k_block(0, row + b * bb, q, b, acc); break;
        case WK_Q5_K: for (long b = 0; b < nsb; b++) acc = q45k_block(1, row + b * bb, q, b, acc); break;
        case WK_Q3_K: for (long b = 0; b < nsb; b++) acc = q3k_block(row + b * bb, q, b, acc); break;
        case WK_Q2_K: for (long b = 0; b < nsb; b++) acc = q2k_block(row + b * bb, q, b, acc); break;
        default: for (long b = 0; b < nsb; b++) acc = q6k_block(row + b * bb, q, b, acc); break;
        }
        float sum = wk_hsum(acc);
        y[r] = accumulate ? y[r] + sum : sum;
    }
}

/* For each Q4_K/Q5_K sub-block j of a unit, the int16 lanes of its scale in q45k_x4_group:
   bytes j (row 0 or 2) and 8 + j (row 1 or 3) of each 128-bit half of the unit's scale vector,
   zero-extended, four lanes each. */
static const int8_t q4k_x4_pick[8][32] __attribute__((aligned(32))) = {
#define PICK(j) {j, -128, j, -128, j, -128, j, -128, 8 + j, -128, 8 + j, -128, 8 + j, -128, 8 + j, -128, \
                 j, -128, j, -128, j, -128, j, -128, 8 + j, -128, 8 + j, -128, 8 + j, -128, 8 + j, -128}
    PICK(0), PICK(1), PICK(2), PICK(3), PICK(4), PICK(5), PICK(6), PICK(7)
#undef PICK
};

/* Four rows of an interleaved Q4_K or (`five`) Q5_K matrix (units of 576 or 704 bytes,
   wk_kx4_segment) over super-blocks [0, nsb) of the activations: out[0..3]. A 32-byte load holds
   chunk c (8 bytes) of pair p from the four rows; its low nibbles meet activations 64p + 8c .. +7
   (sub-block 2p), its high ones the same 8 of sub-block 2p + 1, each broadcast to the four rows'
   lanes; Q5_K adds bits 2p and 2p + 1 of the four rows' qh chunk c as the fifth. A sub-block's
   chunks sum in int16 before one madd applies the four rows' scales: a chunk's maddubs pair is at
   most 2·15·128 (hi) or 2·255·15 (lo) for Q4_K, four of them 30600 < 2^15; for Q5_K 2·31·128 and
   2·255·31, so its lo products sum two chunks at a time. Lanes of the int32 sums: row 0 in 0-1,
   row 1 in 2-3, row 2 in 4-5, row 3 in 6-7; then, as for one row, one float per super-block (d·da
   per lane) and the mins' term from the f32 sums of 32. */
WK_AVX2 static inline __attribute__((always_inline)) void q45k_x4_group(int five, const uint8_t *units, const wk_kact *q, long nsb,
                                                                       float out[4]) {
    __m256 acc = _mm256_setzero_ps();
    __m256 macc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m128i m3f = _mm_set1_epi32(0x3f3f3f3f), m0f = _mm_set1_epi32(0x0f0f0f0f), m03 = _mm_set1_epi32(0x03030303);
    const __m256i low = _mm256_set1_epi8(0x0F), bit = _mm256_set1_epi8(0x10), pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const long unit = five ? 704 : 576;
    for (long s = 0; s < nsb; s++) {
        const uint8_t *u = units + s * unit;
        wk_prefetch_bytes(u + 2 * unit, unit); /* the unit two super-blocks ahead */
        __m128 d4 = _mm_mul_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)u)), _mm_set1_ps(q->da[s]));
        float dmin[4];
        _mm_storeu_ps(dmin, _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(u + 8))));
        /* wk_q4k_scales on the four rows' dwords at once: sc 0-3 | sc 4-7 | m 0-3 | m 4-7. */
        __m128i U0 = _mm_loadu_si128((const __m128i *)(u + 16)), U1 = _mm_loadu_si128((const __m128i *)(u + 32));
        __m128i U2 = _mm_loadu_si128((const __m128i *)(u + 48));
        __m128i slo = _mm_and_si128(U0, m3f), mlo = _mm_and_si128(U1, m3f);
        __m128i shi = _mm_or_si128(_mm_and_si128(U2, m0f), _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(U0, 6), m03), 4));
        __m128i mhi = _mm_or_si128(_mm_and_si128(_mm_srli_epi32(U2, 4), m0f), _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(U1, 6), m03), 4));
        __m256i sc = _mm256_set_m128i(_mm_unpackhi_epi32(slo, shi), _mm_unpacklo_epi32(slo, shi)); /* rows 0, 1 | rows 2, 3 */
        __m128i m01 = _mm_unpacklo_epi32(mlo, mhi), m23 = _mm_unpackhi_epi32(mlo, mhi);
        __m128i mins[4] = {m01, _mm_srli_si128(m01, 8), m23, _mm_srli_si128(m23, 8)};
        __m256 xsum = _mm256_loadu_ps(q->xsum + 8 * s);
        for (int k = 0; k < 4; k++)
            macc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mins[k])), _mm256_mul_ps(xsum, _mm256_set1_ps(dmin[k])), macc[k]);
        __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
        const uint8_t *qh = u + 64, *qs = u + (five ? 192 : 64);
        for (int p = 0; p < 4; p++) {
            __m256i s0 = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)q4k_x4_pick[2 * p]));
            __m256i s1 = _mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)q4k_x4_pick[2 * p + 1]));
            __m256i h0 = _mm256_setzero_si256(), l0 = h0, h1 = h0, l1 = h0;
            for (int c = 0; c < 4; c++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(qs + (4 * p + c) * 32));
                __m256i w0 = _mm256_and_si256(v, low), w1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                if (five) {
                    __m256i hb = _mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)(qh + 32 * c)), 2 * p);
                    w0 = _mm256_or_si256(w0, _mm256_and_si256(_mm256_slli_epi16(hb, 4), bit));
                    w1 = _mm256_or_si256(w1, _mm256_and_si256(_mm256_slli_epi16(hb, 3), bit));
                }
                const uint8_t *hp = (const uint8_t *)q->hi + 256 * s + 64 * p + 8 * c, *lp = q->lo + 256 * s + 64 * p + 8 * c;
                h0 = _mm256_add_epi16(h0, _mm256_maddubs_epi16(w0, _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)hp))));
                l0 = _mm256_add_epi16(l0, _mm256_maddubs_epi16(_mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)lp)), w0));
                h1 = _mm256_add_epi16(h1, _mm256_maddubs_epi16(w1, _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)(hp + 32)))));
                l1 = _mm256_add_epi16(l1, _mm256_maddubs_epi16(_mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)(lp + 32))), w1));
                if (five && c % 2) { /* two chunks of Q5_K lo pairs are as many as int16 holds */
                    ls = _mm256_add_epi32(ls, _mm256_add_epi32(_mm256_madd_epi16(l0, s0), _mm256_madd_epi16(l1, s1)));
                    l0 = l1 = _mm256_setzero_si256();
                }
            }
            hs = _mm256_add_epi32(hs, _mm256_add_epi32(_mm256_madd_epi16(h0, s0), _mm256_madd_epi16(h1, s1)));
            if (!five) ls = _mm256_add_epi32(ls, _mm256_add_epi32(_mm256_madd_epi16(l0, s0), _mm256_madd_epi16(l1, s1)));
        }
        __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hs), _mm256_set1_ps(256.0f), _mm256_cvtepi32_ps(ls));
        acc = _mm256_fmadd_ps(f, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d4), pairs), acc);
    }
    float a[8], m[4];
    _mm256_storeu_ps(a, acc);
    _mm_storeu_ps(m, wk_hsum4(macc[0], macc[1], macc[2], macc[3]));
    for (int k = 0; k < 4; k++) out[k] = a[2 * k] + a[2 * k + 1] - m[k];
}

/* For each sub-block k of a half (0-7) of a Q6_K, Q3_K or Q2_K unit, the int16 lanes of its scale
   in k16_x4_group: bytes k (row 0 or 2) and 8 + k (row 1 or 3) of each 128-bit half of the half's
   scale vector, doubled into both bytes of a lane (then shifted right by 8 with sign: the scale). */
static const int8_t k16_x4_pick[8][32] __attribute__((aligned(32))) = {
#define PICK(j) {j, j, j, j, j, j, j, j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, \
                 j, j, j, j, j, j, j, j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j, 8 + j}
    PICK(0), PICK(1), PICK(2), PICK(3), PICK(4), PICK(5), PICK(6), PICK(7)
#undef PICK
};

/* Row k's term over a super-block's 16 sub-blocks: off += f·Σ_k v_k·x_k, v the 16 bytes in r
   (signed, or with `unsigned_bytes` unsigned), x in x0 (sub-blocks 0-7) and x1 (8-15). */
WK_AVX2 static inline __m256 kx4_term16(__m128i r, int unsigned_bytes, __m256 x0, __m256 x1, float f, __m256 off) {
    __m128i r1 = _mm_srli_si128(r, 8);
    __m256i v0 = unsigned_bytes ? _mm256_cvtepu8_epi32(r) : _mm256_cvtepi8_epi32(r);
    __m256i v1 = unsigned_bytes ? _mm256_cvtepu8_epi32(r1) : _mm256_cvtepi8_epi32(r1);
    __m256 t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(v1), x1, _mm256_mul_ps(_mm256_cvtepi32_ps(v0), x0));
    return _mm256_fmadd_ps(t, _mm256_set1_ps(f), off);
}

/* Four rows of an interleaved Q6_K, Q3_K or Q2_K matrix (sub-blocks of 16; units of 840, 440 or
   336 bytes, wk_kx4_segment) over super-blocks [0, nsb): out[0..3]. Per half h and chunk c the
   four groups' 8 values at 8c..8c+7 from the four rows, as unsigned bytes: Q6_K's q (0..63,
   wk_q6k_groups), Q3_K's q + 4 (0..7, wk_q3k_bits), Q2_K's q (0..3, wk_q2k_bits), each met by its 8
   activations broadcast to the four rows. A sub-block is two chunks: their maddubs pairs sum in
   int16 before the madd with the four rows' scales (at most 2·2·63·128 for hi; lo pairs reach
   2·255·63 for Q6_K, which are widened one by one, and 2·255·7 for the others). The offsets —
   Q6_K's −32 and Q3_K's −4 through the integer Σa of each 16, Q2_K's mins through the f32 Σx of
   each 16 — in floats per row. */
WK_AVX2 static inline __attribute__((always_inline)) void k16_x4_group(int qtype, const uint8_t *units, const wk_kact *q, long nsb,
                                                                      float out[4]) {
    __m256 acc = _mm256_setzero_ps();
    __m256 off[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    const __m256i pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const long unit = 4 * wk_block_bytes[qtype];
    for (long s = 0; s < nsb; s++) {
        const uint8_t *u = units + s * unit;
        wk_prefetch_bytes(u + 2 * unit, unit); /* the unit two super-blocks ahead */
        __m128 d4 = _mm_mul_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)u)), _mm_set1_ps(q->da[s]));
        float d[4];
        _mm_storeu_ps(d, d4);
        __m128i r[4]; /* each row's 16 scales as bytes */
        if (qtype == WK_Q2_K) {
            float dmin[4];
            _mm_storeu_ps(dmin, _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(u + 8))));
            __m256 x0 = _mm256_loadu_ps(q->xs16 + 16 * s), x1 = _mm256_loadu_ps(q->xs16 + 16 * s + 8);
            for (int k = 0; k < 4; k++) {
                __m128i packed = _mm_loadu_si128((const __m128i *)(u + 16 + 16 * k));
                r[k] = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
                off[k] = kx4_term16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F)), 1, x0, x1, dmin[k], off[k]);
            }
        } else {
            __m256 a0 = _mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)(q->s16 + 16 * s)));
            __m256 a1 = _mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)(q->s16 + 16 * s + 8)));
            for (int k = 0; k < 4; k++) {
                r[k] = qtype == WK_Q6_K ? _mm_loadu_si128((const __m128i *)(u + 8 + 16 * k)) : q3k_scales(u + 8 + 12 * k);
                off[k] = kx4_term16(r[k], 0, a0, a1, (qtype == WK_Q6_K ? 32.0f : 4.0f) * d[k], off[k]);
            }
        }
        __m256i hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i sc = h ? _mm256_set_m128i(_mm_unpackhi_epi64(r[2], r[3]), _mm_unpackhi_epi64(r[0], r[1]))
                           : _mm256_set_m128i(_mm_unpacklo_epi64(r[2], r[3]), _mm_unpacklo_epi64(r[0], r[1]));
            for (int half = 0; half < 2; half++) { /* chunks 2·half, 2·half + 1: sub-blocks 2j + half */
                __m256i hsum[4], lsum[4], S[4];
                for (int j = 0; j < 4; j++) {
                    hsum[j] = lsum[j] = _mm256_setzero_si256();
                    S[j] = _mm256_srai_epi16(_mm256_shuffle_epi8(sc, _mm256_load_si256((const __m256i *)k16_x4_pick[2 * j + half])), 8);
                }
                for (int c = 2 * half; c < 2 * half + 2; c++) {
                    __m256i g[4];
                    if (qtype == WK_Q6_K) {
                        const uint8_t *t = u + 72 + 96 * (4 * h + c);
                        wk_q6k_groups(_mm256_loadu_si256((const __m256i *)t), _mm256_loadu_si256((const __m256i *)(t + 32)),
                                      _mm256_loadu_si256((const __m256i *)(t + 64)), g);
                    } else if (qtype == WK_Q3_K) {
                        __m256i hm = _mm256_loadu_si256((const __m256i *)(u + 56 + 64 * c));
                        __m256i qs = _mm256_loadu_si256((const __m256i *)(u + (h ? 312 + 32 * c : 88 + 64 * c)));
                        for (int j = 0; j < 4; j++) g[j] = wk_q3k_bits(qs, hm, 4 * h + j);
                    } else {
                        __m256i qs = _mm256_loadu_si256((const __m256i *)(u + 80 + 32 * (4 * h + c)));
                        for (int j = 0; j < 4; j++) g[j] = wk_q2k_bits(qs, j);
                    }
                    for (int j = 0; j < 4; j++) {
                        long pos = 256 * s + 128 * h + 32 * j + 8 * c;
                        __m256i hi = _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)(q->hi + pos)));
                        __m256i lo = _mm256_broadcastq_epi64(_mm_loadl_epi64((const __m128i *)(q->lo + pos)));
                        hsum[j] = _mm256_add_epi16(hsum[j], _mm256_maddubs_epi16(g[j], hi));
                        if (qtype == WK_Q6_K) ls = _mm256_add_epi32(ls, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, g[j]), S[j]));
                        else lsum[j] = _mm256_add_epi16(lsum[j], _mm256_maddubs_epi16(lo, g[j]));
                    }
                }
                for (int j = 0; j < 4; j++) {
                    hs = _mm256_add_epi32(hs, _mm256_madd_epi16(hsum[j], S[j]));
                    if (qtype != WK_Q6_K) ls = _mm256_add_epi32(ls, _mm256_madd_epi16(lsum[j], S[j]));
                }
            }
        }
        __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hs), _mm256_set1_ps(256.0f), _mm256_cvtepi32_ps(ls));
        acc = _mm256_fmadd_ps(f, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(d4), pairs), acc);
    }
    float a[8], m[4];
    _mm256_storeu_ps(a, acc);
    _mm_storeu_ps(m, wk_hsum4(off[0], off[1], off[2], off[3]));
    for (int k = 0; k < 4; k++) out[k] = a[2 * k] + a[2 * k + 1] - m[k];
}

/* Rows [row0, row1) of an interleaved K matrix (nsb super-blocks per row) over its
   super-blocks [b0, b0 + nq): y set, or with `accumulate` added to. A group only partly in the
   range is computed whole and only its rows in range are kept. */
WK_AVX2 static inline __attribute__((always_inline)) void krows_x4_i16(int qtype, const uint8_t *base, long nsb, long b0, const wk_kact *q,
                                                                      long nq, float *y, long row0, long row1, int accumulate) {
    long unit = 4 * wk_block_bytes[qtype];
    for (long g = row0 / 4; g * 4 < row1; g++) {
        float y4[4];
        const uint8_t *units = base + (g * nsb + b0) * unit;
        switch (qtype) {
        case WK_Q4_K: q45k_x4_group(0, units, q, nq, y4); break;
        case WK_Q5_K: q45k_x4_group(1, units, q, nq, y4); break;
        case WK_Q3_K: k16_x4_group(WK_Q3_K, units, q, nq, y4); break;
        case WK_Q2_K: k16_x4_group(WK_Q2_K, units, q, nq, y4); break;
        default: k16_x4_group(WK_Q6_K, units, q, nq, y4); break;
        }
        for (long j = 0; j < 4; j++)
            if (g * 4 + j >= row0 && g * 4 + j < row1) y[g * 4 + j] = accumulate ? y[g * 4 + j] + y4[j] : y4[j];
    }
}

WK_AVX2 static inline __attribute__((always_inline)) void kmatvec_i16(int qtype, const uint8_t *base, long stride, const float *x,
                                                                     float *y, long cols, long row0, long row1) {
    static __thread wk_kact q;
    int plain = qtype & ~WK_QX4;
    for (long c0 = 0; c0 < cols; c0 += WK_QA_COLS) { /* WK_QA_COLS is a multiple of 256 */
        long cc = cols - c0 < WK_QA_COLS ? cols - c0 : WK_QA_COLS;
        kquantize(x + c0, cc, plain, &q);
        if (qtype & WK_QX4) krows_x4_i16(plain, base, cols / 256, c0 / 256, &q, cc / 256, y, row0, row1, c0 > 0);
        else krows_i16(qtype, base + c0 / 256 * wk_block_bytes[qtype], stride, &q, cc / 256, y, row0, row1, c0 > 0);
    }
}

WK_MATVEC_BODIES(kmatvec_i16_isa, kmatvec_i16)

/* K super-blocks to floats for prefill's panels, with wk_kdequantize_block's arithmetic ((d·sc)·q,
   minus dmin·m for Q2_K, Q4_K and Q5_K; no FMA), so both give bit-identical values. (Q4_K and Q5_K
   went through the scalar decoder: 1.1 B Q4_K_M prefill spent 4 % of its time there.) */
WK_AVX2 void wk_kdequantize_blocks_avx2(int qtype, const uint8_t *b, long nblocks, float *y) {
    long bb = wk_block_bytes[qtype];
    for (long j = 0; j < nblocks; j++, b += bb, y += 256) {
        __m256i v[8]; /* group g's 32 values as signed bytes */
        float d, dmin = 0;
        int8_t sc[16];
        uint8_t m[16] = {0};
        if (qtype == WK_Q6_K) {
            d = hhalf(b + 208);
            memcpy(sc, b + 192, 16);
            wk_q6k_half(b, 0, v);
            wk_q6k_half(b, 1, v + 4);
            for (int g = 0; g < 8; g++) v[g] = _mm256_sub_epi8(v[g], _mm256_set1_epi8(32));
        } else if (qtype == WK_Q3_K) {
            d = hhalf(b + 108);
            _mm_storeu_si128((__m128i *)sc, q3k_scales(b + 96));
            for (int g = 0; g < 8; g++) v[g] = _mm256_sub_epi8(wk_q3k_group(b, g), _mm256_set1_epi8(4));
        } else if (qtype == WK_Q4_K || qtype == WK_Q5_K) { /* one scale and min per 32 values */
            d = hhalf(b);
            dmin = hhalf(b + 2);
            uint8_t s8[8], m8[8];
            wk_q4k_scales(b + 4, s8, m8);
            for (int g = 0; g < 8; g++) {
                sc[2 * g] = sc[2 * g + 1] = (int8_t)s8[g];
                m[2 * g] = m[2 * g + 1] = m8[g];
            }
            const int five = qtype == WK_Q5_K;
            const uint8_t *qs = b + (five ? 48 : 16);
            const __m256i nib = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
            __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(b + 16)) : _mm256_setzero_si256();
            for (int p = 0; p < 4; p++) { /* value l of groups 2p and 2p+1: the nibbles of qs[32p + l]; Q5_K's bit g of qh[l] */
                __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
                v[2 * p] = _mm256_and_si256(raw, nib);
                v[2 * p + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), nib);
                if (five) {
                    v[2 * p] = _mm256_or_si256(v[2 * p], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one), 4));
                    v[2 * p + 1] = _mm256_or_si256(v[2 * p + 1], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one), 4));
                }
            }
        } else { /* Q2_K */
            d = hhalf(b + 80);
            dmin = hhalf(b + 82);
            for (int i = 0; i < 16; i++) {
                sc[i] = (int8_t)(b[i] & 0x0F);
                m[i] = b[i] >> 4;
            }
            for (int g = 0; g < 8; g++) v[g] = wk_q2k_group(b, g);
        }
        for (int g = 0; g < 8; g++) {
            __m128i half16[2] = {_mm256_castsi256_si128(v[g]), _mm256_extracti128_si256(v[g], 1)};
            for (int h = 0; h < 2; h++) {
                __m256 scale = _mm256_set1_ps(d * (float)sc[2 * g + h]), min = _mm256_set1_ps(dmin * (float)m[2 * g + h]);
                for (int e = 0; e < 2; e++) {
                    __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(e ? _mm_srli_si128(half16[h], 8) : half16[h]));
                    __m256 x = _mm256_mul_ps(scale, q);
                    if (qtype == WK_Q2_K || qtype == WK_Q4_K || qtype == WK_Q5_K) x = _mm256_sub_ps(x, min);
                    _mm256_storeu_ps(y + 32 * g + 16 * h + 8 * e, x);
                }
            }
        }
    }
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
    int plain = qtype & ~WK_QX4;
    long stride = wk_row_bytes(plain, cols);
#if WK_X86
    if (cfg.isa >= WK_ISA_AVX2 && !cfg.f32_activations) {
        kmatvec_i16_isa(cfg.isa, qtype, base, stride, x, y, cols, row0, row1);
        return;
    }
#endif
    if (qtype & WK_QX4) { /* f32 activations or portable: each row regathered, 8 super-blocks at a time */
        long nsb = cols / 256;
        uint8_t row[8 * 256];
        for (long r = row0; r < row1; r++) {
            float sum = 0;
            for (long b0 = 0; b0 < nsb; b0 += 8) {
                long k = nsb - b0 < 8 ? nsb - b0 : 8;
                float part;
                wk_qx4_row_blocks(plain, base, nsb, r, b0, k, row);
                wk_kmatvec(cfg, plain, row, x + b0 * 256, &part, k * 256, 0, 1);
                sum += part;
            }
            y[r] = sum;
        }
        return;
    }
#if WK_X86
    if (cfg.isa >= WK_ISA_AVX2) {
        for (long r = row0; r < row1; r++) y[r] = kdot_f32_avx2(qtype, base + r * stride, x, cols);
        return;
    }
#endif
    (void)cfg;
    for (long r = row0; r < row1; r++) y[r] = kdot_decoded(qtype, base + r * stride, x, cols);
}
