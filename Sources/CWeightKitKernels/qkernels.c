/* See include/wk_qkernels.h. */
#include "wk_qkernels.h"
#include "wk_half.h"
#include "wk_kernels.h"
#include "wk_private.h"
#include <string.h>

static inline float qhalf(const uint8_t *p) { return wk_half_to_float((uint16_t)(p[0] | (p[1] << 8))); }

/* ---- portable bodies ---------------------------------------------------------------------- */

long wk_block_values(int qtype) { return wk_is_256(qtype) ? 256 : 32; }

/* Q5_0 / Q5_1: x = d·(q - 16) or d·q + m, q = nibble | fifth bit from the 32-bit qh. */
static void dequantize_q5(int has_min, const uint8_t *b, float *out) {
    float d = qhalf(b), m = has_min ? qhalf(b + 2) : 0;
    const uint8_t *hb = b + (has_min ? 4 : 2), *qs = hb + 4;
    uint32_t qh = (uint32_t)hb[0] | (uint32_t)hb[1] << 8 | (uint32_t)hb[2] << 16 | (uint32_t)hb[3] << 24;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0x0F) | (int)((qh >> j) & 1) << 4, hi = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
        if (has_min) {
            out[j] = d * (float)lo + m;
            out[j + 16] = d * (float)hi + m;
        } else {
            out[j] = d * (float)(lo - 16);
            out[j + 16] = d * (float)(hi - 16);
        }
    }
}

static void dequantize_block(int qtype, const uint8_t *b, float *out) {
    float d = qhalf(b);
    switch (qtype) {
    case WK_Q5_0:
    case WK_Q5_1: dequantize_q5(qtype == WK_Q5_1, b, out); break;
    case WK_Q4_K:
    case WK_Q5_K:
    case WK_Q6_K:
    case WK_Q3_K:
    case WK_Q2_K: wk_kdequantize_block(qtype, b, out); break;
    case WK_Q8_0:
        for (int i = 0; i < 32; i++) out[i] = (float)(int8_t)b[2 + i] * d;
        break;
    case WK_Q4_0:
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)((b[2 + j] & 0x0F) - 8);
            out[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
        }
        break;
    case WK_IQ4_NL:
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)wk_iq4nl_values[b[2 + j] & 0x0F];
            out[j + 16] = d * (float)wk_iq4nl_values[b[2 + j] >> 4];
        }
        break;
    case WK_IQ4_XS: /* as ggml: dl = d·(ls − 32) in f32 (exact: 11 + 6 significant bits), then dl·level */
        for (int g = 0; g < 8; g++) {
            float dl = d * (float)wk_iq4xs_scale(b, g);
            const uint8_t *qs = b + 8 + 16 * g;
            for (int j = 0; j < 16; j++) {
                out[32 * g + j] = dl * (float)wk_iq4nl_values[qs[j] & 0x0F];
                out[32 * g + j + 16] = dl * (float)wk_iq4nl_values[qs[j] >> 4];
            }
        }
        break;
    default: {
        float m = qhalf(b + 2);
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)(b[4 + j] & 0x0F) + m;
            out[j + 16] = d * (float)(b[4 + j] >> 4) + m;
        }
    }
    }
}

void wk_qdequantize_row(int isa, int qtype, const void *w, long cols, long r, float *out) {
    long nb = cols / wk_block_values(qtype & ~WK_QX4);
    if (qtype & WK_QX4) {
        wk_qdequantize_x4_blocks(isa, qtype & ~WK_QX4, w, cols, r, 0, nb, out);
        return;
    }
    const uint8_t *row = (const uint8_t *)w + r * wk_row_bytes(qtype, cols);
    wk_qdequantize_blocks(isa, qtype, row, nb, out);
}

static float qdot_portable(int qtype, const uint8_t *row, const float *x, long cols) {
    long n = wk_block_values(qtype), nb = cols / n, bb = wk_block_bytes[qtype];
    float sum = 0, tmp[256];
    for (long b = 0; b < nb; b++) {
        dequantize_block(qtype, row + b * bb, tmp);
        float acc[4] = {0, 0, 0, 0};
        for (int i = 0; i < n; i += 4)
            for (int k = 0; k < 4; k++) acc[k] += tmp[i + k] * x[b * n + i + k];
        sum += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    return sum;
}

/* ---- AVX2 bodies -------------------------------------------------------------------------- */
#if WK_X86

WK_AVX2 static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    /* Written as a zero-extending move; clang still emits pinsrw into a scratch register. */
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/* Eight signed bytes at p (as int8) to floats. */
WK_AVX2 static inline __m256 bytes_to_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

/* The 32 quant values of a 4-bit block as 4 x 8 floats (elements 0-7, 8-15, 16-23, 24-31),
   offset by `bias` (8 for q4_0, 0 for q4_1). */
WK_AVX2 static inline void nibbles(const uint8_t *qs, __m128i bias, __m256 q[4]) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m128i mask = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_sub_epi8(_mm_and_si128(v, mask), bias);
    __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), mask), bias);
    q[0] = bytes_to_ps(lo);
    q[1] = bytes_to_ps(_mm_unpackhi_epi64(lo, lo));
    q[2] = bytes_to_ps(hi);
    q[3] = bytes_to_ps(_mm_unpackhi_epi64(hi, hi));
}

