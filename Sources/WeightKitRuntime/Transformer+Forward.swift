import WeightKitCore
import WeightKitGraph

/// The RoPE angles of one forward call: inverse frequencies as float32 (as transformers keeps
/// them) and the factor cos and sin are scaled by. Dynamic and longrope scaling depend on the
/// call's last position, so these are computed per call.
struct RoPEAngles {
    var inverse: [Float]
    var factor: Float

    init(_ rope: RoPEConfig, sequenceLength: Int) {
        let f = rope.frequencies(sequenceLength: sequenceLength)
        inverse = f.inverse.map { Float($0) }
        factor = Float(f.attentionFactor)
    }
}

extension Transformer {
    /// The forward pass for `tokens` at positions `position ..< position + n` — one function,
    /// top to bottom, like llama2.c's `forward`, reading the config's description and never its
    /// family. `angles` are the RoPE angles of full and sliding layers for this call. Shapes:
    /// n tokens, d = hidden, kv = kvHeads·headDim.
    ///
    /// `segments` (an encoder's call) splits the chunk into sequences that each attend to all of
    /// themselves and nothing else, their positions counted from their own start; nil is a
    /// decoder's call, causal from `position`.
    ///
    /// - Throws: `RuntimeError.nonFinite` naming the layer and position when a layer's output
    ///   (or the logits) holds NaN or ±Inf.
    func forwardChunk(_ tokens: [Int], last: Bool, angles: (full: RoPEAngles?, sliding: RoPEAngles?), segments: [Range<Int>]?) throws {
        let c = graph.config, s = state, n = tokens.count, p0 = position
        // Each token's position and the cache rows it attends to (`span` is nil for causal attention).
        let (positions, span) = Self.layout(n: n, from: p0, segments: segments)
        let d = c.hiddenSize, qDim = c.qDim, kvDim = c.kvDim, hd = c.headDim
        let group = c.heads / c.kvHeads, kernels = self.kernels
        // SAFETY: RunState owns these buffers for the Transformer's lifetime; sizes are in RunState.
        let x = unsafe s.x, xb = unsafe s.xb, xb2 = unsafe s.xb2
        let q = unsafe s.q, k = unsafe s.k, v = unsafe s.v
        let att = unsafe s.attention, scores = unsafe s.scores
        let keyCache = unsafe s.keyCache, valueCache = unsafe s.valueCache

        // 1. Embedding: token rows (and learned positions) into the residual stream, scaled.
        // Every token is type 0 (one sentence): that row, looked up once, waits in xb2.
        if let types = graph.tokenTypeEmbedding { unsafe Self.row(types, 0, into: xb2, kernels: kernels) }
        for (t, token) in tokens.enumerated() {
            unsafe Self.row(graph.tokenEmbedding, token, into: x + t * d, kernels: kernels)
            if c.embeddingScale != 1 { unsafe Ops.scale(x + t * d, count: d, by: c.embeddingScale) }
            if let table = graph.positionEmbedding {
                unsafe Self.row(table, positions[t], into: xb, kernels: kernels)
                unsafe Ops.add(xb, into: x + t * d, count: d)
            }
            if graph.tokenTypeEmbedding != nil { unsafe Ops.add(xb2, into: x + t * d, count: d) }
        }
        if let norm = graph.embeddingNorm { unsafe normalize(x, norm, graph.embeddingNormBias, into: x, n: n) }
        if let observer { unsafe observer.embedded(tokens: tokens, position: p0, residual: Self.copy(x, n * d)) }  // [observer]

        // The cos/sin of each token's position, per attention kind (row kind·batch + t).
        for (kind, a) in [angles.full, angles.sliding].enumerated() {
            guard let a else { continue }
            for t in 0..<n { unsafe Ops.ropeRow(inverse: a.inverse, attentionFactor: a.factor, position: positions[t], into: s.ropeRows + (kind * s.batch + t) * hd) }
        }

        for (l, block) in graph.blocks.enumerated() {
            // 2. Attention: norm → Q, K, V → QK-norm → RoPE → cache → softmax(scale·QKᵀ)·V → O.
            unsafe normalize(x, block.attentionNorm, block.attentionNormBias, into: xb, n: n)
            unsafe project([(block.query, block.queryBias, q), (block.key, block.keyBias, k), (block.value, block.valueBias, v)], xb, n: n)
            if let qn = block.queryNorm, let kn = block.keyNorm {
                let perHead = c.qkNorm == .perHead
                unsafe rmsNormRows(q, qn, rows: perHead ? n * c.heads : n, width: perHead ? hd : qDim)
                unsafe rmsNormRows(k, kn, rows: perHead ? n * c.kvHeads : n, width: perHead ? hd : kvDim)
            }
            // Row r of the layer's cache holds position base + r (base > 0 only once a sliding
            // layer has shifted its window down).
            let base = unsafe slideCache(layer: l, from: p0, count: n)
            let kc = unsafe SendablePointer(UnsafeRawPointer(keyCache + s.cacheOffset[l]))
            let vc = unsafe SendablePointer(UnsafeRawPointer(valueCache + s.cacheOffset[l]))
            let qs = unsafe SendablePointer(UnsafeRawPointer(q)), outs = unsafe SendablePointer(UnsafeRawPointer(att))
            let ks = unsafe SendablePointer(UnsafeRawPointer(k)), vs = unsafe SendablePointer(UnsafeRawPointer(v))
            let sliding = c.attentionKind(layer: l) == .sliding
            let rope = c.rope(layer: l).map { ($0.rotaryDim, c.ropeLayout == .halfSplit) }
            let rows = unsafe SendablePointer(UnsafeRawPointer(s.ropeRows + (sliding && angles.sliding != nil ? s.batch * hd : 0)))
            perToken(n) { range in
                for t in range {
                    if let (rotary, halfSplit) = rope {
                        unsafe Ops.rope(qs.mutableFloats + t * qDim, heads: c.heads, headDim: hd, rotaryDim: rotary, halfSplit: halfSplit, row: rows.floats + t * hd)
                        unsafe Ops.rope(ks.mutableFloats + t * kvDim, heads: c.kvHeads, headDim: hd, rotaryDim: rotary, halfSplit: halfSplit, row: rows.floats + t * hd)
                    }
                    unsafe (kc.mutableFloats + (p0 + t - base) * kvDim).update(from: ks.floats + t * kvDim, count: kvDim)
                    unsafe (vc.mutableFloats + (p0 + t - base) * kvDim).update(from: vs.floats + t * kvDim, count: kvDim)
                }
            }
            let ss = unsafe SendablePointer(UnsafeRawPointer(scores))
            let capacity = s.capacity, scale = c.effectiveAttentionScale, softCap = c.attentionSoftCap ?? 0
            // Parallel over (token, head) pairs: each writes its own score row and output slice.
            // Causal rows grow with the token, so pairs are taken in the order token 0, n−1, 1,
            // n−2, …: contiguous ranges then get even work. In token order the second of two
            // threads had 3.6× the first's attention samples (SmolLM2 F16 prefill-128, perf); in
            // this order 1.14 / 1.16 %. An encoder's rows are all alike.
            parallel.forEachRange(n * c.heads, minimumPerThread: 2) { range in
                for pair in range {
                    let k = pair / c.heads, h = pair % c.heads, kvh = h / group
                    let t = span != nil ? k : k % 2 == 0 ? k / 2 : n - 1 - k / 2, job = t * c.heads + h
                    // Causal and windowed, or (an encoder) the token's whole sequence.
                    let start = span?[t].lowerBound ?? c.attentionStart(layer: l, position: p0 + t), end = span?[t].upperBound ?? p0 + t + 1
                    unsafe Ops.attend(
                        qs.floats + t * qDim + h * hd, keys: kc.floats + (start - base) * kvDim + kvh * hd, values: vc.floats + (start - base) * kvDim + kvh * hd,
                        stride: kvDim, headDim: hd, length: end - start, scale: scale, softCap: softCap,
                        scores: ss.mutableFloats + job * capacity, into: outs.mutableFloats + t * qDim + h * hd, kernels: kernels)
                }
            }
            if let observer {  // [observer] the softmax rows left in `scores`, zeros before a window
                for job in 0..<(n * c.heads) {
                    let t = job / c.heads
                    if let span {  // an encoder: the row over the token's whole sequence
                        unsafe observer.attention(layer: l, head: job % c.heads, position: positions[t], weights: Self.copy(scores + job * capacity, span[t].count))
                        continue
                    }
                    let p = p0 + t, start = c.attentionStart(layer: l, position: p)
                    let row = unsafe [Float](repeating: 0, count: start) + Self.copy(scores + job * capacity, p + 1 - start)
                    observer.attention(layer: l, head: job % c.heads, position: p, weights: row)
                }
            }
            unsafe project(block.output, block.outputBias, att, xb2, n: n)
            let attentionOut = unsafe finishSublayer(xb2, postNorm: block.postAttentionNorm, scratch: xb, n: n)
            if c.parallelResidual {
                unsafe s.attentionDelta.update(from: attentionOut, count: n * d)
            } else {
                unsafe addPerToken(attentionOut, into: x, n: n)
            }
            if let norm = block.attentionResidualNorm { unsafe normalize(x, norm, block.attentionResidualNormBias, into: x, n: n) }
            if let observer { unsafe observer.attentionAdded(layer: l, position: p0, delta: Self.copy(attentionOut, n * d)) }  // [observer]

            // 3. MLP (or the routed experts): norm → gate/up → act → down → residual.
            unsafe normalize(x, block.mlpNorm, block.mlpNormBias, into: xb, n: n)
            if let experts = block.experts, let moe = c.moe {
                unsafe mixture(experts, moe, xb, into: xb2, n: n)
            } else if let mlp = block.mlp {
                unsafe feedForward(mlp, xb, into: xb2, n: n)
                if let observer { unsafe observer.mlpActivations(layer: l, position: p0, hidden: Self.copy(s.hb, n * mlp.width)) }  // [observer]
            }
            let mlpOut = unsafe finishSublayer(xb2, postNorm: block.postMLPNorm, scratch: xb, n: n)
            unsafe addPerToken(mlpOut, into: x, n: n)
            if c.parallelResidual { unsafe addPerToken(s.attentionDelta, into: x, n: n) }
            if let norm = block.mlpResidualNorm { unsafe normalize(x, norm, block.mlpResidualNormBias, into: x, n: n) }
            if let observer { unsafe observer.mlpAdded(layer: l, position: p0, delta: Self.copy(mlpOut, n * d), residual: Self.copy(x, n * d)) }  // [observer]
            if let bad = unsafe Ops.firstNonFinite(x, count: n * d) {
                throw RuntimeError(.nonFinite, "layer \(l)'s output is not finite (NaN or ±Inf) at position \(p0 + bad / d), dimension \(bad % d)")
            }
        }

        // [matMulObserver] the unembedding's input for every row, though only the last is multiplied.
        if let matMulObserver, let unembedding = graph.unembedding {
            unsafe normalize(x, graph.finalNorm, graph.finalNormBias, into: xb, n: n)
            unsafe matMulObserver.multiplying([unembedding], input: UnsafeBufferPointer(start: xb, count: n * d), rows: n)
        }

        // 4. Unembedding: final norm of the last position → logits over the vocabulary.
        guard last, let unembedding = graph.unembedding else { return }
        let lastRow = unsafe x + (n - 1) * d
        unsafe normalize(lastRow, graph.finalNorm, graph.finalNormBias, into: xb, n: 1)
        try unsafe s.logits.withUnsafeMutableBufferPointer { logits in
            unsafe MatMul.matVec(unembedding, xb, logits.baseAddress!, parallel: parallel, kernels: kernels)
            unsafe finishLogits(logits.baseAddress!, count: logits.count)
            if let bad = unsafe Ops.firstNonFinite(logits.baseAddress!, count: logits.count) {
                throw RuntimeError(.nonFinite, "the logits are not finite (NaN or ±Inf) at position \(p0 + n - 1), token id \(bad)")
            }
            if let observer { unsafe observer.unembedded(position: p0 + n - 1, normed: Self.copy(xb, d), logits: Array(logits)) }  // [observer]
        }
    }

