import WeightKitCore
import WeightKitGraph

extension Transformer {
    /// Runs `tokens` at the next positions, like `forward`, and returns the logits of each
    /// position from `first` (an index into `tokens`) on: [tokens.count − first, vocab], row-major.
    /// The tokens go through the forward pass in chunks of the prefill batch (matrix-matrix
    /// work); after each chunk the final norm and the unembedding run on its rows as one
    /// product. The last row equals what `forward` returns for the same call, up to the
    /// summation order of the unembedding product. What `perplexity` scores a window with.
    ///
    /// - Throws: what `forward` throws; `RuntimeError.nonFinite` naming the position and token id
    ///   when a row of logits holds NaN or ±Inf; `.invalidRequest` for `first` outside
    ///   `0..<tokens.count`, or a call that crosses longrope's switch from short to long factors
    ///   (there the forward pass runs the whole sequence again and keeps only the last rows).
    public func forward(_ tokens: [Int], logitsFrom first: Int) throws -> [Float] {
        guard (0..<tokens.count).contains(first) else {
            throw RuntimeError(.invalidRequest, "logits asked from token \(first) of a \(tokens.count)-token call")
        }
        if let original = longropeSwitch, position + tokens.count > original, position <= original {
            throw RuntimeError(.invalidRequest, "logits of every position across longrope's switch at \(original) are not implemented; use a context of at most \(original)")
        }
        let vocab = graph.config.vocabSize, d = graph.config.hiddenSize
        var out = [Float](repeating: 0, count: (tokens.count - first) * vocab)  // [rows, vocab]
        var normed = [Float](repeating: 0, count: state.batch * d)              // [batch, hidden]
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + state.batch)
            let p0 = position
            _ = try forward(Array(tokens[start..<end]))  // one chunk: state.x holds its final residual rows
            let lower = max(start, first)
            if lower < end {
                guard let unembedding = graph.unembedding else { throw RuntimeError.encoderHasNoLogits(graph.config.family.rawValue) }
                let rows = end - lower, x = unsafe state.x + (lower - start) * d
                try unsafe normed.withUnsafeMutableBufferPointer { nb in
                    try unsafe out.withUnsafeMutableBufferPointer { ob in
                        // SAFETY: state.x holds this chunk's end − start rows of d floats; normed
                        // holds batch ≥ rows rows; out holds (count − first) rows of vocab and
                        // row lower − first + rows ≤ count − first.
                        let y = unsafe ob.baseAddress! + (lower - first) * vocab
                        unsafe normalize(x, graph.finalNorm, graph.finalNormBias, into: nb.baseAddress!, n: rows)
                        unsafe MatMul.matMul(unembedding, nb.baseAddress!, y, n: rows, yStride: vocab, parallel: parallel, kernels: kernels)
                        unsafe finishLogits(y, count: rows * vocab)
                        if let bad = unsafe Ops.firstNonFinite(y, count: rows * vocab) {
                            throw RuntimeError(.nonFinite, "the logits are not finite (NaN or ±Inf) at position \(p0 + lower - start + bad / vocab), token id \(bad % vocab)")
                        }
                    }
                }
            }
            start = end
        }
        return out
    }
}