/* IQ4_XS super-block b's eight sub-block scales d·(ls_j − 32) as floats, lane j (exact: 11 + 6
   significant bits; the dl of ggml's dequantize_row_iq4_xs). */
WK_AVX2 static inline __m256 iq4xs_scales(const uint8_t *b) {
    uint32_t low;
    memcpy(&low, b + 4, 4);
    __m256i l = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)low), _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)), _mm256_set1_epi32(0x0F));
    __m256i h = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(b[2] | b[3] << 8), _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)), _mm256_set1_epi32(3));
    __m256i ls = _mm256_sub_epi32(_mm256_or_si256(l, _mm256_slli_epi32(h, 4)), _mm256_set1_epi32(32));
    return _mm256_mul_ps(_mm256_set1_ps(f16(b)), _mm256_cvtepi32_ps(ls));
}

/* Blocks to floats with the same arithmetic as dequantize_block (d·q, d·q + m; no FMA), so both
   bodies give bit-identical values. */
WK_AVX2 static void dequantize_blocks_avx2(int qtype, const uint8_t *b, long nblocks, float *out) {
    long bb = wk_block_bytes[qtype];
    if (wk_is_k(qtype)) { wk_kdequantize_blocks_avx2(qtype, b, nblocks, out); return; }
    if (qtype == WK_IQ4_NL || qtype == WK_IQ4_XS) { /* each 16 nibbles looked up at once, one product per value */
        int xs = qtype == WK_IQ4_XS;
        for (long j = 0; j < nblocks; j++, b += bb) {
            float dls[8];
            if (xs) _mm256_storeu_ps(dls, iq4xs_scales(b));
            for (int g = 0; g < (xs ? 8 : 1); g++, out += 32) {
                __m256 dl = _mm256_set1_ps(xs ? dls[g] : f16(b));
                __m256i v = wk_iq4nl_lookup(b + (xs ? 8 + 16 * g : 2));
                __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
                _mm256_storeu_ps(out, _mm256_mul_ps(dl, bytes_to_ps(lo)));
                _mm256_storeu_ps(out + 8, _mm256_mul_ps(dl, bytes_to_ps(_mm_unpackhi_epi64(lo, lo))));
                _mm256_storeu_ps(out + 16, _mm256_mul_ps(dl, bytes_to_ps(hi)));
                _mm256_storeu_ps(out + 24, _mm256_mul_ps(dl, bytes_to_ps(_mm_unpackhi_epi64(hi, hi))));
            }
        }
        return;
    }
    if (qtype > WK_Q4_1) { /* Q5_0, Q5_1: the portable decoders (prefill decodes each block once per product) */
        for (long j = 0; j < nblocks; j++) dequantize_block(qtype, b + j * bb, out + j * wk_block_values(qtype));
        return;
    }
    for (long j = 0; j < nblocks; j++, b += bb, out += 32) {
        __m256 d = _mm256_set1_ps(f16(b)), q[4];
        if (qtype == WK_Q8_0) {
            for (int g = 0; g < 4; g++) q[g] = bytes_to_ps(_mm_loadl_epi64((const __m128i *)(b + 2 + 8 * g)));
        } else {
            nibbles(b + (qtype == WK_Q4_1 ? 4 : 2), _mm_set1_epi8(qtype == WK_Q4_1 ? 0 : 8), q);
        }
        __m256 m = _mm256_set1_ps(qtype == WK_Q4_1 ? f16(b + 2) : 0);
        for (int g = 0; g < 4; g++) {
            __m256 v = _mm256_mul_ps(q[g], d);
            if (qtype == WK_Q4_1) v = _mm256_add_ps(v, m);
            _mm256_storeu_ps(out + 8 * g, v);
        }
    }
}

/* See wk_q4_pairs_dequantize (b0 even). Lane i of the k-th nibble vector holds element 8k + i of
   the pair's first block (low 128 bits) and of its second (high 128 bits); the second block's
   scale and min are four slots after the first's. Q4_0: d·(q − 8); Q4_1: d·q + m, as
   dequantize_block (no FMA). */
