/*
 * See include/wk_quantize.h (wk_encode_blocks32). Q8_0, Q4_0 and Q4_1 straight from f32, f16 or
 * bf16 values in one pass: convert, check finite, encode as ggml's quantize_row_*_ref, decode
 * and add the block's error. The portable body calls ggml's reference quantizers themselves
 * (kquant_encode.c); the AVX2 body takes their steps operation for operation, so the bytes are
 * the same:
 *
 *   Q8_0: d = amax / 127, id = d ? 1/d : 0, q = round-half-away(x·id)
 *   Q4_0: m = the value of largest magnitude (first on ties), d = m / -8, id = d ? 1/d : 0,
 *         q = min(15, trunc(x·id + 8.5))
 *   Q4_1: d = (max − min) / 15, id = d ? 1/d : 0, q = min(15, trunc((x − min)·id + 0.5))
 *
 * with d (and Q4_1's min) stored as IEEE half, rounded to nearest even. Every product and sum is
 * its own IEEE operation (contraction off: an FMA would round once where ggml rounds twice).
 */
#include "wk_quantize.h"
#include "wk_kernels.h"
#include "wk_qkernels.h"
#include "wk_half.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

static inline float wk_bits_to_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline float wk_load_value(int dtype, const void *src, long i) {
    switch (dtype) {
    case WK_F16: return wk_half_to_float(((const uint16_t *)src)[i]);
    case WK_BF16: return wk_bits_to_float((uint32_t)((const uint16_t *)src)[i] << 16);
    default: return ((const float *)src)[i];
    }
}

/* Adds one block's error (float partial sums, then double totals, as QuantErrorStats.add). */
static inline void wk_add_error(wk_qerror *err, const float *x, const float *y) {
    float se = 0, sx = 0, sy = 0, xy = 0, m = 0;
    for (int i = 0; i < 32; i++) {
        float e = x[i] - y[i];
        se += e * e; sx += x[i] * x[i]; sy += y[i] * y[i]; xy += x[i] * y[i];
        if (fabsf(e) > m) m = fabsf(e);
    }
    err->sum_squared_error += se; err->sum_squared_reference += sx;
    err->sum_squared_quantized += sy; err->dot += xy;
    if (m > err->max_abs_error) err->max_abs_error = m;
}

/* Portable: ggml's own reference quantizers (kquant_encode.c, wk_quantize_rows) on each converted
   block, and the portable block decoder for the error. */
static long wk_encode_blocks32_portable(int qtype, int dtype, const void *src, long nblocks, uint8_t *dst, wk_qerror *err) {
    const long block_bytes = wk_quantize_row_bytes(qtype, 32);
    float x[32], y[32];
    for (long b = 0; b < nblocks; b++) {
        for (int i = 0; i < 32; i++) {
            x[i] = wk_load_value(dtype, src, b * 32 + i);
            if (!isfinite(x[i])) return b * 32 + i;
        }
        uint8_t *out = dst + b * block_bytes;
        wk_quantize_rows(qtype, x, out, 1, 32, NULL);
        wk_qdequantize_blocks(WK_ISA_PORTABLE, qtype, out, 1, y);
        wk_add_error(err, x, y);
    }
    return -1;
}

#if defined(__x86_64__)
#define WK_AVX2_F16C __attribute__((target("avx2,f16c")))

WK_AVX2_F16C static inline __m256 wk_load8(int dtype, const void *src, long i) {
    switch (dtype) {
    case WK_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)src + i)));
    case WK_BF16:
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)src + i))), 16));
    default: return _mm256_loadu_ps((const float *)src + i);
    }
}

WK_AVX2_F16C static inline float wk_hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

WK_AVX2_F16C static inline float wk_hmin8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

WK_AVX2_F16C static inline uint16_t wk_half_f16c(float f) {
    return (uint16_t)_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0);
}

WK_AVX2_F16C static inline float wk_float_f16c(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/* Sum of 8 float lanes (pairwise, in float), widened to double. */
WK_AVX2_F16C static inline double wk_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return (double)_mm_cvtss_f32(s);
}

