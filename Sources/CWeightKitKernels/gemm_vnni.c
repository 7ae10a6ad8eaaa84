/* Prefill over block-quantized weights with AVX-512 VNNI (see wk_qkernels.h, wk_qgemm_vnni).
 *
 * The f32 GEMM (gemm.c) runs near the FMA units' peak (a 256-bit FMA: 8 multiply-adds). With
 * VNNI, one vpdpwssd makes 32 int16 products and adds them in pairs into 16 int32 lanes. So
 * here, as in decode, the activations are rounded to int16 per token and block of 32
 * (wk_quantize_block_i16: scale max|x|/32767, relative error ~1e-5 of the block's largest
 * activation), and each 16-row panel of weights is decoded once per product to int16, arranged
 * so that one 64-byte vector holds one pair of columns for all 16 rows:
 *   panel[b][p][i] = (w[i][32b + 2p], w[i][32b + 2p + 1])   b: block, p: pair 0-15, i: row 0-15
 * Lane i of an int32 accumulator is then row i's block sum for one token: 16 vpdpwssd (each
 * with that token's activation pair broadcast) make 16 rows x 32 columns, then one conversion
 * and one FMA with the 16 rows' scales times the token's scale — no horizontal sums. Rows are
 * decoded to int16 vectors one block at a time and turned into the pair layout by a 16 x 16
 * transpose of 32-bit elements in registers.
 *
 * Runs only when the caller's wk_config asks for WK_ISA_AVX512VNNI (which it may do only on CPUs
 * with AVX-512 F/BW/VL/VNNI, wk_cpu_isa) with int16 activations; otherwise wk_gemm's f32 panels
 * run. Its speed against those is in docs/BENCHMARKS.md. */
#include "wk_kernels.h"
#include "wk_private.h"
#include "wk_half.h"
#include <stdlib.h>
#include <string.h>

#if WK_X86
#define PANEL_ROWS 16
#define TOKENS 8

/* Row r's block b as 32 int16 values (Q4_0: q - 8; Q5_0: q - 16; Q4_1, Q5_1: q, the min apart;
   Q8_0: q; Q4_K, Q5_K: 32-value group b, its sub-block's q, scale d·sc and min −dmin·m; Q3_K:
   sc·q with scale d; Q6_K: sc·(q − 32) with scale d) and its scale (and min). qtype may carry
   WK_QX4 (the K types' units: wk_kx4_segment); Q2_K never comes here (wk_gemm). */
