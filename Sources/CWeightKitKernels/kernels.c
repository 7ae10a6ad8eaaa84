/* See include/wk_kernels.h. The AVX2 bodies are compiled with target attributes, so the package
   builds for baseline x86-64 (and other architectures); callers pick them only on CPUs that have
   them (wk_cpu_isa). */
#include "wk_kernels.h"
#include "wk_half.h"
#include "wk_private.h"
#include <string.h>


int wk_cpu_isa(void) {
#if WK_X86
    /* Every thread computes the same value, so a racing first call is harmless. */
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        int vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
        cached = avx2 ? (vnni ? WK_ISA_AVX512VNNI : WK_ISA_AVX2) : WK_ISA_PORTABLE;
    }
    return cached;
#else
    return WK_ISA_PORTABLE;
#endif
}

/* ---- portable bodies ---------------------------------------------------------------------- */

static inline float half_to_float(uint16_t h) { return wk_half_to_float(h); }

static inline float bf16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline float load_weight(int dtype, const void *w, long i) {
    switch (dtype) {
    case WK_F16: return half_to_float(((const uint16_t *)w)[i]);
    case WK_BF16: return bf16_to_float(((const uint16_t *)w)[i]);
    default: return ((const float *)w)[i];
    }
}

static float dot_portable(int dtype, const void *w, long offset, const float *x, long cols) {
    float acc[8] = {0};
    long c = 0;
    if (dtype == WK_F32) {
        const float *row = (const float *)w + offset;
        for (; c + 8 <= cols; c += 8)
            for (int k = 0; k < 8; k++) acc[k] += row[c + k] * x[c + k];
    }
    float sum = 0;
    for (int k = 0; k < 8; k++) sum += acc[k];
    for (; c < cols; c++) sum += load_weight(dtype, w, offset + c) * x[c];
    return sum;
}

/* ---- AVX2 bodies -------------------------------------------------------------------------- */
#if WK_X86

WK_AVX2 static inline __m256 load8(int dtype, const void *w, long i) {
    switch (dtype) {
    case WK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    case WK_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i))), 16));
    default: return _mm256_loadu_ps((const float *)w + i);
    }
}


/* One row at a time, 32 columns per step in four independent accumulators. Reading the weights
   as a single sequential stream matters more than reusing x: the hardware prefetcher follows one
   stream far better than four interleaved ones (docs/BENCHMARKS.md). For f16/bf16 each step also
   asks for the line 1 KB ahead (the stream runs on into the next row): 1.1 B F16 decode, one
   thread, on Zen 3, 3.8-4.4 tok/s without, 4.5-5.0 with; the same for f32 (two lines a step)
   made SmolLM2's F32 decode slower (20 → 14 tok/s), so f32 leaves it to the hardware. */
WK_AVX2 static inline __attribute__((always_inline)) float row_dot_avx2(int dtype, const void *w, long o, const float *x, long cols) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    long c = 0;
    const uint16_t *ahead = (const uint16_t *)w + o + 512; /* f16/bf16: the line 1 KB ahead */
    for (; c + 32 <= cols; c += 32) {
        if (dtype != WK_F32) wk_prefetch(ahead + c);
        a0 = _mm256_fmadd_ps(load8(dtype, w, o + c), _mm256_loadu_ps(x + c), a0);
        a1 = _mm256_fmadd_ps(load8(dtype, w, o + c + 8), _mm256_loadu_ps(x + c + 8), a1);
        a2 = _mm256_fmadd_ps(load8(dtype, w, o + c + 16), _mm256_loadu_ps(x + c + 16), a2);
        a3 = _mm256_fmadd_ps(load8(dtype, w, o + c + 24), _mm256_loadu_ps(x + c + 24), a3);
    }
    for (; c + 8 <= cols; c += 8) a0 = _mm256_fmadd_ps(load8(dtype, w, o + c), _mm256_loadu_ps(x + c), a0);
    float s = wk_hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; c < cols; c++) s += load_weight(dtype, w, o + c) * x[c];
    return s;
}

