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

/// The weights of one transformer block, by role. Which are present follows the config's
/// description (`preNorm`, `postNorm`, `qkNorm`, biases, `isMoE(layer:)`).
public struct BlockWeights: Sendable {
    /// Norm before attention: [hidden]; nil when the config has no pre-norms (OLMo-2).
    public var attentionNorm: Weight?
    /// LayerNorm bias before attention: [hidden].
    public var attentionNormBias: Weight?
    /// Query projection: [heads*headDim, hidden].
    public var query: Weight
    /// Key projection: [kvHeads*headDim, hidden].
    public var key: Weight
    /// Value projection: [kvHeads*headDim, hidden].
    public var value: Weight
    /// Query bias: [heads*headDim].
    public var queryBias: Weight?
    /// Key bias: [kvHeads*headDim].
    public var keyBias: Weight?
    /// Value bias: [kvHeads*headDim].
    public var valueBias: Weight?
    /// RMSNorm weights of the queries: [headDim] per head, or [heads*headDim] whole (`qkNorm`).
    public var queryNorm: Weight?
    /// RMSNorm weights of the keys: [headDim] per head, or [kvHeads*headDim] whole.
    public var keyNorm: Weight?
    /// Attention output projection: [hidden, heads*headDim].
    public var output: Weight
    /// Attention output bias: [hidden].
    public var outputBias: Weight?
    /// Norm of the attention output before the residual (Gemma 2/3, OLMo-2): [hidden].
    public var postAttentionNorm: Weight?
    /// Norm before the MLP: [hidden]; nil without pre-norms.
    public var mlpNorm: Weight?
    /// LayerNorm bias before the MLP: [hidden].
    public var mlpNormBias: Weight?
    /// The dense MLP (nil in a mixture-of-experts layer).
    public var mlp: MLPWeights?
    /// The routed experts (nil in a dense layer).
    public var experts: ExpertMixture?
    /// Norm of the MLP output before the residual (Gemma 2/3, OLMo-2): [hidden].
    public var postMLPNorm: Weight?
    /// Norm of the residual after attention joined it (BERT's post-LN): [hidden], and its bias.
    public var attentionResidualNorm: Weight?
    /// Bias of `attentionResidualNorm`.
    public var attentionResidualNormBias: Weight?
    /// Norm of the residual after the MLP joined it (BERT's post-LN): [hidden], and its bias.
    public var mlpResidualNorm: Weight?
    /// Bias of `mlpResidualNorm`.
    public var mlpResidualNormBias: Weight?

    /// Creates a block; absent parts default to nil.
    public init(
        attentionNorm: Weight? = nil, attentionNormBias: Weight? = nil, query: Weight, key: Weight, value: Weight,
        queryBias: Weight? = nil, keyBias: Weight? = nil, valueBias: Weight? = nil, queryNorm: Weight? = nil, keyNorm: Weight? = nil,
        output: Weight, outputBias: Weight? = nil, postAttentionNorm: Weight? = nil,
        mlpNorm: Weight? = nil, mlpNormBias: Weight? = nil, mlp: MLPWeights? = nil, experts: ExpertMixture? = nil, postMLPNorm: Weight? = nil
    ) {
        self.attentionNorm = attentionNorm
        self.attentionNormBias = attentionNormBias
        self.query = query
        self.key = key
        self.value = value
        self.queryBias = queryBias
        self.keyBias = keyBias
        self.valueBias = valueBias
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        self.output = output
        self.outputBias = outputBias
        self.postAttentionNorm = postAttentionNorm
        self.mlpNorm = mlpNorm
        self.mlpNormBias = mlpNormBias
        self.mlp = mlp
        self.experts = experts
        self.postMLPNorm = postMLPNorm
    }

    /// Every projection matrix of the block, in the order a token reads them.
    public var matrices: [Weight] {
        [query, key, value, output] + (mlp?.matrices ?? []) + (experts.map { [$0.router] + $0.experts.flatMap(\.matrices) } ?? [])
    }

    /// The block with every norm weight and bias passed through `body` (projections unchanged;
    /// an expert mixture's router is a matrix and stays too).
    public func mappingVectors(_ body: (Weight) -> Weight) -> BlockWeights {
        var b = self
        for path in [\BlockWeights.attentionNorm, \.attentionNormBias, \.queryBias, \.keyBias, \.valueBias, \.queryNorm, \.keyNorm,
                     \.outputBias, \.postAttentionNorm, \.mlpNorm, \.mlpNormBias, \.postMLPNorm, \.attentionResidualNorm,
                     \.attentionResidualNormBias, \.mlpResidualNorm, \.mlpResidualNormBias] {
            b[keyPath: path] = b[keyPath: path].map(body)
        }
        func biases(_ m: MLPWeights) -> MLPWeights {
            var m = m
            m.gateBias = m.gateBias.map(body)
            m.upBias = m.upBias.map(body)
            m.downBias = m.downBias.map(body)
            return m
        }
        b.mlp = b.mlp.map(biases)
        b.experts = b.experts.map { ExpertMixture(router: $0.router, experts: $0.experts.map(biases)) }
        return b
    }

