import WeightKitCore

/// Which tensors get quantized, and to what: separate from how (`QuantScheme`).
///
/// By default every floating 2-D tensor (and GGUF's 3-D stacked experts) whose rows (last
/// dimension) are a multiple of 32 is quantized; 1-D tensors (norms, biases) and anything else stay as they are, and so do the router, position and token-type tables that llama-quantize keeps. The token
/// embedding and output matrices follow `embeddings`; `keep` globs keep more tensors in float. A
/// scheme of 256-value blocks (IQ4_XS) takes llama-quantize's fallback for rows that are not whole
/// blocks (IQ4_NL).
public struct QuantPolicy: Sendable {
    /// What to do with the token embedding and output (unembedding) matrices.
    public enum Embeddings: String, CaseIterable, Sendable {
        /// Quantize them to Q8_0 (the default: they are the most sensitive matrices).
        case q8_0
        /// Store them as f16.
        case f16
        /// Leave them in their input dtype.
        case keep
    }

    /// The scheme for ordinary weight matrices.
    public var scheme: QuantScheme
    /// Globs (`*`, `?`) on tensor names kept in float.
    public var keep: [String]
    /// The embedding choice.
    public var embeddings: Embeddings

    /// Creates a policy.
    public init(scheme: QuantScheme, keep: [String] = [], embeddings: Embeddings = .q8_0) {
        self.scheme = scheme
        self.keep = keep
        self.embeddings = embeddings
    }

    /// Names of token-embedding and output matrices in the namings WeightKit reads.
    static let embeddingNames: Set<String> = [
        "model.embed_tokens.weight", "lm_head.weight", "token_embd.weight", "output.weight",
        "transformer.wte.weight", "wte.weight",
    ]

    /// True for a token-embedding or output matrix name.
    public static func isEmbedding(_ name: String) -> Bool {
        embeddingNames.contains(name) || name.hasSuffix("embed_tokens.weight") || name.hasSuffix("embeddings.word_embeddings.weight")
    }

    /// True for a mixture-of-experts router matrix (GGUF `ffn_gate_inp`, HF `mlp.gate` and
    /// Mixtral's `block_sparse_moe.gate`).
    public static func isRouter(_ name: String) -> Bool {
        name.hasSuffix("ffn_gate_inp.weight") || name.hasSuffix(".mlp.gate.weight") || name.hasSuffix("block_sparse_moe.gate.weight")
    }

    /// True for a learned position or token-type table: GGUF `position_embd`/`token_types`, HF
    /// BERT `embeddings.position_embeddings`/`token_type_embeddings`, GPT-2 `wpe`.
    public static func isPositionOrTypeTable(_ name: String) -> Bool {
        ["position_embd.weight", "token_types.weight", "wpe.weight", "transformer.wpe.weight"].contains(name)
            || name.hasSuffix("embeddings.position_embeddings.weight") || name.hasSuffix("embeddings.token_type_embeddings.weight")
    }

    /// True for GGUF's stacked expert matrices (`blk.N.ffn_{gate,up,down}_exps.weight`).
    public static func isStackedExperts(_ name: String) -> Bool {
        name.hasSuffix("_exps.weight") && name.hasPrefix("blk.")
    }

    /// The dtype `tensor` is written as (its own dtype when it stays unquantized).
    public func target(for tensor: TensorInfo) -> DType {
        let dims = tensor.shape.dims
        // GGUF's stacked experts ([experts, rows, columns]) are quantized row by row as llama.cpp does.
        let matrix = dims.count == 2 || (dims.count == 3 && Self.isStackedExperts(tensor.name))
        guard tensor.dtype.isFloatingPoint, matrix, let cols = dims.last, cols > 0, cols % 32 == 0 else {
            return tensor.dtype
        }
        if keep.contains(where: { Self.glob($0, matches: tensor.name) }) { return tensor.dtype }
        // A mixture-of-experts router stays float, as llama.cpp's quantizer keeps ffn_gate_inp;
        // so do learned position and token-type tables (its position_embd, token_types).
        if Self.isRouter(tensor.name) || Self.isPositionOrTypeTable(tensor.name) { return tensor.dtype }
        if Self.isEmbedding(tensor.name) {
            switch embeddings {
            case .q8_0: return .q8_0
            case .f16: return .float16
            case .keep: return tensor.dtype
            }
        }
        // Rows that are not whole blocks of a 256-value scheme (IQ4_XS) fall back as llama-quantize's do.
        return QuantMixState.fallbackType(scheme.dtype, columns: cols)
    }

    /// Shell-style glob: `*` matches any run (including dots), `?` one character.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern.utf8), s = Array(name.utf8)
        var pi = 0, si = 0, star = -1, mark = 0
        while si < s.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
                pi += 1; si += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi; mark = si; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; si = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
