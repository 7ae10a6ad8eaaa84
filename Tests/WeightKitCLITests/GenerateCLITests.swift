import Foundation
import Testing
import WeightKitTestSupport

/// `weightkit generate` on the tiny llama fixture (byte-level tokenizer, weights from transformers).
@Suite("weightkit generate")
struct GenerateCLITests {
    static let model = "fixtures/models/llama"

    static func textCase() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("models/llama/reference.json")))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return root["text_case"] as! [String: Any]
    }

    @Test("greedy text generation gives transformers' ids; timings go to stderr")
    func greedy() throws {
        let reference = try Self.textCase()
        let result = try weightkit("generate", Self.model, "--prompt", reference["text"] as! String, "-n", "20", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["promptIds"] as? [Int] == reference["prompt"] as? [Int])
        #expect(root["ids"] as? [Int] == reference["greedy"] as? [Int])
        #expect(result.stderr.contains("tok/s"))
    }

    @Test("the runtime switches keep transformers' greedy ids", arguments: [
        ["--kernels", "portable", "--threads", "1"],
        ["--kernels", "auto", "--f32-activations", "--no-weight-copy", "--no-thread-pool", "--threads", "2"],
    ])
    func switches(flags: [String]) throws {
        let reference = try Self.textCase()
        let result = try weightkit(["generate", Self.model, "--prompt", reference["text"] as! String, "-n", "20", "--json"] + flags)
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["ids"] as? [Int] == reference["greedy"] as? [Int])
    }

    @Test("streamed output is the decoded continuation")
    func streaming() throws {
        let reference = try Self.textCase()
        let result = try weightkit("generate", Self.model, "--prompt", reference["text"] as! String, "-n", "20")
        #expect(result.status == 0)
        #expect(result.stdout == (reference["greedy_text"] as! String) + "\n")
    }

    @Test("the same seed gives the same sampled text; another seed differs")
    func seeded() throws {
        let args = ["generate", Self.model, "--prompt", "abc", "-n", "24", "--temperature", "1.0", "--json"]
        func ids(_ seed: String) throws -> [Int] {
            let r = try weightkit(args + ["--seed", seed])
            let root = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            return root["ids"] as! [Int]
        }
        #expect(try ids("7") == ids("7"))
        #expect(try ids("7") != ids("8"))
    }

    @Test("bad requests fail clearly", arguments: [
        (["--prompt", "x", "-n", "0"], Int32(64)),
        (["--prompt", "x", "--chat"], Int32(64)),
        (["--prompt", String(repeating: "long ", count: 20), "-n", "60"], Int32(64)),
        (["--prompt", "x", "--kernels", "sse"], Int32(64)),
        (["--prompt", "x", "--threads", "-1"], Int32(64)),
    ])
    func failures(arguments: [String], status: Int32) throws {
        let result = try weightkit(["generate", Self.model] + arguments)
        #expect(result.status == status, "\(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }
}

/// A `.wkp` pack made from a model folder carries config and tokenizer, so it runs on its own.
@Suite("weightkit generate from a pack")
struct PackGenerateTests {
    @Test("HF folder → .wkp → generate gives transformers' greedy ids; tokenize reads the pack's tokenizer")
    func packRuns() throws {
        let dir = TemporaryFolder()
        let pack = dir.file("llama.wkp")
        #expect(try weightkit("convert", GenerateCLITests.model, pack).status == 0)
        let reference = try GenerateCLITests.textCase()
        let result = try weightkit("generate", pack, "--prompt", reference["text"] as! String, "-n", "20", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["ids"] as? [Int] == reference["greedy"] as? [Int])
        let tokens = try weightkit("tokenize", pack, reference["text"] as! String, "--json")
        #expect(tokens.status == 0, "\(tokens.stderr)")
        let encoded = try #require(try JSONSerialization.jsonObject(with: Data(tokens.stdout.utf8)) as? [String: Any])
        #expect(encoded["ids"] as? [Int] == reference["prompt"] as? [Int])
    }

    @Test("npz → wkp → npz is bit-identical (names and data)")
    func npzRoundTrip() throws {
        let dir = TemporaryFolder()
        let npz = dir.file("a.npz"), pack = dir.file("a.wkp"), back = dir.file("b.npz")
        #expect(try weightkit("convert", "fixtures/tiny-llama/model.safetensors", npz).status == 0)
        #expect(try weightkit("convert", npz, pack).status == 0)
        #expect(try weightkit("convert", pack, back).status == 0)
        let same = try python("""
            import sys, numpy as np
            a = np.load(sys.argv[1]); b = np.load(sys.argv[2])
            print(sorted(a.files) == sorted(b.files) and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a.files), len(a.files))
            """, [npz, back])
        #expect(same.trimmingCharacters(in: .whitespacesAndNewlines) == "True 38")
    }
}
