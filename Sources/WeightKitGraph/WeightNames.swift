import WeightKitCore

/// The model families whose names and layouts WeightKit maps between Hugging Face and GGUF, one
/// case per llama.cpp `general.architecture` (the raw value).
public enum ModelFamily: String, Sendable, CaseIterable {
    /// Llama 2/3, SmolLM2, TinyLlama; llama.cpp also writes Mistral and Mixtral (with experts) as llama.
    case llama
    /// Qwen2: llama with Q/K/V biases and NeoX-style RoPE (no permutation).
    case qwen2
    /// Qwen3: Qwen2 without biases, with per-head Q/K RMSNorm.
    case qwen3
    /// Qwen3-MoE: Qwen3 with routed experts stacked into 3-D tensors.
    case qwen3moe
    /// Gemma: llama names, norms stored as 1 + w, NeoX RoPE.
    case gemma
    /// Gemma 2: Gemma with post-sublayer norms.
    case gemma2
    /// Gemma 3 (text): Gemma 2 with Q/K norms.
    case gemma3
    /// Phi-3: fused `attn_qkv` and gate/up in `ffn_up`.
    case phi3
    /// OLMo-2: post-sublayer norms only, whole-projection Q/K norms.
    case olmo2
    /// StableLM: LayerNorm with biases, partial rotary.
    case stablelm
    /// Granite: llama names and permutation, plus four multipliers.
    case granite
    /// GPT-NeoX / Pythia: LayerNorm, parallel residual, fused QKV regrouped by the converter.
    case gptneox
    /// GPT-2: learned positions, LayerNorm, Conv1D weights stored [in, out].
    case gpt2
    /// BERT encoders (all-MiniLM, BGE): learned positions and token types, post-LN blocks.
    case bert

    /// The family of an HF `model_type` or a GGUF `general.architecture` (mistral and mixtral
    /// read as llama, as llama.cpp's converter writes them).
    public init?(name: String) {
        switch name.lowercased() {
        case "llama", "mistral", "mixtral", "smollm", "smollm2": self = .llama
        case "qwen3_moe": self = .qwen3moe
        case "gemma3_text": self = .gemma3
        case "gpt_neox": self = .gptneox
        default: self.init(rawValue: name.lowercased())
        }
    }

    /// Whether llama.cpp's converter permutes Q/K rows for this family (its RoPE type is
    /// `LLAMA_ROPE_TYPE_NORM`, interleaved pairs); the others run NeoX-style half-split RoPE.
    public var permutesQK: Bool { self == .llama || self == .granite }

    /// Whether llama.cpp stores this family's RMSNorm weights as 1 + w (its converter adds 1).
    public var storesNormPlusOne: Bool { self == .gemma || self == .gemma2 || self == .gemma3 }
}

/// How a weight's layout differs between the two worlds.
public enum WeightLayout: Sendable, Hashable {
    /// Same bytes on both sides.
    case same
    /// llama.cpp permutes Q rows per head for its interleaved RoPE (heads = attention heads).
    case ropeQ
    /// As `ropeQ`, for K (heads = KV heads).
    case ropeK
    /// HF stores [in, out] (GPT-2 Conv1D), GGUF [out, in].
    case transposed
    /// GGUF stores w + 1 (Gemma's norms: llama.cpp's converter adds the 1 HF adds at run time).
    case plusOne
    /// HF's GPT-NeoX `query_key_value` holds [q; k; v] rows per head, GGUF all Q rows, then all
    /// K, then all V (heads = attention heads).
    case neoxQKV
    /// GGUF stacks the per-expert HF matrices (`*` in the HF pattern) into one
    /// [experts, rows, columns] tensor, expert 0 first.
    case stackedExperts
}

/// The one table between Hugging Face tensor names and GGUF names (`blk.N.attn_q.weight`),
/// after llama.cpp's `gguf-py/gguf/tensor_mapping.py` and `convert_hf_to_gguf.py`; `#` stands
/// for the block index, `*` for the expert index.
public enum WeightNames {
    /// One row: HF pattern, GGUF pattern, layout difference.
    public struct Rule: Sendable {
        /// Hugging Face name, `#` for the block index, `*` for the expert index.
        public var hf: String
        /// GGUF name, `#` for the block index.
        public var gguf: String
        /// How the stored layouts differ.
        public var layout: WeightLayout
    }

    static func rule(_ hf: String, _ gguf: String, _ layout: WeightLayout = .same) -> Rule { Rule(hf: hf, gguf: gguf, layout: layout) }

