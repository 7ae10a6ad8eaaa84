/* One query head's attention over its cached keys and values (see wk_kernels.h, wk_attend).
 *
 * One call per head rather than a dot product, a softmax and an axpy per position: separate
 * calls would end every dot in its own horizontal sum and load and store the whole output once
 * per position. Here the scores take four positions per pass, their four sums folded together
 * (vphaddd's float twin), and the weighted sum of values keeps 64 output columns in registers
 * over every position. */
#include <math.h>
#include "wk_kernels.h"
#include "wk_private.h"

/* Gemma 2's soft-capping of scores: cap · tanh(s / cap); softcap 0 leaves them as they are. */
static void cap_scores(float *scores, long length, float softcap) {
    if (softcap > 0)
        for (long p = 0; p < length; p++) scores[p] = softcap * tanhf(scores[p] / softcap);
}

static void attend_portable(int isa, const float *q, const float *keys, const float *values, long stride, long hd, long length,
                            float scale, float softcap, float *scores, float *out) {
    for (long p = 0; p < length; p++) {
        float s = 0;
        for (long c = 0; c < hd; c++) s += q[c] * keys[p * stride + c];
        scores[p] = s * scale;
    }
    cap_scores(scores, length, softcap);
    wk_softmax(isa, scores, length);
    for (long c = 0; c < hd; c++) out[c] = 0;
    for (long p = 0; p < length; p++)
        for (long c = 0; c < hd; c++) out[c] += scores[p] * values[p * stride + c];
}

#if WK_X86
WK_AVX2 static void scores_avx2(const float *q, const float *keys, long stride, long hd, long length, float scale,
                                float *scores) {
    long vec = hd / 8 * 8, p = 0;
    for (; p + 4 <= length; p += 4) {
        const float *k0 = keys + p * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long c = 0; c < vec; c += 8) {
            __m256 qv = _mm256_loadu_ps(q + c);
            a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + c), a0);
            a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + c), a1);
            a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + c), a2);
            a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + c), a3);
        }
        float four[4];
        _mm_storeu_ps(four, wk_hsum4(a0, a1, a2, a3));
        for (long c = vec; c < hd; c++) {
            four[0] += q[c] * k0[c];
            four[1] += q[c] * k1[c];
            four[2] += q[c] * k2[c];
            four[3] += q[c] * k3[c];
        }
        for (int i = 0; i < 4; i++) scores[p + i] = four[i] * scale;
    }
    for (; p < length; p++) {
        const float *k = keys + p * stride;
        __m256 a = _mm256_setzero_ps();
        for (long c = 0; c < vec; c += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + c), _mm256_loadu_ps(k + c), a);
        float s = wk_hsum(a);
        for (long c = vec; c < hd; c++) s += q[c] * k[c];
        scores[p] = s * scale;
    }
}

WK_AVX2 static void mix_avx2(const float *weights, const float *values, long stride, long hd, long length, float *out) {
    long c = 0;
    for (; c + 64 <= hd; c += 64) {
        __m256 a[8];
        for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
        for (long p = 0; p < length; p++) {
            __m256 w = _mm256_broadcast_ss(weights + p);
            const float *v = values + p * stride + c;
            for (int i = 0; i < 8; i++) a[i] = _mm256_fmadd_ps(w, _mm256_loadu_ps(v + 8 * i), a[i]);
        }
        for (int i = 0; i < 8; i++) _mm256_storeu_ps(out + c + 8 * i, a[i]);
    }
    for (; c + 8 <= hd; c += 8) {
        __m256 a = _mm256_setzero_ps();
        for (long p = 0; p < length; p++)
            a = _mm256_fmadd_ps(_mm256_broadcast_ss(weights + p), _mm256_loadu_ps(values + p * stride + c), a);
        _mm256_storeu_ps(out + c, a);
    }
    for (; c < hd; c++) {
        float s = 0;
        for (long p = 0; p < length; p++) s += weights[p] * values[p * stride + c];
        out[c] = s;
    }
}
#endif

void wk_attend(int isa, const float *q, const float *keys, const float *values, long stride, long hd, long length, float scale,
               float softcap, float *scores, float *out) {
#if WK_X86
    if (isa >= WK_ISA_AVX2) {
        scores_avx2(q, keys, stride, hd, length, scale, scores);
        cap_scores(scores, length, softcap);
        wk_softmax(isa, scores, length);
        mix_avx2(scores, values, stride, hd, length, out);
        return;
    }
#endif
    attend_portable(isa, q, keys, values, stride, hd, length, scale, softcap, scores, out);
}