WK_AVX2 static long q4_pairs_dequantize_avx2(int qtype, const uint8_t *w, long nb, long r, long b0, long n, float *out) {
    const int has_min = wk_has_min(qtype);
    const __m256i low = _mm256_set1_epi16(0x0F), bias = _mm256_set1_epi16(has_min ? 0 : 8);
    long j = 0;
    for (; j + 2 <= n; j += 2, out += 64) {
        wk_qblock_ref ref = wk_qblock_at(qtype | WK_QX4, w, nb, r, b0 + j);
        __m256i v = _mm256_loadu_si256((const __m256i *)ref.quants);
        __m256i q[4] = {_mm256_and_si256(v, low), _mm256_and_si256(_mm256_srli_epi16(v, 4), low),
                        _mm256_and_si256(_mm256_srli_epi16(v, 8), low), _mm256_srli_epi16(v, 12)};
        __m256 d0 = _mm256_set1_ps(f16(ref.scale)), d1 = _mm256_set1_ps(f16(ref.scale + 8));
        __m256 m0 = _mm256_set1_ps(has_min ? f16(ref.min) : 0), m1 = _mm256_set1_ps(has_min ? f16(ref.min + 8) : 0);
        for (int k = 0; k < 4; k++) {
            __m256i c = _mm256_sub_epi16(q[k], bias);
            __m256 lo = _mm256_mul_ps(d0, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(c))));
            __m256 hi = _mm256_mul_ps(d1, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(c, 1))));
            if (has_min) {
                lo = _mm256_add_ps(lo, m0);
                hi = _mm256_add_ps(hi, m1);
            }
            _mm256_storeu_ps(out + 8 * k, lo);
            _mm256_storeu_ps(out + 32 + 8 * k, hi);
        }
    }
    return j;
}

/* Σ_c W[row, c] x[c] for one row of blocks. */
WK_AVX2 static float qdot_avx2(int qtype, const uint8_t *row, const float *x, long cols) {
    long nb = cols / 32;
    if (qtype > WK_Q4_1) return qdot_portable(qtype, row, x, cols); /* f32 activations on Q5: the reference body */
    __m256 acc = _mm256_setzero_ps();
    if (qtype == WK_Q8_0) {
        for (long b = 0; b < nb; b++, row += 34, x += 32) {
            const __m128i *qs = (const __m128i *)(row + 2);
            __m128i q0 = _mm_loadu_si128(qs), q1 = _mm_loadu_si128(qs + 1);
            __m256 s = _mm256_mul_ps(bytes_to_ps(q0), _mm256_loadu_ps(x));
            s = _mm256_fmadd_ps(bytes_to_ps(_mm_unpackhi_epi64(q0, q0)), _mm256_loadu_ps(x + 8), s);
            s = _mm256_fmadd_ps(bytes_to_ps(q1), _mm256_loadu_ps(x + 16), s);
            s = _mm256_fmadd_ps(bytes_to_ps(_mm_unpackhi_epi64(q1, q1)), _mm256_loadu_ps(x + 24), s);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(row)), s, acc);
        }
        return wk_hsum(acc);
    }
    int has_min = qtype == WK_Q4_1;
    long bb = has_min ? 20 : 18;
    __m128i bias = _mm_set1_epi8(has_min ? 0 : 8);
    __m256 macc = _mm256_setzero_ps();
    for (long b = 0; b < nb; b++, row += bb, x += 32) {
        __m256 q[4];
        nibbles(row + (has_min ? 4 : 2), bias, q);
        __m256 x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8), x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24);
        __m256 s = _mm256_mul_ps(q[0], x0);
        s = _mm256_fmadd_ps(q[1], x1, s);
        s = _mm256_fmadd_ps(q[2], x2, s);
        s = _mm256_fmadd_ps(q[3], x3, s);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(row)), s, acc);
        if (has_min) {
            __m256 xs = _mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3));
            macc = _mm256_fmadd_ps(_mm256_set1_ps(f16(row + 2)), xs, macc);
        }
    }
    return wk_hsum(_mm256_add_ps(acc, macc));
}

/* ---- decode with 16-bit activations ------------------------------------------------------ */

/* wk_qact and quantize_activations_i16, shared with kkernels.c: wk_private.h. */

/* One block's quants (at qs) against its activations: 8 int32 partial sums, not yet converted.
   Q4 nibbles are zero-extended to 16 lanes (low nibbles: elements 0-15, high: 16-31). */
WK_AVX2 static inline __m256i fifth_bits(uint32_t h16) {
    const __m256i bit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, (short)32768);
    __m256i set = _mm256_cmpeq_epi16(_mm256_and_si256(_mm256_set1_epi16((short)h16), bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi16(16));
}

WK_AVX2 static inline __attribute__((always_inline)) __m256i qblock_i32(int qtype, const uint8_t *qs, __m256i a0, __m256i a1) {
    __m256i w0, w1;
    if (qtype == WK_Q8_0) {
        w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)qs));
        w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(qs + 16)));
    } else if (qtype == WK_Q5_0 || qtype == WK_Q5_1) { /* qs: 4 bytes of fifth bits, then the nibbles */
        uint32_t qh;
        memcpy(&qh, qs, 4);
        __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(qs + 4)));
        w0 = _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi16(0x0F)), fifth_bits(qh & 0xFFFF));
        w1 = _mm256_or_si256(_mm256_srli_epi16(v, 4), fifth_bits(qh >> 16));
    } else if (qtype == WK_IQ4_NL) { /* each nibble looked up in the 16 values, then widened */
        __m256i v = wk_iq4nl_lookup(qs);
        w0 = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(v));
        w1 = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(v, 1));
    } else {
        __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
        w0 = _mm256_and_si256(v, _mm256_set1_epi16(0x0F));
        w1 = _mm256_srli_epi16(v, 4);
    }
    return _mm256_add_epi32(_mm256_madd_epi16(w0, a0), _mm256_madd_epi16(w1, a1));
}

