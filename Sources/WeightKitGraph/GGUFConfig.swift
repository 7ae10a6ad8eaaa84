import WeightKitCore

/// GGUF hyperparameters (`{arch}.*`) ↔ Hugging Face `config.json`, per family.
///
/// After llama.cpp's `convert_hf_to_gguf.py` (`set_gguf_parameters`) one way and transformers'
/// `integrations/ggml.py` (`GGUF_CONFIG_MAPPING`) the other.
public enum GGUFConfig {
    /// One hyperparameter: config.json key, GGUF key without the `{arch}.` prefix, float or not.
    public struct Field: Sendable {
        /// The config.json key.
        public var hf: String
        /// The GGUF key after `{arch}.`.
        public var gguf: String
        /// True for floats (stored f32 in GGUF), false for counts (stored u32).
        public var isFloat: Bool
    }

    /// The hyperparameters of `family`.
    public static func fields(for family: ModelFamily) -> [Field] {
        switch family {
        case .llama, .qwen2:
            return [
                Field(hf: "hidden_size", gguf: "embedding_length", isFloat: false),
                Field(hf: "intermediate_size", gguf: "feed_forward_length", isFloat: false),
                Field(hf: "num_hidden_layers", gguf: "block_count", isFloat: false),
                Field(hf: "num_attention_heads", gguf: "attention.head_count", isFloat: false),
                Field(hf: "num_key_value_heads", gguf: "attention.head_count_kv", isFloat: false),
                Field(hf: "max_position_embeddings", gguf: "context_length", isFloat: false),
                Field(hf: "rms_norm_eps", gguf: "attention.layer_norm_rms_epsilon", isFloat: true),
                Field(hf: "rope_theta", gguf: "rope.freq_base", isFloat: true),
                Field(hf: "vocab_size", gguf: "vocab_size", isFloat: false),
            ]
        case .gpt2:
            return [
                Field(hf: "n_embd", gguf: "embedding_length", isFloat: false),
                Field(hf: "n_inner", gguf: "feed_forward_length", isFloat: false),
                Field(hf: "n_layer", gguf: "block_count", isFloat: false),
                Field(hf: "n_head", gguf: "attention.head_count", isFloat: false),
                Field(hf: "n_positions", gguf: "context_length", isFloat: false),
                Field(hf: "layer_norm_epsilon", gguf: "attention.layer_norm_epsilon", isFloat: true),
                Field(hf: "vocab_size", gguf: "vocab_size", isFloat: false),
            ]
        }
    }

    /// HF class names per family.
    static func architectures(_ family: ModelFamily) -> (modelType: String, className: String) {
        switch family {
        case .llama: return ("llama", "LlamaForCausalLM")
        case .qwen2: return ("qwen2", "Qwen2ForCausalLM")
        case .gpt2: return ("gpt2", "GPT2LMHeadModel")
        }
    }

    /// The family named by GGUF `general.architecture`.
    public static func family(ggufMetadata metadata: Metadata) -> ModelFamily? {
        metadata["general.architecture"]?.stringValue.flatMap(ModelFamily.init(name:))
    }

    /// The family of a config.json (`model_type`).
    public static func family(hfConfig config: JSONObject) -> ModelFamily? {
        config["model_type"]?.string.flatMap(ModelFamily.init(name:))
    }

    /// A GGUF f32 shown as the shortest decimal that reads back as the same f32 (`1e-05`,
    /// not `9.999999747378752e-06`), which is what the HF config held before conversion.
    static func shortest(_ v: Double) -> Double { Double(String(Float(v))) ?? v }

