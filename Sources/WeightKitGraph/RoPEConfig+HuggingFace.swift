import WeightKitCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Reading RoPE from config.json the way transformers 5 does (`convert_rope_params_to_dict`,
// `standardize_rope_params`, the model configs' overrides for phi3, gpt_neox, stablelm, gemma3),
// refusing whatever it cannot compute exactly.

extension RoPEConfig {
    /// Reads the RoPE of one attention kind from a Hugging Face config.json, transformers 4 and 5
    /// spellings: `rope_theta` / `rotary_emb_base`, `rope_scaling` (`type` or `rope_type`) and
    /// transformers 5's `rope_parameters` (holding rope_theta + rope_type + parameters; for Gemma 3
    /// a dictionary per layer type, "full_attention"/"sliding_attention"; transformers 4 Gemma 3
    /// spells the local base `rope_local_base_freq` and applies rope_scaling to global layers only),
    /// `partial_rotary_factor` / `rotary_pct`, `max_position_embeddings`,
    /// `original_max_position_embeddings`. `layerType` is nil, "full_attention" or "sliding_attention".
    ///
    /// Defaults are transformers': theta 10000 (Gemma 3: 1e6 global, 1e4 local), rotary fraction 1
    /// (gpt_neox and stablelm: 0.25). Throws `GraphError(.invalidConfig)` naming the key and its
    /// value for an unknown `rope_type`, a theta or factor out of range, an odd or zero rotary
    /// dimension, longrope factor lists of the wrong length, and any key in the scaling
    /// dictionary that would change the result and is not implemented.
    public init(huggingFace json: JSONObject, headDim: Int, layerType: String? = nil, path: String? = nil) throws(GraphError) {
        var reader = HuggingFaceRoPEReader(json: json, path: path)
        self = try reader.read(headDim: headDim, layerType: layerType)
        try validate(path: path)
    }
}

/// The parsing state of one `RoPEConfig(huggingFace:)` call: where the parameters were found
/// (for messages) and the model type's defaults.
private struct HuggingFaceRoPEReader {
    let json: JSONObject
    let path: String?
    let modelType: String
    /// The dictionary the rope_type and its parameters come from, or nil for plain RoPE.
    var parameters: JSONObject? = nil
    /// Its spelling in messages: `rope_scaling`, `rope_parameters.full_attention`…
    var parametersName = "rope_scaling"
    /// True when the parameters are one layer type's (nested or Gemma 3's transformers 4 global
    /// scaling): transformers then takes original_max_position_embeddings from them, not the top level.
    var perLayerType = false

    static let layerTypes: Set<String> = ["full_attention", "sliding_attention"]

    init(json: JSONObject, path: String?) {
        self.json = json
        self.path = path
        self.modelType = json["model_type"]?.string ?? ""
    }

    var isGemma3: Bool { modelType.hasPrefix("gemma3") }
    var isPhi3: Bool { modelType == "phi3" || modelType == "phi4_multimodal" }

    func fail(_ message: String) -> GraphError { GraphError(.invalidConfig, message, path: path) }

    func describe(_ value: JSONValue) -> String { JSONWriter.serialize(value) }

    // MARK: Values

    /// A number at `key` of `object` (nil when absent or null), checked finite.
    func number(_ key: String, in object: JSONObject?, _ name: String) throws(GraphError) -> Double? {
        guard let value = object?[key], value != .null else { return nil }
        guard let number = value.number, number.isFinite else {
            throw fail("\(name) \(describe(value)) must be a number")
        }
        return number
    }

    /// A positive integer at `key` of `object` (nil when absent or null).
    func positiveInt(_ key: String, in object: JSONObject?, _ name: String) throws(GraphError) -> Int? {
        guard let value = object?[key], value != .null else { return nil }
        guard let int = value.int, int > 0 else { throw fail("\(name) \(describe(value)) must be a positive integer") }
        return int
    }

    /// A factor: a finite number > 0, and ≥ 1 where transformers' validator requires it.
    func factor(_ key: String, atLeastOne: Bool) throws(GraphError) -> Double? {
        let name = "\(parametersName).\(key)"
        guard let value = try number(key, in: parameters, name) else { return nil }
        guard value > 0 else { throw fail("\(name) \(value) must be > 0") }
        if atLeastOne && value < 1 {
            throw fail("\(name) \(value) must be ≥ 1 (transformers' validate_rope: factor must be >= 1)")
        }
        return value
    }

    func required<T>(_ value: T?, _ key: String, for type: String) throws(GraphError) -> T {
        guard let value else { throw fail("\(parametersName) of rope_type \"\(type)\" needs \(key)") }
        return value
    }

    // MARK: Reading

    mutating func read(headDim: Int, layerType: String?) throws(GraphError) -> RoPEConfig {
        if let layerType, !Self.layerTypes.contains(layerType) {
            throw fail("layer type \"\(layerType)\" is not one of full_attention, sliding_attention")
        }
        guard headDim > 0 else { throw fail("head dimension \(headDim) must be > 0") }
        let sliding = try selectParameters(layerType: layerType)
        let theta = try readTheta(layerType: layerType, gemmaLocal: sliding)
        let rotaryDim = try readRotaryDim(headDim: headDim)
        let type = try readType()
        try checkKeys(type: type)
        let scaling = try readScaling(type: type, rotaryDim: rotaryDim)
        return RoPEConfig(theta: theta, rotaryDim: rotaryDim, scaling: scaling)
    }

    /// Finds the dictionary for this layer type; returns true for a transformers 4 Gemma 3
    /// sliding layer (plain RoPE on `rope_local_base_freq`).
    mutating func selectParameters(layerType: String?) throws(GraphError) -> Bool {
        func object(_ key: String) throws(GraphError) -> JSONObject? {
            guard let value = json[key], value != .null else { return nil }
            guard let object = value.object else { throw fail("\(key) \(describe(value)) must be an object") }
            return object.count == 0 ? nil : object
        }
        // convert_rope_params_to_dict: `rope_scaling or rope_parameters`.
        let scaling = try object("rope_scaling")
        let ropeParameters = try object("rope_parameters")
        parametersName = scaling != nil ? "rope_scaling" : "rope_parameters"
        guard let chosen = scaling ?? ropeParameters else {
            if isGemma3 && layerType == nil {
                throw fail("model_type \"\(modelType)\" has one RoPE per layer type (full_attention, sliding_attention): the layer type must be given")
            }
            return isGemma3 && layerType == "sliding_attention"
        }
        let nested = chosen.keys.contains { Self.layerTypes.contains($0) }
        if nested {
            if let stray = chosen.keys.first(where: { !Self.layerTypes.contains($0) }) {
                throw fail("\(parametersName) mixes layer types with key \"\(stray)\" \(describe(chosen[stray]!))")
            }
            guard let layerType else {
                throw fail("\(parametersName) holds one RoPE per layer type (\(chosen.keys.joined(separator: ", "))): the layer type must be given")
            }
            parametersName += "." + layerType
            guard let entry = chosen[layerType], entry != .null else {
                throw fail("\(parametersName) is absent: no RoPE for \(layerType) layers")
            }
            guard let object = entry.object else { throw fail("\(parametersName) \(describe(entry)) must be an object") }
            parameters = object
            perLayerType = true
            return false
        }
        if isGemma3 && layerType == nil {
            throw fail("model_type \"\(modelType)\" has one RoPE per layer type (full_attention, sliding_attention): the layer type must be given")
        }
        if isGemma3 {
            // transformers 4 Gemma 3: rope_scaling belongs to the global (full attention) layers only.
            if layerType == "sliding_attention" { return true }
            perLayerType = true
        }
        parameters = chosen
        return false
    }

    func readTheta(layerType: String?, gemmaLocal: Bool) throws(GraphError) -> Double {
        let theta: Double?
        if gemmaLocal {
            theta = try number("rope_local_base_freq", in: json, "rope_local_base_freq") ?? 10_000
        } else {
            let fallback: Double = isGemma3 ? (layerType == "sliding_attention" ? 10_000 : 1_000_000) : 10_000
            if let own = try number("rope_theta", in: parameters, "\(parametersName).rope_theta") {
                theta = own
            } else if let top = try number("rope_theta", in: json, "rope_theta") {
                theta = top
            } else {
                theta = try number("rotary_emb_base", in: json, "rotary_emb_base") ?? fallback
            }
        }
        guard let theta, theta > 0 else { throw fail("rope_theta \(theta ?? .nan) must be a finite number > 0") }
        return theta
    }

    func readRotaryDim(headDim: Int) throws(GraphError) -> Int {
        var name = "\(parametersName).partial_rotary_factor"
        var fraction = try number("partial_rotary_factor", in: parameters, name)
        if fraction == nil {
            // gpt_neox reads only rotary_pct (default 0.25); stablelm defaults to 0.25 too.
            name = modelType == "gpt_neox" ? "rotary_pct" : "partial_rotary_factor"
            fraction = try number(name, in: json, name)
        }
        let value = fraction ?? (modelType == "gpt_neox" || modelType == "stablelm" ? 0.25 : 1)
        guard value > 0 && value <= 1 else { throw fail("\(name) \(value) must be in (0, 1]") }
        let rotaryDim = Int(Double(headDim) * value)  // transformers: int(head_dim * partial_rotary_factor)
        guard rotaryDim >= 2 && rotaryDim % 2 == 0 else {
            throw fail("\(name) \(value) × head dimension \(headDim) gives rotary dimension \(rotaryDim): must be even and ≥ 2")
        }
        return rotaryDim
    }

    func readType() throws(GraphError) -> String {
        guard let parameters else { return "default" }
        let key = parameters["rope_type"] != nil ? "rope_type" : "type"
        guard let value = parameters[key] else { return "default" }
        guard let type = value.string else { throw fail("\(parametersName).\(key) \(describe(value)) must be a string") }
        // Phi-3's config reads the old names "su" and "yarn" as longrope (Phi3Config.convert_rope_params_to_dict).
        if isPhi3 && (type == "su" || type == "yarn") { return "longrope" }
        let known = ["default", "linear", "dynamic", "llama3", "yarn", "longrope"]
        guard known.contains(type) else {
            let hint = type == "su" ? " (longrope's old name, which transformers reads only for phi3 configs)" : ""
            throw fail("\(parametersName).\(key) \"\(type)\" is not supported\(hint); supported: \(known.joined(separator: ", "))")
        }
        return type
    }

    /// Refuses keys the type does not read. Besides each type's own parameters, accepted
    /// everywhere: rope_type/type, rope_theta, partial_rotary_factor (read above).
    /// Ignored because transformers reads them nowhere for that type (so they cannot change the
    /// result): original_max_position_embeddings for default, linear and dynamic (dynamic
    /// scales against max_position_embeddings), and `factor` 1 for default.
    func checkKeys(type: String) throws(GraphError) {
        guard let parameters else { return }
        let common: Set<String> = ["rope_type", "type", "rope_theta", "partial_rotary_factor"]
        let own: Set<String>
        switch type {
        case "default": own = ["original_max_position_embeddings", "factor"]
        case "linear", "dynamic": own = ["factor", "original_max_position_embeddings"]
        case "llama3": own = ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"]
        case "yarn": own = ["factor", "original_max_position_embeddings", "attention_factor", "beta_fast", "beta_slow",
                            "mscale", "mscale_all_dim", "truncate"]
        default: own = ["short_factor", "long_factor", "original_max_position_embeddings", "factor", "attention_factor"]
        }
        for (key, value) in parameters.entries where !common.contains(key) && !own.contains(key) {
            throw fail("\(parametersName).\(key) \(describe(value)) is not implemented for rope_type \"\(type)\"")
        }
        if type == "default", let factor = parameters["factor"], factor != .null, factor.number != 1 {
            throw fail("\(parametersName).factor \(describe(factor)) has no effect with rope_type \"default\" (only 1 is accepted)")
        }
    }

    /// max_position_embeddings, needed by dynamic and as a fallback context.
    func maxPositions(for type: String) throws(GraphError) -> Int {
        guard let value = try positiveInt("max_position_embeddings", in: json, "max_position_embeddings") else {
            throw fail("rope_type \"\(type)\" needs max_position_embeddings")
        }
        return value
    }

    /// standardize_rope_params: a top-level original_max_position_embeddings wins over the
    /// dictionary's for one global dictionary (Phi-3's config always has one: 4096 by default);
    /// per layer type only the dictionary's counts; both fall back to max_position_embeddings.
    func originalContext(for type: String) throws(GraphError) -> Int {
        let key = "original_max_position_embeddings"
        if !perLayerType {
            if let top = try positiveInt(key, in: json, key) { return top }
            if isPhi3 { return 4096 }
        }
        if let own = try positiveInt(key, in: parameters, "\(parametersName).\(key)") { return own }
        return try maxPositions(for: type)
    }

    func readScaling(type: String, rotaryDim: Int) throws(GraphError) -> RoPEScaling {
        switch type {
        case "default":
            return .none
        case "linear":
            return .linear(factor: try required(factor("factor", atLeastOne: true), "factor", for: type))
        case "dynamic":
            let factor = try required(factor("factor", atLeastOne: true), "factor", for: type)
            return .dynamic(factor: factor, originalContext: try maxPositions(for: type))
        case "llama3":
            let factor = try required(factor("factor", atLeastOne: true), "factor", for: type)
            let low = try required(self.factor("low_freq_factor", atLeastOne: false), "low_freq_factor", for: type)
            let high = try required(self.factor("high_freq_factor", atLeastOne: false), "high_freq_factor", for: type)
            guard high > low else {
                throw fail("\(parametersName).high_freq_factor \(high) must be greater than low_freq_factor \(low)")
            }
            return .llama3(factor: factor, lowFrequencyFactor: low, highFrequencyFactor: high,
                           originalContext: try originalContext(for: type))
        case "yarn":
            return .yarn(try readYaRN())
        default:
            return try readLongRoPE(rotaryDim: rotaryDim)
        }
    }

    func readYaRN() throws(GraphError) -> YaRNScaling {
        let factor = try required(factor("factor", atLeastOne: true), "factor", for: "yarn")
        func optional(_ key: String) throws(GraphError) -> Double? {
            try number(key, in: parameters, "\(parametersName).\(key)")
        }
        var truncate = true
        if let value = parameters?["truncate"], value != .null {
            guard let flag = value.bool else { throw fail("\(parametersName).truncate \(describe(value)) must be a boolean") }
            // _compute_yarn_parameters reads truncate from the top-level rope_parameters only.
            if perLayerType && !flag {
                throw fail("\(parametersName).truncate false is ignored by transformers inside a per-layer-type dictionary; refusing rather than guessing")
            }
            truncate = flag
        }
        let attention = try optional("attention_factor")
        if let attention, attention <= 0 { throw fail("\(parametersName).attention_factor \(attention) must be > 0") }
        // `beta_fast or 32`, `beta_slow or 1`: absent, null and 0 all mean the default.
        let betaFast = try optional("beta_fast") ?? 0
        let betaSlow = try optional("beta_slow") ?? 0
        return YaRNScaling(
            factor: factor, originalContext: try originalContext(for: "yarn"),
            betaFast: betaFast == 0 ? 32 : betaFast, betaSlow: betaSlow == 0 ? 1 : betaSlow,
            mscale: try optional("mscale") ?? 0, mscaleAllDim: try optional("mscale_all_dim") ?? 0,
            attentionFactor: attention, truncate: truncate)
    }

    func readLongRoPE(rotaryDim: Int) throws(GraphError) -> RoPEScaling {
        func list(_ key: String) throws(GraphError) -> [Double] {
            let name = "\(parametersName).\(key)"
            guard let value = parameters?[key], value != .null else { throw fail("rope_type \"longrope\" needs \(name)") }
            guard let array = value.array else { throw fail("\(name) \(describe(value)) must be a list of numbers") }
            var numbers: [Double] = []
            for element in array {
                guard let number = element.number, number.isFinite, number > 0 else {
                    throw fail("\(name) element \(describe(element)) must be a finite number > 0")
                }
                numbers.append(number)
            }
            guard numbers.count == rotaryDim / 2 else {
                throw fail("\(name) has \(numbers.count) factors; rotary dimension \(rotaryDim) needs \(rotaryDim / 2)")
            }
            return numbers
        }
        let short = try list("short_factor")
        let long = try list("long_factor")
        let original = try originalContext(for: "longrope")
        var attention = try number("attention_factor", in: parameters, "\(parametersName).attention_factor")
        if let value = attention, value <= 0 { throw fail("\(parametersName).attention_factor \(value) must be > 0") }
        if attention == nil {
            // _compute_longrope_parameters: factor defaults to max_position_embeddings / original;
            // attention sqrt(1 + ln(factor) / ln(original)), 1 when factor ≤ 1.
            var factor = Double(0)
            if let given = try self.factor("factor", atLeastOne: true) {
                factor = given
            } else {
                factor = Double(try maxPositions(for: "longrope")) / Double(original)
            }
            attention = factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot()
        } else {
            _ = try factor("factor", atLeastOne: true)  // checked even though the attention factor is given
        }
        return .longrope(shortFactor: short, longFactor: long, originalContext: original, attentionFactor: attention!)
    }
}
