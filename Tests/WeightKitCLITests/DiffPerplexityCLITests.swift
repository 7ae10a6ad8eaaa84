import Foundation
import Testing
import WeightKitTestSupport

/// `weightkit diff` and `weightkit perplexity` on the tiny fixtures (the real-model numbers are
/// in docs/BENCHMARKS.md).
@Suite("weightkit diff and perplexity")
struct DiffPerplexityCLITests {
    static let folder = fixture("tiny-llama")

    @Test("diff matches GGUF names to HF names, undoes the Q/K permutation and measures the quantization error")
    func diffAcrossNamings() throws {
        let tmp = TemporaryFolder()
        let f32 = tmp.file("f32.gguf"), q8 = tmp.file("q8.gguf")
        #expect(try weightkit("convert", Self.folder, f32).status == 0)
        #expect(try weightkit("quantize", Self.folder, q8, "--type", "q8_0").status == 0)
        // The f32 GGUF is the folder renamed and permuted: after matching, every tensor is identical.
        let same = try weightkit("diff", Self.folder, f32, "--json")
        #expect(same.status == 0, "\(same.stderr)")
        let sameJSON = try JSONSerialization.jsonObject(with: Data(same.stdout.utf8)) as! [String: Any]
        let sameRows = sameJSON["tensors"] as! [[String: Any]]
        #expect(sameRows.count == 38)
        #expect(sameRows.allSatisfy { ($0["maxAbsDiff"] as? Double) == 0 && ($0["cosine"] as? Double) == 1 })
        #expect((sameJSON["onlyInA"] as! [Any]).isEmpty && (sameJSON["onlyInB"] as! [Any]).isEmpty)
        // Q8_0: small but non-zero error on every quantized matrix, q_proj included (a wrong
        // permutation would give a cosine near 0).
        let q = try weightkit("diff", Self.folder, q8, "--json")
        let rows = (try JSONSerialization.jsonObject(with: Data(q.stdout.utf8)) as! [String: Any])["tensors"] as! [[String: Any]]
        let qproj = try #require(rows.first { $0["name"] as? String == "model.layers.0.self_attn.q_proj.weight" })
        let cosine = try #require(qproj["cosine"] as? Double), maxDiff = try #require(qproj["maxAbsDiff"] as? Double)
        #expect(cosine > 0.9999 && cosine < 1)
        #expect(maxDiff > 0 && maxDiff < 0.01)
    }

    @Test("diff lists tensors present in only one input")
    func missingTensors() throws {
        let tmp = TemporaryFolder()
        let one = tmp.file("one.safetensors")
        #expect(try weightkit("convert", Self.folder, one, "--tensor", "model.norm.weight").status == 0)
        let result = try weightkit("diff", Self.folder, one, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        #expect((json["onlyInA"] as! [String]).count == 37)
        #expect((json["onlyInA"] as! [String]).contains("model.layers.0.self_attn.q_proj.weight"))
        #expect((json["onlyInB"] as! [String]).isEmpty)
        #expect((json["tensors"] as! [Any]).count == 1)
    }

    @Test("perplexity scores every token once with overlapping windows, and one fewer per window without overlap")
    func perplexityWindows() throws {
        let tmp = TemporaryFolder()
        let text = tmp.file("t.txt")
        let bytes = try readBytes(fixture("text/jargon-file-4.4.7-excerpt.txt"))
        try writeBytes(Array(bytes.prefix(600)), to: text)
        func run(_ extra: [String]) throws -> [String: Any] {
            let r = try weightkit(["perplexity", fixture("gguf/tiny_llama.gguf"), "--text", text, "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        }
        let sliding = try run(["--context", "64"])
        let tokens = try #require(sliding["tokens"] as? Int)
        #expect(sliding["scoredTokens"] as? Int == tokens - 1)
        let disjoint = try run(["--context", "64", "--stride", "64"])
        #expect(disjoint["scoredTokens"] as? Int == tokens - (tokens + 63) / 64)
        let ppl = try #require(sliding["perplexity"] as? Double)
        #expect(ppl > 1 && ppl < 256)
        let limited = try run(["--context", "64", "--limit", "40"])
        #expect(limited["scoredTokens"] as? Int == 39)
    }
}