    /// config.json for a GGUF file's metadata.
    ///
    /// - Parameters:
    ///   - tensorNames: the GGUF tensor names (no `output.weight` means tied embeddings).
    ///   - vocabularyRows: rows of `token_embd.weight`, the vocab size when the metadata has none.
    ///   - dtype: the `torch_dtype` written.
    public static func hfConfig(
        ggufMetadata metadata: Metadata, family: ModelFamily, tensorNames: Set<String>, vocabularyRows: Int?, dtype: DType
    ) -> JSONObject {
        let arch = metadata["general.architecture"]?.stringValue ?? family.rawValue
        let names = architectures(family)
        var config = JSONObject()
        config.set("architectures", [.string(names.className)])
        config.set("model_type", .string(names.modelType))
        for field in fields(for: family) {
            guard let value = metadata["\(arch).\(field.gguf)"] else { continue }
            switch value {
            case .float(let d): config.set(field.hf, .double(shortest(d)))
            case .uint(let u): config.set(field.hf, field.isFloat ? .double(Double(u)) : .integer(u))
            case .int(let i): config.set(field.hf, field.isFloat ? .double(Double(i)) : .integer(i))
            default: continue
            }
        }
        if config["vocab_size"] == nil {
            if case .array(let tokens)? = metadata["tokenizer.ggml.tokens"] {
                config.set("vocab_size", .integer(tokens.count))
            } else if let vocabularyRows {
                config.set("vocab_size", .integer(vocabularyRows))
            }
        }
        if family != .gpt2 {
            if config["num_key_value_heads"] == nil, let heads = config["num_attention_heads"] {
                config.set("num_key_value_heads", heads)
            }
            if let keyLength = metadata["\(arch).attention.key_length"], case .uint(let d) = keyLength {
                config.set("head_dim", .integer(d))
            }
            config.set("hidden_act", "silu")
            config.set("attention_bias", .bool(family == .qwen2))
            if config["rope_theta"] == nil { config.set("rope_theta", 10000.0) }
        } else {
            config.set("n_ctx", config["n_positions"] ?? 1024)
            config.set("activation_function", "gelu_new")
        }
        for (hf, gguf) in [("bos_token_id", "bos"), ("eos_token_id", "eos"), ("pad_token_id", "padding")] {
            if case .uint(let id)? = metadata["tokenizer.ggml.\(gguf)_token_id"] { config.set(hf, .integer(id)) }
        }
        config.set("tie_word_embeddings", .bool(!tensorNames.contains("output.weight")))
        config.set("torch_dtype", .string(dtype.torchName ?? "float32"))
        return config
    }

    /// GGUF metadata (`general.architecture`, `{arch}.*`) for a config.json. The caller adds
    /// `general.file_type` (`GGMLType.fileType(of:)`), which depends on the tensors written.
    ///
    /// - Throws: `.invalidHeader` naming the key when a required hyperparameter is missing or
    ///   not a number.
    public static func ggufMetadata(hfConfig config: JSONObject, family: ModelFamily, name: String?) throws -> Metadata {
        let arch = family.rawValue
        var meta = Metadata()
        meta["general.architecture"] = .string(arch)
        if let name { meta["general.name"] = .string(name) }
        for field in fields(for: family) {
            guard let value = config[field.hf] else { continue }
            if field.isFloat {
                guard let d = value.number else { throw invalid(field.hf, value) }
                meta["\(arch).\(field.gguf)"] = .float(d)
            } else {
                guard let n = value.int, n >= 0 else { throw invalid(field.hf, value) }
                meta["\(arch).\(field.gguf)"] = .uint(UInt64(n))
            }
        }
        if family == .gpt2, meta["gpt2.feed_forward_length"] == nil, let embd = config["n_embd"]?.int {
            meta["gpt2.feed_forward_length"] = .uint(UInt64(4 * embd))
        }
        if family != .gpt2 {
            if meta["\(arch).attention.head_count_kv"] == nil, let heads = meta["\(arch).attention.head_count"] {
                meta["\(arch).attention.head_count_kv"] = heads
            }
            if let hidden = config["hidden_size"]?.int, let heads = config["num_attention_heads"]?.int, heads > 0 {
                let headDim = config["head_dim"]?.int ?? hidden / heads
                meta["\(arch).rope.dimension_count"] = .uint(UInt64(headDim))
                if headDim != hidden / heads {
                    meta["\(arch).attention.key_length"] = .uint(UInt64(headDim))
                    meta["\(arch).attention.value_length"] = .uint(UInt64(headDim))
                }
            }
        }
        for required in ["embedding_length", "block_count", "attention.head_count"] where meta["\(arch).\(required)"] == nil {
            let hf = fields(for: family).first { $0.gguf == required }!.hf
            throw FormatError(.invalidHeader, "config.json has no \"\(hf)\", needed for \(arch).\(required)")
        }
        return meta
    }

    static func invalid(_ key: String, _ value: JSONValue) -> FormatError {
        FormatError(.invalidHeader, "config.json \"\(key)\" must be a number, found \(value.typeName)")
    }
}
