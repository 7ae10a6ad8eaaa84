#if canImport(Glibc)
import Glibc
#endif
import WeightKitCore
import WeightKitGraph

/// Executes a `ModelGraph`: the four stages of a transformer, with a KV cache.
///
/// Prefill runs the prompt in chunks of up to `batch` tokens (matrix-matrix products); decode runs
/// one token at a time (matrix-vector). All buffers live in `RunState`, allocated at init.
public final class Transformer {
    /// The model (its quantized matrices interleaved from the first decode step on).
    public private(set) var graph: ModelGraph
    /// True once `graph` went through `preparedGraph`.
    private var prepared = false
    /// Work splitting over cores.
    public let parallel: Parallel
    let state: RunState
    /// Positions already in the KV cache.
    public private(set) var position = 0
    /// Sees every stage of the forward pass (`weightkit trace`); nil — the default — costs nothing.
    public var observer: (any ForwardObserver)?

    /// Prepares to run `graph` for sequences of up to `maxSequence` tokens (capped at the model's
    /// context length), on `threads` threads (0: all cores).
    public init(graph: ModelGraph, maxSequence: Int? = nil, threads: Int = 0, batch: Int = 128) {
        self.graph = graph
        self.parallel = Parallel(threads: threads)
        let capacity = max(1, min(graph.config.contextLength, maxSequence ?? graph.config.contextLength))
        // Chunks longer than the sequence would only be unused buffers.
        self.state = RunState(config: graph.config, capacity: capacity, batch: max(1, min(batch, capacity)))
    }

    /// The graph with every block-quantized projection (and the unembedding) copied into the
    /// interleaved layout decode reads fastest (`QuantizedMatMul.interleaved`); the token
    /// embedding stays as mapped (only rows are looked up in it). The copies cost the quantized
    /// weights' size in memory and time (SmolLM2 Q4_1: +97 MB peak, +75 ms); `WEIGHTKIT_INTERLEAVE=0` skips them.
    /// Only decode gains from the layout, so a Transformer makes the copies at its first
    /// one-token step (a trace or diff that runs one prompt never pays for them); a caller that
    /// will decode can call this first and pass the result, so the cost falls in its load time
    /// and is paid once for several Transformers (already interleaved weights are kept as they are).
    public static func preparedGraph(_ graph: ModelGraph) -> ModelGraph {
        if let flag = unsafe getenv("WEIGHTKIT_INTERLEAVE"), unsafe String(cString: flag) == "0" { return graph }
        var g = graph
        g.blocks = graph.blocks.map { b in
            var b = b
            b.query = QuantizedMatMul.interleaved(b.query)
            b.key = QuantizedMatMul.interleaved(b.key)
            b.value = QuantizedMatMul.interleaved(b.value)
            b.output = QuantizedMatMul.interleaved(b.output)
            b.gate = b.gate.map(QuantizedMatMul.interleaved)
            b.up = QuantizedMatMul.interleaved(b.up)
            b.down = QuantizedMatMul.interleaved(b.down)
            return b
        }
        g.unembedding = QuantizedMatMul.interleaved(graph.unembedding)
        return g
    }

    /// Positions the cache can hold.
    public var capacity: Int { state.capacity }

    /// Forgets the cached sequence.
    public func reset() { position = 0 }

    /// Runs `tokens` at the next positions and returns the logits of the last one.
    public func forward(_ tokens: [Int]) throws -> [Float] {
        guard !tokens.isEmpty else { throw RuntimeError(.invalidRequest, "no tokens to run") }
        guard position + tokens.count <= state.capacity else {
            throw RuntimeError(.contextOverflow, "\(position + tokens.count) tokens exceed the \(state.capacity)-token context")
        }
        if tokens.count == 1, !prepared {
            graph = Self.preparedGraph(graph)
            prepared = true
        }
        let vocab = graph.config.vocabSize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocab }) {
            throw RuntimeError(.invalidToken, "token id \(bad) is outside the vocabulary of \(vocab)")
        }
        var start = 0
        while start < tokens.count {
            let chunk = Array(tokens[start..<min(tokens.count, start + state.batch)])
            forwardChunk(chunk, last: start + chunk.count == tokens.count)
            position += chunk.count
            start += chunk.count
        }
        return state.logits
    }
}
