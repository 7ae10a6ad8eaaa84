import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// What `RuntimeOptions` and the config change in a forward pass: every switch keeps the
/// transformers fixtures' logits and greedy ids; the RoPE base and the norm kind are read from
/// the config.
@Suite("Runtime options and the config the forward pass reads")
struct RuntimeOptionsTests {
    /// Largest |a - b| over the largest |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max()! / b.map(abs).max()!
    }

    static let switched: [RuntimeOptions] = [
        RuntimeOptions(threads: 1, kernels: .portable),
        RuntimeOptions(threads: 2, threadPool: false, copyWeights: false),
        RuntimeOptions(threads: 2, kernels: .avx2, quantizedActivations: .float32),
    ]

    @Test("every switch reproduces transformers' logits and greedy ids", arguments: ["llama", "gpt2"], switched)
    func switches(family: String, options: RuntimeOptions) throws {
        let model = try ModelLoader.load(path: fixture("models/\(family)"))
        let transformer = Transformer(graph: model.graph, options: options, batch: 3)
        #expect(transformer.options == options && transformer.kernels == options.kernelConfig)
        try FidelityTests.expectReference(family, transformer, label: "\(family) \(options)")
    }

    @Test("without the weight copy, preparedGraph leaves every weight in its mapping")
    func noCopy() throws {
        let graph = try ModelLoader.load(path: fixture("models/llama")).graph
        let kept = Transformer.preparedGraph(graph, options: RuntimeOptions(copyWeights: false))
        let mapped = PreparedGraphTests.projections(kept).map { $0.storage.isMapped }
        let copied = PreparedGraphTests.projections(Transformer.preparedGraph(graph)).map { $0.storage.isMapped }
        #expect(!mapped.contains(false) && !copied.contains(true))
    }

    @Test("a RoPE row turns pair i by position · theta^(-2i/headDim), and the config's base changes the logits")
    func ropeBase() throws {
        for theta: Double in [10_000, 500_000] {
            let inverse = RoPEConfig(theta: theta, rotaryDim: 8).frequencies(sequenceLength: 7).inverse.map { Float($0) }
            for p in 0..<7 {
                var row = [Float](repeating: 0, count: 8)
                row.withUnsafeMutableBufferPointer { Ops.ropeRow(inverse: inverse, attentionFactor: 1, position: p, into: $0.baseAddress!) }
                for i in 0..<4 {
                    let angle = Double(p) * pow(theta, -Double(2 * i) / 8)
                    #expect(abs(Double(row[2 * i]) - cos(angle)) < 1e-5 && abs(Double(row[2 * i + 1]) - sin(angle)) < 1e-5)
                }
            }
        }
        var graph = try ModelLoader.load(path: fixture("models/llama")).graph
        let c = try #require(FidelityTests.reference("llama").first { $0.prompt.count > 2 })
        let base = try Transformer(graph: graph, threads: 1).forward(c.prompt)
        #expect(Self.relativeError(base, c.logits) <= 1e-4)
        graph.config.rope!.theta *= 50
        let moved = try Transformer(graph: graph, threads: 1).forward(c.prompt)
        #expect(Self.relativeError(moved, c.logits) > 1e-3, "a different RoPE base must change the logits")
    }

    @Test("the config's norm kind decides the norm; a LayerNorm without bias or an RMSNorm with one is refused")
    func normKind() throws {
        var llama = try ModelLoader.load(path: fixture("models/llama")).graph
        llama.config.norm = .layer
        llama.config.normBias = true
        #expect(throws: RuntimeError.self) { try Transformer(graph: llama, threads: 1).forward([1, 2]) }
        var gpt2 = try ModelLoader.load(path: fixture("models/gpt2")).graph
        let layerNorm = try Transformer(graph: gpt2, threads: 1).forward([1, 2])
        gpt2.config.norm = .rms
        #expect(throws: RuntimeError.self) { try Transformer(graph: gpt2, threads: 1).forward([1, 2]) }
        gpt2.config.norm = .layer
        gpt2.blocks[0].mlpNormBias = nil
        let error = try #require(throws: RuntimeError.self) { try Transformer(graph: gpt2, threads: 1).forward([1, 2]) }
        #expect(error.kind == .invalidModel && error.message.contains("layer 0's MLP norm"), "\(error)")
        #expect(throws: RuntimeError.self) { try Transformer(graph: gpt2, threads: 1).unembed(residual: [Float](repeating: 0, count: gpt2.config.hiddenSize)) }
        #expect(!layerNorm.contains { !$0.isFinite })
    }
}
