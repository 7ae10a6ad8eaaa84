import WeightKitCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The RoPE families' GGUF metadata: head size, activation, windows and layer pattern, RoPE and
// its scaling, both ways. What each key means is llama.cpp's (`src/models/<arch>.cpp`,
// `load_arch_hparams`); what the converter writes is `convert_hf_to_gguf.py`'s.

extension GGUFConfig {
    /// The family and run-time description of a GGUF file: config.json from its metadata, read
    /// as Hugging Face does, then what only a GGUF carries — llama.cpp's Q/K order (interleaved
    /// RoPE for llama and granite), norms already holding Gemma's + 1, and `rope_freqs.weight`
    /// as per-frequency divisors.
    public static func architecture(
        ggufMetadata metadata: Metadata, tensorNames: Set<String>, vocabularyRows: Int?, path: String? = nil,
        values: (String) throws -> [Float]?
    ) throws -> (ModelFamily, ArchitectureConfig) {
        guard let family = family(ggufMetadata: metadata) else {
            let arch = metadata["general.architecture"]?.stringValue ?? "none"
            let known = ModelFamily.allCases.map(\.rawValue).joined(separator: ", ")
            throw GraphError(.unknownArchitecture, "general.architecture \"\(arch)\" is not one WeightKit runs (\(known))", path: path)
        }
        let json = try hfConfig(
            ggufMetadata: metadata, family: family, tensorNames: tensorNames, vocabularyRows: vocabularyRows, dtype: .float32, values: values)
        var config = try ArchitectureConfig(huggingFace: json, path: path)
        config.ropeLayout = family.permutesQK ? .interleaved : .halfSplit
        config.normWeightOffset = 0
        if tensorNames.contains("rope_freqs.weight"), let rope = config.rope {
            if case .llama3 = rope.scaling {} else if rope.scaling != .none {
                throw unsupported("rope_freqs.weight", nil, "frequency factors together with rope.scaling.type \(metadata["\(family.rawValue).rope.scaling.type"]?.stringValue ?? "")")
            }
            guard let factors = try values("rope_freqs.weight") else {
                throw FormatError(.invalidHeader, "rope_freqs.weight must be f32", tensorName: "rope_freqs.weight")
            }
            var scaled = rope
            scaled.scaling = .frequencyFactors(factors.map(Double.init))
            try scaled.validate(path: path)
            config.rope = scaled
            if config.slidingRope != nil { config.slidingRope!.scaling = scaled.scaling }
        }
        return (family, config)
    }

    /// llama.cpp's attention scale for Gemma 2/3 as `query_pre_attn_scalar`: the head size,
    /// except for the 27B sizes (46 / 62 layers), which use hidden / heads.
    static func gemmaQueryScalar(family: ModelFamily, layers: Int, hidden: Int, heads: Int, headDim: Int) -> Int {
        let is27B = (family == .gemma2 && layers == 46) || (family == .gemma3 && layers == 62)
        return is27B ? hidden / max(heads, 1) : headDim
    }

