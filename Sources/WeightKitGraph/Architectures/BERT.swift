// BERT binding by Hugging Face names (`embeddings.*`, `encoder.layer.N.*`, with or without the
// `bert.` prefix of a BertFor… checkpoint). Reference: transformers `models/bert/modeling_bert.py`.
import WeightKitCore

extension ModelGraph {
    /// Binds a BERT encoder. The pooler (`pooler.dense`, tanh of the [CLS] row, which
    /// sentence-transformers does not use) and pre-training heads (`cls.*`) are not part of the
    /// hidden states WeightKit computes: they are left out, as is the `position_ids` buffer.
    static func bindBERT(_ binder: Binder, config c: ArchitectureConfig) throws -> ModelGraph {
        let h = c.hiddenSize, f = c.intermediateSize
        let p0 = binder.has("bert.embeddings.word_embeddings.weight") ? "bert." : ""
        func matrix(_ name: String, _ shape: [Int]) throws -> Weight { try binder.matrix(name + ".weight", shape) }
        func vector(_ name: String, _ width: Int) throws -> Weight { try binder.vector(name, [width]) }
        var blocks: [BlockWeights] = []
        for i in 0..<c.layers {
            let p = "\(p0)encoder.layer.\(i).", a = p + "attention."
            var block = BlockWeights(
                query: try matrix(a + "self.query", [h, h]), key: try matrix(a + "self.key", [h, h]), value: try matrix(a + "self.value", [h, h]),
                queryBias: try vector(a + "self.query.bias", h), keyBias: try vector(a + "self.key.bias", h), valueBias: try vector(a + "self.value.bias", h),
                output: try matrix(a + "output.dense", [h, h]), outputBias: try vector(a + "output.dense.bias", h),
                mlp: MLPWeights(
                    gate: nil,
                    up: try matrix(p + "intermediate.dense", [f, h]), upBias: try vector(p + "intermediate.dense.bias", f),
                    down: try matrix(p + "output.dense", [h, f]), downBias: try vector(p + "output.dense.bias", h)))
            block.attentionResidualNorm = try vector(a + "output.LayerNorm.weight", h)
            block.attentionResidualNormBias = try vector(a + "output.LayerNorm.bias", h)
            block.mlpResidualNorm = try vector(p + "output.LayerNorm.weight", h)
            block.mlpResidualNormBias = try vector(p + "output.LayerNorm.bias", h)
            blocks.append(block)
        }
        let e = p0 + "embeddings."
        var graph = ModelGraph(
            config: c, tokenEmbedding: try matrix(e + "word_embeddings", [c.vocabSize, h]),
            positionEmbedding: try matrix(e + "position_embeddings", [c.contextLength, h]), blocks: blocks,
            finalNorm: nil, finalNormBias: nil, unembedding: nil, files: binder.source.files)
        if c.tokenTypes > 0 {
            // Only row 0 is read; llama.cpp's GGUF may say 1 type while the tensor keeps the checkpoint's 2.
            let rows = max(binder.rows(of: e + "token_type_embeddings.weight") ?? c.tokenTypes, 1)
            graph.tokenTypeEmbedding = try binder.matrix(e + "token_type_embeddings.weight", [rows, h])  // rows looked up like the word embeddings
        }
        graph.embeddingNorm = try vector(e + "LayerNorm.weight", h)
        graph.embeddingNormBias = try vector(e + "LayerNorm.bias", h)
        try binder.checkAllUsed { name in
            name.hasSuffix("embeddings.position_ids") || name.hasPrefix("pooler.") || name.hasPrefix("bert.pooler.") || name.hasPrefix("cls.")
        }
        return graph
    }
}
