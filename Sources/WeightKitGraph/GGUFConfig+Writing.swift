import WeightKitCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Hugging Face config.json → the GGUF metadata and generated tensors llama.cpp's
// convert_hf_to_gguf.py writes for each family (`set_gguf_parameters`, `generate_extra_tensors`).

extension GGUFConfig {
    /// What an HF → GGUF conversion writes besides the renamed weights.
    public struct Written: Sendable {
        /// `general.architecture`, `general.name` and `{arch}.*` (the caller adds `general.file_type`).
        public var metadata: Metadata
        /// Tensors llama.cpp's converter computes from the config: `rope_freqs.weight` (Llama 3
        /// scaling), `rope_factors_long/short.weight` (Phi-3 longrope).
        public var tensors: [(String, [Float])]
        /// Settings of the config that the GGUF cannot carry, so llama.cpp will compute
        /// something else (Mistral's window, dynamic NTK, …), one sentence each.
        public var lost: [String]

        /// `{arch}.context_length` as written (0 when absent).
        public var contextLength: Int {
            let arch = metadata["general.architecture"]?.stringValue ?? ""
            if case .uint(let n)? = metadata["\(arch).context_length"] { return Int(n) }
            return 0
        }
    }

    /// The GGUF family of an HF family (Mistral and Mixtral are written as llama).
    static func ggufFamily(_ family: ArchitectureConfig.Family) -> ModelFamily? {
        switch family {
        case .llama, .mistral, .mixtral: return .llama
        case .qwen2: return .qwen2
        case .qwen3: return .qwen3
        case .qwen3MoE: return .qwen3moe
        case .gemma: return .gemma
        case .gemma2: return .gemma2
        case .gemma3: return .gemma3
        case .phi3: return .phi3
        case .olmo2: return .olmo2
        case .stablelm: return .stablelm
        case .granite: return .granite
        case .gpt2: return .gpt2
        case .gptNeoX: return .gptneox
        case .bert: return .bert
        }
    }

    /// GGUF metadata (`general.architecture`, `{arch}.*`) for a config.json. The caller adds
    /// `general.file_type` (`GGMLType.fileType(of:)`), which depends on the tensors written.
    ///
    /// - Throws: `.invalidHeader` naming the key when a required hyperparameter is missing or
    ///   not a number.
    public static func ggufMetadata(hfConfig config: JSONObject, family: ModelFamily, name: String?) throws -> Metadata {
        try written(hfConfig: config, name: name).metadata
    }

