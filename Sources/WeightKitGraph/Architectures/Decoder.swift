// Binding by Hugging Face names for every family that names its tensors after Llama
// (`model.layers.N.self_attn.q_proj`): Llama, Mistral, Mixtral, Qwen2/3, Qwen3-MoE, Gemma 1/2/3,
// Phi-3, OLMo-2, StableLM, Granite. Which tensors a block has follows the description (norm
// placement, QK-norm, biases, experts); only names differ per family. References: transformers 5
// `models/{llama,gemma2,olmo2,phi3,mixtral,qwen3_moe}/modeling_*.py`.
import WeightKitCore

extension ModelGraph {
    /// Binds a decoder with Llama-style names as `c` describes it.
    static func bindDecoder(_ binder: Binder, config c: ArchitectureConfig) throws -> ModelGraph {
        let h = c.hiddenSize, offset = c.normWeightOffset, layerNormBias = c.norm == .layer && c.normBias
        func norm(_ name: String, _ width: Int = h) throws -> Weight { try binder.norm(name + ".weight", [width], offset: offset) }
        func normBias(_ name: String) throws -> Weight? { layerNormBias ? try binder.vector(name + ".bias", [h]) : nil }
        func bias(_ on: Bool, _ name: String, _ width: Int) throws -> Weight? { on ? try binder.vector(name + ".bias", [width]) : nil }

        var blocks: [BlockWeights] = []
        for i in 0..<c.layers {
            let p = "model.layers.\(i)."
            var block: BlockWeights
            if c.family == .phi3 {
                // One [q; k; v] matrix: three row ranges of it, no copy.
                let fused = try binder.matrix(p + "self_attn.qkv_proj.weight", [c.qDim + 2 * c.kvDim, h])
                let total = c.qDim + 2 * c.kvDim
                block = BlockWeights(
                    query: fused.slice(rows: 0..<c.qDim, totalRows: total, columns: h, name: fused.info.name + "[q]"),
                    key: fused.slice(rows: c.qDim..<c.qDim + c.kvDim, totalRows: total, columns: h, name: fused.info.name + "[k]"),
                    value: fused.slice(rows: c.qDim + c.kvDim..<total, totalRows: total, columns: h, name: fused.info.name + "[v]"),
                    output: try binder.matrix(p + "self_attn.o_proj.weight", [h, c.qDim]))
            } else {
                let a = p + "self_attn."
                block = BlockWeights(
                    query: try binder.matrix(a + "q_proj.weight", [c.qDim, h]),
                    key: try binder.matrix(a + "k_proj.weight", [c.kvDim, h]),
                    value: try binder.matrix(a + "v_proj.weight", [c.kvDim, h]),
                    queryBias: try bias(c.attentionBias, a + "q_proj", c.qDim),
                    keyBias: try bias(c.attentionBias, a + "k_proj", c.kvDim),
                    valueBias: try bias(c.attentionBias, a + "v_proj", c.kvDim),
                    output: try binder.matrix(a + "o_proj.weight", [h, c.qDim]),
                    outputBias: try bias(c.attentionOutputBias, a + "o_proj", h))
            }
            switch c.qkNorm {
            case .none: break
            case .perHead:
                block.queryNorm = try norm(p + "self_attn.q_norm", c.headDim)
                block.keyNorm = try norm(p + "self_attn.k_norm", c.headDim)
            case .whole:
                block.queryNorm = try norm(p + "self_attn.q_norm", c.qDim)
                block.keyNorm = try norm(p + "self_attn.k_norm", c.kvDim)
            }
            if c.preNorm {
                block.attentionNorm = try norm(p + "input_layernorm")
                block.attentionNormBias = try normBias(p + "input_layernorm")
                if c.parallelResidual && !binder.has(p + "post_attention_layernorm.weight") {
                    // StableLM's parallel block feeds both sublayers from the one input norm.
                    (block.mlpNorm, block.mlpNormBias) = (block.attentionNorm, block.attentionNormBias)
                } else {
                    let name = c.postNorm ? p + "pre_feedforward_layernorm" : p + "post_attention_layernorm"
                    block.mlpNorm = try norm(name)
                    block.mlpNormBias = try normBias(name)
                }
            }
            if c.postNorm {
                block.postAttentionNorm = try norm(p + "post_attention_layernorm")
                block.postMLPNorm = try norm(p + "post_feedforward_layernorm")
            }
            if c.isMoE(layer: i), let moe = c.moe {
                block.experts = try bindExperts(binder, prefix: p, moe: moe, hidden: h)
            } else if c.family == .phi3 {
                let f = c.intermediateSize
                let fused = try binder.matrix(p + "mlp.gate_up_proj.weight", [2 * f, h])
                block.mlp = MLPWeights(
                    gate: fused.slice(rows: 0..<f, totalRows: 2 * f, columns: h, name: fused.info.name + "[gate]"),
                    up: fused.slice(rows: f..<2 * f, totalRows: 2 * f, columns: h, name: fused.info.name + "[up]"),
                    down: try binder.matrix(p + "mlp.down_proj.weight", [h, f]))
            } else {
                let f = c.intermediateSize, m = p + "mlp."
                block.mlp = MLPWeights(
                    gate: c.gatedMLP ? try binder.matrix(m + "gate_proj.weight", [f, h]) : nil,
                    gateBias: try bias(c.mlpBias && c.gatedMLP, m + "gate_proj", f),
                    up: try binder.matrix(m + "up_proj.weight", [f, h]), upBias: try bias(c.mlpBias, m + "up_proj", f),
                    down: try binder.matrix(m + "down_proj.weight", [h, f]), downBias: try bias(c.mlpBias, m + "down_proj", h))
            }
            blocks.append(block)
        }
        let embedding = try binder.matrix("model.embed_tokens.weight", [c.vocabSize, h])
        var unembedding = embedding
        if !c.tiedEmbeddings {
            unembedding = try binder.matrix("lm_head.weight", [c.vocabSize, h])
        } else if binder.has("lm_head.weight") {
            binder.markUsed("lm_head.weight")  // some checkpoints store the tied copy too
        }
        let finalNorm = try norm("model.norm")
        let finalNormBias = try normBias("model.norm")
        try binder.checkAllUsed { $0.hasSuffix("rotary_emb.inv_freq") }
        return ModelGraph(
            config: c, tokenEmbedding: embedding, positionEmbedding: nil, blocks: blocks,
            finalNorm: finalNorm, finalNormBias: finalNormBias, unembedding: unembedding, files: binder.source.files)
    }

