// Runs a model over a long prompt, then decodes, and reports the KV cache it allocated, the peak
// resident memory and the speeds. `global` makes every layer full attention (the same weights):
// what the run would cost if the cache ignored the window. One mode per process, so the peak
// memory is that mode's. Past the window the global run's text is not the model's; only its cost is.
#if canImport(Glibc)
import Glibc
#endif
import WeightKit

let arguments = CommandLine.arguments
guard arguments.count == 6, let prompt = Int(arguments[3]), let generate = Int(arguments[4]), let threads = Int(arguments[5]),
    ["window", "global"].contains(arguments[2])
else {
    print("usage: SlidingWindow MODEL window|global PROMPT_TOKENS DECODE_TOKENS THREADS")
    exit(64)
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

do {
    let model = try ModelLoader.load(path: arguments[1], tokenizer: false)
    var graph = model.graph
    if arguments[2] == "global" {
        graph.config.layerAttention = Array(repeating: .full, count: graph.config.layers)
    }
    let c = graph.config
    let transformer = Transformer(graph: graph, maxSequence: prompt + generate + 1, options: RuntimeOptions(threads: threads))
    let cacheBytes = transformer.cacheRows.reduce(0, +) * c.kvDim * 4 * 2
    let ids = (0..<prompt).map { (($0 &* 7919) &+ 13) % c.vocabSize }
    let t0 = now()
    var logits = try transformer.forward(ids)
    let t1 = now()
    for _ in 0..<generate {
        let next = logits.indices.max { logits[$0] < logits[$1] }!
        logits = try transformer.forward([next])
    }
    let t2 = now()
    var usage = rusage()
    getrusage(RUSAGE_SELF, &usage)
    let sliding = (0..<c.layers).filter { c.attentionKind(layer: $0) == .sliding }.count
    print(
        "\(arguments[2]): \(sliding) of \(c.layers) layers sliding (window \(c.slidingWindow ?? 0)); KV cache \(cacheBytes / 1_048_576) MiB; "
            + "peak RSS \(usage.ru_maxrss / 1024) MiB; prefill \(prompt) tokens \(String(format: "%.1f", Double(prompt) / (t1 - t0))) tok/s; "
            + "decode \(generate) tokens after them \(String(format: "%.2f", Double(generate) / (t2 - t1))) tok/s")
} catch {
    print("error: \(error)")
    exit(1)
}
