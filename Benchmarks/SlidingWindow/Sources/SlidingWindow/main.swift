// Runs a model over a long prompt, then decodes, and reports the KV cache it allocated, the peak
// resident memory and the speeds, with `weightkit bench`'s set-up (weights copied, one warm-up). `global` makes every layer full attention (the same weights):
// what the run would cost if the cache ignored the window. One mode per process, so the peak
// memory is that mode's. Past the window the global run's text is not the model's; only its cost is.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
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

/// The run, in a function: top-level variables of main.swift are globals, and every access to one
/// is checked for exclusivity, which in a loop over the vocabulary costs more than the model.
func run(model path: String, mode: String, prompt: Int, generate: Int, threads: Int) throws {
    let model = try ModelLoader.load(path: path, tokenizer: false)
    var graph = model.graph
    if mode == "global" {
        graph.config.layerAttention = Array(repeating: .full, count: graph.config.layers)
    }
    let c = graph.config
    // As `weightkit bench`: the weights copied for decode, one unmeasured warm-up pass.
    let options = RuntimeOptions(threads: threads)
    let transformer = Transformer(
        graph: Transformer.preparedGraph(graph, options: options), maxSequence: prompt + generate + 1, options: options)
    let cacheBytes = transformer.cacheRows.reduce(0, +) * c.kvDim * 4 * 2
    let ids = (0..<prompt).map { (($0 &* 7919) &+ 13) % c.vocabSize }
    _ = try transformer.forward(Array(ids.prefix(128)))
    transformer.reset()
    let t0 = now()
    var logits = try transformer.forward(ids)
    let t1 = now()
    for _ in 0..<generate { logits = try transformer.forward([Sampler.argmax(logits)]) }
    let t2 = now()
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let sliding = (0..<c.layers).filter { c.attentionKind(layer: $0) == .sliding }.count
    let prefill = String(format: "%.1f", Double(prompt) / (t1 - t0))
    let decode = String(format: "%.2f", Double(generate) / (t2 - t1))
    let layers = "\(sliding) of \(c.layers) layers sliding (window \(c.slidingWindow ?? 0))"
    let memory = "KV cache \(cacheBytes / 1_048_576) MiB; peak RSS \(usage.ru_maxrss / 1024) MiB"
    print("\(mode): \(layers); \(memory); prefill \(prompt) tokens \(prefill) tok/s; decode \(generate) tokens after them \(decode) tok/s")
}

do {
    try run(model: arguments[1], mode: arguments[2], prompt: prompt, generate: generate, threads: threads)
} catch {
    print("error: \(error)")
    exit(1)
}