/* One block of row `row` (block start `blk`, ordinary layout) against the block's activations:
   the 8 partial sums as floats. Q4_0's "- 8" is applied once per block through Σa (asum8)
   instead of on every weight. */
WK_AVX2 static inline __attribute__((always_inline)) __m256 qblock_i16(int qtype, const uint8_t *blk, __m256i a0, __m256i a1) {
    return _mm256_cvtepi32_ps(qblock_i32(qtype, blk + (wk_block_bytes[qtype] - wk_x4_quants(qtype)), a0, a1));
}

/* d·da for block `blk`, and the block's share of the row's constant term: Q4_0's Σ d·da·(-8 Σa),
   Q5_0's Σ d·da·(-16 Σa), Q4_1's and Q5_1's m·Σx. */
#define WK_QSTEP(T, blk, acc, extra)                                                          \
    do {                                                                                      \
        float scale_ = f16(blk) * da;                                                         \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(scale_), qblock_i16(T, blk, a0, a1), acc);       \
        if (T == WK_Q4_0) extra += scale_ * q->asum8[b];                                      \
        if (T == WK_Q5_0) extra += scale_ * (2 * q->asum8[b]);                                \
        if (T == WK_Q4_1 || T == WK_Q5_1) extra += f16((blk) + 2) * q->xsum[b];               \
    } while (0)

/* Rows [r, r+4) of one block type, each row one accumulator: the activations and their scale
   are loaded once per block for all four rows, and the horizontal sums (a fifth of the time
   with rows of 18 blocks) are shared. */
WK_AVX2 static inline __attribute__((always_inline)) void qdot4_i16(int qtype, const uint8_t *row, long stride, const wk_qact *q,
                                                                    long nb, float *y, int accumulate) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
    float e0 = 0, e1 = 0, e2 = 0, e3 = 0;
    long bb = wk_block_bytes[qtype];
    for (long b = 0; b < nb; b++) {
        __m256i a0 = _mm256_load_si256((const __m256i *)(q->a + b * 32));
        __m256i a1 = _mm256_load_si256((const __m256i *)(q->a + b * 32 + 16));
        float da = q->da[b];
        const uint8_t *blk = row + b * bb;
        /* The next four rows, 4·bb bytes per block step: four interleaved streams are more than
           the hardware prefetcher follows well (docs/BENCHMARKS.md). */
        const char *ahead = (const char *)row + 4 * stride + b * 4 * bb;
        _mm_prefetch(ahead, _MM_HINT_T0);
        _mm_prefetch(ahead + 64, _MM_HINT_T0);
        _mm_prefetch(ahead + 128, _MM_HINT_T0);
        WK_QSTEP(qtype, blk, acc0, e0);
        WK_QSTEP(qtype, blk + stride, acc1, e1);
        WK_QSTEP(qtype, blk + 2 * stride, acc2, e2);
        WK_QSTEP(qtype, blk + 3 * stride, acc3, e3);
    }
    __m128 sums = _mm_add_ps(wk_hsum4(acc0, acc1, acc2, acc3), _mm_setr_ps(e0, e1, e2, e3));
    _mm_storeu_ps(y, accumulate ? _mm_add_ps(_mm_loadu_ps(y), sums) : sums);
}

/* One row (the tail of a range). */
WK_AVX2 static inline __attribute__((always_inline)) void qdot1_i16(int qtype, const uint8_t *row, const wk_qact *q, long nb, float *y,
                                                                    int accumulate) {
    __m256 acc = _mm256_setzero_ps();
    float e = 0;
    long bb = wk_block_bytes[qtype];
    for (long b = 0; b < nb; b++) {
        __m256i a0 = _mm256_load_si256((const __m256i *)(q->a + b * 32));
        __m256i a1 = _mm256_load_si256((const __m256i *)(q->a + b * 32 + 16));
        float da = q->da[b];
        WK_QSTEP(qtype, row + b * bb, acc, e);
    }
    float sum = wk_hsum(acc) + e;
    *y = accumulate ? *y + sum : sum;
}

/* Rows [row0, row1) over nb blocks starting at `base` (rows `stride` bytes apart): y set, or
   with `accumulate` added to. */
WK_AVX2 static inline __attribute__((always_inline)) void qrows_i16(int qtype, const uint8_t *base, long stride, const wk_qact *q, long nb, float *y, long row0, long row1,
                              int accumulate) {
    long r = row0;
    /* Constant block type and row count in each copy, so the accumulators stay in registers. */
#define WK_QROWS(T)                                                                                 \
    for (; r + 4 <= row1; r += 4) qdot4_i16(T, base + r * stride, stride, q, nb, y + r, accumulate); \
    for (; r < row1; r++) qdot1_i16(T, base + r * stride, q, nb, y + r, accumulate);
    switch (qtype) {
    case WK_Q8_0: WK_QROWS(WK_Q8_0) break;
    case WK_Q4_0: WK_QROWS(WK_Q4_0) break;
    case WK_Q5_0: WK_QROWS(WK_Q5_0) break;
    case WK_Q5_1: WK_QROWS(WK_Q5_1) break;
    case WK_IQ4_NL: WK_QROWS(WK_IQ4_NL) break;
    default: WK_QROWS(WK_Q4_1) break;
    }
#undef WK_QROWS
}

