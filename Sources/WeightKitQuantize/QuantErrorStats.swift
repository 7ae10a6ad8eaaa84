/// How far quantized values are from the originals, accumulated over blocks and merged.
public struct QuantErrorStats: Sendable, Hashable {
    /// Values compared.
    public var count: Int = 0
    /// Σ (x − x̂)².
    public var sumSquaredError: Double = 0
    /// Σ x².
    public var sumSquaredReference: Double = 0
    /// Σ x̂².
    public var sumSquaredQuantized: Double = 0
    /// Σ x·x̂.
    public var dot: Double = 0
    /// max |x − x̂|.
    public var maxAbsError: Double = 0

    /// Empty statistics.
    public init() {}

    /// Adds `n` pairs of original `x` and decoded `y` values.
    public mutating func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) {
        // Four independent lanes (f32 partial sums per call, then f64 totals) so the additions
        // do not wait on each other.
        var se = SIMD4<Float>(), sx = SIMD4<Float>(), sy = SIMD4<Float>(), xy = SIMD4<Float>()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        var i = 0
        while i + 4 <= n {
            // SAFETY: i + 4 <= n, inside both buffers.
            let a = unsafe UnsafeRawPointer(x + i).loadUnaligned(as: SIMD4<Float>.self)
            let b = unsafe UnsafeRawPointer(y + i).loadUnaligned(as: SIMD4<Float>.self)
            let e = a - b
            se += e * e; sx += a * a; sy += b * b; xy += a * b
            m0 = max(m0, e[0].magnitude); m1 = max(m1, e[1].magnitude)
            m2 = max(m2, e[2].magnitude); m3 = max(m3, e[3].magnitude)
            i += 4
        }
        var tse = se.sum(), tsx = sx.sum(), tsy = sy.sum(), txy = xy.sum(), tm = max(max(m0, m1), max(m2, m3))
        while i < n {
            let a = unsafe x[i], b = unsafe y[i], e = a - b
            tse += e * e; tsx += a * a; tsy += b * b; txy += a * b
            tm = max(tm, e.magnitude)
            i += 1
        }
        count += n
        sumSquaredError += Double(tse); sumSquaredReference += Double(tsx)
        sumSquaredQuantized += Double(tsy); dot += Double(txy)
        maxAbsError = max(maxAbsError, Double(tm))
    }

    /// Combines two disjoint accumulations.
    public mutating func merge(_ other: QuantErrorStats) {
        count += other.count
        sumSquaredError += other.sumSquaredError
        sumSquaredReference += other.sumSquaredReference
        sumSquaredQuantized += other.sumSquaredQuantized
        dot += other.dot
        maxAbsError = max(maxAbsError, other.maxAbsError)
    }

    /// Root mean square error.
    public var rmse: Double { count == 0 ? 0 : (sumSquaredError / Double(count)).squareRoot() }

    /// Signal-to-noise ratio in dB: 10·log10(Σx² / Σ(x − x̂)²); +∞ when exact.
    public var snrDB: Double {
        sumSquaredError == 0 ? .infinity : 10 * log10(sumSquaredReference / sumSquaredError)
    }

    /// Cosine similarity of the original and decoded tensors (1 when both are zero).
    public var cosine: Double {
        let norms = (sumSquaredReference * sumSquaredQuantized).squareRoot()
        return norms == 0 ? (sumSquaredError == 0 ? 1 : 0) : dot / norms
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