    /// A layer's experts, in any of the three layouts checkpoints use: transformers 5's fused
    /// `mlp.experts.gate_up_proj` [experts, 2·width, hidden] and `down_proj` [experts, hidden,
    /// width] (sliced per expert, no copy); Qwen-MoE's `mlp.experts.E.{gate,up,down}_proj`; and
    /// Mixtral's `block_sparse_moe.experts.E.{w1,w3,w2}` (gate, up, down).
    static func bindExperts(_ binder: Binder, prefix p: String, moe: ArchitectureConfig.MixtureOfExperts, hidden h: Int) throws -> ExpertMixture {
        let e = moe.experts, f = moe.intermediateSize
        if binder.has(p + "mlp.experts.gate_up_proj") || binder.has(p + "mlp.experts.gate_up_proj.weight") {
            let suffix = binder.has(p + "mlp.experts.gate_up_proj") ? "" : ".weight"
            let gateUp = try binder.matrix(p + "mlp.experts.gate_up_proj" + suffix, [e, 2 * f, h])
            let down = try binder.matrix(p + "mlp.experts.down_proj" + suffix, [e, h, f])
            let experts = (0..<e).map { x in
                MLPWeights(
                    gate: gateUp.slice(rows: x * 2 * f..<x * 2 * f + f, totalRows: e * 2 * f, columns: h, name: gateUp.info.name + "[\(x)].gate"),
                    up: gateUp.slice(rows: x * 2 * f + f..<(x + 1) * 2 * f, totalRows: e * 2 * f, columns: h, name: gateUp.info.name + "[\(x)].up"),
                    down: down.slice(rows: x * h..<(x + 1) * h, totalRows: e * h, columns: f, name: down.info.name + "[\(x)]"))
            }
            return ExpertMixture(router: try binder.vector(p + "mlp.gate.weight", [e, h]), experts: experts)
        }
        // Per-expert matrices: Mixtral's w1/w3/w2 under block_sparse_moe, or gate/up/down_proj under mlp.
        let mixtral = binder.has(p + "block_sparse_moe.gate.weight")
        let m = p + (mixtral ? "block_sparse_moe." : "mlp.")
        let (gate, up, down) = mixtral ? ("w1", "w3", "w2") : ("gate_proj", "up_proj", "down_proj")
        let experts = try (0..<e).map { x in
            MLPWeights(
                gate: try binder.matrix(m + "experts.\(x).\(gate).weight", [f, h]),
                up: try binder.matrix(m + "experts.\(x).\(up).weight", [f, h]),
                down: try binder.matrix(m + "experts.\(x).\(down).weight", [h, f]))
        }
        return ExpertMixture(router: try binder.vector(m + "gate.weight", [e, h]), experts: experts)
    }
}