    /// The decoder keys of config.json that are not one-to-one fields.
    static func ropeDecoderConfig(
        _ config: inout JSONObject, family: ModelFamily, arch: String, metadata: Metadata, tensorNames: Set<String>,
        values: (String) throws -> [Float]?
    ) throws {
        func meta(_ key: String) -> MetadataValue? { metadata["\(arch).\(key)"] }
        if config["num_key_value_heads"] == nil, let heads = config["num_attention_heads"] { config.set("num_key_value_heads", heads) }
        let hidden = config["hidden_size"]?.int ?? 0, heads = max(config["num_attention_heads"]?.int ?? 1, 1)
        let layers = config["num_hidden_layers"]?.int ?? 0
        let headDim = int(meta("attention.key_length")) ?? hidden / heads
        if meta("attention.key_length") != nil { config.set("head_dim", .integer(headDim)) }
        if let v = meta("attention.value_length"), int(v) != headDim {
            throw unsupported("\(arch).attention.value_length", v, "value heads of another size than key heads (\(headDim))")
        }
        let gemma = family == .gemma || family == .gemma2 || family == .gemma3
        config.set(gemma ? "hidden_activation" : "hidden_act", gemma ? "gelu_pytorch_tanh" : family == .gptneox ? "gelu" : "silu")
        switch family {
        case .qwen2: config.set("attention_bias", true)
        case .gptneox:
            config.set("attention_bias", .bool(tensorNames.contains("blk.0.attn_qkv.bias")))
            if config["use_parallel_residual"] == nil { config.set("use_parallel_residual", true) }
        case .stablelm:
            config.set("use_qkv_bias", .bool(tensorNames.contains("blk.0.attn_q.bias")))
            config.set("qk_layernorm", .bool(tensorNames.contains("blk.0.attn_q_norm.weight")))
            if config["use_parallel_residual"] == nil { config.set("use_parallel_residual", false) }
        case .qwen3moe:
            // llama.cpp's qwen3moe always renormalises the top-k weights (build_moe_ffn norm_w true).
            config.set("norm_topk_prob", true)
            config.set("decoder_sparse_step", 1)
            config.set("mlp_only_layers", .array([]))
        case .gemma2, .gemma3:
            config.set("query_pre_attn_scalar", .integer(gemmaQueryScalar(family: family, layers: layers, hidden: hidden, heads: heads, headDim: headDim)))
            let window = int(meta("attention.sliding_window")) ?? (family == .gemma2 ? 4096 : 0)
            var sliding = [Bool](repeating: false, count: layers)
            if window > 0 {
                config.set("sliding_window", .integer(window))
                // llama_hparams::set_swa_pattern: layer il slides when il % n < n - 1 (n = 0: all).
                switch meta("attention.sliding_window_pattern") {
                case .array(let flags)?:
                    guard flags.count == layers else {
                        throw unsupported("\(arch).attention.sliding_window_pattern", .array(flags), "\(flags.count) entries for \(layers) layers")
                    }
                    sliding = flags.map { if case .bool(true) = $0 { true } else { false } }
                case let value:
                    let n = int(value) ?? (family == .gemma2 ? 2 : 6)
                    sliding = (0..<layers).map { n == 0 || $0 % n < n - 1 }
                }
            } else if let pattern = meta("attention.sliding_window_pattern") {
                throw unsupported("\(arch).attention.sliding_window_pattern", pattern, "a layer pattern without a sliding window")
            }
            config.set("layer_types", .array(sliding.map { .string($0 ? "sliding_attention" : "full_attention") }))
        case .phi3:
            if let window = meta("attention.sliding_window"), (int(window) ?? 0) > 0 {
                throw unsupported("\(arch).attention.sliding_window", window, "llama.cpp ignores Phi-3's window and transformers applies it")
            }
        default: break
        }
        // transformers 4 spellings (top-level rope_theta, rope_scaling), which transformers 5 also reads.
        let rope = try ropeParameters(family: family, arch: arch, metadata: metadata, headDim: headDim, tensorNames: tensorNames, values: values, config: &config)
        var scaling = JSONObject()
        for (key, value) in rope.entries {
            if key == "rope_theta" || key == "partial_rotary_factor" {
                // gpt_neox reads only rotary_pct (and defaults it to 0.25).
                config.set(family == .gptneox && key == "partial_rotary_factor" ? "rotary_pct" : key, value)
            } else {
                scaling.set(key, value)
            }
        }
        if family == .gemma3 { config.set("rope_local_base_freq", .double(double(meta("rope.freq_base_swa")) ?? 10_000)) }
        if scaling["rope_type"]?.string != "default" { config.set("rope_scaling", .object(scaling)) }
    }

