/* See include/wk_qkernels.h. */
#include "wk_qkernels.h"
#include "wk_half.h"
#include "wk_kernels.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(_M_X64)
#define WK_X86 1
#include <immintrin.h>
#endif

static const long block_bytes[3] = {34, 18, 20};

static inline float qhalf(const uint8_t *p) { return wk_half_to_float((uint16_t)(p[0] | (p[1] << 8))); }

/* ---- portable bodies ---------------------------------------------------------------------- */

static void dequantize_block(int qtype, const uint8_t *b, float *out) {
    float d = qhalf(b);
    switch (qtype) {
    case WK_Q8_0:
        for (int i = 0; i < 32; i++) out[i] = (float)(int8_t)b[2 + i] * d;
        break;
    case WK_Q4_0:
        for (int j = 0; j < 16; j++) {
            out[j] = d * (float)((b[2 + j] & 0x0F) - 8);
            out[j + 16] = d * (float)((b[2 + j] >> 4) - 8);
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

void wk_qdequantize_row(int qtype, const void *w, long cols, long r, float *out) {
    long nb = cols / 32, bb = block_bytes[qtype];
    const uint8_t *row = (const uint8_t *)w + r * nb * bb;
    for (long b = 0; b < nb; b++) dequantize_block(qtype, row + b * bb, out + b * 32);
}

static float qdot_portable(int qtype, const uint8_t *row, const float *x, long cols) {
    long nb = cols / 32, bb = block_bytes[qtype];
    float sum = 0, tmp[32];
    for (long b = 0; b < nb; b++) {
        dequantize_block(qtype, row + b * bb, tmp);
        float acc[4] = {0, 0, 0, 0};
        for (int i = 0; i < 32; i += 4)
            for (int k = 0; k < 4; k++) acc[k] += tmp[i + k] * x[b * 32 + i + k];
        sum += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
    return sum;
}

/* ---- AVX2 bodies -------------------------------------------------------------------------- */
#if WK_X86
#define WK_AVX2 __attribute__((target("avx2,fma,f16c")))

WK_AVX2 static inline float qhsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 0x55));
    return _mm_cvtss_f32(lo);
}

WK_AVX2 static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
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

/* Σ_c W[row, c] x[c] for one row of blocks. */
WK_AVX2 static float qdot_avx2(int qtype, const uint8_t *row, const float *x, long cols) {
    long nb = cols / 32;
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
        return qhsum(acc);
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
    return qhsum(_mm256_add_ps(acc, macc));
}

/* ---- experimental: activations quantized to 8 bits per block (ggml's approach) ----------- */

/* x[cols] → int8 blocks qa[cols] with scales da[cols/32]: ggml's quantize_row_q8_0 rounding. */
static void quantize_activations(const float *x, long cols, int8_t *qa, float *da) {
    for (long b = 0; b < cols / 32; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) { float a = x[b * 32 + i] < 0 ? -x[b * 32 + i] : x[b * 32 + i]; if (a > amax) amax = a; }
        float d = amax / 127, id = d != 0 ? 1 / d : 0;
        da[b] = d;
        for (int i = 0; i < 32; i++) {
            float v = x[b * 32 + i] * id;
            qa[b * 32 + i] = (int8_t)(v < 0 ? -(int)(-v + 0.5f) : (int)(v + 0.5f));
        }
    }
}

