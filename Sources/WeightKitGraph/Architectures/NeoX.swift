// GPT-NeoX / Pythia binding by Hugging Face names. Its fused `query_key_value` holds, per head,
// that head's query, key and value rows one after the other ([heads, 3, headDim] rows), so the
// Q, K and V matrices are not row ranges of it: their rows are gathered once at load (the one
// family whose fused projection costs a copy). Reference: transformers 5
// `models/gpt_neox/modeling_gpt_neox.py`.
import WeightKitCore

extension ModelGraph {
    /// Binds a gpt_neox tensor set as `c` describes it.
    static func bindNeoX(_ binder: Binder, config c: ArchitectureConfig) throws -> ModelGraph {
        let h = c.hiddenSize, f = c.intermediateSize, hd = c.headDim
        var blocks: [BlockWeights] = []
        // Row r of Q is head r / hd's row r % hd of its [q; k; v] triple; likewise K and V.
        func rows(_ part: Int) -> [Int] { (0..<c.heads * hd).map { ($0 / hd) * 3 * hd + part * hd + $0 % hd } }
        let order = rows(0) + rows(1) + rows(2)
        for i in 0..<c.layers {
            let p = "gpt_neox.layers.\(i)."
            let qkv = try Binder.gatheringRows(binder.matrix(p + "attention.query_key_value.weight", [3 * h, h]), order)
            let qkvBias = c.attentionBias ? try Binder.gatheringRows(binder.vector(p + "attention.query_key_value.bias", [3 * h]), order) : nil
            func third(_ w: Weight?, _ k: Int, columns: Int) -> Weight? {
                w?.slice(rows: k * h..<(k + 1) * h, totalRows: 3 * h, columns: columns, name: w!.info.name + "[\(["q", "k", "v"][k])]")
            }
            var block = BlockWeights(
                attentionNorm: try binder.vector(p + "input_layernorm.weight", [h]),
                attentionNormBias: try binder.vector(p + "input_layernorm.bias", [h]),
                query: third(qkv, 0, columns: h)!, key: third(qkv, 1, columns: h)!, value: third(qkv, 2, columns: h)!,
                queryBias: third(qkvBias, 0, columns: 1), keyBias: third(qkvBias, 1, columns: 1), valueBias: third(qkvBias, 2, columns: 1),
                output: try binder.matrix(p + "attention.dense.weight", [h, h]),
                outputBias: c.attentionOutputBias ? try binder.vector(p + "attention.dense.bias", [h]) : nil,
                mlpNorm: try binder.vector(p + "post_attention_layernorm.weight", [h]),
                mlpNormBias: try binder.vector(p + "post_attention_layernorm.bias", [h]))
            (block.queryBias, block.keyBias, block.valueBias) = (block.queryBias.map(Self.asVector), block.keyBias.map(Self.asVector), block.valueBias.map(Self.asVector))
            block.mlp = MLPWeights(
                gate: nil,
                up: try binder.matrix(p + "mlp.dense_h_to_4h.weight", [f, h]), upBias: try binder.vector(p + "mlp.dense_h_to_4h.bias", [f]),
                down: try binder.matrix(p + "mlp.dense_4h_to_h.weight", [h, f]), downBias: try binder.vector(p + "mlp.dense_4h_to_h.bias", [h]))
            blocks.append(block)
        }
        let embedding = try binder.matrix("gpt_neox.embed_in.weight", [c.vocabSize, h])
        let unembedding = c.tiedEmbeddings ? embedding : try binder.matrix("embed_out.weight", [c.vocabSize, h])
        let graph = ModelGraph(
            config: c, tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
            finalNorm: try binder.vector("gpt_neox.final_layer_norm.weight", [h]),
            finalNormBias: try binder.vector("gpt_neox.final_layer_norm.bias", [h]),
            unembedding: unembedding, files: binder.source.files)
        try binder.checkAllUsed { $0.hasSuffix("rotary_emb.inv_freq") || $0.hasSuffix("attention.bias") || $0.hasSuffix("attention.masked_bias") }
        return graph
    }

    /// A bias sliced as a one-column matrix, reshaped back to a vector.
    static func asVector(_ w: Weight) -> Weight {
        var info = w.info
        info.shape = Shape([w.info.elementCount])
        return Weight(info: info, storage: w.storage, blockOrder: w.blockOrder)
    }
}

extension Binder {
    /// A copy of `w` whose row r is `w`'s row `order[r]` (a vector is a column of one-element rows).
    static func gatheringRows(_ w: Weight, _ order: [Int]) throws -> Weight {
        let rows = order.count
        let rowBytes = w.info.byteCount / rows
        let buffer = AlignedBuffer(count: w.info.byteCount)
        unsafe w.storage.withUnsafeBytes { src in
            unsafe buffer.withUnsafeMutableBytes { dst in
                for (r, from) in order.enumerated() {
                    // SAFETY: r and from are < rows; both buffers hold rows · rowBytes bytes.
                    unsafe (dst.baseAddress! + r * rowBytes).copyMemory(from: src.baseAddress! + from * rowBytes, byteCount: rowBytes)
                }
            }
        }
        var info = w.info
        info.fileOffset = nil
        return Weight(info: info, storage: TensorStorage(buffer: buffer))
    }
}
