/* Prefill's matrix-matrix product Y[t, r] = Σ_c W[r, c] X[t, c] (see wk_kernels.h, wk_gemm).
 *
 * Blocked the way BLAS libraries block a GEMM. The weights are the big operand (read once from
 * memory per product); the prompt's activations X (n x cols floats) are read once per block of
 * 128 rows, a slice at a time:
 *   for each block of 8 panels of 16 rows (this thread's share of the rows)
 *     for each slice of KC columns
 *       decode the slice of the 8 panels to f32, each stored transposed, [KC][16] (16 KB a panel,
 *       128 KB in all: L2-resident; the one place f16/bf16/Q-block weights are converted, once
 *       per product, not per token)
 *       for each group of tokens (6 with AVX2, 16 with AVX-512): the X slice (L1-resident)
 *         for each of the 8 panels: the micro-kernel adds 16 x NT dot products over the slice
 * So X crosses from L3 to L2 once per 128 rows, not once per 16. That only paid once X was
 * laid out with rows that do not alias in L1 (wk_gemm): 1.1 B F16 prefill-128, one thread, rose
 * from 67.6 to 93.6 tok/s with the copy and blocks of 8 panels, where blocks of 1 panel with the
 * copy gave 72 (docs/BENCHMARKS.md).
 * (With AVX-512, a 16-row x 16-token micro-kernel: see kernel_avx512 below.)
 * The AVX2 micro-kernel keeps the 16 x 6 results in 12 registers; per column it loads two weight
 * vectors and broadcasts six activations for 12 FMAs, so it runs from L1 near the FMA units'
 * peak, and the weights are read from memory once per product whatever the prompt's length
 * (a kernel that swept the whole matrix once per few tokens would read it n/4 times). */
#include "wk_kernels.h"
#include "wk_qkernels.h"
#include "wk_half.h"
#include "wk_private.h"
#include <stdlib.h>
#include <string.h>


#define MR 16  /* weight rows per panel */
#define NR 6   /* tokens per micro-kernel call */
#define KC 256 /* columns per slice: a multiple of 256, so Q and K blocks never straddle slices */
#define PANELS 8 /* panels of 16 rows that share each slice of the activations */
#define XS (KC + 16) /* floats per token in the copied slice of X */

/* One f16 or bf16 value (kind WK_F16 or WK_BF16) as a float. */
static inline float half_value(int kind, uint16_t v) {
    if (kind == WK_F16) return wk_half_to_float(v);
    uint32_t bits = (uint32_t)v << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#if WK_X86
/* Eight f16 (F16C) or bf16 values at src as floats. */
WK_AVX2 static inline __m256 halves8(int kind, const uint16_t *src) {
    __m128i h = _mm_loadu_si128((const __m128i *)src);
    return kind == WK_F16 ? _mm256_cvtph_ps(h) : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* kc f16 or bf16 values to floats, 8 at a time. */
WK_AVX2 static void decode_halves_avx2(int kind, const uint16_t *src, long kc, float *out) {
    long k = 0;
    for (; k + 8 <= kc; k += 8) _mm256_storeu_ps(out + k, halves8(kind, src + k));
    for (; k < kc; k++) out[k] = half_value(kind, src[k]);
}
#endif

/* Weights [r, k0 .. k0+kc) as f32 into out. kind: WK_F32/WK_F16/WK_BF16 or WK_GEMM_Q + qtype. */
static void decode_segment(int isa, int kind, const void *w, long cols, long r, long k0, long kc, float *out) {
    if (kind >= WK_GEMM_Q) {
        int qtype = kind - WK_GEMM_Q;
        long values = wk_block_values(qtype); /* KC and k0 are multiples of 256: no block straddles */
        if (qtype & WK_QX4) {
            wk_qdequantize_x4_blocks(isa, qtype & ~WK_QX4, w, cols, r, k0 / values, kc / values, out);
            return;
        }
        const uint8_t *blocks = (const uint8_t *)w + r * wk_row_bytes(qtype, cols) + k0 / values * wk_block_bytes[qtype];
        wk_qdequantize_blocks(isa, qtype, blocks, kc / values, out);
        return;
    }
    long o = r * cols + k0;
#if WK_X86
    if (kind != WK_F32 && isa >= WK_ISA_AVX2) { decode_halves_avx2(kind, (const uint16_t *)w + o, kc, out); return; }
#endif
    if (kind == WK_F32) memcpy(out, (const float *)w + o, (size_t)kc * 4);
    else for (long k = 0; k < kc; k++) out[k] = half_value(kind, ((const uint16_t *)w)[o + k]);
}

#if WK_X86
/* Eight rows of 8 floats (r[i] = row i) into dst[k·MR + i]. */
WK_AVX2 static inline void transpose8x8_store(__m256 r[8], float *dst) {
    wk_transpose8x8(r);
    for (int k = 0; k < 8; k++) _mm256_store_ps(dst + k * MR, r[k]);
}

/* rows[i][k] (8 rows of kc floats, `stride` floats apart) into panel[k][i0 + i]: 8 x 8 tiles,
   the tail column by column. */
WK_AVX2 static void transpose8_avx2(const float *rows, long stride, long kc, float *panel, long i0) {
    long k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(rows + i * stride + k);
        transpose8x8_store(r, panel + k * MR + i0);
    }
    for (; k < kc; k++)
        for (long i = 0; i < 8; i++) panel[k * MR + i0 + i] = rows[i * stride + k];
}

/* As transpose8_avx2 from 8 rows of f16 (F16C) or bf16 values, converted on the way (the
   separate decode into rows, then transpose, took 5.8 % of a 1.1 B F16 bench's samples). */
WK_AVX2 static void transpose8_halves_avx2(int kind, const uint16_t *rows, long stride, long kc, float *panel, long i0) {
    long k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; i++) r[i] = halves8(kind, rows + i * stride + k);
        transpose8x8_store(r, panel + k * MR + i0);
    }
    for (; k < kc; k++)
        for (long i = 0; i < 8; i++) panel[k * MR + i0 + i] = half_value(kind, rows[i * stride + k]);
}
#endif