    /// Everything an HF → GGUF conversion writes from config.json, as llama.cpp's converter does.
    ///
    /// - Throws: `.invalidHeader` naming a missing or malformed key; `.unsupported` for a family
    ///   or RoPE type llama.cpp's converter has no GGUF form for; the config's own errors.
    public static func written(hfConfig config: JSONObject, name: String?) throws -> Written {
        if GGUFConfig.family(hfConfig: config) == .gpt2 { return try writtenGPT2(hfConfig: config, name: name) }
        if GGUFConfig.family(hfConfig: config) == .bert { return try writtenBERT(hfConfig: config, name: name) }
        for required in ["hidden_size", "num_hidden_layers", "num_attention_heads"] {
            guard let value = config[required] else { throw FormatError(.invalidHeader, "config.json has no \"\(required)\", needed for GGUF") }
            guard value.int != nil else { throw invalid(required, value) }
        }
        let c: ArchitectureConfig
        do { c = try ArchitectureConfig(huggingFace: config) } catch { throw FormatError(.invalidHeader, "config.json: \(error.message)") }
        guard let family = ggufFamily(c.family) else {
            throw FormatError(.unsupported, "model_type \(c.family.rawValue) has no GGUF mapping in WeightKit")
        }
        let arch = family.rawValue
        var meta = Metadata()
        var tensors: [(String, [Float])] = []
        var lost: [String] = []
        func set(_ key: String, _ value: MetadataValue) { meta["\(arch).\(key)"] = value }
        func u(_ n: Int) -> MetadataValue { .uint(UInt64(n)) }
        func f(_ x: Float) -> MetadataValue { .float(Double(x)) }
        // The config's own number when it has one (1e-5, not its f32 9.99999974e-6), else the description's.
        func raw(_ key: String, _ x: Float) -> MetadataValue { config[key]?.number.map { .float($0) } ?? f(x) }
        meta["general.architecture"] = .string(arch)
        if let name { meta["general.name"] = .string(name) }
        set("block_count", u(c.layers))
        set("context_length", u(config["max_position_embeddings"]?.int ?? c.contextLength))
        set("embedding_length", u(c.hiddenSize))
        set("feed_forward_length", u(c.intermediateSize))
        set("attention.head_count", u(c.heads))
        let layerNorm = family == .stablelm || family == .gptneox
        if family != .gptneox { set("attention.head_count_kv", u(c.kvHeads)) }
        set(layerNorm ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon", raw(layerNorm ? "layer_norm_eps" : "rms_norm_eps", c.normEpsilon))
        let rope = c.rope!
        if ![.gemma, .gemma2, .stablelm, .gptneox].contains(family) { set("rope.freq_base", .float(rope.theta)) }
        if config["head_dim"] != nil, config["head_dim"] != .null, family != .granite {
            set("attention.key_length", u(c.headDim))
            set("attention.value_length", u(c.headDim))
        }
        if family == .llama || family == .granite { set("vocab_size", u(c.vocabSize)) }
        if [.llama, .granite, .phi3, .stablelm, .gptneox].contains(family) { set("rope.dimension_count", u(rope.rotaryDim)) }
        if let moe = c.moe {
            set("expert_count", u(moe.experts))
            set("expert_used_count", u(moe.topK))
            if family == .qwen3moe { set("expert_feed_forward_length", u(moe.intermediateSize)) }
            if !moe.normalizeTopK { lost.append("norm_topk_prob false: llama.cpp always renormalises the top-k expert weights") }
        }
        switch family {
        case .gemma2, .gemma3:
            if let cap = c.attentionSoftCap { set("attn_logit_softcapping", raw("attn_logit_softcapping", cap)) }
            if let cap = c.finalLogitSoftCap { set("final_logit_softcapping", raw("final_logit_softcapping", cap)) }
            if let window = c.slidingWindow { set("attention.sliding_window", u(window)) }
            if family == .gemma3, let local = c.slidingRope { set("rope.freq_base_swa", .float(local.theta)) }
            let scalar = gemmaQueryScalar(family: family, layers: c.layers, hidden: c.hiddenSize, heads: c.heads, headDim: c.headDim)
            if c.effectiveAttentionScale != 1 / Float(scalar).squareRoot() {
                lost.append("query_pre_attn_scalar: llama.cpp scales queries by 1/√\(scalar), transformers by \(c.effectiveAttentionScale)")
            }
            let n = family == .gemma2 ? 2 : 6
            let llamaCpp = (0..<c.layers).map { $0 % n < n - 1 }
            if c.layerAttention.map({ $0 == .sliding }) != llamaCpp {
                lost.append("layer_types: llama.cpp's default pattern for \(arch) (every \(n)th layer global) differs from the config's")
            }
        case .phi3:
            set("attention.sliding_window", u(c.slidingWindow ?? 0))
        case .stablelm, .gptneox:
            set("use_parallel_residual", .bool(c.parallelResidual))
            if family == .gptneox, rope.theta != 10_000 { lost.append("rope_theta \(rope.theta): llama.cpp's gptneox reads no RoPE base and uses 10000") }
        case .granite:
            set("attention.scale", raw("attention_multiplier", c.effectiveAttentionScale))
            set("embedding_scale", raw("embedding_multiplier", c.embeddingScale))
            set("residual_scale", raw("residual_multiplier", c.residualScale))
            set("logit_scale", raw("logits_scaling", 1 / c.logitScale))
        case .llama:
            if c.slidingWindow != nil { lost.append("sliding_window \(c.slidingWindow!): llama.cpp's llama architecture attends to the whole context") }
        default: break
        }
        switch rope.scaling {
        case .none, .frequencyFactors: break
        case .linear(let factor):
            set("rope.scaling.type", .string("linear"))
            set("rope.scaling.factor", .float(factor))
        case .yarn(let yarn):
            set("rope.scaling.type", .string("yarn"))
            set("rope.scaling.factor", .float(yarn.factor))
            set("rope.scaling.original_context_length", u(yarn.originalContext))
        case .dynamic:
            lost.append("dynamic NTK RoPE: llama.cpp has no dynamic scaling and runs plain RoPE")
        case .llama3(let factor, let low, let high, let originalContext):
            tensors.append(("rope_freqs.weight", llama3Factors(theta: rope.theta, rotaryDim: rope.rotaryDim, factor: factor, low: low, high: high, originalContext: originalContext)))
        case .longrope(let short, let long, let originalContext, let attentionFactor):
            set("rope.scaling.attn_factor", .float(attentionFactor))
            set("rope.scaling.original_context_length", u(originalContext))
            tensors.append(("rope_factors_long.weight", long.map { Float($0) }))
            tensors.append(("rope_factors_short.weight", short.map { Float($0) }))
        }
        return Written(metadata: meta, tensors: tensors, lost: lost)
    }

    /// BERT: the one-to-one fields and bidirectional attention, as convert_hf_to_gguf.py's
    /// BertModel writes them (the caller adds `bert.pooling_type` from sentence-transformers' files).
    static func writtenBERT(hfConfig config: JSONObject, name: String?) throws -> Written {
        let c: ArchitectureConfig
        do { c = try ArchitectureConfig(huggingFace: config) } catch { throw FormatError(.invalidHeader, "config.json: \(error.message)") }
        var meta = Metadata()
        meta["general.architecture"] = .string("bert")
        if let name { meta["general.name"] = .string(name) }
        func set(_ key: String, _ value: MetadataValue) { meta["bert.\(key)"] = value }
        func u(_ n: Int) -> MetadataValue { .uint(UInt64(n)) }
        set("block_count", u(c.layers))
        set("context_length", u(c.contextLength))
        set("embedding_length", u(c.hiddenSize))
        set("feed_forward_length", u(c.intermediateSize))
        set("attention.head_count", u(c.heads))
        set("attention.layer_norm_epsilon", config["layer_norm_eps"]?.number.map { .float($0) } ?? .float(Double(c.normEpsilon)))
        set("attention.causal", .bool(false))
        return Written(metadata: meta, tensors: [], lost: [])
    }

    /// GPT-2: the one-to-one fields.
    static func writtenGPT2(hfConfig config: JSONObject, name: String?) throws -> Written {
        var meta = Metadata()
        meta["general.architecture"] = .string("gpt2")
        if let name { meta["general.name"] = .string(name) }
        func set(_ key: String, _ value: MetadataValue) { meta["gpt2.\(key)"] = value }
        func u(_ n: Int) -> MetadataValue { .uint(UInt64(n)) }
        for field in fields(for: .gpt2) {
            // null is transformers' "not set" (GPT-2's own config has "n_inner": null: 4 × n_embd).
            guard let value = config[field.hf], value != .null else { continue }
            if field.isFloat {
                guard let d = value.number else { throw invalid(field.hf, value) }
                set(field.gguf, .float(d))
            } else {
                guard let n = value.int, n >= 0 else { throw invalid(field.hf, value) }
                set(field.gguf, u(n))
            }
        }
        if meta["gpt2.feed_forward_length"] == nil { set("feed_forward_length", u(4 * (config["n_embd"]?.int ?? 0))) }
        return Written(metadata: meta, tensors: [], lost: [])
    }

    /// convert_hf_to_gguf.py's `LlamaModel.generate_extra_tensors`: the per-frequency divisor of
    /// Llama 3 scaling, computed in f32 as torch does there.
    static func llama3Factors(theta: Double, rotaryDim: Int, factor: Double, low: Double, high: Double, originalContext: Int) -> [Float] {
        let context = Float(originalContext), factor = Float(factor), low = Float(low), high = Float(high)
        let lowWavelength = context / low, highWavelength = context / high
        return stride(from: 0, to: rotaryDim, by: 2).map { i -> Float in
            let frequency = 1 / powf(Float(theta), Float(i) / Float(rotaryDim))
            let wavelength = 2 * Float.pi / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return factor }
            let smooth = (context / wavelength - low) / (high - low)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }

    static func invalid(_ key: String, _ value: JSONValue) -> FormatError {
        FormatError(.invalidHeader, "config.json \"\(key)\" must be a number, found \(value.typeName)")
    }
}

extension GGUFConfig {
    /// Llama 3 scaling (`rope_type` llama3) recovered from llama.cpp's `rope_freqs.weight`, when
    /// the factors are exactly what `llama3Factors` makes of Meta's low/high frequency factors
    /// (1 and 4, the converter's defaults) for some factor and original context: the factor is the
    /// largest divisor, the context follows from any smoothed pair (8192 when none is smoothed),
    /// and the whole vector is recomputed and compared. nil when no such parameters reproduce it.
    public static func llama3Parameters(factors: [Float], theta: Double, rotaryDim: Int) -> (factor: Double, low: Double, high: Double, originalContext: Int)? {
        guard factors.count == rotaryDim / 2, let factor = factors.max(), factor > 1 else { return nil }
        let low = 1.0, high = 4.0
        var context = 8192
        for (i, f) in factors.enumerated() where f > 1 && f < factor {
            let wavelength = 2 * Double.pi * pow(theta, Double(2 * i) / Double(rotaryDim))
            let smooth = (1 / Double(f) - 1 / Double(factor)) / (1 - 1 / Double(factor))
            context = Int(((smooth * (high - low) + low) * wavelength).rounded())
            break
        }
        let again = llama3Factors(theta: theta, rotaryDim: rotaryDim, factor: Double(factor), low: low, high: high, originalContext: context)
        guard zip(again, factors).allSatisfy({ abs($0 - $1) <= 1e-5 * $1 }) else { return nil }
        return (Double(factor), low, high, context)
    }
}
