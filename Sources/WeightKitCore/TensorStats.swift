/// Summary statistics of one tensor's values (finite values only; NaN and ±Inf are counted).
public struct TensorStats: Sendable, Hashable {
    /// Smallest finite value (nil when there is none).
    public var min: Double?
    /// Largest finite value.
    public var max: Double?
    /// Mean of the finite values.
    public var mean: Double?
    /// Population standard deviation of the finite values (numpy's `std()`, ddof 0).
    public var std: Double?
    /// Number of NaNs.
    public var nanCount: Int
    /// Number of ±Inf.
    public var infCount: Int
    /// Number of exact zeros.
    public var zeroCount: Int
    /// Values looked at.
    public var count: Int
}

extension TensorStats {
    /// Elements decoded per chunk (fits in L1 as f32).
    static let chunk = 4096

    /// Computes statistics of `count` elements of `dtype` (a plain dtype) in `bytes`.
    ///
    /// Chunks are reduced in f32/f64 and combined with Chan's parallel update in Double, so the
    /// mean and standard deviation stay accurate over billions of values.
    public static func compute(_ bytes: UnsafeRawBufferPointer, dtype: DType, count: Int) -> TensorStats {
        precondition(!dtype.isQuantized && bytes.count >= count * dtype.blockBytes, "stats buffer too small")
        var acc = Accumulator()
        var floats = [Float](repeating: 0, count: chunk)
        var doubles = [Double](repeating: 0, count: chunk)
        let viaFloat = dtype.isFloatingPoint && dtype != .float64
        var done = 0
        while done < count {
            let n = Swift.min(chunk, count - done)
            let src = unsafe bytes.baseAddress! + done * dtype.blockBytes
            if viaFloat {
                unsafe floats.withUnsafeMutableBytes { dst in
                    unsafe ElementConversion.decodeToFloat32(src, from: dtype, into: dst.baseAddress!, count: n)
                }
                unsafe floats.withUnsafeBufferPointer { unsafe acc.add(floats: UnsafeBufferPointer(rebasing: $0[0..<n])) }
            } else {
                unsafe doubles.withUnsafeMutableBufferPointer { dst in
                    unsafe IntegerWidening.widen(src, dtype: dtype, into: dst.baseAddress!, count: n)
                }
                unsafe doubles.withUnsafeBufferPointer { unsafe acc.add(doubles: UnsafeBufferPointer(rebasing: $0[0..<n])) }
            }
            done += n
        }
        return acc.result(count: count)
    }

    /// Running totals combined chunk by chunk (Chan et al.'s pairwise variance update).
    struct Accumulator {
        var n = 0.0, mean = 0.0, m2 = 0.0
        var low = Double.infinity, high = -Double.infinity
        var nan = 0, inf = 0, zero = 0

        mutating func merge(count: Int, sum: Double, m2 chunkM2: Double, low l: Double, high h: Double) {
            guard count > 0 else { return }
            let cn = Double(count)
            let chunkMean = sum / cn
            let delta = chunkMean - mean
            let total = n + cn
            mean += delta * cn / total
            m2 += chunkM2 + delta * delta * n * cn / total
            n = total
            low = Swift.min(low, l)
            high = Swift.max(high, h)
        }

        mutating func add(floats: UnsafeBufferPointer<Float>) {
            var sum = SIMD8<Float>(), lo = SIMD8<Float>(repeating: .infinity), hi = SIMD8<Float>(repeating: -.infinity)
            var zeros = 0
            var i = 0
            var finite = true
            let count = floats.count
            while i + 8 <= count {
                let v = unsafe UnsafeRawPointer(floats.baseAddress!).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                // x - x is 0 for finite x and NaN for NaN/Inf: any NaN lane means a slow chunk.
                let probe = v - v
                if any(probe .!= 0) { finite = false; break }
                sum += v
                lo = pointwiseMin(lo, v)
                hi = pointwiseMax(hi, v)
                zeros += Int(SIMD8<Int32>().replacing(with: 1, where: v .== 0).wrappedSum())
                i += 8
            }
            if !finite || i < count {
                // Scalar path for a chunk with NaN/Inf, or for the tail.
                var total = Double(sum.sum()), l = Double(lo.min()), h = Double(hi.max())
                var finiteCount = i
                for j in i..<count {
                    let x = unsafe floats[j]
                    if x.isNaN { nan += 1; continue }
                    if x.isInfinite { inf += 1; continue }
                    if x == 0 { zeros += 1 }
                    total += Double(x)
                    l = Swift.min(l, Double(x))
                    h = Swift.max(h, Double(x))
                    finiteCount += 1
                }
                let m = finiteCount > 0 ? total / Double(finiteCount) : 0
                var chunkM2 = 0.0
                for j in 0..<count where unsafe floats[j].isFinite {
                    let d = Double(unsafe floats[j]) - m
                    chunkM2 += d * d
                }
                zero += zeros
                merge(count: finiteCount, sum: total, m2: chunkM2, low: l, high: h)
                return
            }
            let total = Double(sum.sum())
            let m = Float(total / Double(count))
            var sq = SIMD8<Float>()
            i = 0
            while i + 8 <= count {
                let v = unsafe UnsafeRawPointer(floats.baseAddress!).loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
                let d = v - m
                sq += d * d
                i += 8
            }
            zero += zeros
            merge(count: count, sum: total, m2: Double(sq.sum()), low: Double(lo.min()), high: Double(hi.max()))
        }

        mutating func add(doubles: UnsafeBufferPointer<Double>) {
            var total = 0.0, l = Double.infinity, h = -Double.infinity, finiteCount = 0
            for unsafe x in unsafe doubles {
                if x.isNaN { nan += 1; continue }
                if x.isInfinite { inf += 1; continue }
                if x == 0 { zero += 1 }
                total += x
                l = Swift.min(l, x)
                h = Swift.max(h, x)
                finiteCount += 1
            }
            let m = finiteCount > 0 ? total / Double(finiteCount) : 0
            var chunkM2 = 0.0
            for unsafe x in unsafe doubles where x.isFinite { chunkM2 += (x - m) * (x - m) }
            merge(count: finiteCount, sum: total, m2: chunkM2, low: l, high: h)
        }

        func result(count: Int) -> TensorStats {
            guard n > 0 else {
                return TensorStats(min: nil, max: nil, mean: nil, std: nil, nanCount: nan, infCount: inf, zeroCount: zero, count: count)
            }
            return TensorStats(
                min: low, max: high, mean: mean, std: (m2 / n).squareRoot(),
                nanCount: nan, infCount: inf, zeroCount: zero, count: count)
        }
    }
}
