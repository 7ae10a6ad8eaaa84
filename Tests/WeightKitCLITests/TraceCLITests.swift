import Foundation
import Testing
import WeightKitTestSupport

/// `weightkit trace` end to end: text, JSON and HTML on the tiny llama fixture, and the real
/// SmolLM2 answering "The capital of France is" with " Paris".
@Suite("weightkit trace")
struct TraceCLITests {
    static let model = "fixtures/models/llama"
    static let smolLM2 = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"]

    @Test("text output has the four stages")
    func text() throws {
        let result = try weightkit("trace", Self.model, "--prompt", "hello", "--top", "3")
        #expect(result.status == 0, "\(result.stderr)")
        for heading in ["1. Tokens and embeddings", "2. Attention", "3. Residual stream", "4. Next token", "logit lens"] {
            #expect(result.stdout.contains(heading))
        }
        #expect(result.stdout.contains("\"h\""))
    }

    @Test("--json parses and holds every stage; --html writes a self-contained page")
    func jsonAndHTML() throws {
        let dir = TemporaryFolder()
        let page = dir.file("trace.html")
        let result = try weightkit("trace", Self.model, "--prompt", "hi <b>", "--layers", "1", "--top", "2", "--json", "--html", page)
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let tokens = try #require(root["tokens"] as? [[String: Any]])
        #expect(tokens.count == 6)
        let layers = try #require(root["layerTrace"] as? [[String: Any]])
        #expect(layers.count == 2)
        #expect((layers[0]["heads"] as? [Any])?.isEmpty == true)
        let heads = try #require(layers[1]["heads"] as? [[String: Any]])
        #expect(heads.count == 8)
        let weights = try #require(heads[0]["weights"] as? [[Double]])
        #expect(weights.map(\.count) == [1, 2, 3, 4, 5, 6])
        #expect((root["next"] as? [Any])?.count == 2)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        for id in ["s-tokens", "s-attention", "s-residual", "s-unembedding", "trace-data"] { #expect(html.contains("id=\"\(id)\"")) }
        #expect(!html.contains("<b>"), "model text is escaped")
    }

    @Test("a bad --layers list is a usage error")
    func badLayers() throws {
        let result = try weightkit("trace", Self.model, "--prompt", "hi", "--layers", "7")
        #expect(result.status == 64)
        #expect(result.stderr.contains("--layers"))
    }

    @Test("SmolLM2: \" Paris\" is the top next token of \"The capital of France is\", and the lens shows where it emerges",
          .enabled(if: smolLM2 != nil))
    func paris() throws {
        let result = try weightkit("trace", Self.smolLM2!, "--prompt", "The capital of France is", "--layers", "last", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let next = try #require(root["next"] as? [[String: Any]])
        #expect(next.first?["piece"] as? String == " Paris")
        let probability = try #require(next.first?["score"] as? Double)
        let layers = try #require(root["layerTrace"] as? [[String: Any]])
        #expect(layers.count == 30)
        let lastLens = try #require((layers.last?["lens"] as? [[String: Any]])?.first)
        #expect(lastLens["piece"] as? String == " Paris")
        #expect(abs((lastLens["score"] as? Double ?? 0) - probability) < 1e-5)
        let emergence = try #require(root["emergenceLayer"] as? Int)
        #expect(emergence > 0 && emergence < 30, "\" Paris\" should appear in the middle-to-late layers, not at the embedding")
        print("SmolLM2: \" Paris\" p=\(probability), lens top-1 from layer \(emergence), first at layer \(root["firstTopLayer"] ?? "-")")
    }
}
