import WeightKitCore

/// llama-quantize's `quantize_state_impl` for one pass over a model: the attn_v / ffn counters
/// and the per-tensor rules of `llama_tensor_get_type_impl` (the branches its K-quant, Q5_0
/// and Q5_1 file types reach) and `tensor_type_fallback`.
struct QuantMixState {
    let mix: QuantMix
    let model: QuantMixModel
    let hasImportance: Bool
    /// `n_attention_wv`: attn_v-like tensors in the model (by name, quantizable or not).
    let attentionWV: Int
    /// `has_tied_embeddings`: no `output.weight`, so token_embd follows the output rule.
    let tiedEmbeddings: Bool
    var iAttentionWV = 0
    var iFFNDown = 0, iFFNGate = 0, iFFNUp = 0
    var fallbacks = 0

    init(mix: QuantMix, model: QuantMixModel, hasImportance: Bool, names: [String]) {
        self.mix = mix
        self.model = model
        self.hasImportance = hasImportance
        attentionWV = names.filter { QuantMixCategory(name: $0).isAttnV }.count
        tiedEmbeddings = !names.contains("output.weight")
    }

    /// `use_more_bits`: the first and last eighth of the layers and every third one between.
    static func useMoreBits(_ i: Int, _ n: Int) -> Bool {
        i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
    }

    var isFalcon: Bool { model.architecture == "falcon" }

    /// The choice for one quantizable tensor (`llama_tensor_get_type` without overrides).
    mutating func choose(name: String, dims: [Int]) throws(FormatError) -> QuantMixChoice {
        let category = QuantMixCategory(name: name)
        var why = ["\(mix.llamaName) default \(Self.label(mix.defaultType))", "category \(category.rawValue)"]
        var type = try rule(name: name, dims: dims, category: category, why: &why)
        type = fallback(type, columns: dims.last ?? 0, why: &why)
        let embedding = category == .tokenEmbd || category == .output
        let requires = !embedding && type == .q2_K && mix == .q2_K_S
        return QuantMixChoice(name: name, dtype: type, quantizable: true, requiresImportance: requires, reason: why.joined(separator: "; "))
    }

    /// ggml's type name (`Q4_K`).
    static func label(_ t: DType) -> String { t.shortName.uppercased() }