/* Rows [r, r+rb), columns [k0, k0+kc), into panel[k][MR] (rows past rb zero): the rows are
   decoded into seg, then transposed — f32, f16 and bf16 rows of a full panel are transposed
   straight from the weights (no copy). */
static void pack_slice(int isa, int kind, const void *w, long cols, long r, long rb, long k0, long kc, float *panel) {
    float seg[MR * KC] __attribute__((aligned(32)));
#if WK_X86
    int avx2 = isa >= WK_ISA_AVX2;
    if (avx2 && kind == WK_F32 && rb == MR) {
        const float *rows = (const float *)w + r * cols + k0;
        transpose8_avx2(rows, cols, kc, panel, 0);
        transpose8_avx2(rows + 8 * cols, cols, kc, panel, 8);
        return;
    }
    if (avx2 && (kind == WK_F16 || kind == WK_BF16) && rb == MR) {
        const uint16_t *rows = (const uint16_t *)w + r * cols + k0;
        transpose8_halves_avx2(kind, rows, cols, kc, panel, 0);
        transpose8_halves_avx2(kind, rows + 8 * cols, cols, kc, panel, 8);
        return;
    }
#endif
    for (long i = 0; i < MR; i++) {
        if (i < rb) decode_segment(isa, kind, w, cols, r + i, k0, kc, seg + i * KC);
        else memset(seg + i * KC, 0, sizeof(float) * KC);
    }
#if WK_X86
    if (avx2) {
        transpose8_avx2(seg, KC, kc, panel, 0);
        transpose8_avx2(seg + 8 * KC, KC, kc, panel, 8);
        return;
    }
#endif
    for (long i = 0; i < MR; i++)
        for (long k = 0; k < kc; k++) panel[k * MR + i] = seg[i * KC + k];
}

/* y[t, i] (+)= Σ_k panel[k][i] x[t, k] for t < nt, i < rb. The portable micro-kernel. */
static void kernel_portable(const float *panel, const float *x, long xstride, long kc, float *y, long ystride,
                            long nt, long rb, int accumulate) {
    for (long t = 0; t < nt; t++) {
        float acc[MR] = {0};
        for (long k = 0; k < kc; k++) {
            float xv = x[t * xstride + k];
            for (int i = 0; i < MR; i++) acc[i] += panel[k * MR + i] * xv;
        }
        for (long i = 0; i < rb; i++) y[t * ystride + i] = accumulate ? y[t * ystride + i] + acc[i] : acc[i];
    }
}

