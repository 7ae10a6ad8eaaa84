import WeightKitCore
import WeightKitGraph

/// Every activation buffer and the KV cache, allocated once per loaded model; nothing is
/// allocated per token (llama2.c's RunState).
final class RunState {
    /// Most tokens processed in one forward call (prefill chunk).
    let batch: Int
    /// Positions the KV cache holds.
    let capacity: Int

    var x: [Float]        // [batch, hidden] residual stream
    var xb: [Float]       // [batch, hidden] normed input of a sublayer
    var xb2: [Float]      // [batch, hidden] sublayer output
    var q: [Float]        // [batch, heads*headDim]
    var k: [Float]        // [batch, kvHeads*headDim]
    var v: [Float]        // [batch, kvHeads*headDim]
    var attention: [Float] // [batch, heads*headDim] attention output before the O projection
    var scores: [Float]   // [batch, heads, capacity] attention weights
    var hb: [Float]       // [batch, intermediate] gate / fc activations
    var hb2: [Float]      // [batch, intermediate] up activations
    var logits: [Float]   // [vocab] last position's logits
    var keyCache: [Float]   // [layers, capacity, kvHeads*headDim]
    var valueCache: [Float] // [layers, capacity, kvHeads*headDim]
    let ropeTable: [Float]  // [capacity, headDim/2, 2] cos, sin

    init(config c: ArchitectureConfig, capacity: Int, batch: Int) {
        self.batch = batch
        self.capacity = capacity
        x = [Float](repeating: 0, count: batch * c.hiddenSize)
        xb = x
        xb2 = x
        q = [Float](repeating: 0, count: batch * c.qDim)
        k = [Float](repeating: 0, count: batch * c.kvDim)
        v = k
        attention = q
        scores = [Float](repeating: 0, count: batch * c.heads * capacity)
        hb = [Float](repeating: 0, count: batch * c.intermediateSize)
        hb2 = hb
        logits = [Float](repeating: 0, count: c.vocabSize)
        keyCache = [Float](repeating: 0, count: c.layers * capacity * c.kvDim)
        valueCache = keyCache
        ropeTable = c.family == .gpt2 ? [] : Ops.ropeTable(positions: capacity, headDim: c.headDim, theta: c.ropeTheta)
    }
}
