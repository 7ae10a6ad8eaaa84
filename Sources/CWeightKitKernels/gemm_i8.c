/* Prefill over quantized blocks with AVX2 8-bit products (see wk_qkernels.h, wk_qgemm_i8): the K
 * types here, the 32-value types further down.
 *
 * The f32 panels of wk_gemm make 8 multiply-adds per FMA, two FMAs a cycle. AVX2 has no wider
 * float product. Its int16 one (vpmaddwd + vpaddd, 16 products) is hardly faster on Zen 3:
 * 52–56 multiply-adds per ns against the FMAs' 47–50 (Benchmarks/kernels/throughput.c). Its 8-bit
 * one, vpmaddubsw (32 products of an unsigned and a signed byte, summed in pairs into int16)
 * then vpmaddwd, made 88 (docs/BENCHMARKS.md). So here, as llama.cpp does for every K type, the activations are rounded
 * to int8 per token and super-block of 256 (scale max|x|/127: error ≤ 0.5/127 of the block's
 * largest |x| per activation), and the weights stay the blocks' unsigned integers:
 *   Q2_K q (0..3), Q3_K q + 4 (0..7), Q4_K q (0..15), Q5_K q (0..31), Q6_K q + 32 (0..63)
 * A row's value is d·sc_j·u + c_j for sub-block j of 16 (c_j = −dmin·m_j, or −4·d·sc_j for Q3_K,
 * −32·d·sc_j for Q6_K), so
 *   y = Σ_blocks d·dx · Σ_j sc_j · Σ_{i∈j} u_i·a_i  +  Σ_blocks Σ_j c_j · (dx · Σ_{i∈j} a_i)
 * with a the int8 activations and dx their scale. The first sum is integer up to d·dx: a pair
 * of products u·a is at most 2·63·127 = 16002 (no saturation), times |sc| ≤ 128 and 64 quads
 * stays below 2^31. The second needs only each sub-block's activation sum.
 *
 * Panels are 8 rows over the whole row, packed once per product: quad k (4 values) of the 8
 * rows in one 32-byte vector (row i's 4 bytes in dword i), so that one vpmaddubsw with a
 * token's 4 activations broadcast, then one vpmaddwd with the sub-block's scales (row i's in
 * int16 lanes 2i and 2i+1), give each row's scaled 4-value sum in its own int32 lane: no
 * horizontal sums. */
#include "wk_kernels.h"
#include "wk_private.h"
#include "wk_half.h"
#include <stdlib.h>
#include <string.h>

#if WK_X86
#define PR 8  /* rows per panel */
#define NT 4  /* tokens per kernel call */

typedef struct {
    uint8_t *q;  /* [nb][64 quads][8 rows][4] */
    int16_t *sc; /* [nb][16 sub-blocks][8 rows][2] */
    float *d;    /* [nb][8] */
    float *c;    /* [nb][16][8] */
} panel8;

/* The 8 groups of 32 values of a plain K block as unsigned bytes u (see above). */
WK_AVX2 static inline void groups_u8(int qtype, const uint8_t *blk, __m256i u[8]) {
    if (qtype == WK_Q6_K) { /* a half's four groups come out of one decode */
        wk_q6k_half(blk, 0, u);
        wk_q6k_half(blk, 1, u + 4);
        return;
    }
    for (int g = 0; g < 8; g++) {
        if (qtype == WK_Q2_K) { u[g] = wk_q2k_group(blk, g); continue; }
        if (qtype == WK_Q3_K) { u[g] = wk_q3k_group(blk, g); continue; }
        int five = qtype == WK_Q5_K; /* Q4_K, Q5_K */
        __m256i v = _mm256_loadu_si256((const __m256i *)(blk + (five ? 48 : 16) + 32 * (g / 2)));
        if (g % 2) v = _mm256_srli_epi16(v, 4);
        v = _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
        if (five) {
            __m256i bit = _mm256_set1_epi8((char)(1 << g)), qh = _mm256_loadu_si256((const __m256i *)(blk + 16));
            v = _mm256_add_epi8(v, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit), bit), _mm256_set1_epi8(16)));
        }
        u[g] = v;
    }
}

static inline float f16_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return wk_half_to_float(h);
}

