/* SwiGLU and softmax with a vector exp (see wk_kernels.h). exp(x) = 2^n · e^r with n = round(x /
 * ln 2) and |r| ≤ ln2/2; e^r by Cephes' degree-6 polynomial for expf (SwiGLU within
 * 4e-7 relative of libm's in KernelTests); 2^n is added into the exponent bits. Arguments are clamped to [-87.3, 88.7], where
 * expf neither overflows nor goes subnormal. The portable bodies call libm's expf. */
#include "wk_kernels.h"
#include <math.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define WK_AVX2 __attribute__((target("avx2,fma")))

WK_AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.7f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* r = x - n ln2, with ln2 split in two so n·ln2_hi is exact. */
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
}

WK_AVX2 static void swiglu_avx2(float *gate, const float *up, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

WK_AVX2 static void softmax_avx2(float *x, long n) {
    __m256 mv = _mm256_set1_ps(-INFINITY);
    long i = 0;
    for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    float m[8], maximum = -INFINITY;
    _mm256_storeu_ps(m, mv);
    for (int k = 0; k < 8; k++) maximum = m[k] > maximum ? m[k] : maximum;
    for (; i < n; i++) maximum = x[i] > maximum ? x[i] : maximum;
    __m256 sv = _mm256_setzero_ps(), mx = _mm256_set1_ps(maximum);
    float sum = 0;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
        _mm256_storeu_ps(x + i, e);
        sv = _mm256_add_ps(sv, e);
    }
    for (; i < n; i++) { x[i] = expf(x[i] - maximum); sum += x[i]; }
    float s[8];
    _mm256_storeu_ps(s, sv);
    for (int k = 0; k < 8; k++) sum += s[k];
    __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++) x[i] *= 1.0f / sum;
}
#endif

void wk_swiglu(int isa, float *gate, const float *up, long n) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa >= WK_ISA_AVX2) { swiglu_avx2(gate, up, n); return; }
#endif
    (void)isa;
    for (long i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void wk_softmax(int isa, float *x, long n) {
    if (n <= 0) return;
#if defined(__x86_64__) || defined(_M_X64)
    if (isa >= WK_ISA_AVX2) { softmax_avx2(x, n); return; }
#endif
    (void)isa;
    float maximum = x[0], sum = 0;
    for (long i = 1; i < n; i++) maximum = x[i] > maximum ? x[i] : maximum;
    for (long i = 0; i < n; i++) { x[i] = expf(x[i] - maximum); sum += x[i]; }
    for (long i = 0; i < n; i++) x[i] *= 1.0f / sum;
}

long wk_first_nonfinite(const float *x, long n) {
    /* A sum of x·0 stays 0 unless some x is NaN or ±Inf (then NaN): one pass with no branch per
       element, then a search only when something is wrong. */
    float acc = 0;
    for (long i = 0; i < n; i++) acc += x[i] * 0.0f;
    if (acc == 0) return -1;
    for (long i = 0; i < n; i++)
        if (!(x[i] - x[i] == 0)) return i;
    return -1;
}
