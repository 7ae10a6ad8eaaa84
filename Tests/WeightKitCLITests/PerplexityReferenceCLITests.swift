import Foundation
import Testing
import WeightKitTestSupport

/// `weightkit perplexity MODEL --reference BASE` end to end (the numbers against numpy are in
/// WeightKitRuntimeTests' PerplexityReferenceTests).
@Suite("weightkit perplexity --reference")
struct PerplexityReferenceCLITests {
    static let llama = "fixtures/models/llama"

    static func text(_ dir: TemporaryFolder) throws -> String {
        let path = dir.file("t.txt")
        try writeBytes(Array(try readBytes(fixture("text/jargon-file-4.4.7-excerpt.txt")).prefix(600)), to: path)
        return path
    }

    @Test("Q8_0 against its f32 folder: a small positive mean KL, most top tokens shared; against itself 0 and 100 %")
    func quantized() throws {
        let dir = TemporaryFolder()
        let text = try Self.text(dir), q8 = dir.file("q8.gguf")
        #expect(try weightkit("quantize", Self.llama, q8, "--type", "q8_0", "-q").status == 0)
        func run(_ model: String) throws -> [String: Any] {
            let r = try weightkit("perplexity", model, "--text", text, "--context", "64", "--reference", Self.llama, "--json", "-q")
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let q = try #require(try run(q8)["reference"] as? [String: Any])
        let kl = try #require(q["meanKL"] as? Double), same = try #require(q["sameTopFraction"] as? Double)
        #expect(kl > 0 && kl < 0.01 && same > 0.9, "\(q)")
        let selfRun = try run(Self.llama)
        let s = try #require(selfRun["reference"] as? [String: Any])
        #expect(s["meanKL"] as? Double == 0 && s["maxKL"] as? Double == 0 && s["sameTopFraction"] as? Double == 1)
        #expect(s["perplexity"] as? Double == selfRun["perplexity"] as? Double)
        let plain = try weightkit("perplexity", q8, "--text", text, "--context", "64", "--reference", Self.llama)
        #expect(plain.stdout.contains("mean KL ") && plain.stdout.contains("same top token "), "\(plain.stdout)")
    }

    @Test("a reference with another vocabulary is refused naming both sizes; a reference that overflows is named in the error")
    func refusals() throws {
        let dir = TemporaryFolder()
        let text = try Self.text(dir)
        let other = try weightkit("perplexity", Self.llama, "--text", text, "--reference", "fixtures/gguf/tiny_llama.gguf")
        #expect(other.status != 0 && other.stderr.contains("vocabulary of 256 tokens") && other.stderr.contains("one of 32"), "\(other.stderr)")
        let overflow = try NonFiniteCLITests.overflowingModel(dir)
        let bad = try weightkit("perplexity", Self.llama, "--text", text, "--reference", overflow)
        #expect(bad.status == 65, "\(bad.stderr)")
        #expect(bad.stderr.contains(overflow + ": layer 1's output is not finite") && bad.stderr.contains("position"), "\(bad.stderr)")
    }
}
