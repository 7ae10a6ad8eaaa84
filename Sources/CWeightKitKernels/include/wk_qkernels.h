#ifndef WEIGHTKIT_QKERNELS_H
#define WEIGHTKIT_QKERNELS_H
/*
 * Products over ggml block-quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 with blocks of 32 along
 * each row; Q2_K, Q3_K, Q4_K, Q5_K and Q6_K with super-blocks of 256,
 * layouts as in Core's QuantBlocks.swift / ggml-common.h), with f32 activations.
 *
 * Decode (matvec) with cfg.isa >= WK_ISA_AVX2 and cfg.f32_activations == 0: the activations are
 * quantized once per product to int16 per block of 32 (scale max|x|/32767) and each block's
 * weights are widened to int16 and multiplied with madd, one f32 scale per block: relative error
 * ~1e-5 of the block's largest activation, at any row width. With cfg.f32_activations (and
 * always in the portable body) each block is dequantized in registers and multiplied with the
 * f32 activations, so results differ from a dequantize-then-f32 product only by summation order.
 * Prefill (matmul) is wk_gemm (gemm.c): blocks are decoded into f32 panels of 16 rows once per
 * product and the f32 micro-kernel runs them against every token of the prompt — or, with
 * cfg.isa == WK_ISA_AVX512VNNI and int16 activations, wk_qgemm_vnni (int16 panels, vpdpwssd).
 *
 * W is [rows, cols] with cols a multiple of the block (32 or 256); rows [row0, row1) are computed, so callers can
 * split rows across threads. The caller chooses the bodies (cfg / isa, see wk_kernels.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "wk_config.h"

/* Block types, matching the order the Swift side passes. Q8_0 to Q5_1 and IQ4_NL (Q4_0's layout,
   each nibble an index into ggml's 16 non-linear values) have blocks of 32 values;
   the K types (WK_Q2_K to WK_Q6_K) super-blocks of 256 with sub-block scales (kkernels.c).
   IQ4_XS has super-blocks of 256 too (f16 d, a 6-bit scale per 32 values, IQ4_NL's nibbles) and
   runs in qkernels.c as eight IQ4_NL blocks whose scales are d·(scale − 32). */
enum wk_qtype {
    WK_Q8_0 = 0, WK_Q4_0 = 1, WK_Q4_1 = 2, WK_Q5_0 = 3, WK_Q5_1 = 4,
    WK_Q4_K = 5, WK_Q6_K = 6, WK_Q5_K = 7, WK_Q3_K = 8, WK_Q2_K = 9, WK_IQ4_NL = 10, WK_IQ4_XS = 11
};

/* Values per block of a block type (32, or 256 for the K types and IQ4_XS). */
long wk_block_values(int qtype);

/* Or'ed into a block type: the matrix is in the interleaved layout wk_qrepack_x4 makes (rows in
   groups of four, each block index's four scales together, then their quants; for Q4_K the
   super-blocks' pieces interleaved the same way; for IQ4_XS the four rows' super-blocks one after
   the other). Every function here takes either layout. */
#define WK_QX4 32

/* Bytes of the interleaved copy of a [rows, cols] matrix (rows padded to a multiple of 4). */
long wk_qx4_bytes(int qtype, long rows, long cols);

/* Writes the interleaved copy of src ([rows, cols], ordinary layout) to dst (wk_qx4_bytes). */
void wk_qrepack_x4(int qtype, const void *src, long rows, long cols, void *dst);

/* Blocks [b0, b0+n) of row r of an interleaved matrix (nb blocks — super-blocks for a K type —
   per row), copied out in the ordinary block layout. */
void wk_qx4_row_blocks(int qtype, const uint8_t *base, long nb, long r, long b0, long n, uint8_t *out);

/* Blocks [b0, b0+n) of row r of an interleaved matrix, decoded to out[wk_block_values * n]. */
void wk_qdequantize_x4_blocks(int isa, int qtype, const void *w, long cols, long r, long b0, long n, float *out);

/* y[r] = sum_c W[r, c] * x[c] for r in [row0, row1). */
void wk_qmatvec(wk_config cfg, int qtype, const void *w, const float *x, float *y, long cols, long row0, long row1);

/* Y[t, r] = sum_c W[r, c] * X[t, c] for t in [0, n), r in [row0, row1); X has row stride cols,
   Y row stride ystride. */
void wk_qmatmul(wk_config cfg, int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride,
                long row0, long row1);

/* Prefill over block-quantized weights with AVX2 (gemm_i8.c): as wk_qmatmul for any qtype
   (either layout), with the activations rounded to int8 per token and block (scale max|x|/127;
   per 256 values for the K types, per 32 for the others, as llama.cpp's Q8_K and Q8_0), products of
   8-bit integers, one f32 scale per block and offsets from the activations' sums. Error per
   activation ≤ 0.5/127 of its block's largest |x|. */
void wk_qgemm_i8(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0,
                 long row1);

/* Prefill with AVX-512 VNNI (gemm_vnni.c): as wk_qmatmul, with the activations rounded to int16
   per token and block (like decode) and vpdpwssd products. Call only when wk_cpu_isa() is
   WK_ISA_AVX512VNNI. */
void wk_qgemm_vnni(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0,
                   long row1);

/* Decodes nblocks consecutive blocks into out[wk_block_values(qtype) * nblocks]. */
void wk_qdequantize_blocks(int isa, int qtype, const uint8_t *blocks, long nblocks, float *out);

/* Decodes row r of W into out[cols] (embedding lookups). */
void wk_qdequantize_row(int isa, int qtype, const void *w, long cols, long r, float *out);

#endif