WK_VNNI static inline __m512i row_block(int qtype, const uint8_t *w, long nb, long r, long b, float *d, float *m) {
    int plain = qtype & ~WK_QX4;
    if (plain == WK_Q4_K || plain == WK_Q5_K) {
        /* Group b % 8 of super-block b / 8: one sub-block, x = (d·sc)·q − dmin·m; Q5_K adds the
           fifth bit, bit g of qh[l] for value l of group g. */
        int five = plain == WK_Q5_K, g = (int)(b % 8);
        const uint8_t *blk = w + (r * (nb / 8) + b / 8) * (five ? 176 : 144), *dp = blk, *mp = blk + 2, *scales = blk + 4;
        uint8_t packed[12];
        __m256i v, qh = _mm256_setzero_si256();
        if (qtype & WK_QX4) { /* d, dmin, the scales' three dwords, four chunks of quants (and of qh): wk_kx4_segment */
            long k = r % 4;
            const uint8_t *unit = w + ((r / 4) * (nb / 8) + b / 8) * (five ? 704 : 576);
            const uint8_t *chunk = unit + (five ? 192 : 64) + (16 * (g / 2) + k) * 8;
            long long c[4], hc[4];
            for (int i = 0; i < 4; i++) {
                memcpy(c + i, chunk + 32 * i, 8);
                if (five) memcpy(hc + i, unit + 64 + 32 * i + 8 * k, 8);
            }
            v = _mm256_setr_epi64x(c[0], c[1], c[2], c[3]);
            if (five) qh = _mm256_setr_epi64x(hc[0], hc[1], hc[2], hc[3]);
            for (int i = 0; i < 3; i++) memcpy(packed + 4 * i, unit + 16 + 16 * i + 4 * k, 4);
            scales = packed;
            dp = unit + 2 * k;
            mp = dp + 8;
        } else {
            v = _mm256_loadu_si256((const __m256i *)(blk + (five ? 48 : 16) + 32 * (g / 2)));
            if (five) qh = _mm256_loadu_si256((const __m256i *)(blk + 16));
        }
        uint8_t sc[8], mn[8];
        wk_q4k_scales(scales, sc, mn);
        uint16_t h;
        memcpy(&h, dp, 2);
        *d = _cvtsh_ss(h) * (float)sc[g];
        memcpy(&h, mp, 2);
        *m = -(_cvtsh_ss(h) * (float)mn[g]);
        if (g % 2) v = _mm256_srli_epi16(v, 4);
        __m512i q = _mm512_cvtepu8_epi16(_mm256_and_si256(v, _mm256_set1_epi8(0x0F)));
        if (!five) return q;
        __mmask32 high = _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(1 << g)));
        return _mm512_mask_add_epi16(q, high, q, _mm512_set1_epi16(16));
    }
    if (plain == WK_Q3_K) {
        /* Group g: two sub-blocks of 16 with signed 6-bit scales; the int16 weights are
           sc·q (|sc·q| <= 128, q = 2 low bits − 4 when the hmask bit is clear), the float scale d. */
        const uint8_t *blk = w + (r * (nb / 8) + b / 8) * 110, *packed = blk + 96, *dp = blk + 108;
        int g = (int)(b % 8);
        __m256i bits;
        if (qtype & WK_QX4) { /* hmask and qs from four chunks each (wk_kx4_segment) */
            const uint8_t *unit = w + ((r / 4) * (nb / 8) + b / 8) * 440;
            long k = r % 4;
            long long hm[4], qs[4];
            for (int c = 0; c < 4; c++) {
                memcpy(hm + c, unit + 56 + 64 * c + 8 * k, 8);
                memcpy(qs + c, unit + (g / 4 ? 312 + 32 * c : 88 + 64 * c) + 8 * k, 8);
            }
            bits = wk_q3k_bits(_mm256_setr_epi64x(qs[0], qs[1], qs[2], qs[3]), _mm256_setr_epi64x(hm[0], hm[1], hm[2], hm[3]), g);
            packed = unit + 8 + 12 * k;
            dp = unit + 2 * k;
        } else {
            bits = wk_q3k_group(blk, g);
        }
        uint16_t h;
        memcpy(&h, dp, 2);
        *d = _cvtsh_ss(h);
        *m = 0;
        __m512i q = _mm512_sub_epi16(_mm512_cvtepu8_epi16(bits), _mm512_set1_epi16(4));
        __m512i scales = _mm512_inserti64x4(_mm512_set1_epi16(wk_q3k_scale(packed, 2 * g)), _mm256_set1_epi16(wk_q3k_scale(packed, 2 * g + 1)), 1);
        return _mm512_mullo_epi16(q, scales);
    }
    if (plain == WK_Q6_K) {
        /* Group g: four bits of ql (the low or high nibbles of its 32 bytes) and two of qh, minus
           32, times the two sub-blocks' int8 scales: |sc·(q − 32)| <= 4096, which the 15-bit
           activations of a Q6_K product keep from overflowing (quantize). */
        int g = (int)(b % 8);
        const uint8_t *blk = w + (r * (nb / 8) + b / 8) * 210, *scp = blk + 192, *dp = blk + 208;
        __m256i half[4];
        if (qtype & WK_QX4) { /* the half's three runs from four chunks each (wk_kx4_segment) */
            const uint8_t *unit = w + ((r / 4) * (nb / 8) + b / 8) * 840, *t = unit + 72 + 96 * 4 * (g / 4) + 8 * (r % 4);
            __m256i run[3];
            for (int i = 0; i < 3; i++) {
                long long c[4];
                for (int k = 0; k < 4; k++) memcpy(c + k, t + 96 * k + 32 * i, 8);
                run[i] = _mm256_setr_epi64x(c[0], c[1], c[2], c[3]);
            }
            wk_q6k_groups(run[0], run[1], run[2], half);
            scp = unit + 8 + 16 * (r % 4);
            dp = unit + 2 * (r % 4);
        } else {
            wk_q6k_half(blk, g / 4, half);
        }
        uint16_t h;
        memcpy(&h, dp, 2);
        *d = _cvtsh_ss(h);
        *m = 0;
        __m512i q = _mm512_sub_epi16(_mm512_cvtepu8_epi16(half[g % 4]), _mm512_set1_epi16(32));
        const int8_t *sc = (const int8_t *)scp;
        __m512i scales = _mm512_inserti64x4(_mm512_set1_epi16(sc[2 * g]), _mm256_set1_epi16(sc[2 * g + 1]), 1);
        return _mm512_mullo_epi16(q, scales);
    }
    wk_qblock_ref ref = wk_qblock_at(qtype, w, nb, r, b);
    uint16_t h;
    memcpy(&h, ref.scale, 2);
    *d = _cvtsh_ss(h);
    if (ref.min != NULL) { memcpy(&h, ref.min, 2); *m = _cvtsh_ss(h); } else *m = 0;
    if (plain == WK_Q8_0) return _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)ref.quants));
    if (plain == WK_IQ4_NL) return _mm512_cvtepi8_epi16(wk_iq4nl_lookup(ref.quants)); /* |v| <= 127 */
    int five = plain == WK_Q5_0 || plain == WK_Q5_1;
    const uint8_t *qs = ref.quants + (five ? 4 : 0);
    uint8_t ordered[16];
    if ((qtype & WK_QX4) && wk_x4_paired(plain)) { /* back to the block's own nibble order */
        wk_q4_block_order(qs, ordered);
        qs = ordered;
    }
    __m128i v = _mm_loadu_si128((const __m128i *)qs), low = _mm_set1_epi8(0x0F);
    __m256i nibbles = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low), _mm_and_si128(v, low));
    __m512i q = _mm512_cvtepu8_epi16(nibbles);
    if (five) { /* bit i of the 32-bit qh is element i's fifth bit */
        uint32_t qh;
        memcpy(&qh, ref.quants, 4);
        q = _mm512_mask_add_epi16(q, (__mmask32)qh, q, _mm512_set1_epi16(16));
    }
    if (plain == WK_Q4_0) return _mm512_sub_epi16(q, _mm512_set1_epi16(8));
    if (plain == WK_Q5_0) return _mm512_sub_epi16(q, _mm512_set1_epi16(16));
    return q;
}