WK_AVX2 static void matvec_avx2(int dtype, const void *w, const float *x, float *y, long cols, long row0, long row1) {
    switch (dtype) { /* one loop per dtype, so load8's switch folds away */
    case WK_F16: for (long r = row0; r < row1; r++) y[r] = row_dot_avx2(WK_F16, w, r * cols, x, cols); break;
    case WK_BF16: for (long r = row0; r < row1; r++) y[r] = row_dot_avx2(WK_BF16, w, r * cols, x, cols); break;
    default: for (long r = row0; r < row1; r++) y[r] = row_dot_avx2(WK_F32, w, r * cols, x, cols); break;
    }
}

/* ---- AVX-512 bodies (WK_ISA_AVX512VNNI: the CPU has AVX-512 F) ---------------------------- */

WK_VNNI static inline __m512 load16(int dtype, const void *w, long i) {
    switch (dtype) {
    case WK_F16: return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
    case WK_BF16:
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i))), 16));
    default: return _mm512_loadu_ps((const float *)w + i);
    }
}

/* As row_dot_avx2 with 16 lanes: 64 columns per step, one load per 32 or 64 weight bytes (a
   whole cache line of f16 every two loads), so one core issues half the loads for the same
   stream. The tail goes through the AVX2 steps. */
WK_VNNI static inline __attribute__((always_inline)) float row_dot_avx512(int dtype, const void *w, long o, const float *x, long cols) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    long c = 0;
    for (; c + 64 <= cols; c += 64) {
        a0 = _mm512_fmadd_ps(load16(dtype, w, o + c), _mm512_loadu_ps(x + c), a0);
        a1 = _mm512_fmadd_ps(load16(dtype, w, o + c + 16), _mm512_loadu_ps(x + c + 16), a1);
        a2 = _mm512_fmadd_ps(load16(dtype, w, o + c + 32), _mm512_loadu_ps(x + c + 32), a2);
        a3 = _mm512_fmadd_ps(load16(dtype, w, o + c + 48), _mm512_loadu_ps(x + c + 48), a3);
    }
    for (; c + 16 <= cols; c += 16) a0 = _mm512_fmadd_ps(load16(dtype, w, o + c), _mm512_loadu_ps(x + c), a0);
    __m512 sum = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    __m256 half = _mm256_add_ps(_mm512_castps512_ps256(sum), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sum), 1)));
    for (; c + 8 <= cols; c += 8) half = _mm256_fmadd_ps(load8(dtype, w, o + c), _mm256_loadu_ps(x + c), half);
    float s = wk_hsum(half);
    for (; c < cols; c++) s += load_weight(dtype, w, o + c) * x[c];
    return s;
}

WK_VNNI static void matvec_avx512(int dtype, const void *w, const float *x, float *y, long cols, long row0, long row1) {
    switch (dtype) {
    case WK_F16: for (long r = row0; r < row1; r++) y[r] = row_dot_avx512(WK_F16, w, r * cols, x, cols); break;
    case WK_BF16: for (long r = row0; r < row1; r++) y[r] = row_dot_avx512(WK_BF16, w, r * cols, x, cols); break;
    default: for (long r = row0; r < row1; r++) y[r] = row_dot_avx512(WK_F32, w, r * cols, x, cols); break;
    }
}

WK_AVX2 static float dot_avx2(const float *a, const float *b, long n) {
    __m256 acc = _mm256_setzero_ps();
    long i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = wk_hsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
#endif

/* ---- dispatch ----------------------------------------------------------------------------- */

void wk_matvec(int isa, int dtype, const void *w, const float *x, float *y, long cols, long row0, long row1) {
#if WK_X86
    if (isa >= WK_ISA_AVX512VNNI) { matvec_avx512(dtype, w, x, y, cols, row0, row1); return; }
    if (isa >= WK_ISA_AVX2) { matvec_avx2(dtype, w, x, y, cols, row0, row1); return; }
#endif
    (void)isa;
    for (long r = row0; r < row1; r++) y[r] = dot_portable(dtype, w, r * cols, x, cols);
}

float wk_dot_f32(int isa, const float *a, const float *b, long n) {
#if WK_X86
    if (isa >= WK_ISA_AVX2) return dot_avx2(a, b, n);
#endif
    (void)isa;
    return dot_portable(WK_F32, a, 0, b, n);
}
