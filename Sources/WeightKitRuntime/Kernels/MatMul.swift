import CWeightKitKernels
import WeightKitCore
import WeightKitGraph

/// Matrix products over weights in their stored dtype: `y = W x` (decode) and `Y = X Wᵀ` (prefill).
///
/// The bodies are C (`CWeightKitKernels`): AVX2/FMA/F16C versions and portable ones, chosen per call
/// by a `KernelConfig` (default: the CPU's best); `scalarMatVec` is the Swift reference both are
/// tested against.
public enum MatMul {
    static func code(_ dtype: DType) -> Int32 {
        switch dtype {
        case .float16: return Int32(WK_F16.rawValue)
        case .bfloat16: return Int32(WK_BF16.rawValue)
        default: return Int32(WK_F32.rawValue)
        }
    }

    /// y[r] = Σ W[r, c] x[c] for every row, rows split over `parallel`.
    public static func matVec(
        _ w: Weight, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, parallel: Parallel, kernels: KernelConfig = .automatic
    ) {
        unsafe products([(w, y)], x, n: 1, parallel: parallel, kernels: kernels)
    }

    /// Y[t, r] = Σ W[r, c] X[t, c] for t < n: X is [n, cols], Y has row stride `yStride`.
    public static func matMul(
        _ w: Weight, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int, yStride: Int, parallel: Parallel,
        kernels: KernelConfig = .automatic
    ) {
        unsafe products([(w, y)], x, n: n, yStride: yStride, parallel: parallel, kernels: kernels)
    }

    /// Several products of the same input in one parallel region — Q, K and V; gate and up —
    /// each thread taking the same share of every weight's rows, so one synchronisation replaces
    /// several (decode runs ~150 regions per token instead of ~240). Y_i[t, r] = Σ W_i[r, c] X[t, c];
    /// Y_i has row stride `yStride` (default: W_i's rows).
    public static func products(
        _ products: [(Weight, UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, n: Int, yStride: Int? = nil,
        parallel: Parallel, kernels: KernelConfig = .automatic
    ) {
        let jobs = unsafe products.map { unsafe Product(weight: $0.0, y: SendablePointer(UnsafeRawPointer($0.1)), yStride: yStride ?? $0.0.rows) }
        let xs = unsafe SendablePointer(UnsafeRawPointer(x))
        let rows = jobs.reduce(0) { $0 + $1.weight.rows }
        // Below ~64 rows per thread (16 for prompts) the synchronisation costs more than it saves.
        let parts = max(1, min(parallel.threads, rows / (n == 1 ? 64 : 16)))
        parallel.forEachRange(parts, minimumPerThread: 1) { range in
            for part in range {
                for job in jobs {
                    let r = job.weight.rows, lower = r * part / parts, upper = r * (part + 1) / parts
                    unsafe run(job.weight, xs.floats, job.y.mutableFloats, n: n, yStride: job.yStride, rows: lower..<upper, kernels: kernels)
                }
            }
        }
    }

    /// One thread's share of one product: the C kernel for the weight's dtype.
    static func run(
        _ w: Weight, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int, yStride: Int, rows: Range<Int>, kernels: KernelConfig
    ) {
        guard !rows.isEmpty else { return }
        let cols = w.columns, lower = rows.lowerBound, upper = rows.upperBound, config = kernels.c
        unsafe w.storage.withUnsafeBytes { raw in
            let base = unsafe raw.baseAddress!
            // SAFETY: the weight holds rows × cols elements (or rows × cols/32 blocks); x has n × cols floats, y n rows of yStride ≥ rows; each
            // thread writes only its own rows.
            if let type = QuantizedMatMul.kernelCode(w) {
                precondition(cols % w.dtype.blockElements == 0, "quantized rows are whole blocks (the readers refuse partial ones)")
                if n == 1 { unsafe wk_qmatvec(config, type, base, x, y, cols, lower, upper) }
                else if n < decodeKernelTokens(w, kernels) {
                    for t in 0..<n { unsafe wk_qmatvec(config, type, base, x + t * cols, y + t * yStride, cols, lower, upper) }
                } else { unsafe wk_qmatmul(config, type, base, x, y, n, cols, yStride, lower, upper) }
            } else if n == 1 {
                unsafe wk_matvec(config.isa, code(w.dtype), base, x, y, cols, lower, upper)
            } else {
                unsafe wk_gemm(config, code(w.dtype), base, x, y, n, cols, yStride, lower, upper)
            }
        }
    }

    /// Below this many tokens a product over block-quantized weights runs the decode kernel once
    /// per token instead of prefill's GEMM, whose f32 panels cost a decode of every block per
    /// product whatever the token count. Crossovers measured on the 1.1 B model, one thread
    /// (docs/BENCHMARKS.md, "Short prompts"): K types ≈ 40 tokens (Q4_K_M prefill-32 13.6 tok/s
    /// against 16.8 decoding), 32-value types ≈ 12 (Q4_0 prefill-4 10.7 against 22.9), and IQ4_XS,
    /// whose panels decode as cheaply as IQ4_NL's, ≈ 10 (1.1 B: prefill-16 13.5 decoding against
    /// 18.2, prefill-8 12.0 against 10.9 on the panels). Not with
    /// the AVX-512 VNNI prefill, which works on the blocks' integers as decode does (IQ4_XS, which
    /// it does not take, keeps the AVX2 crossover).
    static func decodeKernelTokens(_ w: Weight, _ kernels: KernelConfig) -> Int {
        let vnni = kernels.usesVNNIPrefill && w.dtype != .iq4_XS
        guard kernels.instructionSet >= .avx2, kernels.activations != .float32, !vnni else { return 2 }
        return w.dtype.blockElements == 256 && w.dtype != .iq4_XS ? 32 : 12
    }

    /// One product of `products`: the weight, where its results go and their row stride.
    @unsafe struct Product: @unchecked Sendable {
        let weight: Weight
        let y: SendablePointer
        let yStride: Int
    }

    /// The reference: one row at a time, every element widened to f32 in Swift.
    public static func scalarMatVec(_ w: Weight, _ x: [Float]) -> [Float] {
        let rows = w.rows, cols = w.columns
        var y = [Float](repeating: 0, count: rows)
        var row = [Float](repeating: 0, count: cols)
        unsafe w.storage.withUnsafeBytes { raw in
            for r in 0..<rows {
                unsafe row.withUnsafeMutableBytes { dst in
                    unsafe ElementConversion.decodeToFloat32(raw.baseAddress! + r * cols * w.dtype.blockBytes, from: w.dtype, into: dst.baseAddress!, count: cols)
                }
                var sum: Float = 0
                for c in 0..<cols { sum += row[c] * x[c] }
                y[r] = sum
            }
        }
        return y
    }
}

/// A pointer carried into concurrent closures; the caller guarantees lifetime and disjoint writes.
@unsafe struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeRawPointer
    init(_ pointer: UnsafeRawPointer) { unsafe self.pointer = pointer }
    var floats: UnsafePointer<Float> { unsafe pointer.assumingMemoryBound(to: Float.self) }
    var mutableFloats: UnsafeMutablePointer<Float> { unsafe UnsafeMutablePointer(mutating: pointer.assumingMemoryBound(to: Float.self)) }
}