    /// Embedding, final norm, output, attention and MLP projections in llama's names.
    static func llamaLike(bias: Bool, rope: Bool, norm: WeightLayout = .same) -> [Rule] {
        var rules = [
            rule("model.embed_tokens.weight", "token_embd.weight"),
            rule("model.norm.weight", "output_norm.weight", norm),
            rule("lm_head.weight", "output.weight"),
            rule("model.layers.#.input_layernorm.weight", "blk.#.attn_norm.weight", norm),
            rule("model.layers.#.self_attn.q_proj.weight", "blk.#.attn_q.weight", rope ? .ropeQ : .same),
            rule("model.layers.#.self_attn.k_proj.weight", "blk.#.attn_k.weight", rope ? .ropeK : .same),
            rule("model.layers.#.self_attn.v_proj.weight", "blk.#.attn_v.weight"),
            rule("model.layers.#.self_attn.o_proj.weight", "blk.#.attn_output.weight"),
            rule("model.layers.#.mlp.gate_proj.weight", "blk.#.ffn_gate.weight"),
            rule("model.layers.#.mlp.up_proj.weight", "blk.#.ffn_up.weight"),
            rule("model.layers.#.mlp.down_proj.weight", "blk.#.ffn_down.weight"),
        ]
        if bias {
            for p in ["q", "k", "v"] {
                rules.append(rule("model.layers.#.self_attn.\(p)_proj.bias", "blk.#.attn_\(p).bias"))
            }
        }
        return rules
    }

    /// `post_attention_layernorm` as the norm before the MLP (llama, Qwen, Phi-3, StableLM).
    static func preMLPNorm(_ layout: WeightLayout = .same) -> [Rule] {
        [rule("model.layers.#.post_attention_layernorm.weight", "blk.#.ffn_norm.weight", layout)]
    }

    /// Gemma 2/3 and OLMo-2: `post_attention_layernorm` is the norm after attention.
    static func postNorms(_ layout: WeightLayout) -> [Rule] {
        [
            rule("model.layers.#.post_attention_layernorm.weight", "blk.#.post_attention_norm.weight", layout),
            rule("model.layers.#.post_feedforward_layernorm.weight", "blk.#.post_ffw_norm.weight", layout),
        ]
    }

    static func qkNorm(_ layout: WeightLayout = .same) -> [Rule] {
        [
            rule("model.layers.#.self_attn.q_norm.weight", "blk.#.attn_q_norm.weight", layout),
            rule("model.layers.#.self_attn.k_norm.weight", "blk.#.attn_k_norm.weight", layout),
        ]
    }

    /// Router and experts: Mixtral's `block_sparse_moe.experts.E.w1/w3/w2` or Qwen-MoE's
    /// `mlp.experts.E.gate/up/down_proj`, stacked by the converter into `ffn_*_exps`.
    static func experts(mixtral: Bool) -> [Rule] {
        let m = mixtral ? "model.layers.#.block_sparse_moe." : "model.layers.#.mlp."
        let (gate, up, down) = mixtral ? ("w1", "w3", "w2") : ("gate_proj", "up_proj", "down_proj")
        return [
            rule(m + "gate.weight", "blk.#.ffn_gate_inp.weight"),
            rule(m + "experts.*.\(gate).weight", "blk.#.ffn_gate_exps.weight", .stackedExperts),
            rule(m + "experts.*.\(up).weight", "blk.#.ffn_up_exps.weight", .stackedExperts),
            rule(m + "experts.*.\(down).weight", "blk.#.ffn_down_exps.weight", .stackedExperts),
        ]
    }

    static let gpt2: [Rule] = {
        var rules = [
            rule("wte.weight", "token_embd.weight"),
            rule("wpe.weight", "position_embd.weight"),
            rule("ln_f.weight", "output_norm.weight"),
            rule("ln_f.bias", "output_norm.bias"),
            rule("lm_head.weight", "output.weight"),
        ]
        let blocks: [(String, String, Bool)] = [
            ("ln_1", "attn_norm", false), ("attn.c_attn", "attn_qkv", true), ("attn.c_proj", "attn_output", true),
            ("ln_2", "ffn_norm", false), ("mlp.c_fc", "ffn_up", true), ("mlp.c_proj", "ffn_down", true),
        ]
        for (hf, gguf, conv1D) in blocks {
            rules.append(rule("h.#.\(hf).weight", "blk.#.\(gguf).weight", conv1D ? .transposed : .same))
            rules.append(rule("h.#.\(hf).bias", "blk.#.\(gguf).bias"))
        }
        return rules
    }()