    /// Each token's position, and (for an encoder's `segments`) the range of chunk rows it
    /// attends to; a decoder's positions run on from `p0` and its span is nil (causal).
    static func layout(n: Int, from p0: Int, segments: [Range<Int>]?) -> (positions: [Int], span: [Range<Int>]?) {
        guard let segments else { return (Array(p0..<p0 + n), nil) }
        var positions = [Int](repeating: 0, count: n), span = [Range<Int>](repeating: 0..<0, count: n)
        for segment in segments {
            for t in segment {
                positions[t] = t - segment.lowerBound
                span[t] = segment
            }
        }
        return (positions, span)
    }

    /// Makes room in layer `l`'s cache for positions `p0 ..< p0 + n` and returns the position
    /// its row 0 holds. A full-attention layer's cache holds every position (base 0). A sliding
    /// layer's holds 2·(window + batch) rows: when the chunk would run past them, the rows still
    /// inside the window of the chunk's first token move to the front — each row moves at most
    /// once per window, so the cache costs a window's memory and O(1) copies per token.
    func slideCache(layer l: Int, from p0: Int, count n: Int) -> Int {
        let s = state, rows = s.cacheRows[l], base = s.cacheBase[l], kvDim = graph.config.kvDim
        guard p0 + n - base > rows else { return base }
        let keep = graph.config.attentionStart(layer: l, position: p0)
        precondition(keep >= base && p0 - keep + n <= rows, "a sliding cache smaller than its window and chunk")
        for cache in unsafe [s.keyCache, s.valueCache] {
            let start = unsafe cache + s.cacheOffset[l]
            // Overlapping when the kept rows outnumber the dropped ones: copyMemory is a memmove.
            unsafe UnsafeMutableRawPointer(start).copyMemory(from: start + (keep - base) * kvDim, byteCount: (p0 - keep) * kvDim * 4)
        }
        s.cacheBase[l] = keep
        return keep
    }

