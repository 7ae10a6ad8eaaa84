import WeightKitCore

/// What a transformer computes, as data: the one description of a model that the binder and the
/// forward pass read, independent of file format and naming.
///
/// Every difference between the families WeightKit runs is a field here — norm kind and
/// placement, QK-norm, activation and gating, biases, residual and embedding multipliers,
/// attention scale and soft-capping, per-layer attention kind and the RoPE of each kind, mixture
/// of experts — so the forward pass has no family branches. Built from a Hugging Face
/// `config.json` (`init(huggingFace:)`, transformers 4 and 5 spellings, refusing every value that
/// would change the result and is not implemented) or from GGUF metadata converted to the same keys.
public struct ArchitectureConfig: Sendable, Hashable {
    /// The model families WeightKit reads configs of (the `model_type` of config.json).
    public enum Family: String, Sendable, Hashable, CaseIterable {
        /// Llama 2/3, SmolLM2, TinyLlama: RMSNorm, RoPE, SwiGLU, no biases.
        case llama
        /// Mistral: llama with a sliding window on every layer.
        case mistral
        /// Qwen2: llama with Q/K/V biases.
        case qwen2
        /// Qwen3: llama with per-head RMSNorm of queries and keys.
        case qwen3
        /// Qwen3-MoE: Qwen3 with a routed mixture of SwiGLU experts.
        case qwen3MoE = "qwen3_moe"
        /// Mixtral: Mistral with a routed mixture of SwiGLU experts.
        case mixtral
        /// Gemma: (1 + w) RMSNorm, √hidden embedding scale, GELU-gated MLP, tied embeddings.
        case gemma
        /// Gemma 2: Gemma with post-sublayer norms, soft-capping and alternating sliding layers.
        case gemma2
        /// Gemma 3 (text): Gemma 2 with QK-norm and a RoPE base per attention kind.
        case gemma3 = "gemma3_text"
        /// Phi-3: fused QKV and gate/up projections, longrope.
        case phi3
        /// OLMo-2: norms after each sublayer only, RMSNorm of whole Q and K.
        case olmo2
        /// StableLM: LayerNorm, partial rotary, optional Q/K/V biases and parallel residual.
        case stablelm
        /// GPT-NeoX / Pythia: LayerNorm, parallel residual, fused per-head QKV, partial rotary.
        case gptNeoX = "gpt_neox"
        /// Granite: llama with embedding, residual, attention and logit multipliers.
        case granite
        /// GPT-2: LayerNorm, learned positions, GELU, fused QKV stored [in, out].
        case gpt2
        /// BERT (and sentence-transformers' MiniLM, BGE): an encoder — bidirectional attention,
        /// learned positions and token types, a LayerNorm of the embeddings and of the residual
        /// after each sublayer, GELU; no unembedding (its output is pooled into an embedding).
        case bert
    }

    /// Normalisation kind.
    public enum NormKind: String, Sendable, Hashable {
        /// x / rms(x) · w.
        case rms
        /// (x − mean) / std · w (+ b when `normBias`).
        case layer
    }

    /// The MLP's nonlinearity.
    public enum Activation: String, Sendable, Hashable {
        /// SiLU (x·sigmoid(x)).
        case silu
        /// GELU, tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
        case geluTanh = "gelu_tanh"
        /// GELU, exact erf form.
        case gelu
    }

    /// How RoPE pairs the rotated dimensions of a head.
    public enum RoPELayout: String, Sendable, Hashable {
        /// Hugging Face `rotate_half`: dimension i pairs with i + rotaryDim/2.
        case halfSplit = "half-split"
        /// GGUF / llama.cpp (Q and K rows permuted at conversion): dimension 2i pairs with 2i+1.
        case interleaved
    }

    /// What a layer's attention sees.
    public enum AttentionKind: String, Sendable, Hashable {
        /// Every earlier position.
        case full = "full_attention"
        /// The last `slidingWindow` positions (the current one included).
        case sliding = "sliding_attention"
    }

    /// Normalisation of queries and keys before RoPE.
    public enum QKNorm: String, Sendable, Hashable {
        /// None.
        case none
        /// RMSNorm of each head (weights [headDim]): Qwen3, Gemma 3.
        case perHead
        /// RMSNorm of the whole projection (weights [heads·headDim], [kvHeads·headDim]): OLMo-2.
        case whole
    }

    /// A routed mixture of gated experts in place of the MLP.
    public struct MixtureOfExperts: Sendable, Hashable {
        /// Experts per layer.
        public var experts: Int
        /// Experts each token is routed to.
        public var topK: Int
        /// Whether the top-k router probabilities are renormalised to sum to 1.
        public var normalizeTopK: Bool
        /// Width of one expert's hidden layer.
        public var intermediateSize: Int
        /// Per layer, true where the layer has experts (false: a dense MLP of the config's width).
        public var sparseLayers: [Bool]

        /// Creates a description.
        public init(experts: Int, topK: Int, normalizeTopK: Bool, intermediateSize: Int, sparseLayers: [Bool]) {
            self.experts = experts
            self.topK = topK
            self.normalizeTopK = normalizeTopK
            self.intermediateSize = intermediateSize
            self.sparseLayers = sparseLayers
        }
    }