    /// `llama_tensor_get_type_impl` for this state's mix.
    mutating func rule(name: String, dims: [Int], category: QuantMixCategory, why: inout [String]) throws(FormatError) -> DType {
        var t = mix.defaultType
        func set(_ new: DType, _ because: String) { t = new; why.append("\(because) → \(Self.label(new))") }
        let nExpert = model.expertCount
        if category == .output || (tiedEmbeddings && category == .tokenEmbd) {
            let nx = dims.last ?? 0, role = category == .output ? "output" : "token_embd tied to the output"
            if isFalcon || nx % t.blockElements != 0 {
                set(.q8_0, "\(role)\(isFalcon ? " (falcon)" : ": ne[0] \(nx) not a multiple of \(t.blockElements)")")
            } else if t != .q8_0 {
                set(.q6_K, role)
            }
        } else if category == .tokenEmbd {
            // No K-quant mix changes token_embd when the model has its own output matrix.
        } else if category.isAttnV {
            let i = iAttentionWV, n = attentionWV
            switch mix {
            case .q2_K: set(model.gqa >= 4 ? .q4_K : .q3_K, "Q2_K attn_v, n_gqa \(model.gqa)")
            case .q2_K_S where model.gqa >= 4: set(.q4_K, "Q2_K_S attn_v, n_gqa \(model.gqa) ≥ 4")
            case .q3_K_M: set(i < 2 ? .q5_K : .q4_K, "Q3_K_M attn_v #\(i)")
            case .q3_K_L: set(.q5_K, "Q3_K_L attn_v")
            case .q4_K_M where Self.useMoreBits(i, n), .q5_K_M where Self.useMoreBits(i, n):
                set(.q6_K, "use_more_bits(\(i), \(n))")
            case .q4_K_S where i < 4: set(.q5_K, "Q4_K_S attn_v #\(i) < 4")
            default: break
            }
            if model.is70B, t == .q3_K || t == .q4_K { set(.q5_K, "70B model attn_v") }
            if nExpert == 8 { set(.q8_0, "8 experts attn_v") }
            iAttentionWV += 1
        } else if category == .attnK {
            if nExpert == 8 { set(.q8_0, "8 experts attn_k") }
        } else if category == .ffnDown {
            let (i, n) = try layerInfo(iFFNDown, model.layerCount, name)
            let more = Self.useMoreBits(i, n)
            switch mix {
            case .q2_K: set(.q3_K, "Q2_K ffn_down")
            case .q2_K_S: if i < n / 8 { set(.q4_K, "Q2_K_S ffn_down layer \(i) < \(n)/8") }
            case .q3_K_M:
                set(i < n / 16 ? .q5_K : !isFalcon || more ? .q4_K : .q3_K, "Q3_K_M ffn_down layer \(i) of \(n)")
            case .q3_K_L: set(isFalcon ? .q4_K : .q5_K, "Q3_K_L ffn_down")
            case .q4_K_M:
                if isFalcon {
                    set(i < n / 16 ? .q6_K : more ? .q5_K : .q4_K, "falcon Q4_K_M ffn_down layer \(i) of \(n)")
                } else if more {
                    set(.q6_K, "use_more_bits(\(i), \(n))")
                }
            case .q5_K_M where more: set(.q6_K, "use_more_bits(\(i), \(n))")
            case .q4_K_S where !isFalcon && i < n / 8: set(.q5_K, "Q4_K_S ffn_down layer \(i) < \(n)/8")
            case .q5_0 where hasImportance && i < n / 8: set(.q5_1, "Q5_0 with imatrix, ffn_down layer \(i) < \(n)/8")
            default: break
            }
            iFFNDown += 1
        } else if category == .attnOutput {
            if !isFalcon {
                if nExpert == 8 {
                    if [.q2_K, .q3_K_S, .q3_K_M, .q4_K_S, .q4_K_M].contains(mix) { set(.q5_K, "8 experts attn_output") }
                } else {
                    switch mix {
                    case .q2_K: set(.q3_K, "Q2_K attn_output")
                    case .q3_K_M: set(.q4_K, "Q3_K_M attn_output")
                    case .q3_K_L: set(.q5_K, "Q3_K_L attn_output")
                    default: break
                    }
                }
            } else if mix == .q3_K_L {
                set(.q4_K, "falcon Q3_K_L attn_output")
            }
        } else if category == .ffnGate {
            _ = try layerInfo(iFFNGate, model.layerCount, name)
            iFFNGate += 1
        } else if category == .ffnUp {
            _ = try layerInfo(iFFNUp, model.layerCount, name)
            iFFNUp += 1
        }
        return t
    }

    /// `layer_info`: the counter's layer for a dense model; for a mixture of experts (whose
    /// expert tensors llama.cpp does not order by layer) the layer in the tensor's name.
    func layerInfo(_ counter: Int, _ layers: Int, _ name: String) throws(FormatError) -> (Int, Int) {
        guard max(1, model.expertCount) > 1 else { return (counter, layers) }
        guard let layer = QuantMix.layer(of: name) else {
            throw FormatError(.invalidHeader, "cannot read the layer of an expert-model tensor from its name (expected blk.N.…), as llama-quantize needs it", tensorName: name)
        }
        guard layer >= 0, layer < layers else {
            throw FormatError(.invalidHeader, "layer \(layer) is outside the model's \(layers) layers (block_count)", tensorName: name)
        }
        return (layer, layers)
    }

    /// `tensor_type_fallback`: a type whose block does not divide the row length ne[0] falls
    /// back to a 32-block type, and to F16 when even that does not divide it.
    mutating func fallback(_ target: DType, columns: Int, why: inout [String]) -> DType {
        guard columns % target.blockElements != 0 else { return target }
        fallbacks += 1
        let result = Self.fallbackType(target, columns: columns)
        why.append("fallback: ne[0] \(columns) not a multiple of \(target.blockElements) → \(Self.label(result))")
        return result
    }

    /// `tensor_type_fallback`'s type for a row of `columns` values (`target` itself when they are
    /// whole blocks of it).
    static func fallbackType(_ target: DType, columns: Int) -> DType {
        guard columns % target.blockElements != 0 else { return target }
        var result: DType
        switch target {
        case .iq4_XS: result = .iq4_NL
        case .q2_K, .q3_K: result = .q4_0
        case .q4_K: result = .q5_0
        case .q5_K: result = .q5_1
        case .q6_K: result = .q8_0
        default: result = target  // a 32-block type: only F16 below
        }
        return columns % result.blockElements != 0 ? .float16 : result
    }
}