    /// Granite's logit scale and Gemma 2's final soft-cap, in place.
    func finishLogits(_ logits: UnsafeMutablePointer<Float>, count: Int) {
        let c = graph.config
        if c.logitScale != 1 { unsafe Ops.scale(logits, count: count, by: c.logitScale) }
        if let cap = c.finalLogitSoftCap { unsafe Ops.softCap(logits, count: count, cap: cap) }
    }

    /// A sublayer's output as it joins the residual: its post-norm (into `scratch`) if the block
    /// has one, then the residual multiplier; returns where the result is.
    func finishSublayer(_ out: UnsafeMutablePointer<Float>, postNorm: Weight?, scratch: UnsafeMutablePointer<Float>, n: Int) -> UnsafeMutablePointer<Float> {
        var result = unsafe out
        if let postNorm {
            unsafe normalize(out, postNorm, nil, into: scratch, n: n)
            unsafe result = scratch
        }
        let factor = graph.config.residualScale
        if factor != 1 { unsafe Ops.scale(result, count: n * graph.config.hiddenSize, by: factor) }
        return unsafe result
    }

    /// out = down(act(gate·x) · up·x) (+ biases) for n rows of x; the activations stay in `hb`.
    func feedForward(_ mlp: MLPWeights, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int) {
        let s = state, f = mlp.width, kernels = self.kernels, activation = graph.config.activation
        let hb = unsafe s.hb, hb2 = unsafe s.hb2
        if let gate = mlp.gate {
            unsafe project([(mlp.up, mlp.upBias, hb2), (gate, mlp.gateBias, hb)], x, n: n)
            let gates = unsafe SendablePointer(UnsafeRawPointer(hb)), ups = unsafe SendablePointer(UnsafeRawPointer(hb2))
            perToken(n) { r in
                let g = unsafe gates.mutableFloats + r.lowerBound * f, u = unsafe ups.floats + r.lowerBound * f
                switch activation {
                case .silu: unsafe Ops.swiglu(g, u, count: r.count * f, kernels: kernels)
                case .gelu, .geluTanh: unsafe Ops.geluGate(g, u, count: r.count * f, tanhApproximation: activation == .geluTanh)
                }
            }
        } else {
            unsafe project(mlp.up, mlp.upBias, x, hb, n: n)
            let hs = unsafe SendablePointer(UnsafeRawPointer(hb))
            perToken(n) { r in
                let h = unsafe hs.mutableFloats + r.lowerBound * f
                switch activation {
                case .silu: unsafe Ops.silu(h, count: r.count * f)
                case .gelu, .geluTanh: unsafe Ops.gelu(h, count: r.count * f, tanhApproximation: activation == .geluTanh)
                }
            }
        }
        unsafe project(mlp.down, mlp.downBias, hb, out, n: n)
    }

