import WeightKitCore

/// GGUF hyperparameters (`{arch}.*`) ↔ Hugging Face `config.json`, one table per family.
///
/// After llama.cpp's `convert_hf_to_gguf.py` (`set_gguf_parameters`) and `src/models/*.cpp`
/// (`load_arch_hparams`: what each key means to llama.cpp) one way, and transformers'
/// configuration classes the other. A GGUF key of the family's architecture that no row reads
/// is refused, naming key and value, since it may change the computation.
public enum GGUFConfig {
    /// How a value is stored.
    public enum Kind: Sendable { case count, float, bool }

    /// One hyperparameter: config.json key, GGUF key without the `{arch}.` prefix, its kind.
    public struct Field: Sendable {
        /// The config.json key.
        public var hf: String
        /// The GGUF key after `{arch}.`.
        public var gguf: String
        /// Count (u32), float (f32) or bool.
        public var kind: Kind
        /// True for floats (stored f32 in GGUF), false for counts (stored u32).
        public var isFloat: Bool { kind == .float }
    }

    static func count(_ hf: String, _ gguf: String) -> Field { Field(hf: hf, gguf: gguf, kind: .count) }
    static func float(_ hf: String, _ gguf: String) -> Field { Field(hf: hf, gguf: gguf, kind: .float) }

    /// The hyperparameters of `family` that map one to one.
    public static func fields(for family: ModelFamily) -> [Field] {
        if family == .gpt2 {
            return [
                count("n_embd", "embedding_length"), count("n_inner", "feed_forward_length"), count("n_layer", "block_count"),
                count("n_head", "attention.head_count"), count("n_positions", "context_length"),
                float("layer_norm_epsilon", "attention.layer_norm_epsilon"), count("vocab_size", "vocab_size"),
            ]
        }
        if family == .bert {
            return [
                count("hidden_size", "embedding_length"), count("intermediate_size", "feed_forward_length"),
                count("num_hidden_layers", "block_count"), count("num_attention_heads", "attention.head_count"),
                count("max_position_embeddings", "context_length"), count("vocab_size", "vocab_size"),
                float("layer_norm_eps", "attention.layer_norm_epsilon"),
            ]
        }
        if family == .gptneox {
            return [
                count("hidden_size", "embedding_length"), count("intermediate_size", "feed_forward_length"),
                count("num_hidden_layers", "block_count"), count("num_attention_heads", "attention.head_count"),
                count("max_position_embeddings", "context_length"), count("vocab_size", "vocab_size"),
                float("layer_norm_eps", "attention.layer_norm_epsilon"),
                Field(hf: "use_parallel_residual", gguf: "use_parallel_residual", kind: .bool),
            ]
        }
        var fields = [
            count("hidden_size", "embedding_length"), count("intermediate_size", "feed_forward_length"),
            count("num_hidden_layers", "block_count"), count("num_attention_heads", "attention.head_count"),
            count("num_key_value_heads", "attention.head_count_kv"), count("max_position_embeddings", "context_length"),
            count("vocab_size", "vocab_size"),
        ]
        fields.append(family == .stablelm ? float("layer_norm_eps", "attention.layer_norm_epsilon") : float("rms_norm_eps", "attention.layer_norm_rms_epsilon"))
        switch family {
        case .llama: fields += [count("num_local_experts", "expert_count"), count("num_experts_per_tok", "expert_used_count")]
        case .qwen3moe:
            fields += [
                count("num_experts", "expert_count"), count("num_experts_per_tok", "expert_used_count"),
                count("moe_intermediate_size", "expert_feed_forward_length"),
            ]
        case .gemma2: fields += [float("attn_logit_softcapping", "attn_logit_softcapping"), float("final_logit_softcapping", "final_logit_softcapping")]
        case .gemma3: fields += [float("final_logit_softcapping", "final_logit_softcapping")]
        case .stablelm: fields += [Field(hf: "use_parallel_residual", gguf: "use_parallel_residual", kind: .bool)]
        case .granite:
            fields += [
                float("attention_multiplier", "attention.scale"), float("embedding_multiplier", "embedding_scale"),
                float("residual_multiplier", "residual_scale"), float("logits_scaling", "logit_scale"),
            ]
        default: break
        }
        return fields
    }

