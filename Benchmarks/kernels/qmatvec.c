// One-thread decode kernel benchmark: wk_qmatvec over block-quantized matrices of a 1 B model's
// shape (rows × 2048 columns, default 5632 rows: TinyLlama's MLP), in the file's layout or the
// runtime's interleaved copy, from memory (24 matrices, ~100-300 MB) or from cache (one small one).
// Random blocks (scales set to sane f16 values); reports the best of 8 sweeps. clang is the
// toolchain's (what SwiftPM compiles the kernels with).
//
//   clang -O2 -ISources/CWeightKitKernels/include -ISources/CWeightKitKernels \
//      Benchmarks/kernels/qmatvec.c Sources/CWeightKitKernels/*.c -lm -o /tmp/qmatvec
//   /tmp/qmatvec TYPE [INTERLEAVED=1] [ISA=1] [ROWS=5632] [MATRICES=24]
//
// TYPE is wk_qtype's number (0 Q8_0, 1 Q4_0, 2 Q4_1, 5 Q4_K, 6 Q6_K, 8 Q3_K, 9 Q2_K, 10 IQ4_NL);
// ISA 0 portable, 1 AVX2, 2 AVX-512 VNNI. From cache: ROWS=256 MATRICES=1.
#define _GNU_SOURCE
#include "wk_kernels.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s TYPE [INTERLEAVED] [ISA] [ROWS] [MATRICES]\n", argv[0]); return 2; }
    int qtype = atoi(argv[1]), x4 = argc > 2 ? atoi(argv[2]) : 1, isa = argc > 3 ? atoi(argv[3]) : 1;
    long rows = argc > 4 ? atol(argv[4]) : 5632, cols = 2048;
    int nmat = argc > 5 ? atoi(argv[5]) : 24;
    static const long block_bytes[] = {34, 18, 20, 22, 24, 144, 210, 176, 110, 84, 18};
    if (qtype < 0 || qtype > 10) { fprintf(stderr, "TYPE is 0-10\n"); return 2; }
    long values = qtype >= 5 && qtype <= 9 ? 256 : 32, bb = block_bytes[qtype], row_bytes = cols / values * bb;
    size_t size = x4 ? (size_t)wk_qx4_bytes(qtype, rows, cols) : (size_t)(rows * row_bytes);
    uint8_t *src = malloc((size_t)(rows * row_bytes));
    srand(1);
    for (long i = 0; i < rows * row_bytes; i++) src[i] = (uint8_t)rand();
    /* d (and dmin) of every block a small positive f16 */
    long d_at = qtype == 6 ? 208 : qtype == 8 ? 108 : qtype == 9 ? 80 : 0;
    int has_dmin = qtype == 2 || qtype == 4 || qtype == 5 || qtype == 7 || qtype == 9;
    for (long b = 0; b < rows * cols / values; b++) {
        uint16_t h = (uint16_t)(0x2000 + (rand() & 0xff));
        memcpy(src + b * bb + d_at, &h, 2);
        if (has_dmin) memcpy(src + b * bb + d_at + 2, &h, 2);
    }
    uint8_t *mem = mmap(0, size * nmat, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) return 1;
    madvise(mem, size * nmat, MADV_HUGEPAGE);
    for (int m = 0; m < nmat; m++) {
        if (x4) wk_qrepack_x4(qtype, src, rows, cols, mem + m * size);
        else memcpy(mem + m * size, src, size);
    }
    float *x = malloc(cols * 4), *y = malloc(rows * 4);
    for (long i = 0; i < cols; i++) x[i] = rand() / (float)RAND_MAX - 0.5f;
    wk_config cfg = {.isa = isa, .f32_activations = 0};
    int code = qtype | (x4 ? WK_QX4 : 0);
    for (int m = 0; m < nmat; m++) wk_qmatvec(cfg, code, mem + m * size, x, y, cols, 0, rows);
    double best = 1e9;
    for (int rep = 0; rep < 8; rep++) {
        double t0 = now();
        for (int m = 0; m < nmat; m++) wk_qmatvec(cfg, code, mem + m * size, x, y, cols, 0, rows);
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("type %d %s isa %d, %ld x %ld x %d: %.2f ms, %.2f GB/s, %.2f G weights/s\n", qtype, x4 ? "interleaved" : "rows", isa, rows,
           cols, nmat, best * 1e3, (double)size * nmat / best / 1e9, (double)rows * cols * nmat / best / 1e9);
    return 0;
}
