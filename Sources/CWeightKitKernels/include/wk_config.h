#ifndef WEIGHTKIT_CONFIG_H
#define WEIGHTKIT_CONFIG_H
/* What every kernel call is told about how to run: no kernel reads a global or the environment. */

/* The instruction sets a kernel call may use, in increasing order. The caller chooses
   (WeightKitRuntime's KernelConfig) and never asks for more than wk_cpu_isa() reports: a body
   for an instruction set the CPU lacks would fault. */
enum wk_isa { WK_ISA_PORTABLE = 0, WK_ISA_AVX2 = 1, WK_ISA_AVX512VNNI = 2 };

/* How one product runs. */
typedef struct {
    int isa;             /* enum wk_isa: the widest bodies this call may use */
    int f32_activations; /* block-quantized weights: 1 multiplies each block with the f32
                            activations; 0 rounds the activations to int16 per block of 32
                            (decode on AVX2, prefill on AVX-512 VNNI) */
    int int8_prefill;    /* block-quantized weights, isa WK_ISA_AVX2, f32_activations 0: 1 runs
                            prefill with int8 activations per block (wk_qgemm_i8) instead of f32
                            panels */
} wk_config;

/* The widest wk_isa this CPU runs: WK_ISA_AVX2 needs AVX2, FMA and F16C; WK_ISA_AVX512VNNI
   also AVX-512 F/BW/VL/VNNI. Detected from the CPU's flags once per process. */
int wk_cpu_isa(void);

#endif
