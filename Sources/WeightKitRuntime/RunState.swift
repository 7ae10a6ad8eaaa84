import WeightKitCore
import WeightKitGraph

/// Every activation buffer and the KV cache, allocated once per loaded model and freed with it;
/// nothing is allocated per token (llama2.c's RunState). The forward pass reads the pointers
/// directly: they live exactly as long as this object, which the Transformer owns.
final class RunState {
    /// Most tokens processed in one forward call (prefill chunk).
    let batch: Int
    /// Positions the KV cache holds.
    let capacity: Int

    let x: UnsafeMutablePointer<Float>          // [batch, hidden] residual stream
    let xb: UnsafeMutablePointer<Float>         // [batch, hidden] normed input of a sublayer
    let xb2: UnsafeMutablePointer<Float>        // [batch, hidden] sublayer output
    let q: UnsafeMutablePointer<Float>          // [batch, heads*headDim]
    let k: UnsafeMutablePointer<Float>          // [batch, kvHeads*headDim]
    let v: UnsafeMutablePointer<Float>          // [batch, kvHeads*headDim]
    let attention: UnsafeMutablePointer<Float>  // [batch, heads*headDim] attention output before the O projection
    let scores: UnsafeMutablePointer<Float>     // [batch, heads, capacity] attention weights
    let hb: UnsafeMutablePointer<Float>         // [batch, width] gate / fc activations (width: the widest MLP)
    let hb2: UnsafeMutablePointer<Float>        // [batch, width] up activations
    let keyCache: UnsafeMutablePointer<Float>   // per layer [cacheRows[l], kvHeads*headDim] at cacheOffset[l]
    let valueCache: UnsafeMutablePointer<Float> // likewise
    /// Rows of layer l's cache: the capacity for full attention; for a sliding layer, room for
    /// twice a window plus a chunk, so its keys stay contiguous with an occasional shift
    /// (`Transformer.slideCache`) — a window-sized cache, whatever the context.
    let cacheRows: [Int]
    /// Where layer l's cache starts, in floats from `keyCache` / `valueCache`.
    let cacheOffset: [Int]
    /// The position held in row 0 of layer l's cache (moves forward as a sliding layer shifts).
    var cacheBase: [Int]
    let ropeRows: UnsafeMutablePointer<Float>   // [2 kinds, batch, headDim] cos, sin pairs of each token's position
    let attentionDelta: UnsafeMutablePointer<Float> // [batch, hidden] attention output kept for a parallel residual
    let router: UnsafeMutablePointer<Float>     // [batch, experts] router logits, then probabilities
    let gathered: UnsafeMutablePointer<Float>   // [batch, hidden] the normed rows routed to one expert
    let expertOut: UnsafeMutablePointer<Float>  // [batch, hidden] one expert's output for its rows
    var logits: [Float]                         // [vocab] last position's logits
    private var allocations: [UnsafeMutablePointer<Float>] = []

    init(config c: ArchitectureConfig, capacity: Int, batch: Int) {
        self.batch = batch
        self.capacity = capacity
        var owned: [UnsafeMutablePointer<Float>] = []
        // `zeroed: false` leaves a buffer's pages untouched until the forward pass writes them
        // (it always writes before it reads): the scores and KV cache are sized for the whole
        // context but a short run only ever touches its first positions.
        func buffer(_ count: Int, zeroed: Bool = true) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            if zeroed { unsafe p.initialize(repeating: 0, count: max(count, 1)) }
            unsafe owned.append(p)
            return unsafe p
        }
        unsafe x = buffer(batch * c.hiddenSize)
        unsafe xb = buffer(batch * c.hiddenSize)
        unsafe xb2 = buffer(batch * c.hiddenSize)
        unsafe q = buffer(batch * c.qDim)
        unsafe k = buffer(batch * c.kvDim)
        unsafe v = buffer(batch * c.kvDim)
        unsafe attention = buffer(batch * c.qDim)
        unsafe scores = buffer(batch * c.heads * capacity, zeroed: false)
        let width = max(c.intermediateSize, c.moe?.intermediateSize ?? 0)
        unsafe hb = buffer(batch * width)
        unsafe hb2 = buffer(batch * width)
        let rows = (0..<c.layers).map { l in
            guard c.attentionKind(layer: l) == .sliding, let window = c.slidingWindow else { return capacity }
            return min(capacity, 2 * (window + batch))
        }
        cacheRows = rows
        cacheOffset = rows.indices.map { l in rows[..<l].reduce(0, +) * c.kvDim }
        cacheBase = Array(repeating: 0, count: c.layers)
        unsafe keyCache = buffer(rows.reduce(0, +) * c.kvDim, zeroed: false)
        unsafe valueCache = buffer(rows.reduce(0, +) * c.kvDim, zeroed: false)
        unsafe ropeRows = buffer(2 * batch * c.headDim)
        unsafe attentionDelta = buffer(c.parallelResidual ? batch * c.hiddenSize : 0)
        unsafe router = buffer(batch * (c.moe?.experts ?? 0))
        unsafe gathered = buffer(c.moe == nil ? 0 : batch * c.hiddenSize)
        unsafe expertOut = buffer(c.moe == nil ? 0 : batch * c.hiddenSize)
        logits = [Float](repeating: 0, count: c.vocabSize)
        unsafe allocations = owned
    }

    deinit {
        for p in unsafe allocations { unsafe p.deallocate() }
    }
}
