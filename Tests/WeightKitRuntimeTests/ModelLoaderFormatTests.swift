import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `ModelLoader.load(path:format:)` reads the path as the format given (nil: detected), and
/// a format that does not fit says so.
@Suite("ModelLoader honours the format it is given")
struct ModelLoaderFormatTests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    @Test("format: .gguf loads a GGUF file whatever its name")
    func renamed() throws {
        let folder = TemporaryFolder()
        let copy = folder.file("model.weights")
        try writeBytes(try readBytes(Self.tiny), to: copy)
        let model = try ModelLoader.load(path: copy, format: .gguf)
        #expect(model.graph.config.layers == 2 && model.tokenizer != nil)
        let detected = try ModelLoader.load(path: copy)
        #expect(detected.graph.config.hiddenSize == model.graph.config.hiddenSize)
    }

    @Test("a format that does not fit is an error naming it, not a silent detection")
    func wrongFormat() throws {
        let pack = #expect(throws: FormatError.self) { try ModelLoader.load(path: Self.tiny, format: .wkp) }
        #expect(pack?.kind == .badMagic && pack?.message.contains("WKPACK") == true)
        let folder = #expect(throws: FormatError.self) { try ModelLoader.load(path: Self.tiny, format: .huggingFace) }
        #expect(folder?.kind == .unknownFormat && folder?.message.contains("folder") == true)
        let tensors = #expect(throws: GraphError.self) { try ModelLoader.load(path: Self.tiny, format: .safetensors) }
        #expect(tensors?.kind == .unknownArchitecture && tensors?.message.contains("safetensors") == true)
    }
}

/// The library's sliding-window perplexity against a plain token-by-token pass.
@Suite("Perplexity scoring")
struct PerplexityTests {
    static let ids = [1, 17, 42, 99, 3, 250, 7, 64, 128, 5, 200, 31]

    /// Σ −log p(ids[i] | ids[..<i]) from one token-by-token pass.
    static func reference(_ transformer: Transformer) throws -> Double {
        transformer.reset()
        var nll = 0.0
        var logits = try transformer.forward([ids[0]])
        for i in 1..<ids.count {
            nll -= Perplexity.logSoftmax(logits, at: ids[i])
            logits = try transformer.forward([ids[i]])
        }
        return nll
    }

    @Test("one window equals the plain pass; overlapping windows score every token once")
    func windows() throws {
        let model = try ModelLoader.load(path: fixture("models/llama"))
        let transformer = Transformer(graph: model.graph, maxSequence: 16)
        let expected = try Self.reference(transformer)
        let whole = try Perplexity.score(Self.ids, transformer: transformer, context: 16, stride: 8)
        #expect(whole.scoredTokens == Self.ids.count - 1)
        #expect(abs(whole.negativeLogLikelihood - expected) < 1e-3 * max(1, expected))
        #expect(abs(whole.perplexity - exp(expected / Double(Self.ids.count - 1))) < 1e-3 * whole.perplexity)
        var reported: [Int] = []
        let windowed = try Perplexity.score(Self.ids, transformer: transformer, context: 4, stride: 2) { done, _ in reported.append(done) }
        #expect(windowed.scoredTokens == Self.ids.count - 1)
        #expect(reported.last == Self.ids.count)
        // Shorter windows condition on less, so the text is no more likely than with the whole context.
        #expect(windowed.negativeLogLikelihood.isFinite && windowed.negativeLogLikelihood > 0)
    }

    @Test("the window follows the model's context; a bad stride or a one-token text is refused")
    func requests() throws {
        #expect(Perplexity.window(context: 512, modelContext: 128) == 128)
        #expect(Perplexity.window(context: 64, modelContext: 0) == 64)
        #expect(Perplexity.defaultStride(window: 1) == 1 && Perplexity.defaultStride(window: 9) == 4)
        let model = try ModelLoader.load(path: fixture("models/llama"))
        let transformer = Transformer(graph: model.graph, maxSequence: 8)
        #expect(throws: RuntimeError.self) { try Perplexity.score([1], transformer: transformer, context: 8, stride: 4) }
        #expect(throws: RuntimeError.self) { try Perplexity.score(Self.ids, transformer: transformer, context: 8, stride: 0) }
        #expect(throws: RuntimeError.self) { try Perplexity.score(Self.ids, transformer: transformer, context: 8, stride: 9) }
    }

    @Test("TextFile reads UTF-8 up to a cap and refuses other bytes")
    func textFile() throws {
        let folder = TemporaryFolder()
        try writeBytes(Array("héllo".utf8), to: folder.file("ok.txt"))
        #expect(try TextFile.read(folder.file("ok.txt"), cap: 16) == "héllo")
        let big = #expect(throws: FormatError.self) { try TextFile.read(folder.file("ok.txt"), cap: 3) }
        #expect(big?.kind == .limitExceeded)
        try writeBytes([0x68, 0xFF, 0x69], to: folder.file("bad.txt"))
        let bad = #expect(throws: FormatError.self) { try TextFile.read(folder.file("bad.txt"), cap: 16) }
        #expect(bad?.kind == .invalidHeader)
    }
}
