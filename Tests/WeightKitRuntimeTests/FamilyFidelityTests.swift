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
        "mixtral", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "phi3", "olmo2", "stablelm", "gpt-neox", "granite",
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

/// transformers 5 keeps a layer's experts fused — `mlp.experts.gate_up_proj` [experts, 2·width,
/// hidden] and `mlp.experts.down_proj` [experts, hidden, width] — and checkpoints saved that way
/// exist. The per-expert fixture restacked into that layout must bind (as row slices, no copy)
/// and give the same ids.
@Suite("Fused experts")
struct FusedExpertsTests {
    /// `base` with each layer's per-expert matrices stacked into the fused pair.
    final class Fused: TensorSource, @unchecked Sendable {  // filled in init, read-only after
        let base: any TensorSource
        var tensors: [TensorInfo] = []
        var buffers: [String: AlignedBuffer] = [:]
        var formatName: String { base.formatName }
        var files: [String] { base.files }
        var metadata: Metadata { base.metadata }

        init(_ base: any TensorSource, layers: Int, experts: Int) throws {
            self.base = base
            let perExpert = base.tensors.filter { $0.name.contains(".mlp.experts.") }
            tensors = base.tensors.filter { !$0.name.contains(".mlp.experts.") }
            for l in 0..<layers {
                let p = "model.layers.\(l).mlp.experts."
                func stack(_ name: String, _ parts: [String]) throws {
                    var bytes: [UInt8] = []
                    var rows = 0, columns = 0
                    for e in 0..<experts {
                        for part in parts {
                            let info = try #require(perExpert.first { $0.name == p + "\(e).\(part).weight" })
                            bytes += try base.storage(of: info).withUnsafeBytes { Array($0) }
                            rows += info.shape.dims[0]
                            columns = info.shape.dims[1]
                        }
                    }
                    let info = TensorInfo(name: p + name, dtype: .float32, shape: Shape([experts, rows / experts, columns]), byteCount: bytes.count)
                    tensors.append(info)
                    buffers[info.name] = AlignedBuffer(bytes)
                }
                try stack("gate_up_proj", ["gate_proj", "up_proj"])
                try stack("down_proj", ["down_proj"])
            }
        }

        func storage(of tensor: TensorInfo) throws -> TensorStorage {
            if let buffer = buffers[tensor.name] { return TensorStorage(buffer: buffer) }
            return try base.storage(of: tensor)
        }
    }

    @Test("qwen3-moe restacked as fused experts gives transformers' ids")
    func fused() throws {
        let model = try ModelLoader.load(path: fixture("models/qwen3-moe"), tokenizer: false)
        let c = model.graph.config
        let source = try Fused(model.source, layers: c.layers, experts: c.moe!.experts)
        #expect(source.tensors.contains { $0.name == "model.layers.0.mlp.experts.gate_up_proj" })
        let graph = try ModelGraph.bind(source, config: c)
        #expect(graph.blocks[0].experts?.experts[1].up.info.name == "model.layers.0.mlp.experts.gate_up_proj[1].up")
        try FidelityTests.expectReference("qwen3-moe", Transformer(graph: graph, threads: 2, batch: 4), label: "fused qwen3-moe")
    }
}
