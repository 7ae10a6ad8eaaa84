// One-thread prefill GEMM benchmark: wk_gemm of n tokens (default 128) through an f32/f16/bf16
// matrix of a 1 B model's shape (default 5632 × 2048: TinyLlama's MLP), weights from memory (a
// different matrix each call, 8 of them), activations random. Reports the best of 6 sweeps in
// G multiply-adds per second x 2 (GFLOP/s). clang is the toolchain's (what SwiftPM compiles the
// kernels with).
//
//   clang -O2 -ISources/CWeightKitKernels/include -ISources/CWeightKitKernels \
//      Benchmarks/kernels/gemm.c Sources/CWeightKitKernels/*.c -lm -o /tmp/gemm
//   /tmp/gemm [KIND=1] [ISA=1] [ROWS=5632] [COLS=2048] [TOKENS=128]
//
// KIND is wk_dtype's number (0 F32, 1 F16, 2 BF16); ISA 0 portable, 1 AVX2, 2 AVX-512 VNNI.
#include "wk_kernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int kind = argc > 1 ? atoi(argv[1]) : 1, isa = argc > 2 ? atoi(argv[2]) : 1;
    long rows = argc > 3 ? atol(argv[3]) : 5632, cols = argc > 4 ? atol(argv[4]) : 2048, n = argc > 5 ? atol(argv[5]) : 128;
    if (kind < 0 || kind > 2 || isa < 0 || isa > wk_cpu_isa()) { fprintf(stderr, "KIND 0-2, ISA 0-%d\n", wk_cpu_isa()); return 2; }
    const int nmat = 8;
    long elem = kind == 0 ? 4 : 2;
    uint8_t *w = malloc((size_t)(nmat * rows * cols * elem));
    float *x = malloc(sizeof(float) * (size_t)(n * cols)), *y = malloc(sizeof(float) * (size_t)(n * rows));
    srand(1);
    for (long i = 0; i < nmat * rows * cols; i++) {
        float v = (float)rand() / (float)RAND_MAX - 0.5f;
        if (kind == 0) ((float *)w)[i] = v;
        else ((uint16_t *)w)[i] = kind == 1 ? (uint16_t)(0x3000 + (rand() & 0x3ff)) : (uint16_t)(0x3c00 + (rand() & 0x7f));
    }
    for (long i = 0; i < n * cols; i++) x[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    wk_config cfg = {0};
    cfg.isa = isa;
    double best = 1e30;
    for (int sweep = 0; sweep < 6; sweep++) {
        double t0 = now();
        for (int m = 0; m < nmat; m++) wk_gemm(cfg, kind, w + m * rows * cols * elem, x, y, n, cols, rows, 0, rows);
        double t = (now() - t0) / nmat;
        if (t < best) best = t;
    }
    printf("kind %d isa %d %ld x %ld, %ld tokens: %.1f GFLOP/s (%.2f ms a product)\n", kind, isa, rows, cols, n,
           2.0 * rows * cols * n / best / 1e9, best * 1e3);
    return y[0] == 12345.0f;
}