#if WK_X86
/* The AVX2 micro-kernel for NT ≤ 6 tokens (a compile-time constant in each instantiation, so
   the accumulators stay in registers). Each token's row of X has its own pointer, and the column
   loop is unrolled by four, so a column costs 2 loads, NT broadcasts and 2·NT FMAs with no address
   arithmetic (base + k·4 + constant). Written as one loop over k, clang recomputed rows' addresses
   with lea chains and ran the loop counter per column: the 5-token loop was 24 instructions for
   10 FMAs. */
#define WK_STEP(U, NT)                                                                                         \
    {                                                                                                       \
        __m256 w0 = _mm256_load_ps(p + (U) * MR), w1 = _mm256_load_ps(p + (U) * MR + 8);                   \
        for (int t = 0; t < NT; t++) {                                                                      \
            __m256 xv = _mm256_broadcast_ss(xr[t] + k + (U));                                               \
            c0[t] = _mm256_fmadd_ps(w0, xv, c0[t]);                                                         \
            c1[t] = _mm256_fmadd_ps(w1, xv, c1[t]);                                                         \
        }                                                                                                   \
    }
#define WK_KERNEL(NT)                                                                                       \
    WK_AVX2 static void kernel_avx2_##NT(const float *panel, const float *x, long xs, long kc, float *y,   \
                                         long ys, long rb, int accumulate) {                               \
        __m256 c0[NT], c1[NT];                                                                              \
        const float *xr[NT];                                                                                \
        for (int t = 0; t < NT; t++) {                                                                      \
            c0[t] = _mm256_setzero_ps(); c1[t] = _mm256_setzero_ps(); xr[t] = x + t * xs;                   \
        }                                                                                                   \
        const float *p = panel;                                                                             \
        long k = 0;                                                                                         \
        for (; k + 4 <= kc; k += 4, p += 4 * MR) { WK_STEP(0, NT) WK_STEP(1, NT) WK_STEP(2, NT) WK_STEP(3, NT) }             \
        for (; k < kc; k++, p += MR) WK_STEP(0, NT)                                                             \
        for (int t = 0; t < NT; t++) {                                                                      \
            float *yt = y + t * ys;                                                                         \
            if (rb == MR) {                                                                                 \
                if (accumulate) {                                                                           \
                    c0[t] = _mm256_add_ps(c0[t], _mm256_loadu_ps(yt));                                      \
                    c1[t] = _mm256_add_ps(c1[t], _mm256_loadu_ps(yt + 8));                                  \
                }                                                                                           \
                _mm256_storeu_ps(yt, c0[t]);                                                                \
                _mm256_storeu_ps(yt + 8, c1[t]);                                                            \
            } else {                                                                                        \
                float tmp[MR] __attribute__((aligned(32)));                                                 \
                _mm256_store_ps(tmp, c0[t]);                                                                \
                _mm256_store_ps(tmp + 8, c1[t]);                                                            \
                for (long i = 0; i < rb; i++) yt[i] = accumulate ? yt[i] + tmp[i] : tmp[i];                 \
            }                                                                                               \
        }                                                                                                   \
    }
WK_KERNEL(1)
WK_KERNEL(2)
WK_KERNEL(3)
WK_KERNEL(4)
WK_KERNEL(5)
WK_KERNEL(6)

WK_AVX2 static void kernel_avx2(const float *panel, const float *x, long xs, long kc, float *y, long ys, long nt,
                                long rb, int accumulate) {
    switch (nt) {
    case 1: kernel_avx2_1(panel, x, xs, kc, y, ys, rb, accumulate); break;
    case 2: kernel_avx2_2(panel, x, xs, kc, y, ys, rb, accumulate); break;
    case 3: kernel_avx2_3(panel, x, xs, kc, y, ys, rb, accumulate); break;
    case 4: kernel_avx2_4(panel, x, xs, kc, y, ys, rb, accumulate); break;
    case 5: kernel_avx2_5(panel, x, xs, kc, y, ys, rb, accumulate); break;
    default: kernel_avx2_6(panel, x, xs, kc, y, ys, rb, accumulate); break;
    }
}
#endif