/* Group g of an interleaved matrix (four rows) against the activations: y4[0..3]. The four
   rows' integer sums are folded into one vector (lanes r0 r1 r2 r3 | r0 r1 r2 r3) before the
   one conversion and one FMA with the four scales. */
WK_AVX2 static inline __attribute__((always_inline)) void qgroup_x4_i16(int qtype, const uint8_t *group, const wk_qact *q, long nb, float *y4) {
    __m256 acc = _mm256_setzero_ps();
    __m128 extra = _mm_setzero_ps();
    long unit = 4 * wk_block_bytes[qtype], hdr = wk_x4_header(qtype), qsz = wk_x4_quants(qtype);
    for (long b = 0; b < nb; b++, group += unit) {
        wk_prefetch_bytes(group + 8 * unit, unit); /* eight units ahead */
        __m256i a0 = _mm256_load_si256((const __m256i *)(q->a + b * 32));
        __m256i a1 = _mm256_load_si256((const __m256i *)(q->a + b * 32 + 16));
        __m128 s4 = _mm_mul_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)group)), _mm_set1_ps(q->da[b]));
        const uint8_t *qs = group + hdr;
        __m256i p0 = qblock_i32(qtype, qs, a0, a1), p1 = qblock_i32(qtype, qs + qsz, a0, a1);
        __m256i p2 = qblock_i32(qtype, qs + 2 * qsz, a0, a1), p3 = qblock_i32(qtype, qs + 3 * qsz, a0, a1);
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
        acc = _mm256_fmadd_ps(_mm256_set_m128(s4, s4), _mm256_cvtepi32_ps(h), acc);
        if (qtype == WK_Q5_0) extra = _mm_fmadd_ps(s4, _mm_set1_ps(2 * q->asum8[b]), extra);
        if (qtype == WK_Q5_1)
            extra = _mm_fmadd_ps(_mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)(group + 8))), _mm_set1_ps(q->xsum[b]), extra);
    }
    __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    _mm_storeu_ps(y4, _mm_add_ps(sum, extra));
}

/* Rows [row0, row1) of an interleaved matrix (nb blocks per row; not Q4_0 or Q4_1, whose layout
   is paired: q4_rows_pairs), over its blocks [b0, b0 + nq):
   y set, or with `accumulate` added to. A group only partly in the range is computed whole into
   a scratch buffer and only its rows in range are kept. */
WK_AVX2 static inline __attribute__((always_inline)) void qrows_x4_i16(int qtype, const uint8_t *base, long nb, long b0, const wk_qact *q, long nq, float *y, long row0,
                                 long row1, int accumulate) {
    long unit = 4 * wk_block_bytes[qtype];
    for (long g = row0 / 4; g * 4 < row1; g++) {
        float y4[4];
        const uint8_t *group = base + (g * nb + b0) * unit;
        switch (qtype) {
        case WK_Q8_0: qgroup_x4_i16(WK_Q8_0, group, q, nq, y4); break;
        case WK_Q5_0: qgroup_x4_i16(WK_Q5_0, group, q, nq, y4); break;
        case WK_Q5_1: qgroup_x4_i16(WK_Q5_1, group, q, nq, y4); break;
        default: qgroup_x4_i16(WK_IQ4_NL, group, q, nq, y4); break;
        }
        for (long j = 0; j < 4; j++)
            if (g * 4 + j >= row0 && g * 4 + j < row1) y[g * 4 + j] = accumulate ? y[g * 4 + j] + y4[j] : y4[j];
    }
}

/* Four rows' integer sums of one sub-block (p0..p3, 8 lanes each), folded: lanes r0 r1 r2 r3 of
   the low 4 lanes' sums | the same rows' high 4 lanes' sums. */
WK_AVX2 static inline __m256i fold4(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
    return _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
}

/* IQ4_XS: four rows over nsb super-blocks from `first`, the rows `stride` bytes apart and each
   row's super-blocks `step` bytes apart — the file's layout (stride a row's bytes, step 136; a
   lone row with stride 0) or the interleaved one (stride 136, step 544: the four rows' super-blocks
   back to back). Sub-block j of 32 values is an IQ4_NL block: its levels times the activations
   sum exactly in int32 (|Σ| ≤ 32·127·32767 < 2^31). Sub-blocks j and j + 4 are finished together:
   the four rows' sums of each folded, then j's in the low half and j + 4's in the high one, one
   conversion and one FMA with the rows' d·(ls − 32)·da (the four rows' scale vectors transposed
   once per super-block). y4[0..3]. */
