import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// The tiny random BERT of fixtures/models/generate_bert.py against transformers' hidden states
/// and sentence-transformers' embeddings, from its folder, from the GGUF llama.cpp's converter
/// wrote of it, and through WeightKit's own conversions.
@Suite("Encoders: tiny BERT against transformers, sentence-transformers and llama.cpp's GGUF")
struct EncoderTests {
    struct Reference: Decodable {
        var texts: [String]
        var token_ids: [[Int]]
        var hidden: [[Float]]
        var embeddings: [[Float]]
    }

    static let folder = fixture("models/bert")
    static let llamaCpp = fixture("models/bert/llamacpp.gguf")
    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("models/bert/reference.json"))))
    }
    /// The folder's sentence-transformers settings; llama.cpp's GGUF cannot carry the length.
    static let settings = EmbeddingSettings(pooling: .mean, normalize: true, maxSequenceLength: 24)
    static let runtime = RuntimeOptions(threads: 1)

    static func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).map { x, y in x.count == y.count ? zip(x, y).map { abs($0 - $1) }.max() ?? 0 : .infinity }.max() ?? 0
    }

    @Test("hidden states equal transformers' last_hidden_state, run alone and packed together", arguments: [1, 2])
    func hiddenStates(threads: Int) throws {
        let r = try Self.reference()
        let model = try ModelLoader.load(path: Self.folder, tokenizer: false)
        #expect(!model.graph.config.causal && model.graph.config.residualNorm && model.graph.unembedding == nil)
        let transformer = Transformer(graph: model.graph, threads: threads, batch: 64)
        let together = try transformer.encode(r.token_ids)
        #expect(Self.maxDifference(together, r.hidden) <= 1e-5, "max |Δ| \(Self.maxDifference(together, r.hidden))")
        let alone = try r.token_ids.map { try transformer.encode([$0])[0] }
        #expect(Self.maxDifference(alone, r.hidden) <= 1e-5)
        // A chunk smaller than the texts together: they split over several chunks.
        let small = try Transformer(graph: model.graph, threads: threads, batch: 30).encode(r.token_ids)
        #expect(Self.maxDifference(small, r.hidden) <= 1e-5)
    }

    @Test("the encoder refuses what it cannot do: next-token logits, empty and over-long sequences, bad ids")
    func refusals() throws {
        let model = try ModelLoader.load(path: Self.folder, tokenizer: false)
        let transformer = Transformer(graph: model.graph, threads: 1, batch: 64)
        #expect { try transformer.forward([101, 102]) } throws: { "\($0)".contains("encoder") }
        #expect { try transformer.encode([[]]) } throws: { "\($0)".contains("no tokens") }
        #expect { try transformer.encode([Array(repeating: 100, count: 65)]) } throws: { "\($0)".contains("at most 64") }
        #expect { try transformer.encode([[101, 40000]]) } throws: { "\($0)".contains("40000") }
        var broken = model.graph
        broken.embeddingNorm = nil
        #expect { try Transformer(graph: broken, threads: 1).encode([[101]]) } throws: { "\($0)".contains("norm of the embeddings") }
    }

    @Test("embeddings from the folder equal sentence-transformers' (ids cut at max_seq_length 24)")
    func folderEmbeddings() throws {
        let r = try Self.reference()
        let embedder = try Embedder(path: Self.folder, runtime: Self.runtime)
        #expect(embedder.settings == Self.settings)
        #expect(r.texts.map { embedder.tokens($0).ids } == r.token_ids)
        #expect(embedder.tokens(r.texts.last!).truncated)
        #expect(Self.maxDifference(try embedder.embed(r.texts), r.embeddings) <= 1e-5)
    }

    @Test("llama.cpp's GGUF: its WordPiece vocabulary gives the same ids, its weights the same embeddings")
    func llamaCppGGUF() throws {
        let r = try Self.reference()
        #expect(try EmbeddingSettings.read(path: Self.llamaCpp) == EmbeddingSettings(pooling: .mean, normalize: true))
        let embedder = try Embedder(path: Self.llamaCpp, settings: Self.settings, runtime: Self.runtime)
        #expect(r.texts.map { embedder.tokens($0).ids } == r.token_ids)
        #expect(Self.maxDifference(try embedder.embed(r.texts), r.embeddings) <= 1e-5)
    }

    @Test("WeightKit's GGUF of the folder holds llama.cpp's tensors bit for bit and its keys, but for general.*, the pre-tokenizer name and add_sep_token")
    func writesGGUF() throws {
        let temporary = TemporaryFolder()
        let report = try Converter.convert(input: Self.folder, output: temporary.file("ours.gguf"))
        #expect(report.warnings.contains { $0.message.contains("max_seq_length 24") })
        let ours = try GGUFFile(path: temporary.file("ours.gguf")), theirs = try GGUFFile(path: Self.llamaCpp)
        // Keys llama.cpp writes that WeightKit does not, or with another value (docs/EMBED.md):
        // general.* from the model card, the pre-tokenizer name and add_sep_token.
        let differ: Set<String> = ["tokenizer.ggml.pre", "tokenizer.ggml.add_sep_token"]
        func keys(_ f: GGUFFile) -> [String: MetadataValue] {
            Dictionary(f.metadata.entries.filter { !$0.key.hasPrefix("general.") && !differ.contains($0.key) }.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        }
        let (mine, llama) = (keys(ours), keys(theirs))
        #expect(Set(mine.keys) == Set(llama.keys), "ours only \(Set(mine.keys).subtracting(llama.keys)), llama.cpp only \(Set(llama.keys).subtracting(mine.keys))")
        for (key, value) in llama {
            if case .float(let d) = value, case .float(let e)? = mine[key] {
                #expect(Float(d) == Float(e), "\(key)")
            } else {
                #expect(mine[key] == value, "\(key): ours \(mine[key].map { "\($0)" }?.prefix(80) ?? "absent"), llama.cpp \("\(value)".prefix(80))")
            }
        }
        #expect(ours.tensors.map(\.name) == theirs.tensors.map(\.name))
        for t in theirs.tensors {
            let a = try #require(try GGUFConfig.floatValues(in: ours, named: t.name)), b = try #require(try GGUFConfig.floatValues(in: theirs, named: t.name))
            #expect(a == b && ours.tensor(named: t.name)?.shape == t.shape, "\(t.name)")
        }
    }

    @Test("convert to .wkp, GGUF → HF folder and back: the same embeddings", arguments: ["pack.wkp", "hf"])
    func conversions(_ target: String) throws {
        let r = try Self.reference()
        let temporary = TemporaryFolder()
        let input = target == "hf" ? Self.llamaCpp : Self.folder
        _ = try Converter.convert(input: input, output: temporary.file(target) + (target == "hf" ? "/" : ""))
        let embedder = try Embedder(path: temporary.file(target), settings: Self.settings, runtime: Self.runtime)
        if target == "pack.wkp" { #expect(try EmbeddingSettings.read(path: temporary.file(target)) == Self.settings) }
        #expect(r.texts.map { embedder.tokens($0).ids } == r.token_ids)
        #expect(Self.maxDifference(try embedder.embed(r.texts), r.embeddings) <= 1e-5)
    }
}

extension EncoderTests {
    @Test("trace of an encoder: attention over the whole prompt, the pooled embedding in place of a next token")
    func trace() throws {
        let model = try ModelLoader.load(path: Self.folder)
        let text = "A man is eating food."
        let trace = try Tracer.trace(model: model, prompt: text, options: Tracer.Options(runtime: Self.runtime))
        let n = trace.tokens.count
        #expect(n == 8 && trace.next.isEmpty && trace.layers.allSatisfy(\.lens.isEmpty))
        for layer in trace.layers {
            for head in layer.heads {
                #expect(head.weights.count == n && head.weights.allSatisfy { $0.count == n && abs($0.reduce(0, +) - 1) < 1e-4 })
                #expect(head.weights[0][n - 1] > 0, "position 0 sees the last position: no causal mask")
            }
        }
        let embedding = try #require(trace.embedding)
        let expected = try Embedder(path: Self.folder, runtime: Self.runtime).embed([text])[0]
        #expect(Self.maxDifference([embedding], [expected]) <= 1e-6)
        #expect(trace.text.contains("4. Sentence embedding (an encoder: mean pooling + L2 normalisation"))
        #expect(trace.json.object?["embedding"]?.array?.count == 16)
    }
}
