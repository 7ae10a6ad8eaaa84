// Llama-family binding (Llama 2/3, Mistral, SmolLM2, TinyLlama) and Qwen2 (Q/K/V biases), by
// Hugging Face names. Reference: transformers `models/llama/modeling_llama.py`,
// mlx-swift-lm `Libraries/MLXLLM/Models/Llama.swift`.
import WeightKitCore

extension ModelGraph {
    /// Binds a llama or qwen2 tensor set with Hugging Face names.
    static func bindLlama(_ binder: Binder, config c: ArchitectureConfig) throws -> ModelGraph {
        let h = c.hiddenSize
        var blocks: [BlockWeights] = []
        for i in 0..<c.layers {
            let p = "model.layers.\(i)."
            let bias = c.attentionBias
            blocks.append(BlockWeights(
                attentionNorm: try binder.vector(p + "input_layernorm.weight", [h]),
                query: try binder.matrix(p + "self_attn.q_proj.weight", [c.qDim, h]),
                key: try binder.matrix(p + "self_attn.k_proj.weight", [c.kvDim, h]),
                value: try binder.matrix(p + "self_attn.v_proj.weight", [c.kvDim, h]),
                queryBias: bias ? try binder.vector(p + "self_attn.q_proj.bias", [c.qDim]) : nil,
                keyBias: bias ? try binder.vector(p + "self_attn.k_proj.bias", [c.kvDim]) : nil,
                valueBias: bias ? try binder.vector(p + "self_attn.v_proj.bias", [c.kvDim]) : nil,
                output: try binder.matrix(p + "self_attn.o_proj.weight", [h, c.qDim]),
                outputBias: try binder.optionalVector(p + "self_attn.o_proj.bias", [h]),
                mlpNorm: try binder.vector(p + "post_attention_layernorm.weight", [h]),
                gate: try binder.matrix(p + "mlp.gate_proj.weight", [c.intermediateSize, h]),
                up: try binder.matrix(p + "mlp.up_proj.weight", [c.intermediateSize, h]),
                down: try binder.matrix(p + "mlp.down_proj.weight", [h, c.intermediateSize])))
        }
        let embedding = try binder.matrix("model.embed_tokens.weight", [c.vocabSize, h])
        var unembedding = embedding
        if !c.tiedEmbeddings {
            unembedding = try binder.matrix("lm_head.weight", [c.vocabSize, h])
        } else if binder.has("lm_head.weight") {
            binder.markUsed("lm_head.weight")  // some checkpoints store the tied copy too
        }
        let finalNorm = try binder.vector("model.norm.weight", [h])
        try binder.checkAllUsed { $0.hasSuffix("rotary_emb.inv_freq") }
        return ModelGraph(
            config: c, tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
            finalNorm: finalNorm, finalNormBias: nil, unembedding: unembedding, files: binder.source.files)
    }
}