WK_AVX2 static inline __attribute__((always_inline)) void iq4xs_dot4_i16(const uint8_t *first, long stride, long step, long ahead,
                                                                        const wk_qact *q, long nsb, float *y4) {
    __m256 acc = _mm256_setzero_ps();
    for (long s = 0; s < nsb; s++) {
        const uint8_t *blk[4] = {first + s * step, first + s * step + stride, first + s * step + 2 * stride, first + s * step + 3 * stride};
        for (int r = 0; r < 4; r++) wk_prefetch_bytes(blk[r] + ahead * step, wk_block_bytes[WK_IQ4_XS]);
        __m256 v0 = iq4xs_scales(blk[0]), v1 = iq4xs_scales(blk[1]), v2 = iq4xs_scales(blk[2]), v3 = iq4xs_scales(blk[3]);
        __m256 t0 = _mm256_unpacklo_ps(v0, v1), t1 = _mm256_unpackhi_ps(v0, v1), t2 = _mm256_unpacklo_ps(v2, v3), t3 = _mm256_unpackhi_ps(v2, v3);
        /* u[k]: sub-block k's scales of rows 0-3 | sub-block k + 4's */
        __m256 u[4] = {_mm256_shuffle_ps(t0, t2, 0x44), _mm256_shuffle_ps(t0, t2, 0xEE), _mm256_shuffle_ps(t1, t3, 0x44), _mm256_shuffle_ps(t1, t3, 0xEE)};
        __m256 da = _mm256_loadu_ps(q->da + 8 * s);
        for (int k = 0; k < 4; k++) {
            __m256i h[2];
            for (int half = 0; half < 2; half++) {
                long j = k + 4 * half, b = 8 * s + j;
                __m256i a0 = _mm256_load_si256((const __m256i *)(q->a + b * 32));
                __m256i a1 = _mm256_load_si256((const __m256i *)(q->a + b * 32 + 16));
                h[half] = fold4(qblock_i32(WK_IQ4_NL, blk[0] + 8 + 16 * j, a0, a1), qblock_i32(WK_IQ4_NL, blk[1] + 8 + 16 * j, a0, a1),
                                qblock_i32(WK_IQ4_NL, blk[2] + 8 + 16 * j, a0, a1), qblock_i32(WK_IQ4_NL, blk[3] + 8 + 16 * j, a0, a1));
            }
            __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(h[0], h[1], 0x20), _mm256_permute2x128_si256(h[0], h[1], 0x31));
            __m256 das = _mm256_permutevar8x32_ps(da, _mm256_setr_epi32(k, k, k, k, k + 4, k + 4, k + 4, k + 4));
            acc = _mm256_fmadd_ps(_mm256_mul_ps(u[k], das), _mm256_cvtepi32_ps(sums), acc);
        }
    }
    _mm_storeu_ps(y4, _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
}

/* Rows [row0, row1) of an IQ4_XS matrix (nsb super-blocks per row; either layout) over its
   super-blocks [s0, s0 + n): y set, or with `accumulate` added to. */
WK_AVX2 static inline __attribute__((always_inline)) void iq4xs_rows_i16(int x4, const uint8_t *base, long stride, long nsb, long s0,
                                                                        const wk_qact *q, long n, float *y, long row0, long row1, int accumulate) {
    const long bb = wk_block_bytes[WK_IQ4_XS];
    float y4[4];
    if (x4) {
        for (long g = row0 / 4; g * 4 < row1; g++) {
            iq4xs_dot4_i16(base + wk_iq4xs_x4_offset(nsb, 4 * g, s0), bb, 4 * bb, 8, q, n, y4);
            for (long j = 0; j < 4; j++)
                if (g * 4 + j >= row0 && g * 4 + j < row1) y[g * 4 + j] = accumulate ? y[g * 4 + j] + y4[j] : y4[j];
        }
        return;
    }
    long r = row0;
    for (; r + 4 <= row1; r += 4) {
        iq4xs_dot4_i16(base + r * stride + s0 * bb, stride, bb, 4, q, n, y4);
        for (long j = 0; j < 4; j++) y[r + j] = accumulate ? y[r + j] + y4[j] : y4[j];
    }
    for (; r < row1; r++) { /* a lone row: four times the same */
        iq4xs_dot4_i16(base + r * stride + s0 * bb, 0, bb, 4, q, n, y4);
        y[r] = accumulate ? y[r] + y4[0] : y4[0];
    }
}

/* Q4_0 and Q4_1 in their paired interleaved layout (wk_x4_paired): each block pair's activations
   in the layout's nibble order — four vectors a_k = [block 2j's elements 8k..8k+7 | block 2j+1's]
   — and the pair's da, Q4_0 offset −8·Σa and Q4_1 Σx as eight lanes (block 2j for the group's
   four rows, then block 2j+1), so the products, the offset and the scales of two blocks of four rows take one
   vector each. A missing last block (odd block count) gets zero activations. */
