/// Watches one forward pass stage by stage (`weightkit trace`): `Transformer.forwardChunk` calls
/// these at its stage points when `Transformer.observer` is set, and does nothing extra when it
/// is nil. Values are copies of the run state's buffers, flattened row-major; each call covers
/// the chunk of `n` tokens at positions `position ..< position + n` (a long prompt arrives in
/// several chunks, so a position's last report is its final value).
public protocol ForwardObserver: AnyObject {
    /// Stage 1: the residual stream after embedding — [n, hidden].
    func embedded(tokens: [Int], position: Int, residual: [Float])
    /// Stage 2: softmax(q·Kᵀ/√d) of one head at one position over positions `0 ... position`
    /// (causal: `weights.count == position + 1`).
    func attention(layer: Int, head: Int, position: Int, weights: [Float])
    /// Stage 2: what attention (after the output projection) added to the residual — [n, hidden].
    func attentionAdded(layer: Int, position: Int, delta: [Float])
    /// Stage 3: the MLP hidden activations after SwiGLU / GELU — [n, intermediate].
    func mlpActivations(layer: Int, position: Int, hidden: [Float])
    /// Stage 3: what the MLP added — [n, hidden] — and the residual stream after the layer — [n, hidden].
    func mlpAdded(layer: Int, position: Int, delta: [Float], residual: [Float])
    /// Stage 4: the last position's final-normed vector [hidden] and logits [vocab].
    func unembedded(position: Int, normed: [Float], logits: [Float])
}
