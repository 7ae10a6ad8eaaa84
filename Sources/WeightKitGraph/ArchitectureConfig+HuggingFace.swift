import WeightKitCore

// Reading a Hugging Face config.json into the description. Defaults are the transformers
// configuration classes' own (config.json omits keys equal to PretrainedConfig's defaults, so a
// missing `tie_word_embeddings` means the class default: true for Gemma, false for Llama).
// References: transformers 5 `models/*/configuration_*.py` and `modeling_*.py`.

extension ArchitectureConfig {
    /// Reads a Hugging Face `config.json` (transformers 4 and 5 spellings).
    ///
    /// - Throws: `GraphError.unknownArchitecture` for a `model_type` WeightKit does not run;
    ///   `.invalidConfig` naming the key and its value for a missing or malformed field, a value
    ///   out of range, or a value that changes the computation in a way WeightKit does not implement.
    public init(huggingFace json: JSONObject, path: String? = nil) throws(GraphError) {
        let modelType = json["model_type"]?.string ?? ""
        // A multimodal Gemma 3 config keeps the language model's settings in text_config.
        let json = MultimodalLayout.languageModelConfig(json)
        let r = ConfigReader(json: json, path: path)
        guard let family = Family(modelType: json["model_type"]?.string ?? "") else {
            let known = Family.allCases.map(\.rawValue).joined(separator: ", ")
            throw GraphError(.unknownArchitecture, "model_type \"\(modelType)\" is not one WeightKit runs (\(known))", path: path)
        }
        if family == .gpt2 {
            try self.init(gpt2: r)
        } else if family == .bert {
            try self.init(bert: r)
        } else {
            try self.init(family: family, r)
        }
        vocabSize = try r.int("vocab_size")
        bosTokenID = json["bos_token_id"]?.int
        if let list = json["eos_token_id"]?.array {
            eosTokenIDs = list.compactMap(\.int)
        } else {
            eosTokenIDs = json["eos_token_id"]?.int.map { [$0] } ?? []
        }
        try validate(r)
    }

    /// GPT-2: LayerNorm with biases, learned positions, ungated GELU, fused Conv1D QKV.
    private init(gpt2 r: ConfigReader) throws(GraphError) {
        family = .gpt2
        hiddenSize = try r.int("n_embd", "hidden_size")
        layers = try r.layerCount("n_layer", "num_hidden_layers")
        heads = try r.int("n_head", "num_attention_heads")
        kvHeads = heads
        headDim = heads > 0 ? hiddenSize / heads : 0
        intermediateSize = try r.int("n_inner", default: 4 * hiddenSize)
        contextLength = try r.int("n_positions", "max_position_embeddings")
        vocabSize = 0
        norm = .layer
        normBias = true
        normEpsilon = try r.float("layer_norm_epsilon", default: 1e-5)
        activation = try r.activation("activation_function", default: "gelu_new")
        gatedMLP = false
        attentionBias = true
        attentionOutputBias = true
        mlpBias = true
        learnedPositions = true
        layerAttention = Array(repeating: .full, count: layers)
        tiedEmbeddings = true
        eosTokenIDs = []
        try r.refuse("scale_attn_by_inverse_layer_idx", unless: { $0.bool != true }, "only false is implemented")
        try r.refuse("reorder_and_upcast_attn", unless: { $0.bool != true }, "only false is implemented")
        try r.refuse("scale_attn_weights", unless: { $0.bool != false }, "only true is implemented")
    }

    /// BERT: an encoder with post-LN blocks, learned positions and token types, ungated GELU and
    /// biases everywhere (transformers `models/bert/modeling_bert.py`).
    private init(bert r: ConfigReader) throws(GraphError) {
        family = .bert
        hiddenSize = try r.int("hidden_size")
        layers = try r.layerCount("num_hidden_layers")
        heads = try r.int("num_attention_heads")
        kvHeads = heads
        headDim = heads > 0 ? hiddenSize / heads : 0
        intermediateSize = try r.int("intermediate_size")
        contextLength = try r.int("max_position_embeddings", default: 512)
        vocabSize = 0
        norm = .layer
        normBias = true
        normEpsilon = try r.float("layer_norm_eps", default: 1e-12)
        activation = try r.activation("hidden_act", default: "gelu")
        gatedMLP = false
        attentionBias = true
        attentionOutputBias = true
        mlpBias = true
        preNorm = false
        residualNorm = true
        embeddingNorm = true
        learnedPositions = true
        causal = false
        tokenTypes = try r.int("type_vocab_size", default: 2)
        layerAttention = Array(repeating: .full, count: layers)
        tiedEmbeddings = false
        eosTokenIDs = []
        try r.refuse("position_embedding_type", unless: { $0.string == "absolute" }, "only absolute positions are implemented")
        try r.refuse("is_decoder", unless: { $0.bool != true }, "BERT as a causal decoder is not implemented")
        try r.refuse("add_cross_attention", unless: { $0.bool != true }, "cross-attention is not implemented")
    }

