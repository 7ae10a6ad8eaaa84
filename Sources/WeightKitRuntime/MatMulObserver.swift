import WeightKitGraph

/// Sees the input of every matrix product of the forward pass (`weightkit imatrix`):
/// `Transformer.forwardChunk` calls it once per product (projections that share an input — Q/K/V,
/// gate/up — in one call) when `Transformer.matMulObserver` is set; nil costs one check per product.
public protocol MatMulObserver: AnyObject {
    /// `weights` are about to multiply the `rows` rows of `input`, each `weights[0].columns`
    /// floats ([rows, columns] row-major). `input` is valid only during the call.
    ///
    /// The unembedding is reported for every row of the chunk (its input: the final-normed
    /// residual), although the forward pass multiplies only the last row.
    func multiplying(_ weights: [Weight], input: UnsafeBufferPointer<Float>, rows: Int)
}