    /// out = Σ over each row's top-k experts of weight · expert(x): router logits → softmax →
    /// top-k (renormalised when the config says so); each expert runs once, on just the rows
    /// routed to it (gathered), so a layer costs what its chosen experts cost.
    func mixture(_ mixture: ExpertMixture, _ moe: ArchitectureConfig.MixtureOfExperts, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int) {
        let s = state, d = graph.config.hiddenSize, e = moe.experts
        let router = unsafe s.router, gathered = unsafe s.gathered, expertOut = unsafe s.expertOut
        unsafe project(mixture.router, nil, x, router, n: n)
        // Per row: the chosen experts and their weights.
        var routes = [[(expert: Int, weight: Float)]](repeating: [], count: n)
        for t in 0..<n {
            let p = unsafe router + t * e
            unsafe Ops.scalarSoftmax(p, count: e)
            // Highest probability first, the lower index on a tie.
            let order = unsafe (0..<e).sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
            var chosen = unsafe order.prefix(moe.topK).map { (expert: $0, weight: p[$0]) }
            if moe.normalizeTopK {
                let sum = chosen.reduce(0) { $0 + $1.weight }
                chosen = chosen.map { ($0.expert, $0.weight / sum) }
            }
            routes[t] = chosen
        }
        unsafe out.update(repeating: 0, count: n * d)
        for expert in 0..<e {
            let rows = (0..<n).compactMap { t in routes[t].first { $0.expert == expert }.map { (t, $0.weight) } }
            guard !rows.isEmpty else { continue }
            for (i, (t, _)) in rows.enumerated() { unsafe (gathered + i * d).update(from: x + t * d, count: d) }
            unsafe feedForward(mixture.experts[expert], gathered, into: expertOut, n: rows.count)
            for (i, (t, weight)) in rows.enumerated() {
                for j in 0..<d { unsafe out[t * d + j] += weight * expertOut[i * d + j] }
            }
        }
    }