/* Σ over 32 int8 pairs as 8 floats: |w| x sign(w)·a through maddubs, as ggml does. */
WK_AVX2 static inline __m256 dot_i8(__m256i w, __m256i a) {
    __m256i ax = _mm256_sign_epi8(w, w), sy = _mm256_sign_epi8(a, w);
    __m256i p16 = _mm256_maddubs_epi16(ax, sy);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

WK_AVX2 static float qdot_i8_avx2(int qtype, const uint8_t *row, const int8_t *qa, const float *da, const float *asum, long cols) {
    long nb = cols / 32;
    __m256 acc = _mm256_setzero_ps();
    float msum = 0;
    __m256i mask = _mm256_set1_epi8(0x0F);
    for (long b = 0; b < nb; b++) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(qa + b * 32));
        __m256i w;
        if (qtype == WK_Q8_0) {
            w = _mm256_loadu_si256((const __m256i *)(row + 2));
        } else {
            __m128i v = _mm_loadu_si128((const __m128i *)(row + (qtype == WK_Q4_1 ? 4 : 2)));
            w = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), mask);
            if (qtype == WK_Q4_0) w = _mm256_sub_epi8(w, _mm256_set1_epi8(8));
        }
        __m256 s;
        if (qtype == WK_Q4_1) {
            __m256i p16 = _mm256_maddubs_epi16(w, a); /* w unsigned 0..15, a signed */
            s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
            msum += f16(row + 2) * asum[b];
        } else {
            s = dot_i8(w, a);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(row) * da[b]), s, acc);
        row += block_bytes[qtype];
    }
    return qhsum(acc) + msum;
}

static int int8_activations = -1;

static int use_int8_activations(void) {
    if (int8_activations < 0) {
        const char *v = getenv("WEIGHTKIT_Q8_ACTIVATIONS");
        int8_activations = v != NULL && v[0] == '1';
    }
    return int8_activations;
}

/* Decode with 8-bit activations; false when the row is too wide for the stack buffers. */
WK_AVX2 static int qmatvec_i8_avx2(int qtype, const uint8_t *base, long stride, const float *x, float *y, long cols, long row0, long row1) {
    if (cols > 8192) return 0;
    int8_t qa[8192] __attribute__((aligned(32)));
    float da[256], asum[256];
    quantize_activations(x, cols, qa, da);
    for (long b = 0; b < cols / 32; b++) {
        int s = 0;
        for (int i = 0; i < 32; i++) s += qa[b * 32 + i];
        asum[b] = da[b] * (float)s;
    }
    for (long r = row0; r < row1; r++) y[r] = qdot_i8_avx2(qtype, base + r * stride, qa, da, asum, cols);
    return 1;
}
#endif

/* ---- dispatch ----------------------------------------------------------------------------- */

void wk_qmatvec(int qtype, const void *w, const float *x, float *y, long cols, long row0, long row1) {
    long stride = cols / 32 * block_bytes[qtype];
    const uint8_t *base = (const uint8_t *)w;
#if WK_X86
    if (wk_has_avx2()) {
        if (use_int8_activations() && qmatvec_i8_avx2(qtype, base, stride, x, y, cols, row0, row1)) return;
        for (long r = row0; r < row1; r++) y[r] = qdot_avx2(qtype, base + r * stride, x, cols);
        return;
    }
#endif
    for (long r = row0; r < row1; r++) y[r] = qdot_portable(qtype, base + r * stride, x, cols);
}

/* Rows decoded per pass of the prefill product; the stack buffer holds that many rows. */
#define WK_QROWS 4
#define WK_QSTACK_COLS 4096

void wk_qmatmul(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0, long row1) {
    if (cols > WK_QSTACK_COLS) {
        /* Very wide rows: no staging buffer, one dot per (token, row). */
        for (long t = 0; t < n; t++) wk_qmatvec(qtype, w, x + t * cols, y + t * ystride, cols, row0, row1);
        return;
    }
    float rows[WK_QROWS * WK_QSTACK_COLS] __attribute__((aligned(64)));
    for (long r = row0; r < row1; r += WK_QROWS) {
        long k = row1 - r < WK_QROWS ? row1 - r : WK_QROWS;
        for (long i = 0; i < k; i++) wk_qdequantize_row(qtype, w, cols, r + i, rows + i * cols);
        /* The f32 kernel writes Y[t, 0..k) relative to y + r. */
        wk_matmul(WK_F32, rows, x, y + r, n, cols, ystride, 0, k);
    }
}
