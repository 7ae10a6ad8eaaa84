import CWeightKitKernels
import WeightKitCore
import WeightKitGraph

/// Matrix products over weights in their stored dtype: `y = W x` (decode) and `Y = X Wᵀ` (prefill).
///
/// The bodies are C (`CWeightKitKernels`): AVX2/FMA/F16C versions chosen at run time, portable ones
/// elsewhere; `scalarMatVec` is the Swift reference both are tested against.
public enum MatMul {
    static func code(_ dtype: DType) -> Int32 {
        switch dtype {
        case .float16: return Int32(WK_F16.rawValue)
        case .bfloat16: return Int32(WK_BF16.rawValue)
        default: return Int32(WK_F32.rawValue)
        }
    }

    /// y[r] = Σ W[r, c] x[c] for every row, rows split over `parallel`.
    public static func matVec(_ w: Weight, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, parallel: Parallel) {
        if w.dtype.isQuantized {
            unsafe QuantizedMatMul.matVec(w, x, y, parallel: parallel)
            return
        }
        let cols = w.columns, dtype = code(w.dtype)
        unsafe splitRows(w, x, y, parallel: parallel, minimumPerThread: 64) { weights, x, y, rows in
            // SAFETY: the weight holds rows*cols elements; x has cols, y has rows floats; ranges are disjoint.
            unsafe wk_matvec(dtype, weights, x, y, cols, rows.lowerBound, rows.upperBound)
        }
    }

    /// Y[t, r] = Σ W[r, c] X[t, c] for t < n: X is [n, cols], Y has row stride `yStride`.
    public static func matMul(
        _ w: Weight, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, n: Int, yStride: Int, parallel: Parallel
    ) {
        if n == 1 {
            unsafe matVec(w, x, y, parallel: parallel)
            return
        }
        if w.dtype.isQuantized {
            unsafe QuantizedMatMul.matMul(w, x, y, n: n, yStride: yStride, parallel: parallel)
            return
        }
        let cols = w.columns, dtype = code(w.dtype)
        unsafe splitRows(w, x, y, parallel: parallel, minimumPerThread: 16) { weights, x, y, rows in
            // SAFETY: as in matVec, with n rows of X and Y.
            unsafe wk_matmul(dtype, weights, x, y, n, cols, yStride, rows.lowerBound, rows.upperBound)
        }
    }

    /// Runs `kernel` on disjoint ranges of the weight's rows over `parallel`, with the weight's
    /// bytes, x and y as raw pointers (the one place the products hand pointers to threads).
    static func splitRows(
        _ w: Weight, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, parallel: Parallel, minimumPerThread: Int,
        _ kernel: @escaping @Sendable (UnsafeRawPointer, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Range<Int>) -> Void
    ) {
        unsafe w.storage.withUnsafeBytes { raw in
            let base = unsafe SendablePointer(raw.baseAddress!)
            let xs = unsafe SendablePointer(UnsafeRawPointer(x)), ys = unsafe SendablePointer(UnsafeRawPointer(y))
            parallel.forEachRange(w.rows, minimumPerThread: minimumPerThread) { range in
                unsafe kernel(base.pointer, xs.floats, ys.mutableFloats, range)
            }
        }
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

    /// Forces the portable C bodies (tests compare them with the AVX2 ones); false restores detection.
    public static func forcePortable(_ on: Bool) { wk_force_portable(on ? 1 : 0) }

    /// True when the AVX2/FMA/F16C bodies are in use.
    public static var usesAVX2: Bool { wk_has_avx2() != 0 }
}

/// A pointer carried into concurrent closures; the caller guarantees lifetime and disjoint writes.
@unsafe struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafeRawPointer
    init(_ pointer: UnsafeRawPointer) { unsafe self.pointer = pointer }
    var floats: UnsafePointer<Float> { unsafe pointer.assumingMemoryBound(to: Float.self) }
    var mutableFloats: UnsafeMutablePointer<Float> { unsafe UnsafeMutablePointer(mutating: pointer.assumingMemoryBound(to: Float.self)) }
}
