import ArgumentParser
import WeightKitRuntime

/// `--threads` and the runtime's switches, for the commands that run a model (generate, trace,
/// perplexity, diff --prompt). Each becomes a field of the library's `RuntimeOptions`.
struct RuntimeOptions: ParsableArguments {
    @Option(name: .long, help: "Threads to use (0: all cores).")
    var threads = 0

    @OptionGroup var switches: RuntimeSwitches

    func validate() throws {
        guard threads >= 0 else { throw ValidationError("--threads must be 0 or more") }
    }

    /// The library's options these flags ask for.
    var options: WeightKitRuntime.RuntimeOptions { switches.options(threads: threads) }
}

/// The runtime's switches besides the thread count (bench takes its thread counts as a list):
/// the kernel bodies, activation precision, weight copy and thread pool, for comparisons and
/// benchmarks. The defaults are the fastest setting this CPU has.
struct RuntimeSwitches: ParsableArguments {
    @Option(name: .long, help: "Kernel bodies: auto (the CPU's best), avx512vnni, avx2 or portable.")
    var kernels = "auto"

    @Flag(name: .customLong("f32-activations"), help: "Multiply quantized blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K…Q6_K) with f32 activations instead of 16-bit ones (exact up to summation order; slower).")
    var f32Activations = false

    @Flag(name: .customLong("int8-prefill"), help: "Prefill over quantized blocks with activations rounded to 8 bits per block, as llama.cpp: faster, less exact (AVX2 without VNNI; decode stays 16-bit).")
    var int8Prefill = false

    @Flag(name: .customLong("no-weight-copy"), help: "Decode straight from the file's mapping instead of a copy of the weights on huge pages.")
    var noWeightCopy = false

    @Flag(name: .customLong("no-thread-pool"), help: "Run parallel regions through Dispatch instead of the persistent thread pool (slower; for comparisons).")
    var noThreadPool = false

    func validate() throws {
        guard !(f32Activations && int8Prefill) else {
            throw ValidationError("--f32-activations and --int8-prefill ask for different activations; give one")
        }
        guard let choice = kernelChoice else {
            throw ValidationError("unknown --kernels '\(kernels)'; expected auto, avx512vnni, avx2 or portable")
        }
        guard choice.isSupported else {
            throw ValidationError("--kernels \(kernels): this CPU runs at most \(InstructionSet.cpu)")
        }
    }

    /// The parsed `--kernels`.
    var kernelChoice: KernelChoice? { kernels == "auto" ? .automatic : KernelChoice(rawValue: kernels) }

    /// The library's options with `threads` threads.
    func options(threads: Int) -> WeightKitRuntime.RuntimeOptions {
        WeightKitRuntime.RuntimeOptions(
            threads: threads, threadPool: !noThreadPool, copyWeights: !noWeightCopy, kernels: kernelChoice ?? .automatic,
            quantizedActivations: f32Activations ? .float32 : int8Prefill ? .int8 : .int16)
    }
}
