import WeightKitCore

/// One bound weight: its description and its bytes, kept in the stored dtype.
public struct Weight: Sendable {
    /// Name (as stored), dtype and shape.
    public let info: TensorInfo
    /// The bytes (a view into the mapped file when possible).
    public let storage: TensorStorage

    /// How a block-quantized matrix's bytes are ordered (`.rows` for everything read from a file).
    public let blockOrder: BlockOrder

    /// Creates a bound weight.
    public init(info: TensorInfo, storage: TensorStorage, blockOrder: BlockOrder = .rows) {
        self.info = info
        self.storage = storage
        self.blockOrder = blockOrder
    }

    /// Rows of a matrix (the first dimension; 1 for a vector).
    public var rows: Int { info.shape.rank >= 2 ? info.shape.dims[0] : 1 }
    /// Columns of a matrix (the product of the other dimensions).
    public var columns: Int { info.shape.rank >= 2 ? info.elementCount / max(rows, 1) : info.elementCount }
    /// The element type.
    public var dtype: DType { info.dtype }
}

/// The byte order of a weight.
public enum BlockOrder: Sendable, Equatable {
    /// Row after row, as files store it.
    case rows
    /// Block-quantized rows in groups of four, each block index's four scales together, then
    /// their quants (the runtime's copy for decode; `CWeightKitKernels`' `wk_qrepack_x4`).
    case interleaved4
}

/// The weights of one transformer block, by role.
public struct BlockWeights: Sendable {
    /// Norm before attention: [hidden] (+ bias for LayerNorm).
    public var attentionNorm: Weight
    /// LayerNorm bias before attention (gpt2): [hidden].
    public var attentionNormBias: Weight?
    /// Query projection: [heads*headDim, hidden].
    public var query: Weight
    /// Key projection: [kvHeads*headDim, hidden].
    public var key: Weight
    /// Value projection: [kvHeads*headDim, hidden].
    public var value: Weight
    /// Query bias (qwen2, gpt2): [heads*headDim].
    public var queryBias: Weight?
    /// Key bias: [kvHeads*headDim].
    public var keyBias: Weight?
    /// Value bias: [kvHeads*headDim].
    public var valueBias: Weight?
    /// Attention output projection: [hidden, heads*headDim].
    public var output: Weight
    /// Attention output bias (gpt2): [hidden].
    public var outputBias: Weight?
    /// Norm before the MLP: [hidden] (+ bias for LayerNorm).
    public var mlpNorm: Weight
    /// LayerNorm bias before the MLP (gpt2): [hidden].
    public var mlpNormBias: Weight?
    /// SwiGLU gate: [intermediate, hidden]; nil for a plain (GELU) MLP.
    public var gate: Weight?
    /// Up (or fc) projection: [intermediate, hidden].
    public var up: Weight
    /// Up (fc) bias (gpt2): [intermediate].
    public var upBias: Weight?
    /// Down (or proj) projection: [hidden, intermediate].
    public var down: Weight
    /// Down (proj) bias (gpt2): [hidden].
    public var downBias: Weight?
}

/// A model ready to run: configuration plus every weight by role, whatever the source format.
public struct ModelGraph: Sendable {
    /// Hyperparameters (including the RoPE layout of the source).
    public var config: ArchitectureConfig
    /// Token embedding: [vocab, hidden].
    public var tokenEmbedding: Weight
    /// Learned position embedding (gpt2): [context, hidden].
    public var positionEmbedding: Weight?
    /// The blocks, in order.
    public var blocks: [BlockWeights]
    /// Final norm: [hidden] (+ bias for LayerNorm).
    public var finalNorm: Weight
    /// Final LayerNorm bias (gpt2): [hidden].
    public var finalNormBias: Weight?
    /// Unembedding: [vocab, hidden]; the token embedding itself when tied.
    public var unembedding: Weight
    /// The files the weights come from.
    public var files: [String]
}
