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
        var se: Float = 0, sx: Float = 0, sy: Float = 0, xy: Float = 0, m: Float = 0
        for i in 0..<n {
            let a = unsafe x[i], b = unsafe y[i], e = a - b
            se += e * e; sx += a * a; sy += b * b; xy += a * b
            m = max(m, e.magnitude)
        }
        count += n
        sumSquaredError += Double(se); sumSquaredReference += Double(sx)
        sumSquaredQuantized += Double(sy); dot += Double(xy)
        maxAbsError = max(maxAbsError, Double(m))
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
