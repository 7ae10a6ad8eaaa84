#ifndef WEIGHTKIT_QUANTIZE_H
#define WEIGHTKIT_QUANTIZE_H
/*
 * Block encoders: ggml's quantizers (ggml-quants.c of llama.cpp 0c1e570) for Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, IQ4_NL, IQ4_XS and the K types Q2_K to Q6_K, byte-identical to what llama-quantize writes
 * (kquant_encode.c says how the floating-point steps are kept).
 *
 * wk_quantize_rows quantizes `nrow` rows of `n_per_row` floats at `src` into `dst` exactly as
 * ggml_quantize_chunk does: without an importance matrix (imatrix == NULL) the reference
 * quantizers quantize_row_*_ref (IQ4_NL, IQ4_XS: their impl without weights, as quantize_iq4_nl and
 * quantize_iq4_xs), with one
 * (`n_per_row` weights, one per column, applied to every row) the imatrix quantizers
 * quantize_row_*_impl; Q8_0 ignores it, as ggml does.
 *
 * n_per_row must be a multiple of the block (256 values for the K types and IQ4_XS, else 32), the
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

/* What a quantized block's decoded values lost: sums over the values compared (x the input, y
   the decoded block), each block's float partial sums added in double, as WeightKitQuantize's
   QuantErrorStats.add does. */
typedef struct {
    double sum_squared_error;     /* Σ (x − y)² */
    double sum_squared_reference; /* Σ x² */
    double sum_squared_quantized; /* Σ y² */
    double dot;                   /* Σ x·y */
    double max_abs_error;         /* max |x − y| */
} wk_qerror;

/* Encodes `nblocks` blocks of 32 values at `src` (dtype: enum wk_dtype, WK_F32, WK_F16 or
   WK_BF16) as qtype WK_Q8_0, WK_Q4_0 or WK_Q4_1 into `dst` — the bytes of ggml's
   quantize_row_*_ref on the values converted to f32 (legacy_encode.c) — and adds the decoded
   blocks' error to *err. isa: enum wk_isa (WK_ISA_AVX2 or above needs AVX2 and F16C).
   Returns -1 when done; the index from `src` of the first NaN or ±Inf (blocks before it are
   written, nothing is promised of that block or *err); -2 for a qtype or dtype it does not do. */
long wk_encode_blocks32(int isa, int qtype, int dtype, const void *src, long nblocks, void *dst, wk_qerror *err);

#endif