    /// Every RoPE family: the shared fields, then each family's differences.
    private init(family: Family, _ r: ConfigReader) throws(GraphError) {
        self.family = family
        hiddenSize = try r.int("hidden_size")
        layers = try r.layerCount("num_hidden_layers")
        heads = try r.int("num_attention_heads")
        kvHeads = try r.int("num_key_value_heads", default: heads)
        headDim = try r.int("head_dim", default: heads > 0 ? hiddenSize / heads : 0)
        intermediateSize = try r.int("intermediate_size")
        contextLength = try r.int("max_position_embeddings", default: 2048)
        vocabSize = 0
        norm = .rms
        normEpsilon = try r.float("rms_norm_eps", default: 1e-6)
        activation = try r.activation("hidden_act", default: "silu")
        tiedEmbeddings = try r.bool("tie_word_embeddings", default: false)
        attentionBias = try r.bool("attention_bias", default: false)
        attentionOutputBias = attentionBias
        mlpBias = try r.bool("mlp_bias", default: false)
        layerAttention = Array(repeating: .full, count: layers)
        eosTokenIDs = []
        var slidingLayers: [Bool]? = nil

        switch family {
        case .llama, .granite:
            if family == .granite {
                embeddingScale = try r.float("embedding_multiplier", default: 1)
                residualScale = try r.float("residual_multiplier", default: 1)
                attentionScale = try r.float("attention_multiplier", default: 1)
                logitScale = 1 / (try r.float("logits_scaling", default: 1))
            }
        case .mistral, .mixtral, .phi3:
            if let window = try r.optionalInt("sliding_window") {
                slidingWindow = window
                slidingLayers = Array(repeating: true, count: layers)
            }
            if family == .mixtral {
                moe = MixtureOfExperts(
                    experts: try r.int("num_local_experts", default: 8), topK: try r.int("num_experts_per_tok", default: 2),
                    normalizeTopK: true, intermediateSize: intermediateSize, sparseLayers: Array(repeating: true, count: layers))
            }
            if family == .phi3 {
                // Phi-3's attention_bias default is false and applies to none of its fused projections.
                try r.refuse("attention_bias", unless: { $0.bool != true }, "Phi-3's fused projections have no biases in transformers")
            }
        case .qwen2, .qwen3, .qwen3MoE:
            if family == .qwen2 {
                attentionBias = true
                attentionOutputBias = false
            }
            if family != .qwen2 { qkNorm = .perHead }
            if try r.bool("use_sliding_window", default: false) {
                slidingWindow = try r.optionalInt("sliding_window")
                let first = try r.int("max_window_layers", default: layers)
                slidingLayers = (0..<layers).map { $0 >= first }
            }
            if family == .qwen3MoE {
                let experts = try r.int("num_experts", "num_local_experts", default: 128)
                let step = try r.int("decoder_sparse_step", default: 1)
                let dense = Set(try r.intList("mlp_only_layers"))
                guard step > 0 else { throw r.fail("\"decoder_sparse_step\" must be positive, found \(step)") }
                moe = MixtureOfExperts(
                    experts: experts, topK: try r.int("num_experts_per_tok", default: 8),
                    normalizeTopK: try r.bool("norm_topk_prob", default: false),
                    intermediateSize: try r.int("moe_intermediate_size", default: 768),
                    sparseLayers: (0..<layers).map { !dense.contains($0) && experts > 0 && ($0 + 1) % step == 0 })
            }
        case .gemma, .gemma2, .gemma3:
            normWeightOffset = 1
            embeddingScale = Float(hiddenSize).squareRoot()
            activation = try r.activation("hidden_activation", default: "gelu_pytorch_tanh")
            tiedEmbeddings = try r.bool("tie_word_embeddings", default: true)
            if family != .gemma {
                postNorm = true
                attentionScale = 1 / (try r.float("query_pre_attn_scalar", default: 256)).squareRoot()
                attentionSoftCap = try r.optionalFloat("attn_logit_softcapping")
                finalLogitSoftCap = try r.optionalFloat("final_logit_softcapping")
                slidingWindow = try r.optionalInt("sliding_window") ?? 4096
                if family == .gemma2 {
                    slidingLayers = (0..<layers).map { $0 % 2 == 0 }
                } else {
                    qkNorm = .perHead
                    let pattern = try r.int("sliding_window_pattern", default: 6)
                    slidingLayers = (0..<layers).map { pattern == 0 || ($0 + 1) % pattern != 0 }
                }
            }
        case .olmo2:
            preNorm = false
            postNorm = true
            qkNorm = .whole
        case .stablelm:
            norm = .layer
            normBias = true
            normEpsilon = try r.float("layer_norm_eps", default: 1e-5)
            attentionBias = try r.bool("use_qkv_bias", default: false)
            attentionOutputBias = false
            parallelResidual = try r.bool("use_parallel_residual", default: false)
            try r.refuse("qk_layernorm", unless: { $0.bool != true }, "StableLM's per-head LayerNorm of Q and K is not implemented")
        case .gptNeoX:
            norm = .layer
            normBias = true
            normEpsilon = try r.float("layer_norm_eps", default: 1e-5)
            activation = try r.activation("hidden_act", default: "gelu")
            gatedMLP = false
            attentionBias = try r.bool("attention_bias", default: true)
            attentionOutputBias = attentionBias
            mlpBias = true
            parallelResidual = try r.bool("use_parallel_residual", default: true)
        case .gpt2, .bert:
            preconditionFailure("gpt2 and bert are read by their own initialisers")
        }
        // transformers 5 lists each layer's kind; it wins over the older per-family rules.
        if let types = r.json["layer_types"], types != .null {
            guard let list = types.array, list.count == layers else {
                throw r.fail("\"layer_types\" must list \(layers) layer kinds, found \(JSONWriter.serialize(types))")
            }
            slidingLayers = try list.map { (v: JSONValue) throws(GraphError) -> Bool in
                switch v.string {
                case "full_attention": return false
                case "sliding_attention": return true
                default: throw r.fail("\"layer_types\" entry \(JSONWriter.serialize(v)) is not implemented (full_attention, sliding_attention)")
                }
            }
            if slidingLayers!.contains(true), slidingWindow == nil {
                slidingWindow = try r.optionalInt("sliding_window")
                guard slidingWindow != nil else { throw r.fail("\"layer_types\" names sliding layers but \"sliding_window\" is not set") }
            }
        }
        if let slidingLayers {
            layerAttention = slidingLayers.map { $0 ? .sliding : .full }
        }
        guard heads > 0, headDim > 0 else { throw r.fail("\"num_attention_heads\" and the head dimension must be positive, found \(heads) and \(headDim)") }
        if family == .gemma3 {
            rope = try RoPEConfig(huggingFace: r.json, headDim: headDim, layerType: "full_attention", path: r.path)
            slidingRope = try RoPEConfig(huggingFace: r.json, headDim: headDim, layerType: "sliding_attention", path: r.path)
        } else {
            rope = try RoPEConfig(huggingFace: r.json, headDim: headDim, path: r.path)
        }
        if let extended = rope?.extendedContext { contextLength = max(contextLength, extended) }
    }

