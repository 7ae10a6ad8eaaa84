#if canImport(Glibc)
import Glibc
#endif
import Dispatch
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

    /// The graph as decode reads it fastest: every projection and the unembedding copied, in the
    /// order a token reads them, into one buffer on transparent huge pages (`AlignedBuffer(count:
    /// hugePages:)`), block-quantized ones in the interleaved layout (`QuantizedMatMul.interleaved`).
    /// Read straight from the file's mapping (4 KiB pages) one core streamed f32 weights at
    /// ~21 GB/s, from huge pages ~32 GB/s (docs/BENCHMARKS.md). The pages of the file that were
    /// copied are dropped from this process's resident set, so memory holds the weights once;
    /// the token embedding stays as mapped (only rows are looked up in it). Costs a copy of the
    /// weights at load (SmolLM2 f32, 538 MB on both cores: 120–130 ms when the kernel has huge
    /// pages free, 0.7–0.9 s when this VM must fault in fresh memory). `WEIGHTKIT_COPY_WEIGHTS=0` skips it (decode reads
    /// the mapping as it is). Only decode gains much, so a Transformer makes the copy at its
    /// first one-token step (a trace or diff that runs one prompt never pays for it); a caller
    /// that will decode can call this first and pass the result, so the cost falls in its load
    /// time and is paid once for several Transformers. Idempotent.
    ///
    /// When the copy would take more than half of `availableMemory` (default: the kernel's
    /// MemAvailable), the graph is returned as it is: a model that only just fits in memory is
    /// better decoded from its mapping, slower, than pushed out of memory by its copy.
    public static func preparedGraph(_ graph: ModelGraph, availableMemory: Int? = nil) -> ModelGraph {
        if let flag = unsafe getenv("WEIGHTKIT_COPY_WEIGHTS"), unsafe String(cString: flag) == "0" { return graph }
        // Two walks over the same weights in the same order: sizes, then the new graph (views into
        // one buffer) with the pieces that fill it; big copies are split for the cores.
        func each(_ g: ModelGraph, _ body: (Weight) -> Weight) -> ModelGraph {
            var g = g
            g.blocks = g.blocks.map { b in
                var b = b
                b.query = body(b.query)
                b.key = body(b.key)
                b.value = body(b.value)
                b.output = body(b.output)
                b.gate = b.gate.map(body)
                b.up = body(b.up)
                b.down = body(b.down)
                return b
            }
            g.unembedding = body(g.unembedding)
            return g
        }
        func padded(_ size: Int) -> Int { (size + 63) / 64 * 64 }
        var total = 0
        _ = each(graph) { w in
            total += copyBytes(w).map(padded) ?? 0
            return w
        }
        let available = availableMemory ?? ProcFile.value("MemAvailable", in: "/proc/meminfo").map { $0 * 1024 } ?? Int.max
        guard total > 0, total <= available / 2 else { return graph }
        let arena = AlignedBuffer(count: total, hugePages: true)
        var pieces: [CopyPiece] = [], offset = 0
        let prepared = each(graph) { w in
            guard let size = copyBytes(w) else { return w }
            let interleave = QuantizedMatMul.interleavedBytes(w) != nil
            if interleave {
                pieces.append(CopyPiece(weight: w, source: nil, destination: offset))
            } else {
                for lower in stride(from: 0, to: size, by: CopyPiece.bytes) {
                    pieces.append(CopyPiece(weight: w, source: lower..<min(size, lower + CopyPiece.bytes), destination: offset + lower))
                }
            }
            defer { offset += padded(size) }
            return Weight(info: w.info, storage: TensorStorage(buffer: arena).slice(offset..<offset + size),
                          blockOrder: interleave ? .interleaved4 : w.blockOrder)
        }
        // Most of the time here is the kernel handing out the new pages (on a VM, fresh memory
        // faults in at ~0.5 GB/s the first time), so the pieces go to every core.
        let work = pieces
        DispatchQueue.concurrentPerform(iterations: work.count) { i in
            let piece = work[i]
            unsafe arena.withUnsafeMutableBytes { all in
                // SAFETY: every piece lies inside the arena (the first walk summed the sizes) and
                // pieces do not overlap, so threads write disjoint bytes.
                let dst = unsafe all.baseAddress! + piece.destination
                if let range = piece.source {
                    let source = piece.weight.storage.slice(range)
                    unsafe source.withUnsafeBytes { src in unsafe dst.copyMemory(from: src.baseAddress!, byteCount: src.count) }
                    source.releaseResidentPages()
                } else {
                    unsafe QuantizedMatMul.interleave(piece.weight, into: dst)
                    piece.weight.storage.releaseResidentPages()
                }
            }
        }
        return prepared
    }

    /// One piece of `preparedGraph`'s copy: bytes `source` of a weight copied as they are, or
    /// (source nil) a whole block-quantized weight interleaved; written at `destination`.
    struct CopyPiece: Sendable {
        static let bytes = 8 << 20
        let weight: Weight
        let source: Range<Int>?
        let destination: Int
    }

    /// Bytes `preparedGraph` copies for `w`: the interleaved size of a block-quantized matrix, the
    /// bytes of an f32/f16/bf16 matrix still in a file's mapping; nil for anything else (already
    /// copied, or no kernel reads it in place).
    static func copyBytes(_ w: Weight) -> Int? {
        if let size = QuantizedMatMul.interleavedBytes(w) { return size }
        guard w.info.shape.rank == 2, w.blockOrder == .rows, w.storage.isMapped else { return nil }
        switch w.dtype {
        case .float32, .float16, .bfloat16: return w.storage.count
        default: return nil
        }
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