/* r[i] lane p -> out[p] lane i, for 16 vectors of 16 32-bit lanes. */
WK_VNNI static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* t[2k], t[2k+1]: rows 2k, 2k+1 interleaved; per 128-bit lane L: t[2k] = (2k,4L) (2k+1,4L) (2k,4L+1) (2k+1,4L+1). */
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* u[4g + c], 128-bit lane L: rows 4g..4g+3 of column 4L + c. */
    for (int c = 0; c < 4; c++) {
        /* v0: lanes (L0 of g0, L2 of g0, L0 of g1, L2 of g1), v1: lanes 1 and 3; likewise g2, g3. */
        __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88), v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
        /* column 4L + c for rows 0-15: lane L of g0, g1, g2, g3. */
        r[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);      /* L = 0 */
        r[8 + c] = _mm512_shuffle_i32x4(v0, v2, 0xDD);  /* L = 2 */
        r[4 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);  /* L = 1 */
        r[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xDD); /* L = 3 */
    }
}

/* Rows [r, r + rb) (rb <= 16; the rest zero) into the pair layout, with their scales and mins. */
WK_VNNI static void pack(int qtype, const uint8_t *w, long nb, long r, long rb, __m512i *panel, float *scales, float *mins) {
    for (long b = 0; b < nb; b++) {
        __m512i rows[16];
        for (long i = 0; i < PANEL_ROWS; i++) {
            if (i < rb) {
                rows[i] = row_block(qtype, w, nb, r + i, b, scales + b * 16 + i, mins + b * 16 + i);
            } else {
                rows[i] = _mm512_setzero_si512();
                scales[b * 16 + i] = 0;
                mins[b * 16 + i] = 0;
            }
        }
        transpose16(rows);
        for (int p = 0; p < 16; p++) _mm512_store_si512(panel + b * 16 + p, rows[p]);
    }
}

/* Each token's activations rounded to int16 per block (the decode kernels' recipe), with the
   block's scale and float sum. For Q6_K to 15 bits (|a| <= 16383: relative error ~3e-5 of the
   block's largest activation), so that a lane's 32 products of at most 4096·16383 stay below
   2^31; 16 bits for the others (weights of at most 128 in magnitude). */
WK_VNNI static void quantize(const float *x, long n, long cols, long xqs, int q6k, int16_t *xq, float *xs, float *xsum) {
    long nb = cols / 32;
    float limit = q6k ? 16383.0f : 32767.0f;
    for (long t = 0; t < n; t++)
        for (long b = 0; b < nb; b++)
            xsum[t * nb + b] = wk_quantize_block_i16(x + t * cols + b * 32, xq + t * xqs + b * 32, &xs[t * nb + b], limit);
}