/* A plain K block's d, its 16 sub-blocks' integer scales sc_j and offsets c_j (see above). */
static void block_scales(int qtype, const uint8_t *blk, float *d, int16_t sc[16], float c[16]) {
    if (qtype == WK_Q4_K || qtype == WK_Q5_K) {
        uint8_t s[8], m[8];
        wk_q4k_scales(blk + 4, s, m);
        float dmin = f16_at(blk + 2);
        *d = f16_at(blk);
        for (int j = 0; j < 16; j++) { sc[j] = s[j / 2]; c[j] = -dmin * (float)m[j / 2]; }
    } else if (qtype == WK_Q2_K) {
        float dmin = f16_at(blk + 82);
        *d = f16_at(blk + 80);
        for (int j = 0; j < 16; j++) { sc[j] = blk[j] & 0x0F; c[j] = -dmin * (float)(blk[j] >> 4); }
    } else if (qtype == WK_Q3_K) {
        *d = f16_at(blk + 108);
        for (int j = 0; j < 16; j++) { sc[j] = wk_q3k_scale(blk + 96, j); c[j] = -4.0f * *d * (float)sc[j]; }
    } else { /* Q6_K */
        *d = f16_at(blk + 208);
        for (int j = 0; j < 16; j++) { sc[j] = (int8_t)blk[192 + j]; c[j] = -32.0f * *d * (float)sc[j]; }
    }
}

/* Rows [r, r + rb) (rb ≤ 8; the rest zero) into panel p. tmp holds 8 rows of plain blocks when
   the matrix is interleaved. */
WK_AVX2 static void pack(int qtype, const uint8_t *w, long nb, long r, long rb, uint8_t *tmp, panel8 p) {
    int plain = qtype & ~WK_QX4;
    long bb = wk_block_bytes[plain];
    const uint8_t *rows[PR];
    for (long i = 0; i < PR; i++) {
        if (i >= rb) { rows[i] = NULL; continue; }
        if (qtype & WK_QX4) {
            wk_qx4_row_blocks(plain, w, nb, r + i, 0, nb, tmp + i * nb * bb);
            rows[i] = tmp + i * nb * bb;
        } else {
            rows[i] = w + (r + i) * nb * bb;
        }
    }
    for (long b = 0; b < nb; b++) {
        __m256i u[PR][8];
        for (int i = 0; i < PR; i++) {
            if (rows[i]) groups_u8(plain, rows[i] + b * bb, u[i]);
            else for (int g = 0; g < 8; g++) u[i][g] = _mm256_setzero_si256();
        }
        for (int g = 0; g < 8; g++) {
            __m256 v[8];
            for (int i = 0; i < PR; i++) v[i] = _mm256_castsi256_ps(u[i][g]);
            wk_transpose8x8(v);
            for (int k = 0; k < 8; k++) _mm256_store_ps((float *)(p.q + ((b * 64 + 8 * g + k) * PR) * 4), v[k]);
        }
        for (int i = 0; i < PR; i++) {
            float d = 0, c[16] = {0};
            int16_t sc[16] = {0};
            if (rows[i]) block_scales(plain, rows[i] + b * bb, &d, sc, c);
            p.d[b * PR + i] = d;
            for (int j = 0; j < 16; j++) {
                p.sc[((b * 16 + j) * PR + i) * 2] = sc[j];
                p.sc[((b * 16 + j) * PR + i) * 2 + 1] = sc[j];
                p.c[(b * 16 + j) * PR + i] = c[j];
            }
        }
    }
}

/* 16 activations x rounded to int8 a, x ≈ a / inv (|a| ≤ 127), round to nearest; returns Σa.
   Shared by both block sizes' quantizers. */
WK_AVX2 static inline int round16_i8(const float *x, __m256 inv, int8_t *a) {
    __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), inv));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), inv));
    __m256i s = _mm256_add_epi32(i0, i1);
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_hadd_epi32(s4, s4);
    s4 = _mm_hadd_epi32(s4, s4);
    /* int32 -> int16 -> int8 (no saturation); packs works within 128-bit lanes. */
    __m256i w16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(i0, i1), 0xD8);
    _mm_storeu_si128((__m128i *)a, _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1)));
    return _mm_cvtsi128_si32(s4);
}

/* Each token's activations rounded to int8 per super-block: a[t][k] (rows xqs bytes apart),
   the scale dx[t][b] and dx times each sub-block's integer sum, bs[t][b][j]. */
