// GPT-2 binding by Hugging Face names (with or without the `transformer.` prefix). Conv1D weights
// are stored [in, out]; they are transposed once at load to the [out, in] layout every kernel uses.
// Reference: transformers `models/gpt2/modeling_gpt2.py`, llm.c `train_gpt2.c`.
import WeightKitCore

extension ModelGraph {
    /// Binds a gpt2 tensor set.
    static func bindGPT2(_ binder: Binder, config c: ArchitectureConfig) throws -> ModelGraph {
        let h = c.hiddenSize, f = c.intermediateSize
        let p0 = binder.has("transformer.wte.weight") ? "transformer." : ""
        var blocks: [BlockWeights] = []
        for i in 0..<c.layers {
            let p = "\(p0)h.\(i)."
            // c_attn: [h, 3h] stored; as [3h, h] the Q, K and V rows are consecutive thirds.
            let qkv = try binder.transposedMatrix(p + "attn.c_attn.weight", storedShape: [h, 3 * h])
            let qkvBias = try binder.vector(p + "attn.c_attn.bias", [3 * h])
            func third(_ w: Weight, _ k: Int, rows: Int) -> Weight {
                let width = w.info.byteCount / (3 * rows)
                var info = w.info
                info.name += "[\(k)]"
                info.shape = w.info.shape.rank == 2 ? Shape([rows, w.columns]) : Shape([rows])
                info.byteCount = width * rows
                return Weight(info: info, storage: w.storage.slice(k * width * rows..<(k + 1) * width * rows))
            }
            blocks.append(BlockWeights(
                attentionNorm: try binder.vector(p + "ln_1.weight", [h]),
                attentionNormBias: try binder.vector(p + "ln_1.bias", [h]),
                query: third(qkv, 0, rows: h), key: third(qkv, 1, rows: h), value: third(qkv, 2, rows: h),
                queryBias: third(qkvBias, 0, rows: h), keyBias: third(qkvBias, 1, rows: h), valueBias: third(qkvBias, 2, rows: h),
                output: try binder.transposedMatrix(p + "attn.c_proj.weight", storedShape: [h, h]),
                outputBias: try binder.vector(p + "attn.c_proj.bias", [h]),
                mlpNorm: try binder.vector(p + "ln_2.weight", [h]),
                mlpNormBias: try binder.vector(p + "ln_2.bias", [h]),
                mlp: MLPWeights(
                    gate: nil,
                    up: try binder.transposedMatrix(p + "mlp.c_fc.weight", storedShape: [h, f]),
                    upBias: try binder.vector(p + "mlp.c_fc.bias", [f]),
                    down: try binder.transposedMatrix(p + "mlp.c_proj.weight", storedShape: [f, h]),
                    downBias: try binder.vector(p + "mlp.c_proj.bias", [h]))))
        }
        let embedding = try binder.matrix(p0 + "wte.weight", [c.vocabSize, h])
        let positions = try binder.matrix(p0 + "wpe.weight", [c.contextLength, h])
        if binder.has("lm_head.weight") { binder.markUsed("lm_head.weight") }
        let graph = ModelGraph(
            config: c, tokenEmbedding: embedding, positionEmbedding: positions, blocks: blocks,
            finalNorm: try binder.vector(p0 + "ln_f.weight", [h]), finalNormBias: try binder.vector(p0 + "ln_f.bias", [h]),
            unembedding: embedding, files: binder.source.files)
        try binder.checkAllUsed { $0.hasSuffix("attn.bias") || $0.hasSuffix("attn.masked_bias") }
        return graph
    }
}

extension ModelGraph {
    /// Binds `source` as the architecture `config` describes, verifying every tensor's presence
    /// and shape and refusing tensors the architecture does not use.
    public static func bind(_ source: any TensorSource, config: ArchitectureConfig) throws -> ModelGraph {
        try bind(Binder(source: source), config: config)
    }

    /// Binds through `binder`, dispatching on the family.
    static func bind(_ binder: Binder, config: ArchitectureConfig) throws -> ModelGraph {
        switch config.family {
        case .gpt2: return try bindGPT2(binder, config: config)
        case .gptNeoX: return try bindNeoX(binder, config: config)
        case .bert: return try bindBERT(binder, config: config)
        default: return try bindDecoder(binder, config: config)
        }
    }
}