    /// GGUF keys read outside `fields(for:)` (RoPE, head size, windows), per family.
    static func otherKeys(for family: ModelFamily) -> Set<String> {
        var keys: Set<String> = ["vocab_size"]
        guard family != .gpt2 else { return keys }
        // pooling_type is read by the embedder (EmbeddingSettings), causal must be false.
        guard family != .bert else { return keys.union(["attention.causal", "pooling_type"]) }
        keys.formUnion([
            "attention.key_length", "attention.value_length", "rope.freq_base", "rope.dimension_count", "rope.scaling.type",
            "rope.scaling.factor", "rope.scaling.original_context_length", "rope.scaling.attn_factor",
            "rope.scaling.yarn_beta_fast", "rope.scaling.yarn_beta_slow",
        ])
        switch family {
        case .gemma2, .gemma3: keys.formUnion(["attention.sliding_window", "attention.sliding_window_pattern", "rope.freq_base_swa"])
        case .phi3: keys.insert("attention.sliding_window")
        default: break
        }
        return keys
    }

    /// HF `model_type` and class name of a GGUF family (`experts`: llama with experts is Mixtral).
    static func architectures(_ family: ModelFamily, experts: Bool = false) -> (modelType: String, className: String) {
        switch family {
        case .llama: return experts ? ("mixtral", "MixtralForCausalLM") : ("llama", "LlamaForCausalLM")
        case .qwen2: return ("qwen2", "Qwen2ForCausalLM")
        case .qwen3: return ("qwen3", "Qwen3ForCausalLM")
        case .qwen3moe: return ("qwen3_moe", "Qwen3MoeForCausalLM")
        case .gemma: return ("gemma", "GemmaForCausalLM")
        case .gemma2: return ("gemma2", "Gemma2ForCausalLM")
        case .gemma3: return ("gemma3_text", "Gemma3ForCausalLM")
        case .phi3: return ("phi3", "Phi3ForCausalLM")
        case .olmo2: return ("olmo2", "Olmo2ForCausalLM")
        case .stablelm: return ("stablelm", "StableLmForCausalLM")
        case .granite: return ("granite", "GraniteForCausalLM")
        case .gptneox: return ("gpt_neox", "GPTNeoXForCausalLM")
        case .gpt2: return ("gpt2", "GPT2LMHeadModel")
        case .bert: return ("bert", "BertModel")
        }
    }

    /// The family named by GGUF `general.architecture`.
    public static func family(ggufMetadata metadata: Metadata) -> ModelFamily? {
        metadata["general.architecture"]?.stringValue.flatMap(ModelFamily.init(rawValue:))
    }

    /// The family of a config.json (`model_type`).
    public static func family(hfConfig config: JSONObject) -> ModelFamily? {
        config["model_type"]?.string.flatMap(ModelFamily.init(name:))
    }

    /// A GGUF integer as Int.
    static func int(_ value: MetadataValue?) -> Int? {
        switch value {
        case .uint(let u)?: return Int(exactly: u)
        case .int(let i)?: return Int(exactly: i)
        default: return nil
        }
    }

    static func double(_ value: MetadataValue?) -> Double? {
        switch value {
        case .float(let d)?: return shortest(d)
        case .uint(let u)?: return Double(u)
        case .int(let i)?: return Double(i)
        default: return nil
        }
    }

    /// A GGUF f32 shown as the shortest decimal that reads back as the same f32 (`1e-05`,
    /// not `9.999999747378752e-06`), which is what the HF config held before conversion.
    static func shortest(_ v: Double) -> Double { Double(String(Float(v))) ?? v }

    static func unsupported(_ key: String, _ value: MetadataValue?, _ why: String) -> FormatError {
        FormatError(.unsupported, "GGUF key \(key) = \(value.map { String(describing: $0) } ?? "(absent)") is not implemented (\(why))")
    }