    /// RMSNorm of `rows` consecutive rows of `width` floats in place, with weights [width] (QK-norm).
    func rmsNormRows(_ x: UnsafeMutablePointer<Float>, _ weight: Weight, rows: Int, width: Int) {
        let eps = graph.config.normEpsilon
        unsafe weight.storage.withUnsafeBytes { w in
            let wp = unsafe w.baseAddress!.assumingMemoryBound(to: Float.self)
            for r in 0..<rows { unsafe Ops.rmsNorm(x + r * width, wp, x + r * width, count: width, epsilon: eps) }
        }
    }

    /// Runs `body` over the tokens of a chunk: split over the threads for a prompt (otherwise the
    /// work between two matrix products — norms, RoPE, residual adds, SwiGLU — runs on one core
    /// while the others wait), inline for a few tokens.
    func perToken(_ n: Int, _ body: @escaping @Sendable (Range<Int>) -> Void) {
        if n < 8 { body(0..<n) } else { parallel.forEachRange(n, minimumPerThread: 4, body) }
    }

    /// y += x over n tokens of the hidden size.
    func addPerToken(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, n: Int) {
        let d = graph.config.hiddenSize
        let xs = unsafe SendablePointer(UnsafeRawPointer(x)), ys = unsafe SendablePointer(UnsafeRawPointer(y))
        perToken(n) { r in unsafe Ops.add(xs.floats + r.lowerBound * d, into: ys.mutableFloats + r.lowerBound * d, count: r.count * d) }
    }

