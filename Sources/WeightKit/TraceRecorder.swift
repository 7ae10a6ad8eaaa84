import WeightKitRuntime

/// The `ForwardObserver` behind `Tracer`: keeps what a trace needs from each stage — every
/// position's embedded vector, the attention rows of the selected layers, and per layer the last
/// position's attention and MLP contributions, residual stream and MLP activations.
final class TraceRecorder: ForwardObserver {
    let selected: Set<Int>
    var embedded: [[Float]] = []                 // [positions][hidden]
    var attention: [Int: [[[Float]]]] = [:]      // layer → [heads][positions][position + 1]
    var attentionAdded: [[Float]]                // [layers][hidden], last position seen
    var mlpAdded: [[Float]]                      // [layers][hidden]
    var residual: [[Float]]                      // [layers][hidden]
    var hidden: [[Float]]                        // [layers][intermediate]
    var logits: [Float] = []                     // [vocab]
    let d: Int, f: Int, heads: Int

    init(layers: Int, heads: Int, hidden d: Int, intermediate f: Int, selected: Set<Int>) {
        self.selected = selected
        self.d = d
        self.f = f
        self.heads = heads
        attentionAdded = Array(repeating: [], count: layers)
        mlpAdded = attentionAdded
        residual = attentionAdded
        hidden = attentionAdded
        for l in selected { attention[l] = Array(repeating: [], count: heads) }
    }

    /// The last row of a flattened [n, width] chunk.
    func lastRow(_ values: [Float], width: Int) -> [Float] { Array(values[(values.count - width)...]) }

    func embedded(tokens: [Int], position: Int, residual: [Float]) {
        for t in 0..<tokens.count { embedded.append(Array(residual[t * d ..< (t + 1) * d])) }
    }

    func attention(layer: Int, head: Int, position: Int, weights: [Float]) {
        guard selected.contains(layer) else { return }
        attention[layer]![head].append(weights)  // positions arrive in order within each head
    }

    func attentionAdded(layer: Int, position: Int, delta: [Float]) { attentionAdded[layer] = lastRow(delta, width: d) }

    func mlpActivations(layer: Int, position: Int, hidden: [Float]) { self.hidden[layer] = lastRow(hidden, width: f) }

    func mlpAdded(layer: Int, position: Int, delta: [Float], residual: [Float]) {
        mlpAdded[layer] = lastRow(delta, width: d)
        self.residual[layer] = lastRow(residual, width: d)
    }

    func unembedded(position: Int, normed: [Float], logits: [Float]) { self.logits = logits }
}