WK_AVX2 static void quantize(const float *x, long n, long cols, long xqs, int8_t *a, float *dx, float *bs) {
    long nb = cols / 256;
    for (long t = 0; t < n; t++)
        for (long b = 0; b < nb; b++) {
            const float *xb = x + t * cols + b * 256;
            float amax = wk_absmax32(xb, 8), d = amax / 127.0f;
            __m256 inv = _mm256_set1_ps(amax != 0 ? 127.0f / amax : 0);
            for (int j = 0; j < 16; j++)
                bs[(t * nb + b) * 16 + j] = d * (float)round16_i8(xb + 16 * j, inv, a + t * xqs + b * 256 + 16 * j);
            dx[t * nb + b] = d;
        }
}

/* Row sums f[t] of ntok tokens into y (rb ≤ 8 rows). */
WK_AVX2 static inline void store_rows(const __m256 *f, int ntok, float *y, long ystride, long rb) {
    for (int t = 0; t < ntok; t++) {
        if (rb == PR) { _mm256_storeu_ps(y + t * ystride, f[t]); continue; }
        float tmp[PR] __attribute__((aligned(32)));
        _mm256_store_ps(tmp, f[t]);
        for (long i = 0; i < rb; i++) y[t * ystride + i] = tmp[i];
    }
}

/* NTOK ≤ NT tokens x 8 rows over every block; NTOK a compile-time constant. */
#define WK_I8_KERNEL(NTOK)                                                                                      \
    WK_AVX2 static void kernel_##NTOK(panel8 p, long nb, const int8_t *a, long xqs, const float *dx,          \
                                      const float *bs, float *y, long ystride, long rb) {                     \
        __m256 f[NTOK];                                                                                        \
        for (int t = 0; t < NTOK; t++) f[t] = _mm256_setzero_ps();                                             \
        const __m256i *q = (const __m256i *)p.q, *sc = (const __m256i *)p.sc;                                 \
        for (long b = 0; b < nb; b++) {                                                                        \
            __m256i acc[NTOK];                                                                                 \
            for (int t = 0; t < NTOK; t++) acc[t] = _mm256_setzero_si256();                                    \
            const int8_t *ab = a + b * 256;                                                                    \
            for (int j = 0; j < 16; j++, sc++) {                                                               \
                __m256i s = _mm256_load_si256(sc);                                                             \
                for (int k = 0; k < 4; k++, q++) {                                                             \
                    __m256i wv = _mm256_load_si256(q);                                                         \
                    for (int t = 0; t < NTOK; t++) {                                                           \
                        int32_t quad;                                                                          \
                        memcpy(&quad, ab + t * xqs + 16 * j + 4 * k, 4);                                       \
                        __m256i prod = _mm256_maddubs_epi16(wv, _mm256_set1_epi32(quad));                      \
                        acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(prod, s));                         \
                    }                                                                                          \
                }                                                                                              \
            }                                                                                                  \
            __m256 d = _mm256_load_ps(p.d + b * PR);                                                           \
            for (int t = 0; t < NTOK; t++)                                                                     \
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_mul_ps(d, _mm256_set1_ps(dx[t * nb + b])), f[t]); \
            for (int j = 0; j < 16; j++) {                                                                     \
                __m256 c = _mm256_load_ps(p.c + (b * 16 + j) * PR);                                            \
                for (int t = 0; t < NTOK; t++)                                                                 \
                    f[t] = _mm256_fmadd_ps(c, _mm256_broadcast_ss(bs + (t * nb + b) * 16 + j), f[t]);          \
            }                                                                                                  \
        }                                                                                                      \
        store_rows(f, NTOK, y, ystride, rb);                                                                   \
    }
WK_I8_KERNEL(1)
WK_I8_KERNEL(2)
WK_I8_KERNEL(3)
WK_I8_KERNEL(4)

/* ---- Blocks of 32 values (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL) ----------------------------
 * Each block has its own f16 scale, so the block sum is converted to float once per block and
 * token: y = Σ_b d·dx·Σ u·a + c·(dx·Σ a), with the activations rounded per block of 32 (as
 * llama.cpp's Q8_0 activations) and x = d·u + c: Q4_0 u = q, c = −8d; Q5_0 u = q, c = −16d;
 * Q4_1, Q5_1 c = the min. Q8_0's and IQ4_NL's values are signed: vpmaddubsw takes |w| and the
 * activations with w's sign (|w|·a·2 ≤ 128·127·2 fits int16). Panels as above, 8 quads a block. */

