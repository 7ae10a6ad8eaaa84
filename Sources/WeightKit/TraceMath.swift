#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitRuntime

/// The small numeric helpers of a trace: norms, softmax, entropy, top-K, cosine neighbours.
enum TraceMath {
    /// Euclidean norm.
    static func norm(_ v: [Float]) -> Float { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    /// Probabilities from logits (max-subtracted).
    static func softmax(_ logits: [Float]) -> [Float] {
        guard let m = logits.max() else { return [] }
        let e = logits.map { ($0 - m).isNaN ? 0 : expf($0 - m) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }

    /// Shannon entropy in bits of a distribution.
    static func entropyBits(_ p: [Float]) -> Float {
        -p.reduce(0) { $0 + ($1 > 0 ? $1 * log2f($1) : 0) }
    }

    /// The `k` largest values with their indices, largest first (ties: lower index first).
    static func topK(_ values: [Float], _ k: Int) -> [(index: Int, value: Float)] {
        var best: [(index: Int, value: Float)] = []
        for (i, v) in values.enumerated() where !v.isNaN {
            guard best.count < k || v > best[best.count - 1].value else { continue }
            var at = best.count
            while at > 0 && best[at - 1].value < v { at -= 1 }
            best.insert((i, v), at: at)
            if best.count > k { best.removeLast() }
        }
        return best
    }

    /// For each token, the `count` vocabulary tokens with the most similar embedding rows (cosine),
    /// itself excluded: one pass over the embedding table, each distinct token scored once.
    static func neighbours(of tokens: [Int], in transformer: Transformer, count: Int) -> [[(index: Int, value: Float)]] {
        let distinct = Array(Set(tokens)).sorted()
        let queries = distinct.map { transformer.embedding(of: $0) }
        let norms = queries.map { max(norm($0), .leastNormalMagnitude) }
        var best = Array(repeating: [(index: Int, value: Float)](), count: distinct.count)
        for id in 0..<transformer.graph.tokenEmbedding.rows {
            let row = transformer.embedding(of: id)
            let rowNorm = max(norm(row), .leastNormalMagnitude)
            for (t, q) in queries.enumerated() where id != distinct[t] {
                let dot = unsafe q.withUnsafeBufferPointer { a in
                    unsafe row.withUnsafeBufferPointer { b in unsafe Ops.dot(a.baseAddress!, b.baseAddress!, count: a.count) }
                }
                let cosine = dot / (norms[t] * rowNorm)
                guard best[t].count < count || cosine > best[t][best[t].count - 1].value else { continue }
                var at = best[t].count
                while at > 0 && best[t][at - 1].value < cosine { at -= 1 }
                best[t].insert((id, cosine), at: at)
                if best[t].count > count { best[t].removeLast() }
            }
        }
        let slot = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
        return tokens.map { best[slot[$0]!] }
    }
}
