import WeightKitCore

/// The type llama-quantize gives one tensor under a mix, and why.
public struct QuantMixChoice: Sendable, Hashable {
    /// The GGUF tensor name.
    public var name: String
    /// The output type: a block type, f16 for a row that fits no block, or the input dtype
    /// when the tensor is never quantized.
    public var dtype: DType
    /// False for tensors llama-quantize never quantizes (1-D, norms, routers, position tables …).
    public var quantizable: Bool
    /// True when llama-quantize refuses to write this tensor without an importance matrix
    /// (`tensor_requires_imatrix`: Q2_K in a Q2_K_S file).
    public var requiresImportance: Bool
    /// The rules that applied, in order (`category attn_v; use_more_bits(0, 30) → Q6_K; …`).
    public var reason: String
}

/// Every tensor's choice under one mix, in llama-quantize's order (its `weights_map`: tensors
/// outside `blk.N.` first, then by layer, by name within a layer).
public struct QuantMixPlan: Sendable {
    /// The mix.
    public var mix: QuantMix
    /// One choice per tensor, in llama-quantize's order.
    public var choices: [QuantMixChoice]
    /// How many tensors fell back to another type because their rows are not whole blocks.
    public var fallbackCount: Int

    /// The choice for `name`, or nil.
    public subscript(name: String) -> QuantMixChoice? { choices.first { $0.name == name } }
}

/// llama-quantize's `tensor_category`.
enum QuantMixCategory: String {
    case tokenEmbd = "token_embd", output, attnQKV = "attn_qkv", attnKVB = "attn_kv_b", attnV = "attn_v"
    case attnK = "attn_k", attnQ = "attn_q", attnOutput = "attn_output", ffnUp = "ffn_up", ffnGate = "ffn_gate"
    case ffnDown = "ffn_down", other

    /// `tensor_get_category`: exact names for the embeddings, substrings for the rest, in its order.
    init(name: String) {
        if name == "output.weight" { self = .output; return }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { self = .tokenEmbd; return }
        let substrings: [(String, QuantMixCategory)] = [
            ("attn_qkv.weight", .attnQKV), ("attn_kv_b.weight", .attnKVB), ("attn_v.weight", .attnV),
            ("attn_k.weight", .attnK), ("attn_q.weight", .attnQ), ("attn_output.weight", .attnOutput),
            ("ffn_up", .ffnUp), ("ffn_gate", .ffnGate), ("ffn_down", .ffnDown),
        ]
        self = substrings.first { name.contains($0.0) }?.1 ?? .other
    }

    /// `category_is_attn_v`: the value-like projections llama-quantize gives more bits.
    var isAttnV: Bool { self == .attnV || self == .attnQKV || self == .attnKVB }
}

extension QuantMix {
    /// Substrings that keep a tensor out of quantization (`tensor_allows_quantization`).
    static let neverQuantized = [
        "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
        "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
        "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight",
        "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
        "time_mix_g1.weight", "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
        "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_",
        ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd",
    ]

    /// glm5-next's extra exclusions.
    static let neverQuantizedGLM5Next = [
        "hc_", "indexer.attn_q_b", "indexer.attn_k", "indexer.proj", "indexer_compressor_gate", "indexer_compressor_ape",
        "ssm_f_a.weight", "ssm_f_b.weight", "ssm_g_a.weight", "ssm_g_b.weight", "ssm_beta.weight", "attn_kv_a_mqa.weight",
        "attn_k_b.weight", "attn_v_b.weight",
    ]

    /// `ggml_n_dims`: dimensions up to the last one above 1 (at least 1). `dims` outermost first.
    static func ggmlDims(_ dims: [Int]) -> Int {
        let ne = Array(dims.reversed())
        return (ne.lastIndex { $0 > 1 } ?? 0) + 1
    }

    /// True when llama-quantize may quantize a tensor named `name` of shape `dims` (outermost
    /// first) in an `architecture` model (`tensor_allows_quantization`).
    public static func allowsQuantization(name: String, dims: [Int], architecture: String) -> Bool {
        guard ggmlDims(dims) >= 2, name.hasSuffix("weight") else { return false }
        if name == "position_embd.weight" || name == "token_types.weight" { return false }
        if neverQuantized.contains(where: { name.contains($0) }) { return false }
        if architecture == "glm5-next", neverQuantizedGLM5Next.contains(where: { name.contains($0) }) { return false }
        return true
    }

    /// The layer `N` of a `blk.N.` name, as `sscanf(name, "blk.%d.")` reads it, or nil.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        var digits = Substring(name.dropFirst(4))
        var sign = 1
        if digits.first == "-" { sign = -1; digits = digits.dropFirst() } else if digits.first == "+" { digits = digits.dropFirst() }
        let run = digits.prefix { $0.isASCII && $0.isNumber }
        guard !run.isEmpty, let value = Int(run) else { return nil }
        return sign * value
    }

    /// Sorts names as llama.cpp's `weight_name_comparer`: by `blk.N.` layer (−1 without), then bytewise.
    public static func llamaOrder(_ names: [String]) -> [String] {
        names.sorted { a, b in
            let la = layer(of: a) ?? -1, lb = layer(of: b) ?? -1
            return la != lb ? la < lb : Array(a.utf8).lexicographicallyPrecedes(b.utf8)
        }
    }

    /// llama-quantize's choice for every tensor of a model.
    ///
    /// - Parameters:
    ///   - tensors: the model's tensors under GGUF names, with their input dtype and shape
    ///     (outermost first; stacked experts `[experts, rows, columns]`).
    ///   - model: architecture, layer, head and expert counts from the GGUF metadata.
    ///   - hasImportance: whether an importance matrix is given (it changes Q5_0's ffn_down).
    /// - Throws: `FormatError` `.invalidHeader` for an expert tensor whose layer cannot be read
    ///   from its name or is out of range (llama-quantize's `layer_info` errors), and
    ///   `.unsupported` when the mix needs an importance matrix and none is given.
    public func plan(tensors: [TensorInfo], model: QuantMixModel, hasImportance: Bool) throws(FormatError) -> QuantMixPlan {
        var state = QuantMixState(mix: self, model: model, hasImportance: hasImportance, names: tensors.map(\.name))
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var choices: [QuantMixChoice] = []
        for name in Self.llamaOrder(Array(byName.keys)) {
            let t = byName[name]!
            guard Self.allowsQuantization(name: name, dims: t.shape.dims, architecture: model.architecture) else {
                choices.append(QuantMixChoice(name: name, dtype: t.dtype, quantizable: false, requiresImportance: false, reason: "never quantized (llama-quantize keeps it)"))
                continue
            }
            let choice = try state.choose(name: name, dims: t.shape.dims)
            if choice.requiresImportance, !hasImportance {
                throw FormatError(
                    .unsupported, "\(llamaName) needs an importance matrix (--imatrix) for \(choice.dtype.shortName.uppercased()) tensors, as llama-quantize requires",
                    tensorName: name)
            }
            choices.append(choice)
        }
        return QuantMixPlan(mix: self, choices: choices, fallbackCount: state.fallbacks)
    }
}
