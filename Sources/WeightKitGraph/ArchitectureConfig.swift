import WeightKitCore

/// The hyperparameters of a transformer, independent of file format and naming.
///
/// Built from a Hugging Face `config.json` (`init(huggingFace:)`, old and new spellings) or from
/// GGUF metadata converted to the same keys. Field names follow Swift, CodingKeys-style mapping to
/// the HF names lives in the initializer.
public struct ArchitectureConfig: Sendable, Hashable {
    /// The model families the runtime executes.
    public enum Family: String, Sendable, Hashable {
        /// Llama 2/3, Mistral, SmolLM2, TinyLlama: RMSNorm, RoPE, SwiGLU, no biases.
        case llama
        /// Qwen2: like llama with Q/K/V biases.
        case qwen2
        /// GPT-2: LayerNorm, learned positions, GELU, fused QKV stored [in, out].
        case gpt2
    }

    /// Normalisation before attention and MLP.
    public enum NormKind: String, Sendable, Hashable { case rms, layer }

    /// The MLP's nonlinearity.
    public enum Activation: String, Sendable, Hashable {
        /// SwiGLU: silu(gate) * up.
        case silu
        /// GELU, tanh approximation (GPT-2's `gelu_new`).
        case geluTanh = "gelu_tanh"
        /// GELU, exact erf form.
        case gelu
    }

    /// How RoPE pairs the dimensions of a head.
    public enum RoPELayout: String, Sendable, Hashable {
        /// Hugging Face `rotate_half`: dimension i pairs with i + headDim/2.
        case halfSplit = "half-split"
        /// GGUF / llama.cpp (Q and K rows permuted at conversion): dimension 2i pairs with 2i+1.
        case interleaved
    }

    /// The model family, which decides the block's layout.
    public var family: Family
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Width of the MLP's hidden layer.
    public var intermediateSize: Int
    /// Number of transformer blocks.
    public var layers: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    public var kvHeads: Int
    /// Dimension of one head.
    public var headDim: Int
    /// Vocabulary size (rows of the embedding).
    public var vocabSize: Int
    /// Longest sequence the model supports.
    public var contextLength: Int
    /// Norm kind (RMSNorm or LayerNorm).
    public var norm: NormKind
    /// The epsilon added inside the norm's square root.
    public var normEpsilon: Float
    /// MLP activation.
    public var activation: Activation
    /// RoPE base frequency (unused for gpt2).
    public var ropeTheta: Float
    /// RoPE pairing; set by the loader from the source (HF half-split, GGUF interleaved).
    public var ropeLayout: RoPELayout
    /// Output projection shares the token embedding.
    public var tiedEmbeddings: Bool
    /// Q/K/V projections have biases (qwen2; llama with attention_bias).
    public var attentionBias: Bool
    /// Beginning-of-sequence token id from the config, if given.
    public var bosTokenID: Int?
    /// End-of-sequence token ids from the config (possibly several), empty if none.
    public var eosTokenIDs: [Int]

    /// Width of the K and V projections.
    public var kvDim: Int { kvHeads * headDim }
    /// Width of the Q projection.
    public var qDim: Int { heads * headDim }
}

extension ArchitectureConfig {
    /// Reads a Hugging Face `config.json`.
    public init(huggingFace json: JSONObject, path: String? = nil) throws(GraphError) {
        func fail(_ message: String) -> GraphError { GraphError(.invalidConfig, message, path: path) }
        func int(_ keys: String..., default value: Int? = nil) throws(GraphError) -> Int {
            for key in keys {
                if let v = json[key], case .null = v { continue }
                if let v = json[key] {
                    guard let n = v.int, n >= 0 else { throw fail("\"\(key)\" must be a non-negative integer, found \(JSONWriter.serialize(v))") }
                    return n
                }
            }
            if let value { return value }
            throw fail("config.json has no \"\(keys[0])\"")
        }
        func float(_ keys: [String], default value: Float) throws(GraphError) -> Float {
            for key in keys {
                let parts = key.split(separator: ".").map(String.init)
                var node: JSONValue? = .object(json)
                for p in parts { node = node?.object?[p] }
                if let node, case .null = node { continue }
                if let node {
                    guard let n = node.number else { throw fail("\"\(key)\" must be a number") }
                    return Float(n)
                }
            }
            return value
        }
        let modelType = json["model_type"]?.string ?? ""
        switch modelType {
        case "llama", "mistral", "smollm", "smollm2": family = .llama
        case "qwen2": family = .qwen2
        case "gpt2": family = .gpt2
        default:
            throw GraphError(.unknownArchitecture, "model_type \"\(modelType)\" is not one WeightKit runs (llama, mistral, qwen2, gpt2)", path: path)
        }
        if let scaling = json["rope_scaling"], scaling != .null {
            throw fail("rope_scaling \(JSONWriter.serialize(scaling)) is not supported yet")
        }
        if family == .gpt2 {
            hiddenSize = try int("n_embd", "hidden_size")
            layers = try int("n_layer", "num_hidden_layers")
            heads = try int("n_head", "num_attention_heads")
            kvHeads = heads
            intermediateSize = try int("n_inner", default: 4 * hiddenSize)
            contextLength = try int("n_positions", "max_position_embeddings")
            norm = .layer
            normEpsilon = try float(["layer_norm_epsilon"], default: 1e-5)
            let act = json["activation_function"]?.string ?? "gelu_new"
            activation = act == "gelu" ? .gelu : .geluTanh
            ropeTheta = 0
            tiedEmbeddings = true
            attentionBias = true
        } else {
            hiddenSize = try int("hidden_size")
            layers = try int("num_hidden_layers")
            heads = try int("num_attention_heads")
            kvHeads = try int("num_key_value_heads", default: heads)
            intermediateSize = try int("intermediate_size")
            contextLength = try int("max_position_embeddings", default: 2048)
            norm = .rms
            normEpsilon = try float(["rms_norm_eps"], default: 1e-6)
            let act = json["hidden_act"]?.string ?? "silu"
            guard act == "silu" else { throw fail("hidden_act \"\(act)\" is not supported for \(family.rawValue) (expected silu)") }
            activation = .silu
            ropeTheta = try float(["rope_theta", "rope_parameters.rope_theta"], default: 10000)
            tiedEmbeddings = json["tie_word_embeddings"]?.bool ?? false
            attentionBias = family == .qwen2 || (json["attention_bias"]?.bool ?? false)
        }
        vocabSize = try int("vocab_size")
        guard heads > 0, hiddenSize > 0, layers > 0 else { throw fail("hidden size, layers and heads must be positive") }
        headDim = family == .gpt2 ? hiddenSize / heads : try int("head_dim", default: hiddenSize / heads)
        guard kvHeads > 0, heads % kvHeads == 0 else { throw fail("\(heads) heads is not a multiple of \(kvHeads) KV heads") }
        guard headDim % 2 == 0 || family == .gpt2 else { throw fail("head dimension \(headDim) must be even for RoPE") }
        ropeLayout = .halfSplit
        bosTokenID = json["bos_token_id"]?.int
        if let list = json["eos_token_id"]?.array {
            eosTokenIDs = list.compactMap(\.int)
        } else {
            eosTokenIDs = json["eos_token_id"]?.int.map { [$0] } ?? []
        }
    }
}
