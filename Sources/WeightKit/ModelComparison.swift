import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitQuantize

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Two models' tensors and next-token distributions side by side: what `weightkit diff` prints
/// and what `weightkit smoke --against` judges.
public enum ModelComparison {
    /// One tensor present in both models.
    public struct TensorDelta: Sendable, Hashable {
        /// The Hugging Face name both are compared under.
        public var name: String
        /// Error statistics of the second against the first (zero when a dtype is not floating).
        public var stats: QuantErrorStats
        /// When the shapes differ: "[a] vs [b]"; nil when they match.
        public var shapeMismatch: String?

        /// RMSE relative to the first tensor's RMS (0 for an exact copy; ~1.4 for an unrelated one).
        public var relativeError: Double {
            guard stats.count > 0 else { return 0 }
            let rms = (stats.sumSquaredReference / Double(stats.count)).squareRoot()
            return rms == 0 ? (stats.rmse == 0 ? 0 : .infinity) : stats.rmse / rms
        }
    }

    /// Tensors by name in both, and the names only one of them has.
    public struct TensorReport: Sendable {
        /// The shared tensors, in the first model's order.
        public var deltas: [TensorDelta]
        /// Names only the first has.
        public var onlyInFirst: [String]
        /// Names only the second has.
        public var onlyInSecond: [String]
    }

    /// The tensors of `path` under Hugging Face names, Q/K un-permuted, blocks decoded to f32.
    public static func normalizedTensors(_ path: String) throws -> any TensorSource {
        let source = try FormatRegistry.open(path: path)
        if let gguf = source as? GGUFFile {
            let plan = try GGUFConversion.toHuggingFace(tensors: gguf.tensors, ggufMetadata: gguf.metadata)
            return plan.source(base: gguf)
        }
        return try Converter.decodingBlocks(source)
    }

    /// Every tensor of `a` against its namesake in `b` (both from `normalizedTensors`).
    public static func tensors(_ a: any TensorSource, _ b: any TensorSource) throws -> TensorReport {
        let byName = Dictionary(b.tensors.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x })
        var deltas: [TensorDelta] = []
        for t in a.tensors {
            guard let u = byName[t.name] else { continue }
            guard t.shape == u.shape else {
                deltas.append(TensorDelta(name: t.name, stats: QuantErrorStats(), shapeMismatch: "\(t.shape) vs \(u.shape)"))
                continue
            }
            deltas.append(TensorDelta(name: t.name, stats: try compare(a, t, b, u), shapeMismatch: nil))
        }
        let names = Set(a.tensors.map(\.name))
        return TensorReport(
            deltas: deltas, onlyInFirst: a.tensors.map(\.name).filter { byName[$0] == nil },
            onlyInSecond: b.tensors.map(\.name).filter { !names.contains($0) })
    }

    /// Error statistics of `u` (in `right`) against `t` (in `left`), both widened to f32.
    public static func compare(_ left: any TensorSource, _ t: TensorInfo, _ right: any TensorSource, _ u: TensorInfo) throws -> QuantErrorStats {
        var stats = QuantErrorStats()
        guard t.dtype.isFloatingPoint, u.dtype.isFloatingPoint else { return stats }
        let x = try floats(left, t), y = try floats(right, u)
        unsafe x.withUnsafeBufferPointer { xp in
            unsafe y.withUnsafeBufferPointer { yp in
                guard xp.count > 0 else { return }
                // SAFETY: both arrays hold the tensors' (equal) element counts.
                unsafe stats.add(xp.baseAddress!, yp.baseAddress!, count: xp.count)
            }
        }
        return stats
    }

    /// A tensor's values as f32.
    public static func floats(_ source: any TensorSource, _ t: TensorInfo) throws -> [Float] {
        let storage = try source.storage(of: t)
        var out = [Float](repeating: 0, count: t.elementCount)
        unsafe storage.withUnsafeBytes { raw in
            unsafe out.withUnsafeMutableBytes { dst in
                guard t.elementCount > 0 else { return }
                // SAFETY: storage holds elementCount elements of t.dtype; dst as many floats.
                unsafe ElementConversion.decodeToFloat32(raw.baseAddress!, from: t.dtype, into: dst.baseAddress!, count: t.elementCount)
            }
        }
        return out
    }

    /// log-softmax of `logits` in double precision.
    public static func logSoftmax(_ logits: [Float]) -> [Double] {
        let m = Double(logits.max() ?? 0)
        var s = 0.0
        for v in logits { s += exp(Double(v) - m) }
        let logSum = log(s)
        return logits.map { Double($0) - m - logSum }
    }

    /// KL(softmax(p) ‖ softmax(q)) in nats, in double precision.
    public static func klDivergence(_ p: [Float], _ q: [Float]) -> Double {
        let a = logSoftmax(p), b = logSoftmax(q)
        var kl = 0.0
        for i in 0..<min(a.count, b.count) { kl += exp(a[i]) * (a[i] - b[i]) }
        return max(0, kl)
    }

    /// The entropy of softmax(logits) in nats.
    public static func entropy(_ logits: [Float]) -> Double {
        var h = 0.0
        for l in logSoftmax(logits) where l > -.infinity { h -= exp(l) * l }
        return h
    }
}
