import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// The real SmolLM2-135M-Instruct, against the ids transformers produced from the same GGUF
/// weights (fixtures/smollm2/reference.json). WEIGHTKIT_SMOLLM2_HF names an f32 Hugging Face folder
/// of it (scripts/test.sh makes one with `weightkit convert` from the GGUF).
@Suite("Real model: SmolLM2-135M-Instruct", .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_HF"] != nil))
struct SmolLM2Tests {
    nonisolated(unsafe) static let reference: [String: Any] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("smollm2/reference.json")))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    @Test("greedy continuation of \"The capital of France is\" equals transformers' 24 ids (\" Paris.\")")
    func capital() throws {
        let model = try ModelLoader.load(path: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_HF"]!)
        let transformer = Transformer(graph: model.graph, maxSequence: 64)
        var sampler = Sampler()
        let prompt = Self.reference["prompt_ids"] as! [Int]
        let want = Self.reference["greedy_ids"] as! [Int]
        let (ids, _) = try Generator(transformer: transformer).generate(
            prompt: prompt, maxTokens: want.count, sampler: &sampler, clock: { 0 }, onToken: { _ in true })
        #expect(ids == want)
    }
}
