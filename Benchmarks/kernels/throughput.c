// What one core's (or two cores') AVX2 units sustain: independent chains of f32 FMAs, of int16
// products (vpmaddwd + vpaddd) and of u8 x s8 products (vpmaddubsw + vpmaddwd + vpaddd), in
// multiply-adds per ns (docs/BENCHMARKS.md, "8-bit prefill over K-quants"). THREADS (default 1)
// runs the FMA loop on that many threads at once: on a VM, two threads that give one core's
// figure ran on one core's worth.
//
//   clang -O2 -pthread Benchmarks/kernels/throughput.c -o /tmp/throughput && /tmp/throughput [THREADS]
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { STEPS = 50000000 };

/* Ten FMA chains (FMA latency 4, two a cycle: eight would do; ten leave no doubt). */
__attribute__((target("avx2,fma"))) static void *fma_loop(void *out) {
    __m256 a[10], m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    for (int i = 0; i < 10; i++) a[i] = _mm256_set1_ps((float)i);
    for (long k = 0; k < STEPS; k++)
        for (int i = 0; i < 10; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    float s = 0, t[8];
    for (int i = 0; i < 10; i++) { _mm256_storeu_ps(t, a[i]); s += t[0]; }
    *(float *)out = s;
    return NULL;
}

/* Six chains each, distinct inputs per chain (identical ones would be computed once); one
   function per kind, so that no branch sits in the loop. */
#define INT_LOOP(name, STEP, PRODUCTS)                                                                   \
    __attribute__((target("avx2"))) static double name(int *sink) {                                    \
        __m256i a[6], x[6], w = _mm256_set1_epi16(3), u = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1); \
        for (int i = 0; i < 6; i++) { a[i] = _mm256_set1_epi32(i); x[i] = _mm256_set1_epi16((short)(i + 1)); } \
        double t0 = now();                                                                             \
        for (long k = 0; k < STEPS; k++) {                                                             \
            for (int i = 0; i < 6; i++) a[i] = STEP;                                                   \
            __asm__ volatile("" : "+x"(w), "+x"(u));                                                   \
        }                                                                                              \
        double dt = now() - t0;                                                                        \
        (void)ones;                                                                                    \
        for (int i = 0; i < 6; i++) *sink += _mm256_extract_epi32(a[i], 0);                            \
        return (double)STEPS * 6 * (PRODUCTS) / dt / 1e9;                                              \
    }
INT_LOOP(int16_loop, _mm256_add_epi32(a[i], _mm256_madd_epi16(w, x[i])), 16)
INT_LOOP(int8_loop, _mm256_add_epi32(a[i], _mm256_madd_epi16(_mm256_maddubs_epi16(u, x[i]), ones)), 32)

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1, sink = 0;
    if (threads < 1 || threads > 64) { fprintf(stderr, "THREADS 1-64\n"); return 2; }
    pthread_t t[64];
    float r[64];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fma_loop, &r[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("f32 FMA, %d thread(s): %.1f multiply-adds per ns in all\n", threads, threads * (double)STEPS * 10 * 8 / (now() - t0) / 1e9);
    printf("int16 vpmaddwd + vpaddd, one thread: %.1f multiply-adds per ns\n", int16_loop(&sink));
    printf("u8 x s8 vpmaddubsw + vpmaddwd + vpaddd, one thread: %.1f multiply-adds per ns\n", int8_loop(&sink));
    return sink == 12345 && r[0] == 1.0f;
}
