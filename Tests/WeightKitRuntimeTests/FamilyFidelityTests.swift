import Foundation
import Testing
import WeightKit
import WeightKitCore
import WeightKitTestSupport

/// The families of issue 18 as tiny random-weight models saved by transformers 5
/// (fixtures/models/generate_families.py): last-position logits within 1e-4 relative and 16
/// greedy ids equal to transformers' on three prompts, one longer than the sliding window —
/// from the Hugging Face folder, in chunks of 4 and in one chunk.
@Suite("Model families against transformers")
struct FamilyFidelityTests {
    static let families = [
        "llama3", "llama-linear", "llama-dynamic", "llama-yarn", "mistral", "qwen3", "qwen3-moe", "qwen3-moe-nonorm",
        "mixtral", "gemma", "gemma2", "gemma3", "phi3", "olmo2", "stablelm", "gpt-neox", "granite",
    ]

    @Test("Hugging Face folder: logits and greedy ids equal transformers'", arguments: families)
    func huggingFace(_ family: String) throws {
        let model = try ModelLoader.load(path: fixture("models/\(family)"), tokenizer: false)
        try FidelityTests.expectReference(family, Transformer(graph: model.graph, threads: 2, batch: 4), label: family)
        try FidelityTests.expectReference(family, Transformer(graph: model.graph, threads: 1), label: family + " (one chunk)")
    }

    @Test("weights that overflow to ±Inf stop the forward pass naming the layer and position, in prefill and decode")
    func nonFiniteGuard() throws {
        var graph = try ModelLoader.load(path: fixture("models/llama"), tokenizer: false).graph
        let o = graph.blocks[1].output
        let huge = (0..<o.info.elementCount).map { $0 % 2 == 0 ? Float(3e38) : -3e38 }
        graph.blocks[1].output = Weight(info: o.info, storage: TensorStorage(buffer: AlignedBuffer(huge.withUnsafeBytes { Array($0) })))
        let transformer = Transformer(graph: graph, threads: 1)
        let error = try #require(throws: RuntimeError.self) { try transformer.forward([1, 17, 42]) }
        #expect(error.kind == .nonFinite && error.message.contains("layer 1's output") && error.message.contains("position 0"), "\(error)")
        // The healthy layers before it ran; nothing was cached for the failed call.
        #expect(transformer.position == 0)
    }

    @Test("a sliding layer keeps a window-sized cache, shifting it down, with the logits of a full-size one", arguments: ["mistral", "gemma3"])
    func slidingCache(_ family: String) throws {
        let graph = try ModelLoader.load(path: fixture("models/\(family)"), tokenizer: false).graph
        let tokens = (0..<40).map { ($0 * 37 + 11) % graph.config.vocabSize }
        let stepper = Transformer(graph: graph, threads: 1, batch: 1)
        let window = try #require(graph.config.slidingWindow)
        for (l, kind) in graph.config.layerAttention.enumerated() {
            #expect(stepper.cacheRows[l] == (kind == .sliding ? 2 * (window + 1) : stepper.capacity))
        }
        var last: [Float] = []
        for token in tokens { last = try stepper.forward([token]) }
        let chunked = Transformer(graph: graph, threads: 2, batch: 3)
        var chunkLast: [Float] = []
        for start in stride(from: 0, to: tokens.count, by: 7) { chunkLast = try chunked.forward(Array(tokens[start..<min(tokens.count, start + 7)])) }
        let whole = try Transformer(graph: graph, threads: 2, batch: 64).forward(tokens)
        #expect(Transformer(graph: graph, threads: 1, batch: 64).cacheRows.allSatisfy { $0 == 64 }, "one chunk of 64: no shifting")
        for other in [last, chunkLast] {
            #expect(zip(whole, other).map { abs($0 - $1) }.max()! <= 1e-4 * whole.map(abs).max()!)
        }
    }
}
