/* Read bandwidth of this machine right now: THREADS threads sum disjoint parts of a 512 MiB
 * buffer (AVX2 loads, four accumulators — the access pattern of a decode step), PASSES times;
 * prints the best and the median pass in GB/s.
 *
 *   cc -O2 -mavx2 -pthread bandwidth.c -o bandwidth && ./bandwidth 2 20
 *
 * Benchmarks/runtime.sh runs it before each model so every table says how much bandwidth the
 * runs had: on the cloud machines these benchmarks ran on, two threads read either ~32 or
 * ~50 GB/s, switching between the two within seconds (seen within one process), and decode
 * speed follows it. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BYTES (512UL << 20)
#define MAX_THREADS 64

static float *buffer;
static int threads;
static pthread_barrier_t start, done;
static volatile float sink[MAX_THREADS];

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float sum(const float *p, size_t n) {
    __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a = _mm256_add_ps(a, _mm256_load_ps(p + i));
        b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
        c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
        d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
    }
    float out[8];
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
    return out[0] + out[3] + out[7];
}

static void *worker(void *arg) {
    long t = (long)arg;
    size_t n = BYTES / 4, lower = n * t / threads / 32 * 32, upper = n * (t + 1) / threads / 32 * 32;
    for (;;) {
        pthread_barrier_wait(&start);
        sink[t] = sum(buffer + lower, upper - lower);
        pthread_barrier_wait(&done);
    }
    return NULL;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    threads = argc > 1 ? atoi(argv[1]) : 2;
    int passes = argc > 2 ? atoi(argv[2]) : 20;
    if (threads < 1 || threads > MAX_THREADS || passes < 1) {
        fprintf(stderr, "usage: bandwidth [THREADS 1-%d] [PASSES]\n", MAX_THREADS);
        return 2;
    }
    buffer = aligned_alloc(64, BYTES);
    if (buffer == NULL) { fprintf(stderr, "bandwidth: out of memory\n"); return 1; }
    for (size_t i = 0; i < BYTES / 4; i++) buffer[i] = (float)(i & 7);
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&done, NULL, (unsigned)threads + 1);
    for (long t = 0; t < threads; t++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker, (void *)t) != 0) { fprintf(stderr, "bandwidth: no thread\n"); return 1; }
        pthread_detach(thread);
    }
    double *rates = malloc(sizeof(double) * (size_t)passes);
    for (int p = 0; p < passes; p++) {
        double t0 = now();
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&done);
        rates[p] = (double)BYTES / (now() - t0) / 1e9;
    }
    qsort(rates, (size_t)passes, sizeof(double), compare);
    printf("threads=%d passes=%d best_gbps=%.1f median_gbps=%.1f\n", threads, passes, rates[passes - 1], rates[passes / 2]);
    return 0;
}