    /// BERT (llama.cpp's `bert`), after `tensor_mapping.py`; the `bert.` prefix of a BertFor…
    /// checkpoint is dropped by `ggufSlot`.
    static let bert: [Rule] = {
        var rules = [
            rule("embeddings.word_embeddings.weight", "token_embd.weight"),
            rule("embeddings.position_embeddings.weight", "position_embd.weight"),
            rule("embeddings.token_type_embeddings.weight", "token_types.weight"),
            rule("embeddings.LayerNorm.weight", "token_embd_norm.weight"),
            rule("embeddings.LayerNorm.bias", "token_embd_norm.bias"),
        ]
        let blocks = [
            ("attention.self.query", "attn_q"), ("attention.self.key", "attn_k"), ("attention.self.value", "attn_v"),
            ("attention.output.dense", "attn_output"), ("attention.output.LayerNorm", "attn_output_norm"),
            ("intermediate.dense", "ffn_up"), ("output.dense", "ffn_down"), ("output.LayerNorm", "layer_output_norm"),
        ]
        for (hf, gguf) in blocks {
            for p in ["weight", "bias"] { rules.append(rule("encoder.layer.#.\(hf).\(p)", "blk.#.\(gguf).\(p)")) }
        }
        return rules
    }()

    /// The rules of `family`: one table per family.
    public static func rules(for family: ModelFamily) -> [Rule] {
        switch family {
        case .llama: return llamaLike(bias: false, rope: true) + preMLPNorm() + experts(mixtral: true)
        case .granite: return llamaLike(bias: false, rope: true) + preMLPNorm()
        case .qwen2: return llamaLike(bias: true, rope: false) + preMLPNorm()
        case .qwen3: return llamaLike(bias: false, rope: false) + preMLPNorm() + qkNorm()
        case .qwen3moe: return llamaLike(bias: false, rope: false) + preMLPNorm() + qkNorm() + experts(mixtral: false)
        case .gemma: return llamaLike(bias: false, rope: false, norm: .plusOne) + preMLPNorm(.plusOne)
        case .gemma2, .gemma3:
            return llamaLike(bias: false, rope: false, norm: .plusOne) + postNorms(.plusOne)
                + [rule("model.layers.#.pre_feedforward_layernorm.weight", "blk.#.ffn_norm.weight", .plusOne)]
                + (family == .gemma3 ? qkNorm(.plusOne) : [])
        case .olmo2: return llamaLike(bias: false, rope: false) + postNorms(.same) + qkNorm()
        case .phi3:
            return [
                rule("model.embed_tokens.weight", "token_embd.weight"),
                rule("model.norm.weight", "output_norm.weight"),
                rule("lm_head.weight", "output.weight"),
                rule("model.layers.#.input_layernorm.weight", "blk.#.attn_norm.weight"),
                rule("model.layers.#.self_attn.qkv_proj.weight", "blk.#.attn_qkv.weight"),
                rule("model.layers.#.self_attn.o_proj.weight", "blk.#.attn_output.weight"),
                rule("model.layers.#.mlp.gate_up_proj.weight", "blk.#.ffn_up.weight"),
                rule("model.layers.#.mlp.down_proj.weight", "blk.#.ffn_down.weight"),
            ] + preMLPNorm()
        case .stablelm:
            return llamaLike(bias: true, rope: false) + preMLPNorm() + [
                rule("model.norm.bias", "output_norm.bias"),
                rule("model.layers.#.input_layernorm.bias", "blk.#.attn_norm.bias"),
                rule("model.layers.#.post_attention_layernorm.bias", "blk.#.ffn_norm.bias"),
            ]
        case .gptneox:
            var rules = [
                rule("gpt_neox.embed_in.weight", "token_embd.weight"),
                rule("gpt_neox.final_layer_norm.weight", "output_norm.weight"),
                rule("gpt_neox.final_layer_norm.bias", "output_norm.bias"),
                rule("embed_out.weight", "output.weight"),
            ]
            let blocks = [
                ("input_layernorm", "attn_norm"), ("attention.query_key_value", "attn_qkv"), ("attention.dense", "attn_output"),
                ("post_attention_layernorm", "ffn_norm"), ("mlp.dense_h_to_4h", "ffn_up"), ("mlp.dense_4h_to_h", "ffn_down"),
            ]
            for (hf, gguf) in blocks {
                for p in ["weight", "bias"] {
                    rules.append(rule("gpt_neox.layers.#.\(hf).\(p)", "blk.#.\(gguf).\(p)", gguf == "attn_qkv" ? .neoxQKV : .same))
                }
            }
            return rules
        case .gpt2: return gpt2
        case .bert: return bert
        }
    }