    /// Values out of range, whatever the family.
    private func validate(_ r: ConfigReader) throws(GraphError) {
        guard hiddenSize > 0, layers > 0, heads > 0, vocabSize > 0, intermediateSize > 0, contextLength > 0 else {
            throw r.fail("hidden size, layers, heads, vocabulary, intermediate size and context must be positive, found \(hiddenSize), \(layers), \(heads), \(vocabSize), \(intermediateSize), \(contextLength)")
        }
        guard kvHeads > 0, heads % kvHeads == 0 else { throw r.fail("\(heads) attention heads is not a multiple of \(kvHeads) key/value heads") }
        if family == .gpt2 || family == .gptNeoX || family == .bert {
            guard hiddenSize % heads == 0 else { throw r.fail("hidden size \(hiddenSize) is not a multiple of \(heads) heads") }
        }
        guard normEpsilon >= 0, normEpsilon.isFinite else { throw r.fail("the norm epsilon must be ≥ 0, found \(normEpsilon)") }
        if let rope {
            guard rope.rotaryDim > 0, rope.rotaryDim % 2 == 0, rope.rotaryDim <= headDim else {
                throw r.fail("RoPE rotates \(rope.rotaryDim) of \(headDim) head dimensions: must be even and between 2 and the head dimension")
            }
        }
        if let slidingWindow, slidingWindow <= 0 { throw r.fail("\"sliding_window\" must be positive, found \(slidingWindow)") }
        if let moe {
            guard moe.experts > 0, moe.topK > 0, moe.topK <= moe.experts, moe.intermediateSize > 0 else {
                throw r.fail("mixture of experts: \(moe.topK) experts per token of \(moe.experts) with width \(moe.intermediateSize) (top-k must be 1 ... experts)")
            }
        }
        for (name, cap) in [("attn_logit_softcapping", attentionSoftCap), ("final_logit_softcapping", finalLogitSoftCap)] {
            if let cap, !(cap > 0 && cap.isFinite) { throw r.fail("\"\(name)\" must be positive, found \(cap)") }
        }
        for (name, v) in [("embedding scale", embeddingScale), ("residual scale", residualScale), ("logit scale", logitScale), ("attention scale", effectiveAttentionScale)] {
            guard v.isFinite, v != 0 else { throw r.fail("the \(name) must be finite and non-zero, found \(v)") }
        }
    }
}