/* A plain 32-value block's values as bytes in element order, its scale d and offset c. */
WK_AVX2 static inline __m256i block32(int qtype, const uint8_t *blk, float *d, float *c) {
    wk_qblock_ref ref = wk_qblock_at(qtype, blk, 1, 0, 0);
    *d = f16_at(ref.scale);
    *c = ref.min ? f16_at(ref.min) : qtype == WK_Q4_0 ? -8 * *d : qtype == WK_Q5_0 ? -16 * *d : 0;
    if (qtype == WK_Q8_0) return _mm256_loadu_si256((const __m256i *)ref.quants);
    if (qtype == WK_IQ4_NL) return wk_iq4nl_lookup(ref.quants);
    int five = qtype == WK_Q5_0 || qtype == WK_Q5_1;
    __m128i v = _mm_loadu_si128((const __m128i *)(ref.quants + (five ? 4 : 0))), low = _mm_set1_epi8(0x0F);
    __m256i u = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low), _mm_and_si128(v, low));
    if (!five) return u;
    /* Bit i of the 32-bit qh is element i's fifth bit: byte k of qh to bytes 8k..8k+7, bit j of it kept in byte 8k+j. */
    uint32_t qh;
    memcpy(&qh, ref.quants, 4);
    const __m256i spread = _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
    const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread), bits), bits);
    return _mm256_add_epi8(u, _mm256_and_si256(set, _mm256_set1_epi8(16)));
}

/* Rows [r, r + rb) of a 32-value type into panel p (d and c per block; sc unused). */
WK_AVX2 static void pack32(int qtype, const uint8_t *w, long nb, long r, long rb, uint8_t *tmp, panel8 p) {
    int plain = qtype & ~WK_QX4;
    long bb = wk_block_bytes[plain];
    for (long i = 0; i < PR; i++)
        if (i < rb && (qtype & WK_QX4)) wk_qx4_row_blocks(plain, w, nb, r + i, 0, nb, tmp + i * nb * bb);
    for (long b = 0; b < nb; b++) {
        __m256 v[8];
        for (int i = 0; i < PR; i++) {
            float d = 0, c = 0;
            __m256i u = _mm256_setzero_si256();
            if (i < rb) u = block32(plain, ((qtype & WK_QX4) ? tmp + i * nb * bb : w + (r + i) * nb * bb) + b * bb, &d, &c);
            v[i] = _mm256_castsi256_ps(u);
            p.d[b * PR + i] = d;
            p.c[b * PR + i] = c;
        }
        wk_transpose8x8(v);
        for (int k = 0; k < 8; k++) _mm256_store_ps((float *)(p.q + ((b * 8 + k) * PR) * 4), v[k]);
    }
}

/* Activations rounded to int8 per block of 32: a, the scale dx[t][b] and dx·Σa, bs[t][b]. */
WK_AVX2 static void quantize32(const float *x, long n, long cols, long xqs, int8_t *a, float *dx, float *bs) {
    long nb = cols / 32;
    for (long t = 0; t < n; t++)
        for (long b = 0; b < nb; b++) {
            const float *xb = x + t * cols + b * 32;
            int8_t *ab = a + t * xqs + b * 32;
            float amax = wk_absmax32(xb, 1), d = amax / 127.0f;
            __m256 inv = _mm256_set1_ps(amax != 0 ? 127.0f / amax : 0);
            int sum = round16_i8(xb, inv, ab) + round16_i8(xb + 16, inv, ab + 16);
            dx[t * nb + b] = d;
            bs[t * nb + b] = d * (float)sum;
        }
}

#define WK_I8_KERNEL32(NTOK, SIGNED)                                                                           \
    WK_AVX2 static void kernel32_##NTOK##_##SIGNED(panel8 p, long nb, const int8_t *a, long xqs, const float *dx, \
                                                   const float *bs, float *y, long ystride, long rb) {           \
        __m256 f[NTOK];                                                                                        \
        for (int t = 0; t < NTOK; t++) f[t] = _mm256_setzero_ps();                                             \
        const __m256i *q = (const __m256i *)p.q, ones = _mm256_set1_epi16(1);                                 \
        for (long b = 0; b < nb; b++) {                                                                        \
            __m256i acc[NTOK];                                                                                 \
            for (int t = 0; t < NTOK; t++) acc[t] = _mm256_setzero_si256();                                    \
            for (int k = 0; k < 8; k++, q++) {                                                                 \
                __m256i wv = _mm256_load_si256(q), uv = SIGNED ? _mm256_abs_epi8(wv) : wv;                     \
                for (int t = 0; t < NTOK; t++) {                                                               \
                    int32_t quad;                                                                              \
                    memcpy(&quad, a + t * xqs + b * 32 + 4 * k, 4);                                            \
                    __m256i av = _mm256_set1_epi32(quad);                                                      \
                    if (SIGNED) av = _mm256_sign_epi8(av, wv);                                                 \
                    acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(uv, av), ones));  \
                }                                                                                              \
            }                                                                                                  \
            __m256 d = _mm256_load_ps(p.d + b * PR), c = _mm256_load_ps(p.c + b * PR);                         \
            for (int t = 0; t < NTOK; t++) {                                                                   \
                f[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_mul_ps(d, _mm256_set1_ps(dx[t * nb + b])), f[t]); \
                f[t] = _mm256_fmadd_ps(c, _mm256_set1_ps(bs[t * nb + b]), f[t]);                               \
            }                                                                                                  \
        }                                                                                                      \
        store_rows(f, NTOK, y, ystride, rb);                                                                   \
    }
