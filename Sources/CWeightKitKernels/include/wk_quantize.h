#ifndef WEIGHTKIT_QUANTIZE_H
#define WEIGHTKIT_QUANTIZE_H
/*
 * Block encoders: ggml's quantizers (ggml-quants.c of llama.cpp 0c1e570) for Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, IQ4_NL and the K types Q2_K to Q6_K, byte-identical to what llama-quantize writes
 * (kquant_encode.c says how the floating-point steps are kept).
 *
 * wk_quantize_rows quantizes `nrow` rows of `n_per_row` floats at `src` into `dst` exactly as
 * ggml_quantize_chunk does: without an importance matrix (imatrix == NULL) the reference
 * quantizers quantize_row_*_ref (IQ4_NL: its impl without weights, as quantize_iq4_nl), with one
 * (`n_per_row` weights, one per column, applied to every row) the imatrix quantizers
 * quantize_row_*_impl; Q8_0 ignores it, as ggml does.
 *
 * n_per_row must be a multiple of the block (256 values for the K types, else 32), the
 * input finite (ggml's arithmetic is only defined for finite values; the caller refuses the rest),
 * and dst 2-byte aligned with room for nrow rows of wk_quantize_row_bytes bytes.
 */
#include <stddef.h>
#include <stdint.h>

/* Bytes of one quantized row of `n_per_row` values (0 for a qtype this file does not encode). */
long wk_quantize_row_bytes(int qtype, long n_per_row);

/* Quantizes rows as ggml_quantize_chunk; returns the bytes written, or 0 when qtype is not one
   this file encodes or n_per_row is not whole blocks. */
long wk_quantize_rows(int qtype, const float *src, void *dst, long nrow, long n_per_row, const float *imatrix);

#endif