    /// The block with every projection matrix passed through `body` (norms and biases unchanged).
    public func mappingMatrices(_ body: (Weight) -> Weight) -> BlockWeights {
        var b = self
        b.query = body(query)
        b.key = body(key)
        b.value = body(value)
        b.output = body(output)
        b.mlp = mlp?.mappingMatrices(body)
        b.experts = experts.map { ExpertMixture(router: $0.router, experts: $0.experts.map { $0.mappingMatrices(body) }) }
        return b
    }
}

/// A feed-forward network: act(gate·x)·(up·x) → down, or act(up·x) → down without a gate.
public struct MLPWeights: Sendable {
    /// Gate projection: [width, hidden]; nil for an ungated MLP.
    public var gate: Weight?
    /// Gate bias: [width].
    public var gateBias: Weight?
    /// Up (fc) projection: [width, hidden].
    public var up: Weight
    /// Up bias: [width].
    public var upBias: Weight?
    /// Down projection: [hidden, width].
    public var down: Weight
    /// Down bias: [hidden].
    public var downBias: Weight?

    /// Creates an MLP.
    public init(gate: Weight?, gateBias: Weight? = nil, up: Weight, upBias: Weight? = nil, down: Weight, downBias: Weight? = nil) {
        self.gate = gate
        self.gateBias = gateBias
        self.up = up
        self.upBias = upBias
        self.down = down
        self.downBias = downBias
    }

    /// Width of the hidden layer.
    public var width: Int { up.rows }
    /// The projection matrices in reading order.
    public var matrices: [Weight] { (gate.map { [$0] } ?? []) + [up, down] }

    /// The MLP with each projection passed through `body`.
    public func mappingMatrices(_ body: (Weight) -> Weight) -> MLPWeights {
        MLPWeights(gate: gate.map(body), gateBias: gateBias, up: body(up), upBias: upBias, down: body(down), downBias: downBias)
    }
}

/// A routed mixture of experts: router logits → softmax → top-k → the chosen experts' MLPs.
public struct ExpertMixture: Sendable {
    /// Router: [experts, hidden], kept f32.
    public var router: Weight
    /// The experts, each a gated MLP.
    public var experts: [MLPWeights]

    /// Creates a mixture.
    public init(router: Weight, experts: [MLPWeights]) {
        self.router = router
        self.experts = experts
    }
}

/// A model ready to run: configuration plus every weight by role, whatever the source format.
public struct ModelGraph: Sendable {
    /// Hyperparameters (including the RoPE layout of the source).
    public var config: ArchitectureConfig
    /// Token embedding: [vocab, hidden].
    public var tokenEmbedding: Weight
    /// Learned position embedding (gpt2, bert): [context, hidden].
    public var positionEmbedding: Weight?
    /// The blocks, in order.
    public var blocks: [BlockWeights]
    /// Final norm: [hidden] (+ bias for LayerNorm); nil for an encoder.
    public var finalNorm: Weight?
    /// Final LayerNorm bias (gpt2): [hidden].
    public var finalNormBias: Weight?
    /// Unembedding: [vocab, hidden]; the token embedding itself when tied; nil for an encoder.
    public var unembedding: Weight?
    /// The files the weights come from.
    public var files: [String]
    /// Token-type embedding (bert): [types, hidden]; row 0 joins every token.
    public var tokenTypeEmbedding: Weight? = nil
    /// Norm of the embedding sum (bert): [hidden].
    public var embeddingNorm: Weight? = nil
    /// Bias of `embeddingNorm`.
    public var embeddingNormBias: Weight? = nil
}

extension Weight {
    /// A view of rows `rows` of this weight seen as a matrix of `totalRows` rows of `columns`
    /// elements (a 3-D [experts, rows, columns] tensor is a matrix of experts·rows rows), named
    /// `name`: no bytes are copied. Rows of block-quantized types hold whole blocks, so any row
    /// range is a byte range.
    public func slice(rows: Range<Int>, totalRows: Int, columns: Int, name: String) -> Weight {
        precondition(totalRows > 0 && info.byteCount % totalRows == 0 && rows.upperBound <= totalRows, "row slice outside the weight")
        let rowBytes = info.byteCount / totalRows
        var sliced = info
        sliced.name = name
        sliced.shape = Shape([rows.count, columns])
        sliced.byteCount = rowBytes * rows.count
        sliced.fileOffset = info.fileOffset.map { $0 + rows.lowerBound * rowBytes }
        return Weight(info: sliced, storage: storage.slice(rows.lowerBound * rowBytes..<rows.upperBound * rowBytes), blockOrder: blockOrder)
    }
}
