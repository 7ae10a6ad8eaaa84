import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// Tiny random-weight models saved by transformers (fixtures/models/generate.py), run by our
/// runtime: last-position logits and 20 greedy tokens must match what transformers computed.
@Suite("Fidelity against Hugging Face transformers")
struct FidelityTests {
    struct Case {
        var prompt: [Int]
        var greedy: [Int]
        var logits: [Float]
    }

    static func reference(_ family: String) throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("models/\(family)/reference.json")))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(prompt: c["prompt"] as! [Int], greedy: c["greedy"] as! [Int],
                 logits: (c["last_logits"] as! [NSNumber]).map(\.floatValue))
        }
    }

    @Test("logits and greedy ids equal transformers'", arguments: ["gpt2", "llama", "qwen2"])
    func family(_ family: String) throws {
        let model = try ModelLoader.load(path: fixture("models/\(family)"))
        try Self.expectReference(family, Transformer(graph: model.graph, threads: 2, batch: 4), label: family)
    }

    /// Runs every reference case of `family` through `transformer`: last logits within 1e-4 of the
    /// largest, and the greedy ids equal.
    static func expectReference(_ family: String, _ transformer: Transformer, label: String) throws {
        for c in try Self.reference(family) {
            transformer.reset()
            let logits = try transformer.forward(c.prompt)
            let worst = zip(logits, c.logits).map { abs($0 - $1) }.max()!
            let scale = c.logits.map(abs).max()!
            #expect(worst / scale <= 1e-4, "\(label) prompt \(c.prompt): max |Δ| \(worst) vs max |logit| \(scale)")
            var sampler = Sampler()
            let (ids, _) = try Generator(transformer: transformer).generate(
                prompt: c.prompt, maxTokens: c.greedy.count, sampler: &sampler, clock: { 0 }, onToken: { _ in true })
            #expect(ids == c.greedy, "\(label) prompt \(c.prompt)")
        }
    }

    @Test("prefill in chunks equals token-by-token decoding")
    func chunking() throws {
        let model = try ModelLoader.load(path: fixture("models/llama"))
        let prompt = [3, 14, 15, 92, 65, 35, 89, 79, 32, 38]
        let whole = try Transformer(graph: model.graph, threads: 1, batch: 32).forward(prompt)
        let stepper = Transformer(graph: model.graph, threads: 2, batch: 3)
        var last: [Float] = []
        for token in prompt { last = try stepper.forward([token]) }
        #expect(zip(whole, last).map { abs($0 - $1) }.max()! < 1e-4)
    }

    @Test("contexts, token ids and missing tensors are checked")
    func errors() throws {
        let model = try ModelLoader.load(path: fixture("models/gpt2"))
        let transformer = Transformer(graph: model.graph, maxSequence: 8)
        let overflow = #expect(throws: RuntimeError.self) { _ = try transformer.forward(Array(repeating: 1, count: 9)) }
        #expect(overflow?.kind == .contextOverflow)
        let bad = #expect(throws: RuntimeError.self) { _ = try transformer.forward([256]) }
        #expect(bad?.kind == .invalidToken)
        var sampler = Sampler()
        let tooLong = #expect(throws: RuntimeError.self) {
            _ = try Generator(transformer: transformer).generate(prompt: [1, 2, 3], maxTokens: 10, sampler: &sampler, clock: { 0 }, onToken: { _ in true })
        }
        #expect(tooLong?.kind == .contextOverflow)

        // A tensor set missing one weight names it, with the expected shape.
        let source = try SafetensorsFile(path: fixture("models/llama/model.safetensors"))
        let config = try ArchitectureConfig(huggingFace: HuggingFaceFolder.readJSONObject(fixture("models/llama/config.json")))
        var wrong = config
        wrong.intermediateSize = 100
        let mismatch = #expect(throws: GraphError.self) { _ = try ModelGraph.bind(source, config: wrong) }
        #expect(mismatch?.kind == .shapeMismatch)
        #expect(mismatch?.tensorName == "model.layers.0.mlp.gate_proj.weight")
        #expect(mismatch?.message == "expected shape [100, 64], found [96, 64]")
        var deeper = config
        deeper.layers = 3
        let missing = #expect(throws: GraphError.self) { _ = try ModelGraph.bind(source, config: deeper) }
        #expect(missing?.kind == .missingTensor)
        #expect(missing?.tensorName == "model.layers.2.self_attn.q_proj.weight")
        let extra = #expect(throws: GraphError.self) { _ = try ModelGraph.bind(WithExtraTensor(source), config: config) }
        #expect(extra?.kind == .unexpectedTensor)
        #expect(extra?.tensorName == "model.layers.0.surprise.weight")
    }
}

/// A tensor source with one tensor the architecture does not know.
final class WithExtraTensor: TensorSource {
    let base: any TensorSource
    init(_ base: any TensorSource) { self.base = base }
    var formatName: String { base.formatName }
    var files: [String] { base.files }
    var metadata: Metadata { base.metadata }
    var tensors: [TensorInfo] {
        base.tensors + [TensorInfo(name: "model.layers.0.surprise.weight", dtype: .float32, shape: [1], byteCount: 4)]
    }
    func storage(of tensor: TensorInfo) throws -> TensorStorage { try base.storage(of: tensor) }
}