    /// out = norm(x) row by row, the kind the config names: RMSNorm, or LayerNorm with `bias`
    /// (init's `structureProblem` check guarantees the bias is there when the config says so).
    /// With no weight (a model without pre-norms) out is a copy of x.
    func normalize(_ x: UnsafePointer<Float>, _ weight: Weight?, _ bias: Weight?, into out: UnsafeMutablePointer<Float>, n: Int) {
        let d = graph.config.hiddenSize, eps = graph.config.normEpsilon, kind = graph.config.norm
        guard let weight else { return unsafe out.update(from: x, count: n * d) }
        let xs = unsafe SendablePointer(UnsafeRawPointer(x)), outs = unsafe SendablePointer(UnsafeRawPointer(out))
        perToken(n) { range in
            unsafe weight.storage.withUnsafeBytes { w in
                let wp = unsafe w.baseAddress!.assumingMemoryBound(to: Float.self)
                switch kind {
                case .layer:
                    func run(_ b: UnsafePointer<Float>?) {
                        for t in range { unsafe Ops.layerNorm(xs.floats + t * d, wp, b, outs.mutableFloats + t * d, count: d, epsilon: eps) }
                    }
                    guard let bias else { return unsafe run(nil) }
                    unsafe bias.storage.withUnsafeBytes { b in unsafe run(b.baseAddress!.assumingMemoryBound(to: Float.self)) }
                case .rms:
                    for t in range { unsafe Ops.rmsNorm(xs.floats + t * d, wp, outs.mutableFloats + t * d, count: d, epsilon: eps) }
                }
            }
        }
    }

    /// out[t] = W·x[t] (+ bias) for t < n.
    func project(_ w: Weight, _ bias: Weight?, _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, n: Int) {
        unsafe project([(w, bias, out)], x, n: n)
    }

    /// Several projections of the same input in one parallel region (`MatMul.products`).
    func project(_ outputs: [(Weight, Weight?, UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, n: Int) {
        if let matMulObserver, let first = unsafe outputs.first {  // [matMulObserver]
            unsafe matMulObserver.multiplying(outputs.map(\.0), input: UnsafeBufferPointer(start: x, count: n * first.0.columns), rows: n)
        }
        unsafe MatMul.products(outputs.map { unsafe ($0.0, $0.2) }, x, n: n, parallel: parallel, kernels: kernels)
        for (w, bias, out) in unsafe outputs {
            guard let bias else { continue }
            unsafe bias.storage.withUnsafeBytes { b in
                let bp = unsafe b.baseAddress!.assumingMemoryBound(to: Float.self)
                for t in 0..<n { unsafe Ops.add(bp, into: out + t * w.rows, count: w.rows) }
            }
        }
    }

    /// Row `index` of an embedding table, widened to f32.
    static func row(_ table: Weight, _ index: Int, into out: UnsafeMutablePointer<Float>, kernels: KernelConfig) {
        if table.dtype.isQuantized { return unsafe QuantizedMatMul.row(table, index, into: out, kernels: kernels) }
        let width = table.columns
        unsafe table.storage.withUnsafeBytes { raw in
            unsafe ElementConversion.decodeToFloat32(raw.baseAddress! + index * width * table.dtype.blockBytes, from: table.dtype, into: UnsafeMutableRawPointer(out), count: width)
        }
    }
}
