import WeightKitCore

/// The model families whose names and layouts WeightKit maps between Hugging Face and GGUF.
public enum ModelFamily: String, Sendable, CaseIterable {
    /// Llama 2/3, SmolLM2, TinyLlama, Mistral (`LlamaForCausalLM`).
    case llama
    /// Qwen2 (`Qwen2ForCausalLM`): llama with Q/K/V biases and NeoX-style RoPE (no permutation).
    case qwen2
    /// GPT-2 (`GPT2LMHeadModel`): learned positions, LayerNorm, Conv1D weights stored [in, out].
    case gpt2

    /// The family of an HF `model_type` or a GGUF `general.architecture` (mistral reads as llama).
    public init?(name: String) {
        switch name.lowercased() {
        case "llama", "mistral": self = .llama
        case "qwen2": self = .qwen2
        case "gpt2": self = .gpt2
        default: return nil
        }
    }
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
}

/// The one table between Hugging Face tensor names and GGUF names (`blk.N.attn_q.weight`),
/// after llama.cpp's `gguf-py/gguf/tensor_mapping.py`; `#` stands for the block index.
public enum WeightNames {
    /// One row: HF pattern, GGUF pattern, layout difference.
    public struct Rule: Sendable {
        /// Hugging Face name, `#` for the block index.
        public var hf: String
        /// GGUF name, `#` for the block index.
        public var gguf: String
        /// How the stored layouts differ.
        public var layout: WeightLayout
    }

    static func llamaLike(bias: Bool, rope: Bool) -> [Rule] {
        var rules = [
            Rule(hf: "model.embed_tokens.weight", gguf: "token_embd.weight", layout: .same),
            Rule(hf: "model.norm.weight", gguf: "output_norm.weight", layout: .same),
            Rule(hf: "lm_head.weight", gguf: "output.weight", layout: .same),
            Rule(hf: "model.layers.#.input_layernorm.weight", gguf: "blk.#.attn_norm.weight", layout: .same),
            Rule(hf: "model.layers.#.self_attn.q_proj.weight", gguf: "blk.#.attn_q.weight", layout: rope ? .ropeQ : .same),
            Rule(hf: "model.layers.#.self_attn.k_proj.weight", gguf: "blk.#.attn_k.weight", layout: rope ? .ropeK : .same),
            Rule(hf: "model.layers.#.self_attn.v_proj.weight", gguf: "blk.#.attn_v.weight", layout: .same),
            Rule(hf: "model.layers.#.self_attn.o_proj.weight", gguf: "blk.#.attn_output.weight", layout: .same),
            Rule(hf: "model.layers.#.post_attention_layernorm.weight", gguf: "blk.#.ffn_norm.weight", layout: .same),
            Rule(hf: "model.layers.#.mlp.gate_proj.weight", gguf: "blk.#.ffn_gate.weight", layout: .same),
            Rule(hf: "model.layers.#.mlp.up_proj.weight", gguf: "blk.#.ffn_up.weight", layout: .same),
            Rule(hf: "model.layers.#.mlp.down_proj.weight", gguf: "blk.#.ffn_down.weight", layout: .same),
        ]
        if bias {
            for p in ["q", "k", "v"] {
                rules.append(Rule(hf: "model.layers.#.self_attn.\(p)_proj.bias", gguf: "blk.#.attn_\(p).bias", layout: .same))
            }
        }
        return rules
    }

    static let gpt2: [Rule] = {
        var rules = [
            Rule(hf: "wte.weight", gguf: "token_embd.weight", layout: .same),
            Rule(hf: "wpe.weight", gguf: "position_embd.weight", layout: .same),
            Rule(hf: "ln_f.weight", gguf: "output_norm.weight", layout: .same),
            Rule(hf: "ln_f.bias", gguf: "output_norm.bias", layout: .same),
            Rule(hf: "lm_head.weight", gguf: "output.weight", layout: .same),
        ]
        let blocks: [(String, String, Bool)] = [
            ("ln_1", "attn_norm", false), ("attn.c_attn", "attn_qkv", true), ("attn.c_proj", "attn_output", true),
            ("ln_2", "ffn_norm", false), ("mlp.c_fc", "ffn_up", true), ("mlp.c_proj", "ffn_down", true),
        ]
        for (hf, gguf, conv1D) in blocks {
            rules.append(Rule(hf: "h.#.\(hf).weight", gguf: "blk.#.\(gguf).weight", layout: conv1D ? .transposed : .same))
            rules.append(Rule(hf: "h.#.\(hf).bias", gguf: "blk.#.\(gguf).bias", layout: .same))
        }
        return rules
    }()

    /// The rules of `family`.
    public static func rules(for family: ModelFamily) -> [Rule] {
        switch family {
        case .llama: return llamaLike(bias: false, rope: true)
        case .qwen2: return llamaLike(bias: true, rope: false)
        case .gpt2: return gpt2
        }
    }

    /// HF names that have no GGUF counterpart and are dropped (as llama.cpp's converter does).
    public static func isDropped(hfName: String) -> Bool {
        hfName.hasSuffix("rotary_emb.inv_freq") || hfName.hasSuffix(".attn.bias") || hfName.hasSuffix(".attn.masked_bias")
    }

    /// The GGUF name and layout of an HF name (GPT-2's optional `transformer.` prefix accepted).
    public static func ggufName(forHF name: String, family: ModelFamily) -> (name: String, layout: WeightLayout)? {
        let plain = family == .gpt2 && name.hasPrefix("transformer.") ? String(name.dropFirst("transformer.".count)) : name
        for rule in rules(for: family) {
            if let block = match(rule.hf, plain) { return (fill(rule.gguf, block), rule.layout) }
        }
        return nil
    }

    /// The HF name and layout of a GGUF name.
    public static func hfName(forGGUF name: String, family: ModelFamily) -> (name: String, layout: WeightLayout)? {
        for rule in rules(for: family) {
            if let block = match(rule.gguf, name) { return (fill(rule.hf, block), rule.layout) }
        }
        return nil
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
