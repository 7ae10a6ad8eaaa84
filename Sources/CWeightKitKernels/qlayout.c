/* The interleaved layout of block-quantized matrices (WK_QX4, see wk_qkernels.h): making it, and
   reading one row of it back in the ordinary block layout. The kernels that run on it are in
   qkernels.c. */
#include "wk_private.h"
#include <string.h>

/* Rows in groups of four (the last group padded with zero rows); for each block index b a unit
   of 4·block_bytes: the four rows' f16 scales d[4], for Q4_1 their f16 mins m[4], then the four
   rows' quants one row after the other. Decode then reads one sequential stream and loads four
   scales with one instruction (ggml repacks Q4_0 the same way for the same reasons). */

long wk_qx4_bytes(int qtype, long rows, long cols) { return (rows + 3) / 4 * (cols / 32) * 4 * wk_block_bytes[qtype]; }

void wk_qrepack_x4(int qtype, const void *src, long rows, long cols, void *dst) {
    long nb = cols / 32, qsz = wk_x4_quants(qtype);
    uint8_t *out = (uint8_t *)dst;
    memset(out, 0, (size_t)wk_qx4_bytes(qtype, rows, cols));
    for (long r = 0; r < rows; r++) {
        for (long b = 0; b < nb; b++) {
            /* The destination's places, found the way every reader finds them. */
            wk_qblock_ref from = wk_qblock_at(qtype, (const uint8_t *)src, nb, r, b), to = wk_qblock_at(qtype | WK_QX4, out, nb, r, b);
            memcpy((uint8_t *)to.scale, from.scale, 2);
            if (from.min != NULL) memcpy((uint8_t *)to.min, from.min, 2);
            memcpy((uint8_t *)to.quants, from.quants, (size_t)qsz);
        }
    }
}

/* Blocks [b0, b0+n) of row r of an interleaved matrix, in the ordinary block layout. */
void wk_qx4_row_blocks(int qtype, const uint8_t *base, long nb, long r, long b0, long n, uint8_t *out) {
    long bb = wk_block_bytes[qtype], qsz = wk_x4_quants(qtype);
    for (long b = b0; b < b0 + n; b++, out += bb) {
        wk_qblock_ref ref = wk_qblock_at(qtype | WK_QX4, base, nb, r, b);
        memcpy(out, ref.scale, 2);
        if (ref.min != NULL) memcpy(out + 2, ref.min, 2);
        memcpy(out + (bb - qsz), ref.quants, (size_t)qsz);
    }
}

void wk_qdequantize_x4_blocks(int isa, int qtype, const void *w, long cols, long r, long b0, long n, float *out) {
    uint8_t tmp[64 * 34];
    for (long done = 0; done < n; done += 64) {
        long k = n - done < 64 ? n - done : 64;
        wk_qx4_row_blocks(qtype, (const uint8_t *)w, cols / 32, r, b0 + done, k, tmp);
        wk_qdequantize_blocks(isa, qtype, tmp, k, out + done * 32);
    }
}
