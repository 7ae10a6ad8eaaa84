/* The interleaved layout of block-quantized matrices (WK_QX4, see wk_qkernels.h): making it, and
   reading one row of it back in the ordinary block layout. The kernels that run on it are in
   qkernels.c (32-value types) and kkernels.c (Q4_K). */
#include "wk_private.h"
#include <string.h>

/* Rows in groups of four (the last group padded with zero rows); for each block index b a unit
   of 4·block_bytes. 32-value types: the four rows' f16 scales d[4], for Q4_1 their f16 mins m[4],
   then the four rows' quants one row after the other (Q4_0 and Q4_1 by pairs of blocks:
   wk_x4_paired in wk_private.h). K types: the segments of wk_kx4_segment,
   each one's four rows together. IQ4_XS: the four rows' super-blocks whole, one after the
   other (its sub-block scales are decoded per super-block anyway). Decode then reads one sequential stream and loads four scales
   (or four rows' chunks of quants) with one instruction; ggml repacks Q4_0 and Q4_K the same way
   for the same reasons. */

long wk_qx4_bytes(int qtype, long rows, long cols) {
    long nb = cols / wk_block_values(qtype);
    if (wk_x4_paired(qtype)) nb = (nb + 1) / 2 * 2; /* Q4_0, Q4_1: whole pairs of blocks */
    return (rows + 3) / 4 * nb * 4 * wk_block_bytes[qtype];
}

/* Copies row r's block b between the ordinary block `blk` and its place in interleaved `x4`
   (nb blocks per row): to the interleaved copy with `pack`, else back. Instantiated per type
   (kx4_block below), so the segment loop unrolls into fixed moves: with the type a variable,
   walking the segments took 12 % of a 1.1 B Q4_K_M prefill, which regathers every block of
   every product. */
static inline __attribute__((always_inline)) void kx4_block_of(int qtype, uint8_t *blk, uint8_t *x4, long nb, long r, long b,
                                                                int pack) {
    long bb = wk_block_bytes[qtype], k = r % 4, off = 0;
    uint8_t *unit = x4 + ((r / 4) * nb + b) * 4 * bb;
#pragma clang loop unroll(full)
    for (int i = 0; i < 32; i++) { /* at most 26 segments (Q6_K) */
        long from, len = wk_kx4_segment(qtype, i, &from);
        if (len == 0) break;
        uint8_t *place = unit + 4 * off + k * len, *to = pack ? place : blk + from, *at = pack ? blk + from : place;
        memcpy(to, at, (size_t)len);
        off += len;
    }
}

static void kx4_block(int qtype, uint8_t *blk, uint8_t *x4, long nb, long r, long b, int pack) {
    switch (qtype) {
    case WK_Q4_K: kx4_block_of(WK_Q4_K, blk, x4, nb, r, b, pack); break;
    case WK_Q5_K: kx4_block_of(WK_Q5_K, blk, x4, nb, r, b, pack); break;
    case WK_Q6_K: kx4_block_of(WK_Q6_K, blk, x4, nb, r, b, pack); break;
    case WK_Q3_K: kx4_block_of(WK_Q3_K, blk, x4, nb, r, b, pack); break;
    default: kx4_block_of(WK_Q2_K, blk, x4, nb, r, b, pack); break;
    }
}

void wk_qrepack_x4(int qtype, const void *src, long rows, long cols, void *dst) {
    long nb = cols / wk_block_values(qtype), qsz = wk_x4_quants(qtype), bb = wk_block_bytes[qtype];
    uint8_t *out = (uint8_t *)dst;
    memset(out, 0, (size_t)wk_qx4_bytes(qtype, rows, cols));
    for (long r = 0; r < rows; r++) {
        for (long b = 0; b < nb; b++) {
            if (qtype == WK_IQ4_XS) {
                memcpy(out + wk_iq4xs_x4_offset(nb, r, b), (const uint8_t *)src + (r * nb + b) * bb, (size_t)bb);
                continue;
            }
            if (wk_is_k(qtype)) {
                kx4_block(qtype, (uint8_t *)src + (r * nb + b) * bb, out, nb, r, b, 1);
                continue;
            }
            /* The destination's places, found the way every reader finds them. */
            wk_qblock_ref from = wk_qblock_at(qtype, (const uint8_t *)src, nb, r, b), to = wk_qblock_at(qtype | WK_QX4, out, nb, r, b);
            memcpy((uint8_t *)to.scale, from.scale, 2);
            if (from.min != NULL) memcpy((uint8_t *)to.min, from.min, 2);
            if (wk_x4_paired(qtype)) wk_q4_pair_order(from.quants, (uint8_t *)to.quants);
            else memcpy((uint8_t *)to.quants, from.quants, (size_t)qsz);
        }
    }
}

/* Blocks [b0, b0+n) of row r of an interleaved matrix, in the ordinary block layout. */
void wk_qx4_row_blocks(int qtype, const uint8_t *base, long nb, long r, long b0, long n, uint8_t *out) {
    long bb = wk_block_bytes[qtype], qsz = wk_x4_quants(qtype);
    for (long b = b0; b < b0 + n; b++, out += bb) {
        if (qtype == WK_IQ4_XS) {
            memcpy(out, base + wk_iq4xs_x4_offset(nb, r, b), (size_t)bb);
            continue;
        }
        if (wk_is_k(qtype)) {
            kx4_block(qtype, out, (uint8_t *)base, nb, r, b, 0);
            continue;
        }
        wk_qblock_ref ref = wk_qblock_at(qtype | WK_QX4, base, nb, r, b);
        memcpy(out, ref.scale, 2);
        if (ref.min != NULL) memcpy(out + 2, ref.min, 2);
        if (wk_x4_paired(qtype)) wk_q4_block_order(ref.quants, out + (bb - qsz));
        else memcpy(out + (bb - qsz), ref.quants, (size_t)qsz);
    }
}

void wk_qdequantize_x4_blocks(int isa, int qtype, const void *w, long cols, long r, long b0, long n, float *out) {
    uint8_t tmp[2560];
    long values = wk_block_values(qtype), chunk = (long)sizeof tmp / wk_block_bytes[qtype];
    if (wk_x4_paired(qtype)) { /* straight from the pairs; a last odd block regathered below */
        long done = wk_q4_pairs_dequantize(isa, qtype, (const uint8_t *)w, cols / values, r, b0, n, out);
        b0 += done;
        n -= done;
        out += done * values;
    }
    for (long done = 0; done < n; done += chunk) {
        long k = n - done < chunk ? n - done : chunk;
        wk_qx4_row_blocks(qtype, (const uint8_t *)w, cols / values, r, b0 + done, k, tmp);
        wk_qdequantize_blocks(isa, qtype, tmp, k, out + done * values);
    }
}