    /// The RoPE parameters from the `rope.*` keys and Phi-3's factor tensors, as one
    /// transformers 5 `rope_parameters` object (for Gemma 3: those of the global layers).
    static func ropeParameters(
        family: ModelFamily, arch: String, metadata: Metadata, headDim: Int, tensorNames: Set<String>,
        values: (String) throws -> [Float]?, config: inout JSONObject
    ) throws -> JSONObject {
        func meta(_ key: String) -> MetadataValue? { metadata["\(arch).\(key)"] }
        var p = JSONObject()
        p.set("rope_theta", .double(double(meta("rope.freq_base")) ?? 10_000))
        let rotaryDim = int(meta("rope.dimension_count")) ?? headDim
        if rotaryDim != headDim || family == .stablelm || family == .gptneox {
            p.set("partial_rotary_factor", .double(Double(rotaryDim) / Double(max(headDim, 1))))
        }
        let type = meta("rope.scaling.type")?.stringValue ?? "none"
        let factor = double(meta("rope.scaling.factor"))
        let original = int(meta("rope.scaling.original_context_length"))
        let attnFactor = double(meta("rope.scaling.attn_factor"))
        if family == .phi3, tensorNames.contains("rope_factors_long.weight") || tensorNames.contains("rope_factors_short.weight") {
            guard let long = try values("rope_factors_long.weight"), let short = try values("rope_factors_short.weight") else {
                throw FormatError(.invalidHeader, "Phi-3 longrope needs both rope_factors_long.weight and rope_factors_short.weight as f32")
            }
            guard let original else { throw unsupported("\(arch).rope.scaling.original_context_length", nil, "longrope needs it") }
            p.set("rope_type", "longrope")
            p.set("long_factor", .array(long.map { .double(shortest(Double($0))) }))
            p.set("short_factor", .array(short.map { .double(shortest(Double($0))) }))
            p.set("original_max_position_embeddings", .integer(original))
            config.set("original_max_position_embeddings", .integer(original))
            // transformers derives the factor from the context ratio; written only when the GGUF's differs.
            let scale = Double(config["max_position_embeddings"]?.int ?? original) / Double(original)
            let derived = scale <= 1 ? 1 : (1 + log(scale) / log(Double(original))).squareRoot()
            if let attnFactor, Float(attnFactor) != Float(derived) { p.set("attention_factor", .double(attnFactor)) }
            return p
        }
        switch type {
        case "none" where tensorNames.contains("rope_freqs.weight"):
            // Llama 3 scaling baked into factors: config.json names it when the factors are llama3's.
            p.set("rope_type", "default")
            if let factors = try values("rope_freqs.weight"),
               let llama3 = llama3Parameters(factors: factors, theta: double(meta("rope.freq_base")) ?? 10_000, rotaryDim: rotaryDim) {
                p.set("rope_type", "llama3")
                p.set("factor", .double(llama3.factor))
                p.set("low_freq_factor", .double(llama3.low))
                p.set("high_freq_factor", .double(llama3.high))
                p.set("original_max_position_embeddings", .integer(llama3.originalContext))
            }
        case "none":
            p.set("rope_type", "default")
            if let attnFactor, attnFactor != 1 { throw unsupported("\(arch).rope.scaling.attn_factor", meta("rope.scaling.attn_factor"), "without a scaling type") }
        case "linear":
            guard let factor else { throw unsupported("\(arch).rope.scaling.factor", nil, "linear scaling needs a factor") }
            p.set("rope_type", "linear")
            p.set("factor", .double(factor))
        case "yarn":
            guard let factor, let original else {
                throw unsupported("\(arch).rope.scaling.original_context_length", meta("rope.scaling.original_context_length"), "YaRN needs factor and original context")
            }
            p.set("rope_type", "yarn")
            p.set("factor", .double(factor))
            p.set("original_max_position_embeddings", .integer(original))
            if let b = double(meta("rope.scaling.yarn_beta_fast")) { p.set("beta_fast", .double(b)) }
            if let b = double(meta("rope.scaling.yarn_beta_slow")) { p.set("beta_slow", .double(b)) }
            if let attnFactor, attnFactor != 1 {
                // ggml multiplies its own 1 + 0.1·ln(factor) by this; transformers' attention_factor replaces it.
                throw unsupported("\(arch).rope.scaling.attn_factor", meta("rope.scaling.attn_factor"), "a YaRN attention factor other than 1")
            }
        default:
            throw unsupported("\(arch).rope.scaling.type", meta("rope.scaling.type"), "WeightKit reads none, linear, yarn and Phi-3's longrope")
        }
        if family == .gemma2, let swa = double(meta("rope.freq_base_swa")), swa != (double(meta("rope.freq_base")) ?? 10_000) {
            throw unsupported("\(arch).rope.freq_base_swa", meta("rope.freq_base_swa"), "Gemma 2 has one RoPE base")
        }
        return p
    }
}
