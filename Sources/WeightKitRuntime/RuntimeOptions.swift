import CWeightKitKernels

/// How a `Transformer` runs: threads, kernels, activation precision over quantized blocks, and
/// whether decode's weights are copied. Every switch the runtime has is here, given per
/// Transformer; nothing is read from the environment or set for the whole process.
public struct RuntimeOptions: Sendable, Hashable {
    /// Threads for the forward pass (0 or less: one per core).
    public var threads: Int
    /// Runs parallel regions on a persistent `ThreadPool` (true) or through Dispatch's
    /// `concurrentPerform` (false, slower: for comparisons).
    public var threadPool: Bool
    /// Copies the projections for decode onto huge pages at the first one-token step
    /// (`Transformer.preparedGraph`); false decodes straight from the file's mapping.
    public var copyWeights: Bool
    /// Which kernel bodies run.
    public var kernels: KernelChoice
    /// The activations block-quantized weights are multiplied with.
    public var quantizedActivations: ActivationPrecision

    /// Options with every default: all cores, the thread pool, the weight copy, the CPU's best
    /// kernels and 16-bit activations.
    public init(
        threads: Int = 0, threadPool: Bool = true, copyWeights: Bool = true, kernels: KernelChoice = .automatic,
        quantizedActivations: ActivationPrecision = .int16
    ) {
        self.threads = threads
        self.threadPool = threadPool
        self.copyWeights = copyWeights
        self.kernels = kernels
        self.quantizedActivations = quantizedActivations
    }

    /// The kernel bodies these options resolve to on this CPU.
    public var kernelConfig: KernelConfig { KernelConfig(kernels, activations: quantizedActivations) }
}

/// The instruction sets the C kernels have bodies for, in increasing order.
public enum InstructionSet: Int, Sendable, Hashable, Comparable, CaseIterable {
    /// Plain C, any CPU.
    case portable
    /// AVX2 with FMA and F16C.
    case avx2
    /// AVX2 bodies, plus prefill over Q8_0/Q4_0/Q4_1 blocks with AVX-512 VNNI (`vpdpwssd`) and
    /// decode over f32/f16/bf16 weights with 16-lane AVX-512 (needs AVX-512 F/BW/VL/VNNI).
    case avx512vnni

    /// The widest set this CPU runs, detected once per process from its flags (`wk_cpu_isa`).
    public static let cpu: InstructionSet = InstructionSet(rawValue: Int(wk_cpu_isa())) ?? .portable

    /// Orders by width.
    public static func < (a: InstructionSet, b: InstructionSet) -> Bool { a.rawValue < b.rawValue }
}

/// Which kernel bodies to run: the CPU's best, or one instruction set (for comparisons).
public enum KernelChoice: String, Sendable, Hashable, CaseIterable {
    /// The widest set the CPU runs (`InstructionSet.cpu`).
    case automatic
    /// The portable C bodies.
    case portable
    /// The AVX2 bodies, without the AVX-512 VNNI prefill.
    case avx2
    /// The AVX2 bodies, the AVX-512 VNNI prefill and the AVX-512 decode over float weights.
    case avx512vnni

    /// The instruction set asked for; nil for `.automatic`.
    public var instructionSet: InstructionSet? {
        switch self {
        case .automatic: return nil
        case .portable: return .portable
        case .avx2: return .avx2
        case .avx512vnni: return .avx512vnni
        }
    }

    /// True when this CPU runs the bodies asked for.
    public var isSupported: Bool { (instructionSet ?? .portable) <= InstructionSet.cpu }
}

/// The activations a product over block-quantized weights (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K) multiplies with.
public enum ActivationPrecision: String, Sendable, Hashable, CaseIterable {
    /// Rounded to int16 per block of 32 (relative error ≤ 1.5e-5 of the block's largest value) so
    /// the products run on integers: decode on AVX2, prefill on AVX-512 VNNI. The portable
    /// bodies, and prefill without VNNI, use f32 whatever this says.
    case int16
    /// As `int16`, except prefill over block-quantized weights on AVX2 without VNNI: the
    /// activations are rounded to int8 per token and block (256 values for Q2_K…Q6_K, 32 for the
    /// others; scale max|x|/127, as llama.cpp's Q8_K and Q8_0; error ≤ 0.4 % of the block's
    /// largest value) and multiplied as 8-bit integers, 1.7× the products per ns of f32 FMAs.
    case int8
    /// Each block dequantized and multiplied with the f32 activations: results differ from the
    /// dequantized weights' f32 product only by summation order.
    case float32
}

/// The resolved kernel choice one product runs with: an instruction set the CPU has and the
/// activation precision for quantized blocks. Passed with every kernel call (as `wk_config`).
public struct KernelConfig: Sendable, Hashable {
    /// The instruction set the kernels use: the one asked for, never wider than `InstructionSet.cpu`.
    public let instructionSet: InstructionSet
    /// Activations for block-quantized weights.
    public let activations: ActivationPrecision

    /// Resolves `choice` on this CPU. A set the CPU lacks is narrowed to `InstructionSet.cpu`
    /// (its bodies would fault); `KernelChoice.isSupported` says beforehand whether that happens.
    public init(_ choice: KernelChoice = .automatic, activations: ActivationPrecision = .int16) {
        instructionSet = min(choice.instructionSet ?? InstructionSet.cpu, InstructionSet.cpu)
        self.activations = activations
    }

    /// The CPU's best bodies with 16-bit activations: the default of every kernel call.
    public static let automatic = KernelConfig()

    /// True when prefill over quantized blocks runs the AVX-512 VNNI kernel (int16 activations).
    public var usesVNNIPrefill: Bool { instructionSet == .avx512vnni && activations != .float32 }

    /// True when prefill over quantized blocks runs the AVX2 8-bit kernel.
    public var usesInt8Prefill: Bool { instructionSet == .avx2 && activations == .int8 }

    /// The `isa` argument of the C kernels.
    var isa: Int32 { Int32(instructionSet.rawValue) }

    /// The C kernels' `wk_config`.
    var c: wk_config { wk_config(isa: isa, f32_activations: activations == .float32 ? 1 : 0, int8_prefill: usesInt8Prefill ? 1 : 0) }
}
