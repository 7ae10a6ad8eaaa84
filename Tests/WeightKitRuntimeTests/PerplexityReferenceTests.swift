import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `Perplexity.score(_:transformer:reference:…)`: KL divergence and top-1 agreement against a
/// reference model, checked against numpy (fixtures/perplexity/kl_reference.py), and
/// `Transformer.forward(_:logitsFrom:)`, the prefill it scores windows with, against decode.
@Suite("Perplexity against a reference model")
struct PerplexityReferenceTests {
    static let llama = fixture("models/llama")

    /// fixtures/perplexity/kl_divergence.json.
    static func reference() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("perplexity/kl_divergence.json")))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func floats(_ value: Any?) throws -> [Float] {
        try #require(value as? [Double]).map { Float($0) }
    }

    static func close(_ a: Double, _ b: Double, relative: Double, absolute: Double = 0) -> Bool {
        abs(a - b) <= max(absolute, relative * max(abs(a), abs(b)))
    }

    @Test("every row of forward(_:logitsFrom:) equals the token-by-token decode's logits at that position")
    func prefillRowsMatchDecode() throws {
        let model = try ModelLoader.load(path: Self.llama)
        let ids = Array(try #require(model.tokenizer).encode("The quick brown fox jumps over the lazy dog, twice.").prefix(40))
        let transformer = Transformer(graph: model.graph, maxSequence: 64, batch: 8)  // several chunks
        let rows = try transformer.forward(ids, logitsFrom: 3)
        let vocab = model.graph.config.vocabSize
        #expect(rows.count == (ids.count - 3) * vocab)
        transformer.reset()
        var worst: Float = 0
        for (t, id) in ids.enumerated() {
            let decoded = try transformer.forward([id])
            guard t >= 3 else { continue }
            let row = rows[(t - 3) * vocab..<(t - 2) * vocab]
            for (x, y) in zip(row, decoded) { worst = max(worst, abs(x - y) / max(1, abs(y))) }
        }
        #expect(worst < 1e-4, "largest difference \(worst)")
        #expect(throws: RuntimeError.self) { try transformer.forward([1, 2], logitsFrom: 2) }
    }

    @Test("a model against itself: KL exactly 0, top-1 agreement 1, the same perplexity")
    func selfDivergence() throws {
        let model = try ModelLoader.load(path: Self.llama)
        let text = try String(contentsOfFile: fixture("text/jargon-file-4.4.7-excerpt.txt"), encoding: .utf8)
        let ids = Array(try #require(model.tokenizer).encode(String(text.prefix(3000))).prefix(150))
        let a = Transformer(graph: model.graph, maxSequence: 64), b = Transformer(graph: model.graph, maxSequence: 64)
        let score = try Perplexity.score(ids, transformer: a, reference: b, context: 64, stride: 32)
        let d = try #require(score.reference)
        #expect(score.scoredTokens == ids.count - 1 && d.tokens == ids.count - 1)
        #expect(d.sumKL == 0 && d.maxKL == 0 && d.meanKL == 0 && d.kl99 == 0)
        #expect(d.sameTop == d.tokens && d.sameTopFraction == 1)
        #expect(d.referenceNLL == score.negativeLogLikelihood && d.referencePerplexity == score.perplexity)
        // Without a reference: the same perplexity and no divergence.
        let alone = try Perplexity.score(ids, transformer: a, context: 64, stride: 32)
        #expect(alone.reference == nil && alone.negativeLogLikelihood == score.negativeLogLikelihood)
    }

    @Test("divergence of one row: KL, top-1 (first maximum) and log-probabilities equal numpy's in float64")
    func rowsAgainstNumpy() throws {
        let cases = try #require(try Self.reference()["rows"] as? [[String: Any]])
        #expect(cases.count == 7)
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let reference = try Self.floats(c["reference"]), model = try Self.floats(c["model"])
            let target = try #require(c["target"] as? Int)
            let got = try Perplexity.divergence(reference: reference[...], model: model[...], target: target)
            let kl = try #require(c["kl"] as? Double)
            // Both are double-precision sums in different orders: log p − log q cancels to ~1e-16
            // of the logits' size (1e4 in one row), so 1e-10 absolute; float32 arithmetic misses by ~1e-7.
            #expect(Self.close(got.kl, kl, relative: 1e-9, absolute: 1e-10), "\(name): KL \(got.kl) vs numpy \(kl)")
            #expect(got.sameTop == (c["sameTop"] as? Bool), "\(name): same top")
            #expect(Self.close(got.logProbability, try #require(c["logProbability"] as? Double), relative: 1e-12, absolute: 1e-12), "\(name)")
            #expect(Self.close(got.referenceLogProbability, try #require(c["referenceLogProbability"] as? Double), relative: 1e-12, absolute: 1e-12), "\(name)")
            if name == "identical rows" { #expect(got.kl == 0 && got.sameTop) }
        }
    }

    @Test("Q8_0 of the tiny llama (weightkit quantize) against its f32 folder: mean KL, top-1 and both NLLs as numpy's float64 forward pass gives them")
    func quantizedAgainstNumpy() throws {
        let expected = try #require(try Self.reference()["models"] as? [String: Any])
        let tmp = TemporaryFolder()
        let q8 = tmp.file("q8.gguf")
        let made = try weightkit("quantize", Self.llama, q8, "--type", "q8_0", "-q")
        #expect(made.status == 0, "\(made.stderr)")
        let base = try ModelLoader.load(path: Self.llama), quantized = try ModelLoader.load(path: q8)
        // The numpy side rounds the same tensors through Q8_0: every matrix, embedding and output.
        let g = quantized.graph
        let matrices = g.blocks.flatMap(\.matrices) + [g.tokenEmbedding] + (g.unembedding.map { [$0] } ?? [])
        #expect(matrices.allSatisfy { $0.dtype == .q8_0 } && matrices.count == (expected["quantized"] as? [String])?.count)
        let ids = try #require(expected["ids"] as? [Int])
        let context = try #require(expected["context"] as? Int), stride = try #require(expected["stride"] as? Int)
        // f32 activations: the products are the dequantized weights' (numpy's), up to summation order.
        let options = RuntimeOptions(quantizedActivations: .float32)
        let score = try Perplexity.score(
            ids, transformer: Transformer(graph: g, maxSequence: context, options: options),
            reference: Transformer(graph: base.graph, maxSequence: context, options: options), context: context, stride: stride)
        let d = try #require(score.reference)
        let perToken = try #require(expected["perToken"] as? [[String: Any]])
        #expect(d.tokens == perToken.count && score.scoredTokens == ids.count - 1)
        let meanKL = try #require(expected["meanKL"] as? Double), maxKL = try #require(expected["maxKL"] as? Double)
        #expect(meanKL > 1e-5, "the quantization changes the distributions")
        #expect(Self.close(d.meanKL, meanKL, relative: 1e-3), "mean KL \(d.meanKL) vs numpy \(meanKL)")
        #expect(Self.close(d.maxKL, maxKL, relative: 1e-3), "max KL \(d.maxKL) vs numpy \(maxKL)")
        #expect(d.sameTop == expected["sameTop"] as? Int, "same top \(d.sameTop) of \(d.tokens)")
        #expect(Self.close(score.negativeLogLikelihood, try #require(expected["nll"] as? Double), relative: 1e-5))
        #expect(Self.close(d.referenceNLL, try #require(expected["referenceNLL"] as? Double), relative: 1e-5))
        print("Q8_0 tiny llama: mean KL \(d.meanKL) (numpy \(meanKL)), max \(d.maxKL) (numpy \(maxKL)), same top \(d.sameTop)/\(d.tokens)")
    }

    @Test("different vocabularies are refused, naming both sizes; a non-finite logit names the row and token")
    func refusals() throws {
        let a = try ModelLoader.load(path: Self.llama), b = try ModelLoader.load(path: fixture("gguf/tiny_llama.gguf"))
        let error = #expect(throws: RuntimeError.self) {
            try Perplexity.score(
                [1, 2, 3, 4], transformer: Transformer(graph: a.graph, maxSequence: 8), reference: Transformer(graph: b.graph, maxSequence: 8),
                context: 8, stride: 4, names: ("A", "B"))
        }
        #expect(error?.kind == .invalidRequest && error?.message.contains("A has a vocabulary of 256 tokens and B one of 32") == true, "\(String(describing: error))")
        let nan = #expect(throws: RuntimeError.self) {
            try Perplexity.divergence(reference: [1, 2, 3][...], model: [1, .nan, 3][...], target: 0)
        }
        #expect(nan?.kind == .nonFinite && nan?.message.contains("the model's logits are not finite") == true && nan?.message.contains("token id 1") == true)
        let tokens = #expect(throws: RuntimeError.self) { try Perplexity.checkSameTokens([1, 2, 3], [1, 2, 4], names: ("A", "B")) }
        #expect(tokens?.message.contains("at token 2: 3 vs 4") == true)
        try Perplexity.checkSameTokens([1, 2], [1, 2], names: ("A", "B"))
    }

    @Test("percentiles interpolate between sorted values as llama-perplexity's do")
    func percentiles() {
        let sorted = [0.0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        #expect(ReferenceDivergence.percentile(sorted, 0.99) == 9.9)
        #expect(ReferenceDivergence.percentile(sorted, 0) == 0 && ReferenceDivergence.percentile(sorted, 1) == 10)
        let d = ReferenceDivergence(tokens: 4, referenceNLL: 4, kl: [0.4, 0.1, 0.3, 0.2], sameTop: 3)
        #expect(abs(d.meanKL - 0.25) < 1e-15 && d.maxKL == 0.4 && abs(d.medianKL - 0.25) < 1e-15 && d.sameTopFraction == 0.75)
        #expect(d.meanKLUncertainty == 0, "llama-perplexity gives no uncertainty below 11 values")
    }
}