typedef struct {
    int16_t a[WK_QA_COLS + 32] __attribute__((aligned(32)));
    float da[WK_QA_COLS / 64 + 1][8] __attribute__((aligned(32)));
    int32_t offset[WK_QA_COLS / 64 + 1][8] __attribute__((aligned(32)));
    float xsum[WK_QA_COLS / 64 + 1][8] __attribute__((aligned(32)));
} wk_qact_pairs;

WK_AVX2 static inline __attribute__((always_inline)) void pair_activations(const wk_qact *q, long nb, wk_qact_pairs *p) {
    for (long j = 0; j < (nb + 1) / 2; j++) {
        int two = 2 * j + 1 < nb;
        const int16_t *a0 = q->a + 64 * j, *a1 = a0 + 32;
        for (int k = 0; k < 4; k++) {
            __m128i lo = _mm_load_si128((const __m128i *)(a0 + 8 * k));
            __m128i hi = two ? _mm_load_si128((const __m128i *)(a1 + 8 * k)) : _mm_setzero_si128();
            _mm256_store_si256((__m256i *)(p->a + 64 * j + 16 * k), _mm256_set_m128i(hi, lo));
        }
        /* asum8 is an exact integer (|Σa| < 2^24). */
        _mm256_store_ps(p->da[j], _mm256_set_m128(_mm_set1_ps(two ? q->da[2 * j + 1] : 0), _mm_set1_ps(q->da[2 * j])));
        __m128i o0 = _mm_set1_epi32((int32_t)q->asum8[2 * j]), o1 = _mm_set1_epi32(two ? (int32_t)q->asum8[2 * j + 1] : 0);
        _mm256_store_si256((__m256i *)p->offset[j], _mm256_set_m128i(o1, o0));
        _mm256_store_ps(p->xsum[j], _mm256_set_m128(_mm_set1_ps(two ? q->xsum[2 * j + 1] : 0), _mm_set1_ps(q->xsum[2 * j])));
    }
}

/* One group of four rows over np block pairs from unit `u` (144 or 160 bytes each): y4[0..3]. Each row's
   two blocks come in one 32-byte load; 16-bit lane i holds elements i, i+8, i+16, i+24 of its
   block in four nibbles, taken apart with shifts and masks in place, so the four madds of a row
   need no widening shuffle. Σ q·a stays an exact integer (|Σ| ≤ 32 · 15 · 32767) until the
   Q4_0 offset −8·Σa is added, then is scaled by d·da; Q4_1's m·Σx is summed apart in floats. */
WK_AVX2 static inline __attribute__((always_inline)) void q4_group_pairs(int qtype, const uint8_t *u, const wk_qact_pairs *p, long np,
                                                                         float *y4) {
    const __m256i low = _mm256_set1_epi16(0x0F);
    const int has_min = wk_has_min(qtype);
    const long unit = 8 * wk_block_bytes[qtype], header = wk_x4_pair_header(qtype);
    __m256 acc = _mm256_setzero_ps(), macc = _mm256_setzero_ps();
    for (long j = 0; j < np; j++, u += unit) {
        wk_prefetch_bytes(u + 8 * unit, unit); /* eight units ahead */
        const __m256i *a = (const __m256i *)(p->a + 64 * j);
        __m256i a0 = _mm256_load_si256(a), a1 = _mm256_load_si256(a + 1), a2 = _mm256_load_si256(a + 2), a3 = _mm256_load_si256(a + 3);
        __m256i s[4];
        for (int r = 0; r < 4; r++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(u + header + 32 * r));
            __m256i n0 = _mm256_and_si256(v, low), n1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            __m256i n2 = _mm256_and_si256(_mm256_srli_epi16(v, 8), low), n3 = _mm256_srli_epi16(v, 12);
            s[r] = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(n0, a0), _mm256_madd_epi16(n1, a1)),
                                    _mm256_add_epi32(_mm256_madd_epi16(n2, a2), _mm256_madd_epi16(n3, a3)));
        }
        /* lanes: rows 0-3 of block 2j | rows 0-3 of block 2j+1, as the unit's scales */
        __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
        if (has_min) macc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(u + 16))), _mm256_load_ps(p->xsum[j]), macc);
        else h = _mm256_add_epi32(h, _mm256_load_si256((const __m256i *)p->offset[j]));
        __m256 scale = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)u)), _mm256_load_ps(p->da[j]));
        acc = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(h), acc);
    }
    acc = _mm256_add_ps(acc, macc);
    _mm_storeu_ps(y4, _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1)));
}

/* Rows [row0, row1) of a paired Q4_0 or Q4_1 matrix (nb blocks per row) over blocks [b0, b0 + nq),
   b0 even: y set, or with `accumulate` added to. */
WK_AVX2 static inline __attribute__((always_inline)) void q4_rows_pairs(int qtype, const uint8_t *base, long nb, long b0, const wk_qact_pairs *p,
                                                                       long nq, float *y, long row0, long row1, int accumulate) {
    long np = (nb + 1) / 2, unit = 8 * wk_block_bytes[qtype];
    for (long g = row0 / 4; g * 4 < row1; g++) {
        float y4[4];
        const uint8_t *u = base + (g * np + b0 / 2) * unit;
        if (qtype == WK_Q4_1) q4_group_pairs(WK_Q4_1, u, p, (nq + 1) / 2, y4);
        else q4_group_pairs(WK_Q4_0, u, p, (nq + 1) / 2, y4);
        for (long j = 0; j < 4; j++)
            if (g * 4 + j >= row0 && g * 4 + j < row1) y[g * 4 + j] = accumulate ? y[g * 4 + j] + y4[j] : y4[j];
    }
}