    /// config.json for a GGUF file's metadata, with the meaning llama.cpp gives it.
    ///
    /// - Parameters:
    ///   - tensorNames: the GGUF tensor names (no `output.weight` means tied embeddings).
    ///   - vocabularyRows: rows of `token_embd.weight`, the vocab size when the metadata has none.
    ///   - dtype: the `torch_dtype` written.
    ///   - values: the f32 values of a small GGUF tensor (Phi-3's `rope_factors_long/short.weight`).
    /// - Throws: `.unsupported` naming the key and value for a key of the architecture that
    ///   changes the computation in a way WeightKit does not implement.
    public static func hfConfig(
        ggufMetadata metadata: Metadata, family: ModelFamily, tensorNames: Set<String>, vocabularyRows: Int?, dtype: DType,
        values: (String) throws -> [Float]? = { _ in nil }
    ) throws -> JSONObject {
        let arch = metadata["general.architecture"]?.stringValue ?? family.rawValue
        let known = Set(fields(for: family).map(\.gguf)).union(otherKeys(for: family))
        for (key, value) in metadata.entries where key.hasPrefix(arch + ".") && !known.contains(String(key.dropFirst(arch.count + 1))) {
            throw unsupported(key, value, "not a key WeightKit reads for \(arch)")
        }
        func meta(_ key: String) -> MetadataValue? { metadata["\(arch).\(key)"] }
        let experts = (int(meta("expert_count")) ?? 0) > 0
        let names = architectures(family, experts: experts)
        var config = JSONObject()
        config.set("architectures", [.string(names.className)])
        config.set("model_type", .string(names.modelType))
        for field in fields(for: family) {
            guard let value = meta(field.gguf) else { continue }
            switch (field.kind, value) {
            case (.bool, .bool(let b)): config.set(field.hf, .bool(b))
            case (.float, _): if let d = double(value) { config.set(field.hf, .double(d)) }
            case (.count, _): if let n = int(value) { config.set(field.hf, .integer(n)) }
            default: throw unsupported("\(arch).\(field.gguf)", value, "expected a \(field.kind)")
            }
        }
        if config["vocab_size"] == nil {
            if case .array(let tokens)? = metadata["tokenizer.ggml.tokens"] {
                config.set("vocab_size", .integer(tokens.count))
            } else if let vocabularyRows {
                config.set("vocab_size", .integer(vocabularyRows))
            }
        }
        if family == .gpt2 {
            config.set("n_ctx", config["n_positions"] ?? 1024)
            config.set("activation_function", "gelu_new")
        } else if family == .bert {
            if case .bool(true)? = meta("attention.causal") {
                throw unsupported("\(arch).attention.causal", .bool(true), "BERT with causal attention")
            }
            config.set("hidden_act", "gelu")
            config.set("position_embedding_type", "absolute")
            // The rows of token_types.weight (llama.cpp's token_type_count may say fewer).
            let hidden = max(config["hidden_size"]?.int ?? 1, 1)
            let types = try values("token_types.weight").map { $0.count / hidden } ?? int(metadata["tokenizer.ggml.token_type_count"]) ?? 2
            config.set("type_vocab_size", .integer(types))
        } else {
            try ropeDecoderConfig(&config, family: family, arch: arch, metadata: metadata, tensorNames: tensorNames, values: values)
        }
        for (hf, gguf) in [("bos_token_id", "bos"), ("eos_token_id", "eos"), ("pad_token_id", "padding")] {
            if let id = int(metadata["tokenizer.ggml.\(gguf)_token_id"]) { config.set(hf, .integer(id)) }
        }
        if family != .bert { config.set("tie_word_embeddings", .bool(!tensorNames.contains("output.weight"))) }
        config.set("torch_dtype", .string(dtype.torchName ?? "float32"))
        return config
    }
}

extension GGUFConfig {
    /// The values of a small f32 tensor of `source` (RoPE factors), nil when absent or not f32.
    public static func floatValues(in source: any TensorSource, named name: String) throws -> [Float]? {
        guard let info = source.tensor(named: name), info.dtype == .float32 else { return nil }
        let storage = try source.storage(of: info)
        return unsafe storage.withUnsafeBytes { bytes in
            // SAFETY: k * 4 + 4 ≤ bytes.count for every k read; loadUnaligned needs no alignment.
            (0..<bytes.count / 4).map { k in unsafe Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: k * 4, as: UInt32.self))) }
        }
    }
}
