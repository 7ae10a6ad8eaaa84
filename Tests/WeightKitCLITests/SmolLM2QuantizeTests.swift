import Foundation
import Testing
import WeightKitTestSupport

/// SmolLM2-135M-Instruct (the Q4_1 GGUF named by WEIGHTKIT_SMOLLM2_GGUF, converted to an f32
/// folder first): quantized to Q8_0 it still answers " Paris.", and the GGUF we write holds the
/// types and bytes gguf.quants.quantize gives for the same f32 weights.
@Suite("Real model: SmolLM2 quantized", .serialized, .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2QuantizeTests {
    let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] ?? ""

    @Test("folder → q8_0 GGUF: gguf.quants' bytes for every tensor, and greedy generation still says Paris")
    func q8() throws {
        let tmp = TemporaryFolder()
        let folder = tmp.file("f32") + "/", f32 = tmp.file("f32.gguf"), q8 = tmp.file("q8_0.gguf")
        #expect(try weightkit("convert", gguf, folder).status == 0)
        #expect(try weightkit("convert", folder, f32).status == 0)
        let result = try weightkit("quantize", folder, q8, "--type", "q8_0", "--threads", "2")
        #expect(result.status == 0, "\(result.stderr)")
        let checked = try python(QuantizeCLITests.compare, [q8, f32, "q8_0"])
        #expect(checked.trimmingCharacters(in: .whitespacesAndNewlines) == "211")
        let answer = try weightkit("generate", q8, "--prompt", "The capital of France is", "-n", "2", "--temperature", "0")
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(answer.stdout.hasPrefix(" Paris."))
    }
}