/* NT tokens x 16 rows over every block; NT a compile-time constant so the accumulators stay in registers. */
#define WK_VNNI_KERNEL(NT)                                                                                      \
    WK_VNNI static void kernel_##NT(const __m512i *panel, const float *scales, const float *mins, int with_mins, \
                                    const int16_t *xq, const float *xs, const float *xsum, long cols, long xqs, \
                                    float *y, long ystride, long rb) {                                          \
        long nb = cols / 32;                                                                                    \
        __m512 f[NT];                                                                                           \
        for (int t = 0; t < NT; t++) f[t] = _mm512_setzero_ps();                                                \
        for (long b = 0; b < nb; b++) {                                                                         \
            __m512i acc[NT];                                                                                    \
            for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_si512();                                       \
            for (int p = 0; p < 16; p++) {                                                                      \
                __m512i wv = _mm512_load_si512(panel + b * 16 + p);                                             \
                for (int t = 0; t < NT; t++) {                                                                  \
                    int32_t pair;                                                                               \
                    memcpy(&pair, xq + t * xqs + b * 32 + 2 * p, 4);                                           \
                    acc[t] = _mm512_dpwssd_epi32(acc[t], wv, _mm512_set1_epi32(pair));                          \
                }                                                                                               \
            }                                                                                                   \
            __m512 d = _mm512_loadu_ps(scales + b * 16);                                                        \
            for (int t = 0; t < NT; t++)                                                                        \
                f[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[t]), _mm512_mul_ps(d, _mm512_set1_ps(xs[t * nb + b])), f[t]); \
            if (with_mins) {                                                                                    \
                __m512 m = _mm512_loadu_ps(mins + b * 16);                                                      \
                for (int t = 0; t < NT; t++) f[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(xsum[t * nb + b]), f[t]);  \
            }                                                                                                   \
        }                                                                                                       \
        __mmask16 keep = (__mmask16)((1u << rb) - 1);                                                           \
        for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(y + t * ystride, keep, f[t]);                        \
    }
WK_VNNI_KERNEL(1)
WK_VNNI_KERNEL(2)
WK_VNNI_KERNEL(3)
WK_VNNI_KERNEL(4)
WK_VNNI_KERNEL(5)
WK_VNNI_KERNEL(6)
WK_VNNI_KERNEL(7)
WK_VNNI_KERNEL(8)

WK_VNNI void wk_qgemm_vnni(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0,
                           long row1) {
    long nb = cols / 32;
    /* Tokens' rows of int16 activations 64 bytes more than cols apart: at cols·2 a multiple of
       4 KB (2048 columns) the kernel's eight rows would all fall in one set of the L1 cache. */
    long xqs = cols + 32;
    int16_t *xq = aligned_alloc(64, (size_t)((n * xqs * 2 + 63) / 64 * 64));
    float *xs = malloc(sizeof(float) * (size_t)(n * nb)), *xsum = malloc(sizeof(float) * (size_t)(n * nb));
    __m512i *panel = aligned_alloc(64, (size_t)(nb * 16 * 64));
    float *scales = malloc(sizeof(float) * (size_t)(nb * 16)), *mins = malloc(sizeof(float) * (size_t)(nb * 16));
    if (!xq || !xs || !xsum || !panel || !scales || !mins) abort();
    int plain = qtype & ~WK_QX4;
    quantize(x, n, cols, xqs, plain == WK_Q6_K, xq, xs, xsum);
    int with_mins = wk_has_min(plain) || plain == WK_Q4_K || plain == WK_Q5_K;
    for (long r = row0; r < row1; r += PANEL_ROWS) {
        long rb = row1 - r < PANEL_ROWS ? row1 - r : PANEL_ROWS;
        pack(qtype, (const uint8_t *)w, nb, r, rb, panel, scales, mins);
        for (long t = 0; t < n; t += TOKENS) {
            long nt = n - t < TOKENS ? n - t : TOKENS;
            const int16_t *xt = xq + t * xqs;
            const float *st = xs + t * nb, *sumt = xsum + t * nb;
            float *yt = y + t * ystride + r;
            switch (nt) {
            case 1: kernel_1(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            case 2: kernel_2(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            case 3: kernel_3(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            case 4: kernel_4(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            case 5: kernel_5(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            case 6: kernel_6(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            case 7: kernel_7(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            default: kernel_8(panel, scales, mins, with_mins, xt, st, sumt, cols, xqs, yt, ystride, rb); break;
            }
        }
    }
    free(xq); free(xs); free(xsum); free(panel); free(scales); free(mins);
}
#else
void wk_qgemm_vnni(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0, long row1) {
    (void)qtype; (void)w; (void)x; (void)y; (void)n; (void)cols; (void)ystride; (void)row0; (void)row1;
    abort();
}
#endif