/* The AVX-512 micro-kernel (cfg.isa ≥ WK_ISA_AVX512VNNI, which implies AVX-512 F): a panel
   column's 16 rows are one 512-bit vector, so per column it loads one vector, broadcasts NT ≤ 16
   activations and makes NT FMAs of 16 lanes (16 accumulators of the 32 registers): twice the
   AVX2 kernel's lanes per FMA. Where the CPU runs 512-bit FMAs at full width (Zen 5) that doubles the peak; where it splits them in two
   (Zen 4) it still saves the second weight load per column. Rows past rb are masked off.
   SmolLM2-135M F16 prefill-128, one thread, when panels were packed whole one at a time: 507
   tok/s with the AVX2 kernel, 822 with this one at 12 tokens per call, 863 at 16
   (docs/BENCHMARKS.md). */
#define NR512 16
#if WK_X86
#define WK_AVX512F __attribute__((target("avx512f,avx2,fma,f16c")))
#define WK_KERNEL512(NT)                                                                                     \
    WK_AVX512F static void kernel_avx512_##NT(const float *panel, const float *x, long xs, long kc, float *y, \
                                             long ys, long rb, int accumulate) {                             \
        __m512 c[NT];                                                                                        \
        for (int t = 0; t < NT; t++) c[t] = _mm512_setzero_ps();                                             \
        for (long k = 0; k < kc; k++) {                                                                      \
            __m512 w = _mm512_load_ps(panel + k * MR);                                                       \
            for (int t = 0; t < NT; t++) c[t] = _mm512_fmadd_ps(w, _mm512_set1_ps(x[t * xs + k]), c[t]);      \
        }                                                                                                    \
        __mmask16 m = (__mmask16)((1u << rb) - 1);                                                           \
        for (int t = 0; t < NT; t++) {                                                                       \
            float *yt = y + t * ys;                                                                          \
            if (accumulate) c[t] = _mm512_add_ps(c[t], _mm512_maskz_loadu_ps(m, yt));                        \
            _mm512_mask_storeu_ps(yt, m, c[t]);                                                              \
        }                                                                                                    \
    }
WK_KERNEL512(1)
WK_KERNEL512(2)
WK_KERNEL512(3)
WK_KERNEL512(4)
WK_KERNEL512(5)
WK_KERNEL512(6)
WK_KERNEL512(7)
WK_KERNEL512(8)
WK_KERNEL512(9)
WK_KERNEL512(10)
WK_KERNEL512(11)
WK_KERNEL512(12)
WK_KERNEL512(13)
WK_KERNEL512(14)
WK_KERNEL512(15)
WK_KERNEL512(16)

typedef void (*kernel512_fn)(const float *, const float *, long, long, float *, long, long, int);
static const kernel512_fn kernels512[NR512 + 1] = {
    NULL, kernel_avx512_1, kernel_avx512_2, kernel_avx512_3, kernel_avx512_4, kernel_avx512_5, kernel_avx512_6,
    kernel_avx512_7, kernel_avx512_8, kernel_avx512_9, kernel_avx512_10, kernel_avx512_11, kernel_avx512_12,
    kernel_avx512_13, kernel_avx512_14, kernel_avx512_15, kernel_avx512_16,
};
#endif

/* Rows of panel p in a block of `rows` rows: MR, or fewer in the last panel. */
static inline long panel_rows(long rows, long p) { return rows - p * MR < MR ? rows - p * MR : MR; }