WK_I8_KERNEL32(1, 0)
WK_I8_KERNEL32(2, 0)
WK_I8_KERNEL32(3, 0)
WK_I8_KERNEL32(4, 0)
WK_I8_KERNEL32(1, 1)
WK_I8_KERNEL32(2, 1)
WK_I8_KERNEL32(3, 1)
WK_I8_KERNEL32(4, 1)

typedef void (*kernel_fn)(panel8, long, const int8_t *, long, const float *, const float *, float *, long, long);

WK_AVX2 void wk_qgemm_i8(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0,
                         long row1) {
    static const kernel_fn ks[NT + 1] = {NULL, kernel_1, kernel_2, kernel_3, kernel_4};
    static const kernel_fn unsigned32[NT + 1] = {NULL, kernel32_1_0, kernel32_2_0, kernel32_3_0, kernel32_4_0};
    static const kernel_fn signed32[NT + 1] = {NULL, kernel32_1_1, kernel32_2_1, kernel32_3_1, kernel32_4_1};
    int plain = qtype & ~WK_QX4, k = wk_is_k(plain);
    /* sums: offsets per block (16 sub-blocks of a K block, one for the others) */
    long values = k ? 256 : 32, nb = cols / values, bb = wk_block_bytes[plain], sums = k ? 16 : 1;
    const kernel_fn *kernels = k ? ks : plain == WK_Q8_0 || plain == WK_IQ4_NL ? signed32 : unsigned32;
    /* Tokens' rows of activations 64 bytes more than cols apart (cols a multiple of 2 KB would
       put the kernel's rows in the same sets of the L1 cache). */
    long xqs = cols + 64;
    int8_t *a = aligned_alloc(64, (size_t)((n * xqs + 63) / 64 * 64));
    float *dx = malloc(sizeof(float) * (size_t)(n * nb)), *bs = malloc(sizeof(float) * (size_t)(n * nb * sums));
    panel8 p = {
        aligned_alloc(64, (size_t)(nb * values * PR)), k ? aligned_alloc(64, (size_t)(nb * 16 * PR * 2 * 2)) : NULL,
        aligned_alloc(64, sizeof(float) * (size_t)(nb * PR)), aligned_alloc(64, sizeof(float) * (size_t)(nb * sums * PR)),
    };
    uint8_t *tmp = (qtype & WK_QX4) ? malloc((size_t)(PR * nb * bb)) : NULL;
    if (!a || !dx || !bs || !p.q || (k && !p.sc) || !p.d || !p.c || ((qtype & WK_QX4) && !tmp)) abort();
    if (k) quantize(x, n, cols, xqs, a, dx, bs);
    else quantize32(x, n, cols, xqs, a, dx, bs);
    for (long r = row0; r < row1; r += PR) {
        long rb = row1 - r < PR ? row1 - r : PR;
        if (k) pack(qtype, (const uint8_t *)w, nb, r, rb, tmp, p);
        else pack32(qtype, (const uint8_t *)w, nb, r, rb, tmp, p);
        for (long t = 0; t < n; t += NT) {
            long nt = n - t < NT ? n - t : NT;
            kernels[nt](p, nb, a + t * xqs, xqs, dx + t * nb, bs + t * nb * sums, y + t * ystride + r, ystride, rb);
        }
    }
    free(a); free(dx); free(bs); free(p.q); free(p.sc); free(p.d); free(p.c); free(tmp);
}
#else
void wk_qgemm_i8(int qtype, const void *w, const float *x, float *y, long n, long cols, long ystride, long row0, long row1) {
    (void)qtype; (void)w; (void)x; (void)y; (void)n; (void)cols; (void)ystride; (void)row0; (void)row1;
    abort();
}
#endif
