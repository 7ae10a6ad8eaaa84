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
    /// How this Transformer runs (threads, kernels, weight copy).
    public let options: RuntimeOptions
    /// The kernel bodies `options` resolve to on this CPU.
    public let kernels: KernelConfig
    /// Work splitting over cores.
    public let parallel: Parallel
    let state: RunState
    /// Why `graph` cannot run as its config describes it (checked once at init, thrown by `forward`).
    let graphProblem: RuntimeError?
    /// Positions already in the KV cache.
    public private(set) var position = 0
    /// The tokens at those positions (kept only for longrope's switch, below).
    private var history: [Int] = []
    /// The RoPE angles when no scaling depends on the sequence length (computed once at init);
    /// nil: `forward` computes them per call.
    private let fixedAngles: (full: RoPEAngles?, sliding: RoPEAngles?)?
    /// Sees every stage of the forward pass (`weightkit trace`); nil — the default — costs nothing.
    public var observer: (any ForwardObserver)?
    /// Sees the input of every matrix product (`weightkit imatrix`); nil — the default — costs
    /// one check per product.
    public var matMulObserver: (any MatMulObserver)?

    /// Prepares to run `graph` for sequences of up to `maxSequence` tokens (capped at the model's
    /// context length), as `options` say; prompts run in chunks of up to `batch` tokens.
    public init(graph: ModelGraph, maxSequence: Int? = nil, options: RuntimeOptions = RuntimeOptions(), batch: Int = 128) {
        self.graph = graph
        self.options = options
        self.kernels = options.kernelConfig
        self.parallel = Parallel(threads: options.threads, pool: options.threadPool)
        self.graphProblem = Self.structureProblem(graph)
        let ropes = [graph.config.rope, graph.config.slidingRope].compactMap { $0 }
        self.fixedAngles = ropes.contains(where: \.dependsOnSequenceLength) ? nil : Self.angles(graph.config, sequenceLength: 0)
        let capacity = max(1, min(graph.config.contextLength, maxSequence ?? graph.config.contextLength))
        // Chunks longer than the sequence would only be unused buffers.
        self.state = RunState(config: graph.config, capacity: capacity, batch: max(1, min(batch, capacity)))
    }

    /// Prepares to run `graph` on `threads` threads (0: all cores), every other option at its default.
    public convenience init(graph: ModelGraph, maxSequence: Int? = nil, threads: Int, batch: Int = 128) {
        self.init(graph: graph, maxSequence: maxSequence, options: RuntimeOptions(threads: threads), batch: batch)
    }

    /// The first way `graph` does not match its description: a norm, QK-norm, MLP or expert
    /// mixture that the config asks for and the block lacks (or the reverse), or a LayerNorm
    /// bias the config has no place for. Bound graphs always match; this guards graphs built or
    /// edited by hand.
    static func structureProblem(_ graph: ModelGraph) -> RuntimeError? {
        let c = graph.config
        let layerBias = c.norm == .layer && c.normBias
        func mismatch(_ what: String, has: Bool, wants: Bool) -> RuntimeError? {
            guard has != wants else { return nil }
            return wants
                ? RuntimeError(.invalidModel, "the config asks for \(what) but the graph has none")
                : RuntimeError(.invalidModel, "the graph has \(what), which the config has no place for")
        }
        let stem: [(String, Bool, Bool)] = [
            ("a final norm", graph.finalNorm != nil, c.causal),
            ("an unembedding", graph.unembedding != nil, c.causal),
            ("a bias of the final norm", graph.finalNormBias != nil, c.causal && layerBias),
            ("a norm of the embeddings", graph.embeddingNorm != nil, c.embeddingNorm),
            ("a bias of the embedding norm", graph.embeddingNormBias != nil, c.embeddingNorm && layerBias),
            ("a token-type embedding", graph.tokenTypeEmbedding != nil, c.tokenTypes > 0),
            ("learned positions", graph.positionEmbedding != nil, c.learnedPositions),
        ]
        for (what, has, wants) in stem {
            if let p = mismatch(what, has: has, wants: wants) { return p }
        }
        if !c.causal, c.layerAttention.contains(.sliding) {
            return RuntimeError(.invalidModel, "sliding-window attention in an encoder is not implemented")
        }
        guard graph.blocks.count == c.layers, c.layerAttention.count == c.layers, c.moe.map({ $0.sparseLayers.count == c.layers }) ?? true else {
            return RuntimeError(.invalidModel, "the config describes \(c.layers) layers (\(c.layerAttention.count) attention kinds) but the graph has \(graph.blocks.count)")
        }
        for (l, b) in graph.blocks.enumerated() {
            let checks: [(String, Bool, Bool)] = [
                ("layer \(l)'s attention norm", b.attentionNorm != nil, c.preNorm),
                ("layer \(l)'s MLP norm", b.mlpNorm != nil, c.preNorm),
                ("a bias of layer \(l)'s attention norm", b.attentionNormBias != nil, c.preNorm && layerBias),
                ("a bias of layer \(l)'s MLP norm", b.mlpNormBias != nil, c.preNorm && layerBias),
                ("layer \(l)'s post-attention norm", b.postAttentionNorm != nil, c.postNorm),
                ("layer \(l)'s post-MLP norm", b.postMLPNorm != nil, c.postNorm),
                ("layer \(l)'s norm after attention's residual", b.attentionResidualNorm != nil, c.residualNorm),
                ("layer \(l)'s norm after the MLP's residual", b.mlpResidualNorm != nil, c.residualNorm),
                ("a bias of layer \(l)'s residual norms", b.attentionResidualNormBias != nil && b.mlpResidualNormBias != nil, c.residualNorm && layerBias),
                ("layer \(l)'s query and key norms", b.queryNorm != nil && b.keyNorm != nil, c.qkNorm != .none),
                ("layer \(l)'s experts", b.experts != nil, c.isMoE(layer: l)),
                ("layer \(l)'s dense MLP", b.mlp != nil, !c.isMoE(layer: l)),
            ]
            for (what, has, wants) in checks {
                if let p = mismatch(what, has: has, wants: wants) { return p }
            }
            if let experts = b.experts, experts.experts.count != c.moe?.experts {
                return RuntimeError(.invalidModel, "layer \(l) has \(experts.experts.count) experts, the config \(c.moe?.experts ?? 0)")
            }
        }
        return nil
    }

    /// The graph as decode reads it fastest: every projection and the unembedding copied, in the
    /// order a token reads them, into one buffer on transparent huge pages (`AlignedBuffer(count:
    /// hugePages:)`), block-quantized ones in the interleaved layout (`QuantizedMatMul.interleaved`).
    /// One core streams weights from huge pages about half again as fast as from the file's
    /// 4 KiB-page mapping (figures in docs/BENCHMARKS.md). The pages of the file that were
    /// copied are dropped from this process's resident set, so memory holds the weights once;
    /// the token embedding stays as mapped (only rows are looked up in it). Costs a copy of the
    /// weights at load, mostly the kernel handing out fresh pages. With `options.copyWeights`
    /// false the graph is returned as it is (decode reads the mapping). Only decode gains much,
    /// so a Transformer makes the copy at its first one-token step (a trace or diff that runs one
    /// prompt never pays for it); a caller that will decode can call this first and pass the
    /// result, so the cost falls in its load time and is paid once for several Transformers.
    /// Idempotent.
    ///
    /// When the copy would take more than half of `availableMemory` (default: the system's
    /// available memory, `SystemMemory.available`), the graph is returned as it is: a model that
    /// only just fits in memory is better decoded from its mapping, slower, than pushed out of
    /// memory by its copy.
    public static func preparedGraph(
        _ graph: ModelGraph, options: RuntimeOptions = RuntimeOptions(), availableMemory: Int? = nil
    ) -> ModelGraph {
        guard options.copyWeights else { return graph }
        // Two walks over the same weights in the same order: sizes, then the new graph (views into
        // one buffer) with the pieces that fill it; big copies are split for the cores.
        func each(_ g: ModelGraph, _ body: (Weight) -> Weight) -> ModelGraph {
            var g = g
            g.blocks = g.blocks.map { $0.mappingMatrices(body).mappingVectors(body) }
            g.unembedding = g.unembedding.map(body)
            g.finalNorm = g.finalNorm.map(body)
            g.finalNormBias = g.finalNormBias.map(body)
            g.embeddingNorm = g.embeddingNorm.map(body)
            g.embeddingNormBias = g.embeddingNormBias.map(body)
            return g
        }
        func padded(_ size: Int) -> Int { (size + 63) / 64 * 64 }
        var total = 0
        _ = each(graph) { w in
            total += copyBytes(w).map(padded) ?? 0
            return w
        }
        let available = availableMemory ?? SystemMemory.available ?? Int.max
        guard total > 0, total <= available / 2 else { return graph }
        let arena = AlignedBuffer(count: total, hugePages: true)
        var pieces: [CopyPiece] = [], offset = 0
        let prepared = each(graph) { w in
            guard let size = copyBytes(w) else { return w }
            let interleave = QuantizedMatMul.interleavedBytes(w) != nil
            if interleave {
                // Groups of four rows, about CopyPiece.bytes each: the file pages of one piece are
                // released before the next is read, so a large table is never resident twice.
                let rowBytes = w.storage.count / max(1, w.rows)
                let step = max(4, CopyPiece.bytes / max(1, rowBytes) / 4 * 4)
                for lower in stride(from: 0, to: w.rows, by: step) {
                    let rows = lower..<min(w.rows, lower + step)
                    pieces.append(CopyPiece(weight: w, source: rows, destination: offset + QuantizedMatMul.interleavedOffset(w, row: lower),
                                            interleaved: true))
                }
            } else {
                for lower in stride(from: 0, to: size, by: CopyPiece.bytes) {
                    pieces.append(CopyPiece(weight: w, source: lower..<min(size, lower + CopyPiece.bytes), destination: offset + lower,
                                            interleaved: false))
                }
            }
            defer { offset += padded(size) }
            return Weight(info: w.info, storage: TensorStorage(buffer: arena).slice(offset..<offset + size),
                          blockOrder: interleave ? .interleaved4 : w.blockOrder)
        }
        // A read of a small weight (a norm) faults in the file pages around it, which belong to
        // neighbouring matrices: the vectors go first, so the matrices' copies release those pages.
        let vectors = pieces.filter { $0.weight.info.shape.rank == 1 }
        copy(vectors, into: arena)
        copy(pieces.filter { $0.weight.info.shape.rank != 1 }, into: arena)
        var result = prepared
        if let tied = graph.unembedding, let copied = prepared.unembedding, sameBytes(tied, graph.tokenEmbedding) {
            // Tied embeddings: lookups read the copy too, so the file's pages stay released
            // (each lookup in the mapping would fault in the pages around its row).
            result.tokenEmbedding = copied
        }
        return result
    }

    /// Whether `a` and `b` are views of the same bytes (a tied embedding and unembedding).
    static func sameBytes(_ a: Weight, _ b: Weight) -> Bool {
        guard a.info.shape == b.info.shape, a.dtype == b.dtype, a.blockOrder == b.blockOrder else { return false }
        let pa = unsafe a.storage.withUnsafeBytes { unsafe $0.baseAddress }, pb = unsafe b.storage.withUnsafeBytes { unsafe $0.baseAddress }
        return unsafe pa == pb
    }

    /// Writes every piece into `arena` and drops the copied file pages from the resident set.
    /// Most of the time here is the kernel handing out the new pages, so the pieces go to every core.
    static func copy(_ pieces: [CopyPiece], into arena: AlignedBuffer) {
        DispatchQueue.concurrentPerform(iterations: pieces.count) { i in
            let piece = pieces[i]
            unsafe arena.withUnsafeMutableBytes { all in
                // SAFETY: every piece lies inside the arena (the first walk summed the sizes) and
                // pieces do not overlap, so threads write disjoint bytes.
                let dst = unsafe all.baseAddress! + piece.destination
                let w = piece.weight
                if piece.interleaved {
                    unsafe QuantizedMatMul.interleave(w, rows: piece.source, into: dst)
                    let rowBytes = w.storage.count / max(1, w.rows)
                    w.storage.slice(piece.source.lowerBound * rowBytes..<piece.source.upperBound * rowBytes).releaseResidentPages()
                } else {
                    let source = w.storage.slice(piece.source)
                    unsafe source.withUnsafeBytes { src in unsafe dst.copyMemory(from: src.baseAddress!, byteCount: src.count) }
                    source.releaseResidentPages()
                }
            }
        }
    }

    /// One piece of `preparedGraph`'s copy, written at `destination`: bytes `source` of a weight
    /// copied as they are, or (`interleaved`) rows `source` of a block-quantized weight interleaved.
    struct CopyPiece: Sendable {
        static let bytes = 8 << 20
        let weight: Weight
        let source: Range<Int>
        let destination: Int
        let interleaved: Bool
    }

    /// Bytes `preparedGraph` copies for `w`: the interleaved size of a block-quantized matrix,
    /// the bytes of an f32/f16/bf16 matrix still in a file's mapping, or of a norm or bias
    /// vector there (each read of one would fault in the file pages around it); nil for anything
    /// else (already copied, or no kernel reads it in place).
    static func copyBytes(_ w: Weight) -> Int? {
        if let size = QuantizedMatMul.interleavedBytes(w) { return size }
        if w.info.shape.rank == 1, w.storage.isMapped { return w.storage.count }
        guard w.info.shape.rank == 2, w.blockOrder == .rows, w.storage.isMapped else { return nil }
        switch w.dtype {
        case .float32, .float16, .bfloat16: return w.storage.count
        default: return nil
        }
    }

    /// Positions the cache can hold.
    public var capacity: Int { state.capacity }

    /// Rows each layer's KV cache holds: the capacity for full attention, 2·(window + batch)
    /// for a sliding layer when that is less.
    public var cacheRows: [Int] { state.cacheRows }

    /// Forgets the cached sequence.
    public func reset() {
        position = 0
        history = []
        state.cacheBase = Array(repeating: 0, count: graph.config.layers)
    }

    /// The RoPE angles of full and sliding layers for a call ending at `sequenceLength`.
    static func angles(_ c: ArchitectureConfig, sequenceLength: Int) -> (full: RoPEAngles?, sliding: RoPEAngles?) {
        (c.rope.map { RoPEAngles($0, sequenceLength: sequenceLength) }, c.slidingRope.map { RoPEAngles($0, sequenceLength: sequenceLength) })
    }

    /// The last position that still uses longrope's short factors, when the model has them.
    var longropeSwitch: Int? {
        guard case .longrope(_, _, let original, _)? = graph.config.rope?.scaling else { return nil }
        return original
    }

    /// Runs `tokens` at the next positions and returns the logits of the last one.
    public func forward(_ tokens: [Int]) throws -> [Float] {
        if let graphProblem { throw graphProblem }
        guard graph.config.causal else {
            throw RuntimeError.encoderHasNoLogits(graph.config.family.rawValue)
        }
        guard !tokens.isEmpty else { throw RuntimeError(.invalidRequest, "no tokens to run") }
        guard position + tokens.count <= state.capacity else {
            throw RuntimeError(.contextOverflow, "\(position + tokens.count) tokens exceed the \(state.capacity)-token context")
        }
        if tokens.count == 1, !prepared {
            graph = Self.preparedGraph(graph, options: options)
            prepared = true
        }
        let vocab = graph.config.vocabSize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocab }) {
            throw RuntimeError(.invalidToken, "token id \(bad) is outside the vocabulary of \(vocab)")
        }
        // Longrope switches from short to long factors once the sequence outgrows the original
        // context; transformers (Phi-3's prepare_inputs_for_generation) then drops its cache and
        // runs the whole sequence again, so every cached key turns with the long factors too.
        if let original = longropeSwitch, position > 0, position <= original, position + tokens.count > original {
            let all = history + tokens
            reset()
            return try forward(all)
        }
        // Dynamic and longrope scaling pick their frequencies by the call's last position.
        let angles = fixedAngles ?? Self.angles(graph.config, sequenceLength: position + tokens.count)
        var start = 0
        while start < tokens.count {
            let chunk = Array(tokens[start..<min(tokens.count, start + state.batch)])
            try forwardChunk(chunk, last: start + chunk.count == tokens.count, angles: angles, segments: nil)
            if longropeSwitch != nil { history += chunk }
            position += chunk.count
            start += chunk.count
        }
        return state.logits
    }

    /// The last layer's hidden states of each of `sequences` (an encoder's output), [count, hidden]
    /// row-major per sequence. Each sequence attends to all of itself and nothing else; several
    /// short ones run together in one chunk of up to `batch` tokens (their attention kept apart,
    /// positions counted from each one's start), so a batch of sentences costs matrix-matrix
    /// products without padding.
    ///
    /// - Throws: `RuntimeError` for a decoder (`.invalidRequest`), an empty or over-long sequence
    ///   (`.contextOverflow` names it), a token outside the vocabulary, or non-finite values.
    public func encode(_ sequences: [[Int]]) throws -> [[Float]] {
        if let graphProblem { throw graphProblem }
        let c = graph.config, d = c.hiddenSize
        guard !c.causal else {
            throw RuntimeError(.invalidRequest, "\(c.family.rawValue) is a causal decoder: encode runs encoders only")
        }
        let limit = min(state.batch, state.capacity)
        for (i, s) in sequences.enumerated() {
            guard !s.isEmpty else { throw RuntimeError(.invalidRequest, "sequence \(i) has no tokens") }
            guard s.count <= limit else {
                throw RuntimeError(.contextOverflow, "sequence \(i) has \(s.count) tokens; this encoder runs at most \(limit)")
            }
            if let bad = s.first(where: { $0 < 0 || $0 >= c.vocabSize }) {
                throw RuntimeError(.invalidToken, "token id \(bad) in sequence \(i) is outside the vocabulary of \(c.vocabSize)")
            }
        }
        let angles = fixedAngles ?? Self.angles(c, sequenceLength: sequences.map(\.count).max() ?? 0)
        var results: [[Float]] = []
        results.reserveCapacity(sequences.count)
        var next = 0
        while next < sequences.count {
            // As many whole sequences as fit in one chunk.
            var end = next, tokens: [Int] = [], segments: [Range<Int>] = []
            while end < sequences.count, tokens.count + sequences[end].count <= limit {
                segments.append(tokens.count..<tokens.count + sequences[end].count)
                tokens += sequences[end]
                end += 1
            }
            reset()
            try forwardChunk(tokens, last: false, angles: angles, segments: segments)
            for segment in segments {
                unsafe results.append(Self.copy(state.x + segment.lowerBound * d, segment.count * d))
            }
            next = end
        }
        reset()
        return results
    }
}