    /// The family the config names (decides tensor names, not computation).
    public var family: Family
    /// Width of the residual stream.
    public var hiddenSize: Int
    /// Width of the (dense) MLP's hidden layer.
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
    /// Longest sequence the model runs.
    public var contextLength: Int

    /// Norm kind.
    public var norm: NormKind
    /// The epsilon added inside the norm's square root.
    public var normEpsilon: Float
    /// Added to every stored norm weight before use (Gemma's (1 + w) in Hugging Face files; 0
    /// for GGUF, whose converter already added it).
    public var normWeightOffset: Float = 0
    /// LayerNorms carry a bias.
    public var normBias: Bool = false
    /// A norm before attention and before the MLP (`input_layernorm`, `post_attention_layernorm`
    /// in llama's names).
    public var preNorm: Bool = true
    /// A norm of each sublayer's output before it joins the residual (Gemma 2/3, OLMo-2).
    public var postNorm: Bool = false
    /// Normalisation of queries and keys.
    public var qkNorm: QKNorm = .none

    /// MLP activation.
    public var activation: Activation
    /// act(gate)·up (true) or act(up) (false).
    public var gatedMLP: Bool = true
    /// Attention and MLP both read the block's input and both add to it (GPT-NeoX).
    public var parallelResidual: Bool = false
    /// Q/K/V projections have biases.
    public var attentionBias: Bool = false
    /// The attention output projection has a bias.
    public var attentionOutputBias: Bool = false
    /// The MLP projections have biases.
    public var mlpBias: Bool = false
    /// The token embedding is multiplied by this (Gemma: √hidden; Granite: embedding_multiplier).
    public var embeddingScale: Float = 1
    /// Each sublayer's output is multiplied by this before joining the residual (Granite).
    public var residualScale: Float = 1
    /// Attention scores are q·k times this; nil means 1/√headDim.
    public var attentionScale: Float?
    /// Logits are multiplied by this (Granite: 1 / logits_scaling).
    public var logitScale: Float = 1
    /// Attention scores become cap·tanh(s/cap) (Gemma 2).
    public var attentionSoftCap: Float?
    /// Logits become cap·tanh(l/cap) (Gemma 2).
    public var finalLogitSoftCap: Float?

    /// RoPE of full-attention layers (nil: no RoPE — learned positions).
    public var rope: RoPEConfig?
    /// RoPE of sliding layers when it differs (Gemma 3's local base); nil: `rope`.
    public var slidingRope: RoPEConfig?
    /// RoPE pairing; set by the loader from the source (HF half-split, GGUF llama interleaved).
    public var ropeLayout: RoPELayout = .halfSplit
    /// Learned absolute positions (GPT-2).
    public var learnedPositions: Bool = false
    /// Attention kind of each layer.
    public var layerAttention: [AttentionKind]
    /// Positions a sliding layer sees (the current one included).
    public var slidingWindow: Int?
    /// The mixture of experts, if the model has one.
    public var moe: MixtureOfExperts?

    /// Each position attends only to itself and earlier ones (a decoder); false: to every
    /// position of its sequence (an encoder, whose output is hidden states, not logits).
    public var causal: Bool = true
    /// A norm of the residual stream after each sublayer has joined it, x = norm(x + f(x))
    /// (BERT's post-LN; `attention.output.LayerNorm`, `output.LayerNorm`).
    public var residualNorm: Bool = false
    /// A norm of the embedding sum before the first block (BERT's `embeddings.LayerNorm`).
    public var embeddingNorm: Bool = false
    /// Rows of the token-type (segment) embedding, 0 without one; every token is type 0, as
    /// for a single sentence, so row 0 joins each embedding.
    public var tokenTypes: Int = 0

    /// Output projection shares the token embedding.
    public var tiedEmbeddings: Bool
    /// Beginning-of-sequence token id from the config, if given.
    public var bosTokenID: Int?
    /// End-of-sequence token ids from the config (possibly several), empty if none.
    public var eosTokenIDs: [Int]

    /// Width of the K and V projections.
    public var kvDim: Int { kvHeads * headDim }
    /// Width of the Q projection.
    public var qDim: Int { heads * headDim }

    /// The attention kind of `layer`.
    public func attentionKind(layer: Int) -> AttentionKind { layerAttention[layer] }

    /// The RoPE of `layer` (nil: none).
    public func rope(layer: Int) -> RoPEConfig? {
        attentionKind(layer: layer) == .sliding ? (slidingRope ?? rope) : rope
    }

    /// True when `layer`'s MLP is a mixture of experts.
    public func isMoE(layer: Int) -> Bool { moe?.sparseLayers[layer] ?? false }

    /// The factor attention scores are multiplied by.
    public var effectiveAttentionScale: Float { attentionScale ?? 1 / Float(headDim).squareRoot() }

    /// The first layer window `layer` attends from at position `position`.
    public func attentionStart(layer: Int, position: Int) -> Int {
        guard attentionKind(layer: layer) == .sliding, let window = slidingWindow else { return 0 }
        return max(0, position - window + 1)
    }
}