/* Eight int32 lanes of nibble pairs (a | b << 4, each < 256) from two registers, as 8 bytes. */
WK_AVX2_F16C static inline void wk_store_nibbles(uint8_t *out, __m256i lo, __m256i hi) {
    const __m256i pairs = _mm256_or_si256(lo, _mm256_slli_epi32(hi, 4));
    const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
    _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(w, w));
}

static long wk_encode_blocks32_avx2(int qtype, int dtype, const void *src, long nblocks, uint8_t *dst, wk_qerror *err)
    __attribute__((target("avx2,f16c")));

static long wk_encode_blocks32_avx2(int qtype, int dtype, const void *src, long nblocks, uint8_t *dst, wk_qerror *err) {
    const long block_bytes = qtype == WK_Q8_0 ? 34 : qtype == WK_Q4_0 ? 18 : 20;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 inf = _mm256_set1_ps(INFINITY);
    double se = 0, sx = 0, sy = 0, xy = 0, max_err = err->max_abs_error;
    for (long b = 0; b < nblocks; b++) {
        __m256 x[4], ax[4];
        __m256 bad = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            x[k] = wk_load8(dtype, src, b * 32 + k * 8);
            ax[k] = _mm256_and_ps(x[k], abs_mask);
            bad = _mm256_or_ps(bad, _mm256_cmp_ps(ax[k], inf, _CMP_NLT_UQ));  /* ±Inf or NaN */
        }
        if (_mm256_movemask_ps(bad)) {
            for (int i = 0; i < 32; i++)
                if (!isfinite(wk_load_value(dtype, src, b * 32 + i))) return b * 32 + i;
        }
        uint8_t *out = dst + b * block_bytes;
        __m256 y[4];
        if (qtype == WK_Q8_0) {
            const float amax = wk_hmax8(_mm256_max_ps(_mm256_max_ps(ax[0], ax[1]), _mm256_max_ps(ax[2], ax[3])));
            const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
            const uint16_t dh = wk_half_f16c(d);
            const __m256 vid = _mm256_set1_ps(id), dd = _mm256_set1_ps(wk_float_f16c(dh));
            memcpy(out, &dh, 2);
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                const __m256 v = _mm256_mul_ps(x[k], vid);
                const __m256 a = _mm256_and_ps(v, abs_mask);
                __m256 t = _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
                /* half away from zero: one more when the fraction is at least 0.5 (exact) */
                t = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, t), _mm256_set1_ps(0.5f), _CMP_GE_OQ), _mm256_set1_ps(1.0f)));
                const __m256 s = _mm256_or_ps(t, _mm256_andnot_ps(abs_mask, v));  /* sign of v */
                /* ±Inf and NaN (1/d overflowed) give 0, as ggml's and numpy's casts do */
                q[k] = _mm256_and_si256(_mm256_cvttps_epi32(s), _mm256_castps_si256(_mm256_cmp_ps(a, _mm256_set1_ps(2147483648.0f), _CMP_LT_OQ)));
                y[k] = _mm256_mul_ps(_mm256_cvtepi32_ps(q[k]), dd);
            }
            const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
            const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(out + 2), bytes);
        } else if (qtype == WK_Q4_0) {
            const __m256 m8 = _mm256_max_ps(_mm256_max_ps(ax[0], ax[1]), _mm256_max_ps(ax[2], ax[3]));
            const float amax = wk_hmax8(m8);
            float max = 0;
            if (amax > 0) {
                /* the first value whose magnitude is amax (ggml's strict > keeps the first) */
                const __m256 va = _mm256_set1_ps(amax);
                uint32_t hits = 0;
                for (int k = 0; k < 4; k++)
                    hits |= (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps(ax[k], va, _CMP_EQ_OQ)) << (8 * k);
                float all[32];
                for (int k = 0; k < 4; k++) _mm256_storeu_ps(all + 8 * k, x[k]);
                max = all[__builtin_ctz(hits)];
            }
            const float d = max / -8.0f, id = d != 0 ? 1.0f / d : 0.0f;
            const uint16_t dh = wk_half_f16c(d);
            const __m256 vid = _mm256_set1_ps(id), dd = _mm256_set1_ps(wk_float_f16c(dh));
            memcpy(out, &dh, 2);
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                /* max with 0: an overflowed 1/d gives cvttps's 0x80000000, which ggml keeps as 0 */
                q[k] = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(x[k], vid), _mm256_set1_ps(8.5f))), _mm256_set1_epi32(15)), _mm256_setzero_si256());
                y[k] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q[k], _mm256_set1_epi32(8))), dd);
            }
            wk_store_nibbles(out + 2, q[0], q[2]);
            wk_store_nibbles(out + 10, q[1], q[3]);
        } else {
            const float lo = wk_hmin8(_mm256_min_ps(_mm256_min_ps(x[0], x[1]), _mm256_min_ps(x[2], x[3])));
            const float hi = wk_hmax8(_mm256_max_ps(_mm256_max_ps(x[0], x[1]), _mm256_max_ps(x[2], x[3])));
            const float d = (hi - lo) / 15.0f, id = d != 0 ? 1.0f / d : 0.0f;
            const uint16_t dh = wk_half_f16c(d), mh = wk_half_f16c(lo);
            const __m256 vid = _mm256_set1_ps(id), vlo = _mm256_set1_ps(lo);
            const __m256 dd = _mm256_set1_ps(wk_float_f16c(dh)), md = _mm256_set1_ps(wk_float_f16c(mh));
            memcpy(out, &dh, 2);
            memcpy(out + 2, &mh, 2);
            __m256i q[4];
            for (int k = 0; k < 4; k++) {
                q[k] = _mm256_max_epi32(_mm256_min_epi32(_mm256_cvttps_epi32(_mm256_add_ps(_mm256_mul_ps(_mm256_sub_ps(x[k], vlo), vid), _mm256_set1_ps(0.5f))), _mm256_set1_epi32(15)), _mm256_setzero_si256());
                y[k] = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(q[k]), dd), md);
            }
            wk_store_nibbles(out + 4, q[0], q[2]);
            wk_store_nibbles(out + 12, q[1], q[3]);
        }
        /* the block's error: float lanes over the block, then double totals */
        __m256 e2 = _mm256_setzero_ps(), x2 = e2, y2 = e2, p = e2, em = e2;
        for (int k = 0; k < 4; k++) {
            const __m256 e = _mm256_sub_ps(x[k], y[k]);
            e2 = _mm256_add_ps(e2, _mm256_mul_ps(e, e));
            x2 = _mm256_add_ps(x2, _mm256_mul_ps(x[k], x[k]));
            y2 = _mm256_add_ps(y2, _mm256_mul_ps(y[k], y[k]));
            p = _mm256_add_ps(p, _mm256_mul_ps(x[k], y[k]));
            em = _mm256_max_ps(em, _mm256_and_ps(e, abs_mask));
        }
        se += wk_hsum8(e2); sx += wk_hsum8(x2); sy += wk_hsum8(y2); xy += wk_hsum8(p);
        const double m = wk_hmax8(em);
        if (m > max_err) max_err = m;
    }
    err->sum_squared_error += se; err->sum_squared_reference += sx;
    err->sum_squared_quantized += sy; err->dot += xy;
    err->max_abs_error = max_err;
    return -1;
}
#endif

long wk_encode_blocks32(int isa, int qtype, int dtype, const void *src, long nblocks, void *dst, wk_qerror *err) {
    if (qtype != WK_Q8_0 && qtype != WK_Q4_0 && qtype != WK_Q4_1) return -2;
    if (dtype != WK_F32 && dtype != WK_F16 && dtype != WK_BF16) return -2;
#if defined(__x86_64__)
    if (isa >= WK_ISA_AVX2) return wk_encode_blocks32_avx2(qtype, dtype, src, nblocks, (uint8_t *)dst, err);
#endif
    (void)isa;
    return wk_encode_blocks32_portable(qtype, dtype, src, nblocks, (uint8_t *)dst, err);
}