extension ArchitectureConfig.Family {
    /// The family of a config.json `model_type`.
    init?(modelType: String) {
        switch modelType {
        case "smollm", "smollm2", "llama": self = .llama
        case "gemma3": self = .gemma3
        default: self.init(rawValue: modelType)
        }
    }
}

/// Typed reads of config.json keys with errors naming the key and what was found.
struct ConfigReader {
    let json: JSONObject
    let path: String?

    func fail(_ message: String) -> GraphError { GraphError(.invalidConfig, message, path: path) }

    /// The first present, non-null key of `keys`, as a non-negative integer.
    func int(_ keys: String..., default value: Int? = nil) throws(GraphError) -> Int {
        for key in keys {
            guard let v = json[key], v != .null else { continue }
            guard let n = v.int, n >= 0 else { throw fail("\"\(key)\" must be a non-negative integer, found \(JSONWriter.serialize(v))") }
            return n
        }
        if let value { return value }
        throw fail("config.json has no \"\(keys[0])\"")
    }

    /// Most layers a config may declare: far above any model's (hundreds), low enough that the
    /// per-layer tables made before any weight is read stay small for a hostile config.
    static let maxLayers = 65_536

    /// The layer count under the first present key of `keys`: a non-negative integer ≤ `maxLayers`.
    func layerCount(_ keys: String...) throws(GraphError) -> Int {
        for key in keys {
            guard let v = json[key], v != .null else { continue }
            guard let n = v.int, n >= 0, n <= Self.maxLayers else {
                throw fail("\"\(key)\" must be a layer count from 0 to \(Self.maxLayers), found \(JSONWriter.serialize(v))")
            }
            return n
        }
        throw fail("config.json has no \"\(keys[0])\"")
    }

    func optionalInt(_ key: String) throws(GraphError) -> Int? {
        guard let v = json[key], v != .null else { return nil }
        guard let n = v.int else { throw fail("\"\(key)\" must be an integer, found \(JSONWriter.serialize(v))") }
        return n
    }

    func intList(_ key: String) throws(GraphError) -> [Int] {
        guard let v = json[key], v != .null else { return [] }
        guard let list = v.array?.compactMap(\.int), list.count == v.array?.count else {
            throw fail("\"\(key)\" must be a list of integers, found \(JSONWriter.serialize(v))")
        }
        return list
    }

    func float(_ key: String, default value: Float) throws(GraphError) -> Float {
        try optionalFloat(key) ?? value
    }

    func optionalFloat(_ key: String) throws(GraphError) -> Float? {
        guard let v = json[key], v != .null else { return nil }
        guard let n = v.number, n.isFinite else { throw fail("\"\(key)\" must be a finite number, found \(JSONWriter.serialize(v))") }
        return Float(n)
    }

    func bool(_ key: String, default value: Bool) throws(GraphError) -> Bool {
        guard let v = json[key], v != .null else { return value }
        guard let b = v.bool else { throw fail("\"\(key)\" must be true or false, found \(JSONWriter.serialize(v))") }
        return b
    }

    /// The activation named by `key`, refusing names whose function is not implemented exactly.
    func activation(_ key: String, default value: String) throws(GraphError) -> ArchitectureConfig.Activation {
        let name: String
        if let v = json[key], v != .null {
            guard let s = v.string else { throw fail("\"\(key)\" must be a string, found \(JSONWriter.serialize(v))") }
            name = s
        } else {
            name = value
        }
        switch name {
        case "silu", "swish": return .silu
        case "gelu": return .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": return .geluTanh
        default: throw fail("\"\(key)\": \"\(name)\" is not implemented (silu, gelu, gelu_new, gelu_pytorch_tanh)")
        }
    }

    /// Throws naming `key` and its value when it is present, not null, and `accepted` is false.
    func refuse(_ key: String, unless accepted: (JSONValue) -> Bool, _ why: String) throws(GraphError) {
        guard let v = json[key], v != .null, !accepted(v) else { return }
        throw fail("\"\(key)\": \(JSONWriter.serialize(v)) is not implemented (\(why))")
    }
}