/* Decode with int16 activations, WK_QA_COLS columns at a time. */
WK_AVX2 static inline __attribute__((always_inline)) void qmatvec_i16(int qtype, const uint8_t *base, long stride, const float *x,
                                                                     float *y, long cols, long row0, long row1) {
    static __thread wk_qact q;
    int plain = qtype & ~WK_QX4;
    for (long c0 = 0; c0 < cols; c0 += WK_QA_COLS) {
        long cc = cols - c0 < WK_QA_COLS ? cols - c0 : WK_QA_COLS, b0 = c0 / 32;
        wk_quantize_activations_i16(x + c0, cc, &q);
        if (plain == WK_IQ4_XS) iq4xs_rows_i16(qtype & WK_QX4, base, stride, cols / 256, c0 / 256, &q, cc / 256, y, row0, row1, c0 > 0);
        else if ((qtype & WK_QX4) && wk_x4_paired(plain)) {
            static __thread wk_qact_pairs pairs;
            pair_activations(&q, cc / 32, &pairs);
            q4_rows_pairs(plain, base, cols / 32, b0, &pairs, cc / 32, y, row0, row1, c0 > 0);
        } else if (qtype & WK_QX4) qrows_x4_i16(plain, base, cols / 32, b0, &q, cc / 32, y, row0, row1, c0 > 0);
        else qrows_i16(qtype, base + b0 * wk_block_bytes[qtype], stride, &q, cc / 32, y, row0, row1, c0 > 0);
    }
}

WK_MATVEC_BODIES(qmatvec_i16_isa, qmatvec_i16)
#endif

/* ---- dispatch ----------------------------------------------------------------------------- */

void wk_qmatvec(wk_config cfg, int qtype, const void *w, const float *x, float *y, long cols, long row0, long row1) {
    if (wk_is_k(qtype)) { wk_kmatvec(cfg, qtype, w, x, y, cols, row0, row1); return; }
    const uint8_t *base = (const uint8_t *)w;
    long stride = (qtype & WK_QX4) ? 0 : wk_row_bytes(qtype, cols);
#if WK_X86
    if (cfg.isa >= WK_ISA_AVX2 && !cfg.f32_activations) {
        qmatvec_i16_isa(cfg.isa, qtype, base, stride, x, y, cols, row0, row1);
        return;
    }
#endif
    if (qtype & WK_QX4) { /* f32 activations or portable: each row regathered, 256 blocks at a time */
        int plain = qtype & ~WK_QX4;
        long values = wk_block_values(plain), nb = cols / values, chunk = 256 * 34 / wk_block_bytes[plain];
        uint8_t row[256 * 34];
        for (long r = row0; r < row1; r++) {
            float sum = 0;
            for (long b0 = 0; b0 < nb; b0 += chunk) {
                long k = nb - b0 < chunk ? nb - b0 : chunk;
                float part;
                wk_qx4_row_blocks(plain, base, nb, r, b0, k, row);
                wk_qmatvec(cfg, plain, row, x + b0 * values, &part, k * values, 0, 1);
                sum += part;
            }
            y[r] = sum;
        }
        return;
    }
#if WK_X86
    if (cfg.isa >= WK_ISA_AVX2) {
        for (long r = row0; r < row1; r++) y[r] = qdot_avx2(qtype, base + r * stride, x, cols);
        return;
    }
#endif
    for (long r = row0; r < row1; r++) y[r] = qdot_portable(qtype, base + r * stride, x, cols);
}

void wk_qmatmul(wk_config cfg, int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0,
                long row1) {
    wk_gemm(cfg, WK_GEMM_Q + qtype, w, x, y, n, cols, ystride, row0, row1);
}

long wk_q4_pairs_dequantize(int isa, int qtype, const uint8_t *w, long nb, long r, long b0, long n, float *out) {
#if WK_X86
    if (isa >= WK_ISA_AVX2 && b0 % 2 == 0) return q4_pairs_dequantize_avx2(qtype, w, nb, r, b0, n, out);
#endif
    (void)isa; (void)qtype; (void)w; (void)nb; (void)r; (void)b0; (void)n; (void)out;
    return 0;
}

void wk_qdequantize_blocks(int isa, int qtype, const uint8_t *blocks, long nblocks, float *out) {
#if WK_X86
    if (isa >= WK_ISA_AVX2) { dequantize_blocks_avx2(qtype, blocks, nblocks, out); return; }
#endif
    (void)isa;
    for (long b = 0; b < nblocks; b++) dequantize_block(qtype, blocks + b * wk_block_bytes[qtype], out + b * wk_block_values(qtype));
}
