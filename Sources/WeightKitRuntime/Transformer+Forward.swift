import WeightKitCore
import WeightKitGraph

extension Transformer {
    /// The forward pass for `tokens` at positions `position ..< position + n` — one function,
    /// top to bottom, like llama2.c's `forward`. Shapes: n tokens, d = hidden, kv = kvHeads·headDim.
    func forwardChunk(_ tokens: [Int], last: Bool) {
        let c = graph.config, s = state, n = tokens.count, p0 = position
        let d = c.hiddenSize, qDim = c.qDim, kvDim = c.kvDim, hd = c.headDim, f = c.intermediateSize
        let group = c.heads / c.kvHeads, kernels = self.kernels
        let scale = 1 / Float(hd).squareRoot()
        // SAFETY: RunState owns these buffers for the Transformer's lifetime; sizes are in RunState.
        let x = unsafe s.x, xb = unsafe s.xb, xb2 = unsafe s.xb2
        let q = unsafe s.q, k = unsafe s.k, v = unsafe s.v
        let att = unsafe s.attention, scores = unsafe s.scores
        let hb = unsafe s.hb, hb2 = unsafe s.hb2
        let keyCache = unsafe s.keyCache, valueCache = unsafe s.valueCache, rope = unsafe s.ropeTable

        // 1. Embedding: token rows (and learned positions for gpt2) into the residual stream.
        for (t, token) in tokens.enumerated() {
            unsafe Self.row(graph.tokenEmbedding, token, into: x + t * d, kernels: kernels)
            if let positions = graph.positionEmbedding {
                unsafe Self.row(positions, p0 + t, into: xb, kernels: kernels)
                unsafe Ops.add(xb, into: x + t * d, count: d)
            }
        }
        if let observer { unsafe observer.embedded(tokens: tokens, position: p0, residual: Self.copy(x, n * d)) }  // [observer]

        for (l, block) in graph.blocks.enumerated() {
            // 2. Attention: norm → Q, K, V → RoPE → cache → softmax(QKᵀ/√d)·V → O → residual.
            unsafe normalize(x, block.attentionNorm, block.attentionNormBias, into: xb, n: n)
            unsafe project([(block.query, block.queryBias, q), (block.key, block.keyBias, k), (block.value, block.valueBias, v)], xb, n: n)
            let layerCache = l * s.capacity * kvDim
            let kc = unsafe SendablePointer(UnsafeRawPointer(keyCache + layerCache))
            let vc = unsafe SendablePointer(UnsafeRawPointer(valueCache + layerCache))
            let qs = unsafe SendablePointer(UnsafeRawPointer(q)), outs = unsafe SendablePointer(UnsafeRawPointer(att))
            let ks = unsafe SendablePointer(UnsafeRawPointer(k)), vs = unsafe SendablePointer(UnsafeRawPointer(v))
            let table = unsafe SendablePointer(UnsafeRawPointer(rope))
            perToken(n) { range in
                for t in range {
                    if c.family != .gpt2 {
                        let halfSplit = c.ropeLayout == .halfSplit
                        unsafe Ops.rope(qs.mutableFloats + t * qDim, heads: c.heads, headDim: hd, position: p0 + t, halfSplit: halfSplit, table: table.floats)
                        unsafe Ops.rope(ks.mutableFloats + t * kvDim, heads: c.kvHeads, headDim: hd, position: p0 + t, halfSplit: halfSplit, table: table.floats)
                    }
                    unsafe (kc.mutableFloats + (p0 + t) * kvDim).update(from: ks.floats + t * kvDim, count: kvDim)
                    unsafe (vc.mutableFloats + (p0 + t) * kvDim).update(from: vs.floats + t * kvDim, count: kvDim)
                }
            }
            let ss = unsafe SendablePointer(UnsafeRawPointer(scores))
            let capacity = s.capacity
            // Parallel over (token, head) pairs: each writes its own score row and output slice.
            parallel.forEachRange(n * c.heads, minimumPerThread: 2) { range in
                for job in range {
                    let t = job / c.heads, h = job % c.heads, kvh = h / group
                    let length = p0 + t + 1  // causal: positions 0 ... p0+t
                    unsafe Ops.attend(
                        qs.floats + t * qDim + h * hd, keys: kc.floats + kvh * hd, values: vc.floats + kvh * hd,
                        stride: kvDim, headDim: hd, length: length, scale: scale,
                        scores: ss.mutableFloats + job * capacity, into: outs.mutableFloats + t * qDim + h * hd, kernels: kernels)
                }
            }
            if let observer {  // [observer] the softmax rows left in `scores`
                for job in 0..<(n * c.heads) {
                    let row = unsafe Self.copy(scores + job * capacity, p0 + job / c.heads + 1)
                    observer.attention(layer: l, head: job % c.heads, position: p0 + job / c.heads, weights: row)
                }
            }
            unsafe project(block.output, block.outputBias, att, xb2, n: n)
            unsafe addPerToken(xb2, into: x, n: n)
            if let observer { unsafe observer.attentionAdded(layer: l, position: p0, delta: Self.copy(xb2, n * d)) }  // [observer]

            // 3. MLP: norm → gate/up (SwiGLU) or fc (GELU) → down → residual.
            unsafe normalize(x, block.mlpNorm, block.mlpNormBias, into: xb, n: n)
            if let gate = block.gate {
                unsafe project([(block.up, block.upBias, hb2), (gate, nil, hb)], xb, n: n)
                let gates = unsafe SendablePointer(UnsafeRawPointer(hb)), ups = unsafe SendablePointer(UnsafeRawPointer(hb2))
                perToken(n) { r in
                    unsafe Ops.swiglu(gates.mutableFloats + r.lowerBound * f, ups.floats + r.lowerBound * f, count: r.count * f, kernels: kernels)
                }
            } else {
                unsafe project(block.up, block.upBias, xb, hb2, n: n)
                unsafe hb.update(from: hb2, count: n * f)
                unsafe Ops.gelu(hb, count: n * f, tanhApproximation: c.activation == .geluTanh)
            }
            if let observer { unsafe observer.mlpActivations(layer: l, position: p0, hidden: Self.copy(hb, n * f)) }  // [observer]
            unsafe project(block.down, block.downBias, hb, xb2, n: n)
            unsafe addPerToken(xb2, into: x, n: n)
            if let observer { unsafe observer.mlpAdded(layer: l, position: p0, delta: Self.copy(xb2, n * d), residual: Self.copy(x, n * d)) }  // [observer]
        }

        // 4. Unembedding: final norm of the last position → logits over the vocabulary.
        guard last else { return }
        let lastRow = unsafe x + (n - 1) * d
        unsafe normalize(lastRow, graph.finalNorm, graph.finalNormBias, into: xb, n: 1)
        unsafe s.logits.withUnsafeMutableBufferPointer { logits in
            unsafe MatMul.matVec(graph.unembedding, xb, logits.baseAddress!, parallel: parallel, kernels: kernels)
            if let observer { unsafe observer.unembedded(position: p0 + n - 1, normed: Self.copy(xb, d), logits: Array(logits)) }  // [observer]
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
    /// (init's `normProblem` check guarantees a LayerNorm has one before `forward` runs).
    func normalize(_ x: UnsafePointer<Float>, _ weight: Weight, _ bias: Weight?, into out: UnsafeMutablePointer<Float>, n: Int) {
        let d = graph.config.hiddenSize, eps = graph.config.normEpsilon, kind = graph.config.norm
        let xs = unsafe SendablePointer(UnsafeRawPointer(x)), outs = unsafe SendablePointer(UnsafeRawPointer(out))
        perToken(n) { range in
            unsafe weight.storage.withUnsafeBytes { w in
                let wp = unsafe w.baseAddress!.assumingMemoryBound(to: Float.self)
                switch kind {
                case .layer:
                    guard let bias else { preconditionFailure("LayerNorm without bias: Transformer.normProblem refuses this graph") }
                    unsafe bias.storage.withUnsafeBytes { b in
                        let bp = unsafe b.baseAddress!.assumingMemoryBound(to: Float.self)
                        for t in range { unsafe Ops.layerNorm(xs.floats + t * d, wp, bp, outs.mutableFloats + t * d, count: d, epsilon: eps) }
                    }
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
