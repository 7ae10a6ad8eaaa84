import WeightKitCore

// llama-quantize's named mixes (`Q4_K_M` …) and its per-tensor type rules, transcribed from
// llama.cpp 0c1e570 `src/llama-quant.cpp`: `tensor_allows_quantization` (which tensors are
// never quantized), `tensor_get_category`, `llama_tensor_get_type_impl` (the mix rules with
// their `use_more_bits` pattern, GQA, MoE and 70B cases and the attn_v / ffn_down counters),
// `tensor_type_fallback` (rows that are not whole 256-blocks) and `tensor_requires_imatrix`.
// Only the branches reachable from the mixes below are transcribed; the IQ mixes, MXFP4 and
// the `--tensor-type`/`--pure`/`--output-tensor-type` overrides are not offered.

/// One of llama-quantize's file types (`llama_ftype`), chosen by its command-line name.
public enum QuantMix: String, CaseIterable, Sendable, Hashable {
    /// `Q2_K`: Q2_K, attn_v Q3_K (Q4_K with GQA ≥ 4), ffn_down and attn_output Q3_K.
    case q2_K = "q2_k"
    /// `Q2_K_S`: Q2_K, needs an importance matrix.
    case q2_K_S = "q2_k_s"
    /// `Q3_K_S`: Q3_K everywhere but the output.
    case q3_K_S = "q3_k_s"
    /// `Q3_K_M`: Q3_K, attn_v Q5_K/Q4_K, ffn_down Q5_K/Q4_K, attn_output Q4_K.
    case q3_K_M = "q3_k_m"
    /// `Q3_K_L`: Q3_K, attn_v, ffn_down and attn_output Q5_K.
    case q3_K_L = "q3_k_l"
    /// `Q4_K_S`: Q4_K, the first attn_v and first eighth of ffn_down Q5_K.
    case q4_K_S = "q4_k_s"
    /// `Q4_K_M`: Q4_K, half of attn_v and ffn_down (`use_more_bits`) Q6_K.
    case q4_K_M = "q4_k_m"
    /// `Q5_K_S`: Q5_K everywhere but the output.
    case q5_K_S = "q5_k_s"
    /// `Q5_K_M`: Q5_K, half of attn_v and ffn_down Q6_K.
    case q5_K_M = "q5_k_m"
    /// `Q6_K`: Q6_K everywhere.
    case q6_K = "q6_k"
    /// `Q5_0`: Q5_0, the output Q6_K.
    case q5_0 = "q5_0"
    /// `Q5_1`: Q5_1, the output Q6_K.
    case q5_1 = "q5_1"

    /// llama-quantize's name of the mix (`Q4_K_M`).
    public var llamaName: String { rawValue.uppercased() }

    /// The `llama_ftype` code llama-quantize writes to `general.file_type` (LLAMA_FTYPE_MOSTLY_*).
    public var fileType: UInt32 {
        switch self {
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_K: return 10
        case .q3_K_S: return 11
        case .q3_K_M: return 12
        case .q3_K_L: return 13
        case .q4_K_S: return 14
        case .q4_K_M: return 15
        case .q5_K_S: return 16
        case .q5_K_M: return 17
        case .q6_K: return 18
        case .q2_K_S: return 21
        }
    }

    /// The type of an ordinary weight matrix (`llama_ftype_get_default_type`).
    public var defaultType: DType {
        switch self {
        case .q2_K, .q2_K_S: return .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: return .q3_K
        case .q4_K_S, .q4_K_M: return .q4_K
        case .q5_K_S, .q5_K_M: return .q5_K
        case .q6_K: return .q6_K
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        }
    }

    /// The mix named `name` as llama-quantize parses it (case-insensitive; `q4_k`, `q3_k`,
    /// `q5_k` are its aliases for the `_M` mixes), or nil.
    public init?(name: String) {
        let lower = name.lowercased()
        switch lower {
        case "q3_k": self = .q3_K_M
        case "q4_k": self = .q4_K_M
        case "q5_k": self = .q5_K_M
        default:
            guard let mix = QuantMix(rawValue: lower) else { return nil }
            self = mix
        }
    }
}

/// The model facts llama-quantize's rules read: the architecture name and hyperparameters
/// from GGUF metadata (`{arch}.block_count`, `.attention.head_count`, `.head_count_kv`,
/// `.expert_count`).
public struct QuantMixModel: Sendable, Hashable {
    /// `general.architecture` (`llama`, `qwen2`, …).
    public var architecture: String
    /// `{arch}.block_count`: llama-quantize's `n_layer_all`, the ffn_down/gate/up layer count.
    public var layerCount: Int
    /// Attention heads of layer 0.
    public var headCount: Int
    /// Key/value heads of layer 0 (equal to `headCount` when the file has none).
    public var kvHeadCount: Int
    /// `{arch}.expert_count` (0 for a dense model).
    public var expertCount: Int

    /// Creates the model facts.
    public init(architecture: String, layerCount: Int, headCount: Int, kvHeadCount: Int, expertCount: Int = 0) {
        self.architecture = architecture
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.expertCount = expertCount
    }

    /// Reads the facts from GGUF metadata.
    ///
    /// - Throws: `FormatError` `.invalidHeader` when `general.architecture`, `block_count` or
    ///   `attention.head_count` is absent (llama.cpp's loader requires them too).
    public init(ggufMetadata metadata: Metadata, path: String? = nil) throws(FormatError) {
        guard let arch = metadata["general.architecture"]?.stringValue else {
            throw FormatError(.invalidHeader, "general.architecture is missing: llama-quantize's rules need the architecture", path: path)
        }
        func integer(_ value: MetadataValue?) -> Int? {
            switch value {
            case .int(let v)?: return Int(exactly: v)
            case .uint(let v)?: return Int(exactly: v)
            // Per-layer arrays (head_count_kv of some models): llama.cpp's n_head_kv(0) reads layer 0.
            case .array(let items)?: return integer(items.first)
            default: return nil
            }
        }
        func int(_ key: String) -> Int? { integer(metadata["\(arch).\(key)"]) }
        guard let layers = int("block_count") else {
            throw FormatError(.invalidHeader, "\(arch).block_count is missing: llama-quantize's layer rules need it", path: path)
        }
        guard let heads = int("attention.head_count") else {
            throw FormatError(.invalidHeader, "\(arch).attention.head_count is missing: llama-quantize's GQA rules need it", path: path)
        }
        self.init(
            architecture: arch, layerCount: layers, headCount: heads, kvHeadCount: int("attention.head_count_kv") ?? heads,
            expertCount: int("expert_count") ?? 0)
    }

    /// `hparams.n_gqa()`: heads per key/value head, 0 without key/value heads.
    public var gqa: Int { kvHeadCount == 0 ? 0 : headCount / kvHeadCount }

    /// True when llama.cpp's loader types the model `LLM_TYPE_70B` (its attn_v rule gives such
    /// models Q5_K for Q3_K/Q4_K): llama with 80 layers and GQA (not 8 experts), qwen2, deci
    /// and olmo with 80 layers, jais2 with 68.
    public var is70B: Bool {
        switch architecture {
        case "llama": return expertCount != 8 && layerCount == 80 && headCount != kvHeadCount
        case "qwen2", "deci", "olmo": return layerCount == 80
        case "jais2": return layerCount == 68
        default: return false
        }
    }
}
