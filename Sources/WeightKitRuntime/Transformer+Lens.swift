import WeightKitCore
import WeightKitGraph

extension Transformer {
    /// The logits the model would give if `residual` [hidden] were the last layer's output: the
    /// final norm and the unembedding of the forward pass, applied to any residual stream vector
    /// (the "logit lens"). Call it between forward passes, not from an observer callback. Throws
    /// what `forward` would for a graph that does not match its config.
    public func unembed(residual: [Float]) throws -> [Float] {
        if let graphProblem { throw graphProblem }
        guard let unembedding = graph.unembedding else {
            throw RuntimeError.encoderHasNoLogits(graph.config.family.rawValue)
        }
        let d = graph.config.hiddenSize
        precondition(residual.count == d, "unembed(residual:) takes one [hidden] vector")
        var normed = [Float](repeating: 0, count: d)
        var logits = [Float](repeating: 0, count: unembedding.rows)
        unsafe residual.withUnsafeBufferPointer { x in
            unsafe normed.withUnsafeMutableBufferPointer { out in
                unsafe normalize(x.baseAddress!, graph.finalNorm, graph.finalNormBias, into: out.baseAddress!, n: 1)
            }
        }
        unsafe normed.withUnsafeBufferPointer { x in
            unsafe logits.withUnsafeMutableBufferPointer { y in
                unsafe MatMul.matVec(unembedding, x.baseAddress!, y.baseAddress!, parallel: parallel, kernels: kernels)
                unsafe finishLogits(y.baseAddress!, count: y.count)
            }
        }
        return logits
    }

    /// Row `token` of the token embedding table, widened to f32 ([hidden]).
    public func embedding(of token: Int) -> [Float] {
        precondition(token >= 0 && token < graph.tokenEmbedding.rows, "token id outside the embedding table")
        var out = [Float](repeating: 0, count: graph.tokenEmbedding.columns)
        unsafe out.withUnsafeMutableBufferPointer { unsafe Self.row(graph.tokenEmbedding, token, into: $0.baseAddress!, kernels: kernels) }
        return out
    }

    /// A copy of `count` floats at `pointer`, for an observer (only called when one is attached).
    static func copy(_ pointer: UnsafePointer<Float>, _ count: Int) -> [Float] {
        unsafe Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}