    /// HF names that have no GGUF counterpart and are dropped (as llama.cpp's converter does).
    public static func isDropped(hfName: String) -> Bool {
        hfName.hasSuffix("rotary_emb.inv_freq") || hfName.hasSuffix(".attn.bias") || hfName.hasSuffix(".attn.masked_bias")
            // BERT: the position-id buffer, the pooler and pre-training heads (convert_hf_to_gguf.py's BertModel drops them).
            || hfName.hasSuffix("embeddings.position_ids") || hfName.hasPrefix("pooler.") || hfName.hasPrefix("bert.pooler.") || hfName.hasPrefix("cls.")
    }

    /// The GGUF name and layout of an HF name (GPT-2's optional `transformer.` prefix accepted);
    /// for one expert's matrix, `expert` is its index in the stacked GGUF tensor.
    public static func ggufName(forHF name: String, family: ModelFamily) -> (name: String, layout: WeightLayout)? {
        ggufSlot(forHF: name, family: family).map { ($0.name, $0.layout) }
    }

    /// As `ggufName(forHF:family:)`, with the expert index of a `.stackedExperts` rule.
    public static func ggufSlot(forHF name: String, family: ModelFamily) -> (name: String, layout: WeightLayout, expert: Int?)? {
        let prefix = family == .gpt2 ? "transformer." : family == .bert ? "bert." : nil
        let plain = prefix.map { name.hasPrefix($0) ? String(name.dropFirst($0.count)) : name } ?? name
        for rule in rules(for: family) {
            guard let numbers = capture(rule.hf, plain) else { continue }
            let block = numbers.first
            let expert = rule.layout == .stackedExperts ? numbers.last : nil
            return (fill(rule.gguf, block), rule.layout, expert)
        }
        return nil
    }

    /// The HF name and layout of a GGUF name; for `.stackedExperts` the name keeps `*` for the
    /// expert index (`expertName(_:expert:)` fills it).
    public static func hfName(forGGUF name: String, family: ModelFamily) -> (name: String, layout: WeightLayout)? {
        for rule in rules(for: family) {
            if let block = match(rule.gguf, name) { return (fill(rule.hf, block), rule.layout) }
        }
        return nil
    }

    /// An HF expert pattern (`…experts.*.w1.weight`) with the expert index filled in.
    public static func expertName(_ pattern: String, expert: Int) -> String {
        pattern.replacingOccurrences(of: "*", with: String(expert))
    }

    /// The numbers standing for `#` and `*` in `pattern` when `name` matches it, in order; nil
    /// for no match.
    static func capture(_ pattern: String, _ name: String) -> [Int]? {
        var numbers: [Int] = []
        var rest = Substring(name)
        var literal = Substring(pattern)
        while let hole = literal.firstIndex(where: { $0 == "#" || $0 == "*" }) {
            let head = literal[..<hole]
            guard rest.hasPrefix(head) else { return nil }
            rest = rest.dropFirst(head.count)
            let digits = rest.prefix(while: { $0.isASCII && $0.isNumber })
            guard !digits.isEmpty, let n = Int(digits) else { return nil }
            numbers.append(n)
            rest = rest.dropFirst(digits.count)
            literal = literal[literal.index(after: hole)...]
        }
        return rest == literal ? numbers : nil
    }

    /// Matches `name` against `pattern`: `.some(nil)` for a pattern without `#`, `.some(N)` with
    /// the block index, nil for no match.
    static func match(_ pattern: String, _ name: String) -> Int?? {
        guard let hash = pattern.firstIndex(of: "#") else { return pattern == name ? .some(nil) : nil }
        let prefix = pattern[..<hash], suffix = pattern[pattern.index(after: hash)...]
        guard name.count > prefix.count + suffix.count, name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let n = Int(digits) else { return nil }
        return .some(n)
    }

    static func fill(_ pattern: String, _ block: Int?) -> String {
        guard let block else { return pattern }
        return pattern.replacingOccurrences(of: "#", with: String(block))
    }
}

extension String {
    /// `self` with every `target` replaced (no Foundation).
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
