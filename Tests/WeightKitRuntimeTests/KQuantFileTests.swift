import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// SmolLM2-135M quantized by llama.cpp's own `llama-quantize` (scripts/test.sh makes the files from
/// the f32 GGUF when Benchmarks/llama-cpp/build.sh has built it, and sets WEIGHTKIT_KQUANT_MODELS;
/// without it the suite is skipped and test.sh says so). Each file runs on the native kernels
/// (Q2_K…Q6_K, Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q4_0 blocks as stored) and is compared with the same weights dequantized to
/// f32 by `convert` and run by the f32 path: greedy ids on three prompts, and perplexity.
@Suite("Real model: SmolLM2 K-quant files from llama-quantize", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_MODELS"] != nil))
struct KQuantFileTests {
    static let folder = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_MODELS"] ?? ""
    static let prompts = ["The capital of France is", "Once upon a time, there was a little robot who",
                          "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"]

    /// The greedy ids of `prompt` and, at each step, the logits the choice was made from.
    static func greedy(_ transformer: Transformer, _ prompt: [Int], count: Int) throws -> (ids: [Int], logits: [[Float]]) {
        transformer.reset()
        var logits = try transformer.forward(prompt), ids: [Int] = [], steps: [[Float]] = []
        for _ in 0..<count {
            let next = logits.indices.max { logits[$0] < logits[$1] }!
            ids.append(next)
            steps.append(logits)
            logits = try transformer.forward([next])
        }
        return (ids, steps)
    }

    /// Softmax probability of `id` in `logits`.
    static func probability(_ logits: [Float], _ id: Int) -> Double { Foundation.exp(Perplexity.logSoftmax(logits, at: id)) }

    @Test("greedy ids equal the dequantized f32 model's (or part at a near-tie), perplexity within 0.1 %",
          arguments: ["q4_k_m", "q4_k_s", "q5_k_m", "q6_k", "q3_k_m", "q2_k", "q5_0", "q5_1", "iq4_nl", "iq4_xs", "q4_0"])
    func againstDequantized(type: String) throws {
        let file = "\(Self.folder)/smollm2-\(type).gguf"
        try #require(FileManager.default.fileExists(atPath: file), "\(file) is missing: scripts/test.sh makes it with llama-quantize")
        let native = try ModelLoader.load(path: file)
        let stored = Set(native.graph.blocks.flatMap(\.matrices).map(\.dtype))
        #expect(!stored.isDisjoint(with: [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q5_0, .q5_1, .iq4_NL, .iq4_XS, .q4_0]), "\(type): blocks kept as stored, got \(stored)")
        #expect(!stored.contains(.float32), "\(type): no matrix dequantized at load, got \(stored)")
        if type == "iq4_xs" { #expect(stored.contains(.iq4_XS), "ffn_down kept as IQ4_XS blocks, got \(stored)") }
        let dir = TemporaryFolder()
        let f32 = dir.file("f32") + "/"  // GGUF → folder dequantizes every block to f32
        let converted = try weightkit("convert", file, f32, "-q")
        #expect(converted.status == 0, "\(converted.stderr)")
        let twin = try ModelLoader.load(path: f32)
        #expect(Set(twin.graph.blocks.flatMap(\.matrices).map(\.dtype)) == [.float32])
        let tokenizer = try #require(native.tokenizer)
        let a = Transformer(graph: native.graph, maxSequence: 160), b = Transformer(graph: twin.graph, maxSequence: 160)
        var summary: [String] = []
        for text in Self.prompts {
            let prompt = tokenizer.encode(text)
            let (got, _) = try Self.greedy(a, prompt, count: 24)
            let (want, logits) = try Self.greedy(b, prompt, count: 24)
            guard let step = got.indices.first(where: { got[$0] != want[$0] }) else { summary.append("24/24"); continue }
            summary.append("parts at \(step)")
            // A divergence is allowed only where the f32 model itself hesitates between the two tokens.
            let p = Self.probability(logits[step], want[step]), q = Self.probability(logits[step], got[step])
            #expect(p - q < 0.02, "\(type) \(text.debugDescription): step \(step) chose \(got[step]) (f32 p \(q)) over \(want[step]) (p \(p))")
        }
        // The first 1,200 characters of the Jargon File excerpt (2,000 until CI neared its 30 minutes
        // on an AVX2-only machine): 128-token windows, half overlapping.
        let text = try String(contentsOfFile: fixture("text/jargon-file-4.4.7-excerpt.txt"), encoding: .utf8)
        let ids = tokenizer.encode(String(text.prefix(1200)))
        let pa = try Perplexity.score(ids, transformer: a, context: 128, stride: 64).perplexity
        let pb = try Perplexity.score(ids, transformer: b, context: 128, stride: 64).perplexity
        #expect(abs(pa / pb - 1) <= 0.001, "\(type): perplexity \(pa) native vs \(pb) dequantized")
        print("\(type): greedy \(summary.joined(separator: ", ")); perplexity \(pa) native, \(pb) dequantized")
    }
}