void wk_gemm(wk_config cfg, int kind, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0,
             long row1) {
    /* Q2_K stays on f32 panels: its two 16-value sub-blocks in a group of 32 have different
       mins, which the VNNI kernel's one min per block cannot hold. IQ4_XS too, in both integer
       prefills: neither knows its per-32 scales inside a super-block. */
    int qplain = kind >= WK_GEMM_Q ? (kind - WK_GEMM_Q) & ~WK_QX4 : -1;
    int vnni_type = qplain >= 0 && qplain != WK_Q2_K && qplain != WK_IQ4_XS;
    if (vnni_type && cfg.isa >= WK_ISA_AVX512VNNI && !cfg.f32_activations) {
        wk_qgemm_vnni(kind - WK_GEMM_Q, w, x, y, n, cols, ystride, row0, row1);
        return;
    }
    if (qplain >= 0 && qplain != WK_IQ4_XS && cfg.isa == WK_ISA_AVX2 && cfg.int8_prefill && !cfg.f32_activations) {
        wk_qgemm_i8(kind - WK_GEMM_Q, w, x, y, n, cols, ystride, row0, row1);
        return;
    }
    float *panels = aligned_alloc(64, sizeof(float) * (size_t)(PANELS * KC * MR));
    /* X laid out slice by slice once per product, XS floats a token: xpack[(s·n + t)·XS + k] is
       X[t, s·KC + k]. Rows of X `cols` floats apart fall in one or two sets of the L1 cache when
       cols·4 is a multiple of 2 KB (2048 and 5632 columns at 1 B); XS floats apart they do not
       (1.1 B F16 prefill-128, one thread: 67.6 tok/s without a copy, 93.6 with one). Copying the
       group's slice before each block's use instead moved X once per 128 rows: 3.4 % of a 1.1 B
       F16 bench's samples in memmove. */
    long slices = (cols + KC - 1) / KC;
    float *xpack = aligned_alloc(64, sizeof(float) * (size_t)(slices * n * XS));
    if (panels == NULL || xpack == NULL) abort(); /* PANELS slices of 16 rows x KC columns: 128 KB */
    for (long s = 0; s < slices; s++) {
        long kc = cols - s * KC < KC ? cols - s * KC : KC;
        for (long t = 0; t < n; t++) memcpy(xpack + (s * n + t) * XS, x + t * cols + s * KC, sizeof(float) * (size_t)kc);
    }
#if WK_X86
    int avx2 = cfg.isa >= WK_ISA_AVX2, avx512 = cfg.isa >= WK_ISA_AVX512VNNI;
#else
    int avx2 = 0, avx512 = 0;
#endif
    long nr = avx512 ? NR512 : NR;
    /* While the micro-kernels work on one slice, the same rows' next slice is prefetched, a few
       rows' worth per call: otherwise packing stalls on memory (docs/BENCHMARKS.md). A slice of
       a row is one byte range (f32/f16/bf16, blocks); in the interleaved layout, so is the slice
       of a group of four rows (their units are in block order). */
    int qtype = kind >= WK_GEMM_Q ? (kind - WK_GEMM_Q) & ~WK_QX4 : -1, x4 = kind >= WK_GEMM_Q && ((kind - WK_GEMM_Q) & WK_QX4);
    long values = qtype >= 0 ? wk_block_values(qtype) : 1, unit = qtype >= 0 ? wk_block_bytes[qtype] : (kind == WK_F32 ? 4 : 2);
    long rows_per_stream = x4 ? 4 : 1, row_bytes = cols / values * unit, stream_bytes = rows_per_stream * KC / values * unit;
    for (long r0 = row0; r0 < row1; r0 += PANELS * MR) {
        long rows = row1 - r0 < PANELS * MR ? row1 - r0 : PANELS * MR, np = (rows + MR - 1) / MR;
        long streams = (rows + rows_per_stream - 1) / rows_per_stream, calls = np * ((n + nr - 1) / nr);
        long per_call = (streams + calls - 1) / calls;
        for (long k0 = 0; k0 < cols; k0 += KC) {
            long kc = cols - k0 < KC ? cols - k0 : KC;
            for (long p = 0; p < np; p++)
                pack_slice(cfg.isa, kind, w, cols, r0 + p * MR, panel_rows(rows, p), k0, kc, panels + p * KC * MR);
            long next_stream = k0 + KC < cols ? 0 : streams; /* the last slice has no next one */
            const char *next = (const char *)w + (r0 / rows_per_stream) * rows_per_stream * row_bytes + (k0 + KC) / values * rows_per_stream * unit;
            for (long t = 0; t < n; t += nr) {
                long nt = n - t < nr ? n - t : nr;
                const float *xt = xpack + ((k0 / KC) * n + t) * XS;
                for (long p = 0; p < np; p++) {
                    long rb = panel_rows(rows, p);
                    const float *panel = panels + p * KC * MR;
                    float *yt = y + t * ystride + r0 + p * MR;
                    for (long i = 0; i < per_call && next_stream < streams; i++, next_stream++)
                        wk_prefetch_bytes(next + next_stream * rows_per_stream * row_bytes, stream_bytes);
#if WK_X86
                    if (avx512) { kernels512[nt](panel, xt, XS, kc, yt, ystride, rb, k0 > 0); continue; }
                    if (avx2) { kernel_avx2(panel, xt, XS, kc, yt, ystride, nt, rb, k0 > 0); continue; }
#endif
                    (void)avx2;
                    (void)avx512;
                    kernel_portable(panel, xt, XS, kc, yt, ystride, nt, rb, k0 > 0);
                }
            }
        }
    }
    free(panels);
    free(xpack);
}
