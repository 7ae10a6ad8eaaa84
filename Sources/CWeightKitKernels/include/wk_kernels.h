#ifndef WEIGHTKIT_KERNELS_H
#define WEIGHTKIT_KERNELS_H
/*
 * WeightKit's hot loops: matrix-vector and matrix-matrix products over weights in their stored
 * dtype. Each function has an AVX2+FMA+F16C body and a portable one; the caller says which to
 * run (an `isa` argument or a wk_config), so no setting here is process-wide. Swift scalar
 * references in WeightKitRuntime test both bodies.
 *
 * Layout: W is row-major [rows, cols] (a Hugging Face Linear weight), x is [cols], y is [rows].
 * Every function computes rows [row0, row1) only, so callers split rows across threads.
 */
#include <stddef.h>
#include <stdint.h>

#include "wk_config.h"
#include "wk_qkernels.h"

/* Weight element types, matching the order the Swift side passes. */
enum wk_dtype { WK_F32 = 0, WK_F16 = 1, WK_BF16 = 2 };

/* Prefill's blocked matrix-matrix product (gemm.c): Y[t, r] = Σ_c W[r, c] X[t, c] for t < n and
   r in [row0, row1). kind: WK_F32, WK_F16, WK_BF16, or WK_GEMM_Q + a wk_qtype (cols a multiple
   of 32). X has row stride cols, Y row stride ystride. */
#define WK_GEMM_Q 16
void wk_gemm(wk_config cfg, int kind, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0, long row1);

/* gate[i] = silu(gate[i]) · up[i] (activations.c; AVX2 with a vector exp). */
void wk_swiglu(int isa, float *gate, const float *up, long n);

/* x = softmax(x), stable (the maximum is subtracted first). */
void wk_softmax(int isa, float *x, long n);

/* One head of attention (attention.c): scores[p] = scale · q·keys[p] for p < length, softmax
   over them (left in scores), out = Σ_p scores[p] · values[p]. Position p's key and value start
   p·stride floats after keys and values; q, out and each key and value have hd floats.
   softcap > 0 turns each scaled score s into softcap · tanh(s / softcap) first (Gemma 2). */
void wk_attend(int isa, const float *q, const float *keys, const float *values, long stride, long hd, long length, float scale,
               float softcap, float *scores, float *out);

/* Index of the first NaN or ±Inf among x[0 ..< n], or -1 (activations.c). */
long wk_first_nonfinite(const float *x, long n);

/* Counts gathered by wk_scan_f32 (added to what `out` already holds). Limits are positive. */
typedef struct {
    long nan, inf, nonzero;
    long beyond_limit;   /* finite values with |x| > limit */
    long beyond_target;  /* finite values with |x| > target */
    uint32_t max_abs_bits; /* bit pattern of the largest finite |x| */
} wk_value_scan;

void wk_scan_f32(const float *x, long n, float limit, float target, wk_value_scan *out);
/* As wk_scan_f32 with the bodies for `isa` (wk_scan_f32 takes wk_cpu_isa()). */
void wk_scan_f32_isa(int isa, const float *x, long n, float limit, float target, wk_value_scan *out);

/* Starts writeback of [offset, offset+count) of fd to disk without waiting (Linux
   sync_file_range SYNC_FILE_RANGE_WRITE; elsewhere nothing). io.c. */
int wk_start_writeback(int fd, long long offset, long long count);

/* A spin-wait hint (x86 `pause`): lets the core run its sibling's work and saves power while a
   thread polls a flag. */
static inline void wk_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* 1 when the CPU has PCLMULQDQ and SSE4.1, so wk_crc32_fold can run. */
int wk_has_pclmul(void);

/* Continues zlib's CRC-32 `crc` over `len` bytes at `p`; len >= 64 and a multiple of 16.
   Call only when wk_has_pclmul() (crc32.c). */
uint32_t wk_crc32_fold(uint32_t crc, const unsigned char *p, size_t len);

/* y[r] = sum_c W[r, c] * x[c] for r in [row0, row1). */
void wk_matvec(int isa, int dtype, const void *w, const float *x, float *y, long cols, long row0, long row1);

/* Dot product of two f32 vectors. */
float wk_dot_f32(int isa, const float *a, const float *b, long n);

#endif
