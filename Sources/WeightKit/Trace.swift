/// What a model does with one prompt, stage by stage (`weightkit trace`): tokens and their
/// embeddings, attention per layer and head, the MLP and residual stream per layer, and the
/// next-token distribution with the logit lens. Built by `Tracer.trace`; rendered as text,
/// JSON or HTML (`Trace+Text`, `Trace+JSON`, `TraceHTML`).
public struct Trace: Sendable {
    /// A token with a score: a cosine similarity (neighbours) or a probability (predictions).
    public struct Candidate: Sendable, Equatable {
        /// Token id.
        public var id: Int
        /// Its text (decoded piece), or `#id` without a tokenizer.
        public var piece: String
        /// Cosine similarity or probability.
        public var score: Float
    }

    /// Stage 1: one prompt token.
    public struct Token: Sendable {
        /// Token id and text.
        public var id: Int
        public var piece: String
        /// Norm of the vector entering layer 0 (token embedding, plus position embedding for GPT-2).
        public var embeddingNorm: Float
        /// The vocabulary tokens whose embedding rows are most similar by cosine (itself excluded).
        public var neighbours: [Candidate]
    }

    /// Stage 2: one attention head of one layer.
    public struct Head: Sendable {
        /// Head index within the layer.
        public var index: Int
        /// Row p: the weights position p gave positions 0 ... p (causal; each row sums to 1), or
        /// every position of the prompt (an encoder).
        public var weights: [[Float]]
        /// Entropy in bits of the last position's row: 0 is one token, log2(n) is uniform.
        public var entropy: Float
        /// Mean entropy in bits over all positions' rows.
        public var meanEntropy: Float
        /// The last position's most attended positions, heaviest first.
        public var top: [(position: Int, weight: Float)]
    }

    /// Stages 2–4 for one layer, measured at the last position.
    public struct Layer: Sendable {
        /// Layer index.
        public var index: Int
        /// Norm of what attention (after its output projection) added to the residual stream.
        public var attentionNorm: Float
        /// Norm of what the MLP added.
        public var mlpNorm: Float
        /// Norm of the residual stream after this layer.
        public var residualNorm: Float
        /// Attention heads (empty for layers left out by `--layers`).
        public var heads: [Head]
        /// The MLP hidden units with the largest |activation| (after SwiGLU / GELU), largest first.
        public var topNeurons: [(index: Int, activation: Float)]
        /// Logit lens: the final norm + unembedding of the residual after this layer, top tokens.
        public var lens: [Candidate]
        /// Logit lens: probability and rank (0 = top) of the model's final top-1 token at this depth.
        public var finalTokenProbability: Float
        public var finalTokenRank: Int
    }

    /// The model's path and family (`llama`, `qwen2`, `gpt2`).
    public var model: String
    public var family: String
    /// Layers and attention heads of the model.
    public var layerCount: Int
    public var headCount: Int
    /// Stage 1.
    public var tokens: [Token]
    /// Stages 2–4 per layer, every layer (heads only for the selected ones).
    public var layers: [Layer]
    /// Stage 4: the next-token distribution's top tokens with probabilities (empty for an encoder).
    public var next: [Candidate]
    /// Stage 4 of an encoder: the pooled sentence embedding, in place of a next token.
    public var embedding: [Float]? = nil
    /// How `embedding` was pooled.
    public var pooling: EmbeddingSettings? = nil

    /// The first layer whose logit-lens top-1 is the final top-1 and stays so to the end, if any.
    public var emergenceLayer: Int? {
        guard let answer = next.first?.id, layers.last?.lens.first?.id == answer else { return nil }
        var first = layers.count - 1
        while first > 0 && layers[first - 1].lens.first?.id == answer { first -= 1 }
        return layers[first].index
    }

    /// The first layer where the final top-1 is the lens's top-1 at all, if any.
    public var firstTopLayer: Int? {
        guard let answer = next.first?.id else { return nil }
        return layers.first { $0.lens.first?.id == answer }?.index
    }
}
