import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `weightkit smoke`: correct conversions pass, broken ones fail naming the symptom. The broken
/// models come from fixtures/smoke/make_broken.py (numpy + safetensors), run here.
@Suite("Smoke test", .serialized)
struct SmokeTests {
    /// One thread per model: test cases run side by side, and spinning pools would fight.
    static let options = SmokeOptions(runtime: RuntimeOptions(threads: 1))

    /// make_broken.py's folders, made once for the suite.
    static let broken: Result<String, any Error> = Result {
        let out = NSTemporaryDirectory() + "weightkit-smoke-\(ProcessInfo.processInfo.processIdentifier)"
        let result = try run(pythonExecutable, [repositoryRoot + "/fixtures/smoke/make_broken.py", out])
        guard result.status == 0 else { throw SmokeError("make_broken.py: \(result.stderr)") }
        return out
    }

    /// Every folder in fixtures/models.
    static let families = [
        "llama", "gpt2", "qwen2", "llama3", "llama-linear", "llama-dynamic", "llama-yarn", "mistral", "qwen3", "qwen3-moe",
        "qwen3-moe-nonorm", "mixtral", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "phi3", "olmo2", "stablelm", "gpt-neox", "granite",
    ]

    @Test("every tiny family passes alone and as .wkp and f16 against its own folder", arguments: families)
    func tinyFamilies(_ family: String) throws {
        let folder = fixture("models/\(family)"), temporary = TemporaryFolder()
        let alone = try SmokeTest.run(model: folder, options: Self.options)
        #expect(alone.passed, "\(family): \(alone.verdict)")
        _ = try Converter.convert(input: folder, output: temporary.file("m.wkp"))
        let pack = try SmokeTest.run(model: temporary.file("m.wkp"), against: folder, options: Self.options)
        #expect(pack.passed && pack.precision == .full && pack.maxKL == 0, "\(family) .wkp: \(pack.verdict)")
        _ = try Converter.convert(input: folder, output: temporary.file("f16") + "/", options: ConversionOptions(dtype: .float16))
        let half = try SmokeTest.run(model: temporary.file("f16"), against: folder, options: Self.options)
        #expect(half.passed && half.precision == .half && half.thresholds == SmokeThresholds.defaults(for: .half), "\(family) f16: \(half.verdict)")
    }

    /// (variant, reference, failed check, words its detail or location must hold)
    static let cases: [(String, String?, String, [String])] = [
        ("qk-permuted", "llama", "agreement", ["first divergence at layer 0 attention", "self_attn.", "_proj.weight"]),
        ("mlp-zeroed", "llama", "agreement", ["first divergence at layer 1 MLP", "worst tensor model.layers.1.mlp.down_proj.weight"]),
        ("gate-up-swapped", "llama", "agreement", ["first divergence at layer 0 MLP", "mlp."]),
        ("rope-theta", "llama", "agreement", ["first divergence at layer 0 attention", "every tensor within 5%", "description differs: rope", "theta"]),
        ("embedding-transposed", "square", "agreement", ["first divergence at the embedding", "worst tensor model.embed_tokens.weight"]),
        ("wrong-tokenizer", "llama", "tokenizer", ["encode \"The capital of France is\" differently"]),
        ("f16-overflow", nil, "finite", ["layer 1's output is not finite", "position 0"]),
    ]

    @Test("each broken conversion fails, naming the check and where", arguments: 0..<7)
    func brokenFails(_ index: Int) throws {
        let (variant, reference, check, words) = Self.cases[index]
        let out = try Self.broken.get()
        let against = reference.map { $0 == "llama" ? fixture("models/llama") : out + "/" + $0 }
        let report = try SmokeTest.run(model: out + "/" + variant, against: against, options: Self.options)
        let failure = try #require(report.failure, "\(variant) passed: \(report.verdict)")
        #expect(failure.name == check, "\(variant): \(report.verdict)")
        for word in words { #expect(report.verdict.contains(word), "\(variant): no \"\(word)\" in \(report.verdict)") }
        #expect(report.verdict.hasPrefix("FAIL (\(check)): "))
        if variant == "f16-overflow" {
            // Against its f32 original too: the guard fires first.
            let compared = try SmokeTest.run(model: out + "/" + variant, against: fixture("models/llama"), options: Self.options)
            #expect(compared.failure?.name == "finite", "\(compared.verdict)")
        }
    }

    @Test("the correct square model passes against itself, so the transposed one fails for its embedding alone")
    func squareControl() throws {
        let out = try Self.broken.get()
        let report = try SmokeTest.run(model: out + "/square", against: out + "/square", options: Self.options)
        #expect(report.passed && report.top1Agreement == 1, "\(report.verdict)")
    }

    @Test("the command: exit 0 and 65, JSON for pipelines, limits only with a reference")
    func command() throws {
        let out = try Self.broken.get()
        let pass = try weightkit("smoke", "--threads", "1", "fixtures/models/llama3", "--tokens", "4")
        #expect(pass.status == 0 && pass.stdout.contains("PASS: 4 prompts"), "\(pass.stdout)\(pass.stderr)")
        let fail = try weightkit("smoke", "--threads", "1", out + "/mlp-zeroed", "--against", "fixtures/models/llama", "--json")
        #expect(fail.status == 65, "\(fail.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(fail.stdout.utf8)) as? [String: Any])
        #expect(json["passed"] as? Bool == false && (json["verdict"] as? String)?.hasPrefix("FAIL (agreement)") == true)
        #expect((json["worstTensors"] as? [[String: Any]])?.first?["name"] as? String == "model.layers.1.mlp.down_proj.weight")
        // The limits are the user's to set; the tensors still show a zeroed one, whatever the limits.
        let loose = ["--min-top1", "0", "--max-mean-kl", "10", "--max-kl", "10"]
        let zeroed = try weightkit(["smoke", "--threads", "1", out + "/mlp-zeroed", "--against", "fixtures/models/llama"] + loose)
        #expect(zeroed.status == 65 && zeroed.stdout.contains("FAIL (tensors): model.layers.1.mlp.down_proj.weight is 1.0 (relative RMS) away"), "\(zeroed.stdout)")
        let theta = try weightkit(["smoke", "--threads", "1", out + "/rope-theta", "--against", "fixtures/models/llama"] + loose)
        #expect(theta.status == 0, "\(theta.stdout)")
        let usage = try weightkit("smoke", "--threads", "1", "fixtures/models/llama", "--min-top1", "0.5")
        #expect(usage.status == 64 && usage.stderr.contains("need --against"), "\(usage.stderr)")
        let prompts = TemporaryFolder()
        try "Hello\nWorld\n".write(toFile: prompts.file("p.txt"), atomically: true, encoding: .utf8)
        let custom = try weightkit("smoke", "--threads", "1", "fixtures/models/qwen3", "--prompts", prompts.file("p.txt"), "--tokens", "3", "--json")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(custom.stdout.utf8)) as? [String: Any])
        #expect((parsed["prompts"] as? [[String: Any]])?.map { $0["prompt"] as? String } == ["Hello", "World"])
    }

    @Test("a model with no tokenizer runs its prompts as bytes, and says so")
    func noTokenizer() throws {
        let report = try SmokeTest.run(model: fixture("models/gpt2"), options: Self.options)
        #expect(report.passed && report.notes.contains { $0.hasPrefix("no tokenizer") }, "\(report.verdict)")
        #expect(report.prompts[0].ids == Array("The capital of France is".utf8).map(Int.init))
    }

    @Test("limits by the weaker precision, tightest for f32")
    func thresholds() {
        #expect(SmokePrecision(.q8_0) == .eightBit && SmokePrecision(.q4_0) == .fourBit && SmokePrecision(.q4_K) == .fourBit)
        #expect(SmokePrecision(.q6_K) == .sixBit && SmokePrecision(.q5_0) == .sixBit && SmokePrecision(.bfloat16) == .half)
        let order = SmokePrecision.allCases.map(SmokeThresholds.defaults(for:))
        for (weaker, stronger) in zip(order, order.dropFirst()) {
            #expect(weaker.minTop1Agreement < stronger.minTop1Agreement && weaker.maxMeanKL > stronger.maxMeanKL && weaker.maxKL > stronger.maxKL)
        }
        let options = SmokeOptions(maxMeanKL: 0.5)
        #expect(options.thresholds(for: .full).maxMeanKL == 0.5 && options.thresholds(for: .full).minTop1Agreement == 0.99)
    }
}

/// SmolLM2-135M-Instruct (WEIGHTKIT_SMOLLM2_GGUF): its conversions pass against the f32 folder,
/// and the classic Q/K permutation bug fails.
@Suite("Real model: SmolLM2 smoke test", .serialized, .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2SmokeTests {
    let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] ?? ""

    @Test("GGUF Q4_1 → f32 folder → f16, .wkp, Q8_0, Q4_0 pass against the f32 folder; Q/K left permuted fails")
    func conversions() throws {
        let tmp = TemporaryFolder()
        let folder = tmp.file("f32") + "/"
        #expect(try weightkit("convert", gguf, folder).status == 0)
        // Two prompts, 8 tokens, no tensor diff: a debug build runs this model slowly.
        let quick = SmokeOptions(prompts: Array(SmokeTest.builtInPrompts.prefix(2)), tokens: 8, runtime: RuntimeOptions(threads: 2), worstTensors: 0)
        let original = try SmokeTest.run(model: gguf, against: folder, options: quick)
        #expect(original.passed && original.precision == .fourBit, "Q4_1 GGUF: \(original.verdict)")
        _ = try Converter.convert(input: folder, output: tmp.file("f16") + "/", options: ConversionOptions(dtype: .float16))
        _ = try Converter.convert(input: folder, output: tmp.file("m.wkp"))
        for scheme in [QuantScheme.q8_0, .q4_0] {
            _ = try Quantizer.quantize(input: folder, output: tmp.file("\(scheme).gguf"), options: QuantizationOptions(policy: QuantPolicy(scheme: scheme)))
        }
        for (file, precision) in [("f16", SmokePrecision.half), ("m.wkp", .full), ("q8_0.gguf", .eightBit), ("q4_0.gguf", .fourBit)] {
            let report = try SmokeTest.run(model: tmp.file(file), against: folder, options: quick)
            #expect(report.passed && report.precision == precision, "\(file): \(report.verdict)")
        }
        let made = try run(pythonExecutable, [repositoryRoot + "/fixtures/smoke/make_broken.py", tmp.file("broken"), "--smollm2", folder])
        #expect(made.status == 0, "\(made.stderr)")
        var named = quick
        named.worstTensors = 1
        let permuted = try SmokeTest.run(model: tmp.file("broken/smollm2-qk-permuted"), against: folder, options: named)
        #expect(permuted.failure?.name == "agreement", "\(permuted.verdict)")
        // Where the outputs first part depends on the prompt (attention sinks blunt RoPE in the
        // first layers); the tensors say what is wrong.
        #expect(permuted.firstDivergence?.hasPrefix("layer ") == true, "\(permuted.verdict)")
        let worst = try #require(permuted.worstTensors.first)
        #expect((worst.name.hasSuffix("q_proj.weight") || worst.name.hasSuffix("k_proj.weight")) && worst.relativeError > 1.3, "\(permuted.verdict)")
    }
}

/// `weightkit smoke` on an encoder: its embeddings are what is judged.
@Suite("Smoke test: encoders")
struct EncoderSmokeTests {
    static let options = SmokeOptions(runtime: RuntimeOptions(threads: 1))
    static let folder = fixture("models/bert")

    @Test("the tiny BERT passes alone, and llama.cpp's GGUF and an f16 pack pass against the folder")
    func passes() throws {
        let alone = try SmokeTest.run(model: Self.folder, options: Self.options)
        #expect(alone.passed, "\(alone.verdict)")
        #expect(alone.checks.map(\.name) == ["finite", "embeddings"])
        let gguf = try SmokeTest.run(model: fixture("models/bert/llamacpp.gguf"), against: Self.folder, options: Self.options)
        #expect(gguf.passed, "\(gguf.verdict)")
        #expect(gguf.checks.map(\.name) == ["finite", "tokenizer", "agreement", "tensors"])
        #expect(gguf.prompts.allSatisfy { ($0.embeddingCosine ?? 0) > 0.999999 } && gguf.minEmbeddingCosine == 0.99999)
        let temporary = TemporaryFolder()
        _ = try Converter.convert(input: Self.folder, output: temporary.file("half.wkp"), options: ConversionOptions(dtype: .float16))
        let half = try SmokeTest.run(model: temporary.file("half.wkp"), against: Self.folder, options: Self.options)
        #expect(half.passed && half.minEmbeddingCosine == 0.9995, "\(half.verdict)")
    }

    @Test("a permuted value projection fails the agreement, naming the tensor; a decoder is not its reference")
    func fails() throws {
        let temporary = TemporaryFolder(), broken = temporary.file("broken")
        let made = try python("""
            import sys, shutil, numpy as np
            from safetensors.numpy import load_file, save_file
            src, out = sys.argv[1], sys.argv[2]
            shutil.copytree(src, out, ignore=shutil.ignore_patterns("llamacpp.gguf", "reference.json"))
            t = load_file(src + "/model.safetensors")
            name = "encoder.layer.0.attention.self.value.weight"
            t[name] = np.ascontiguousarray(t[name][::-1])
            save_file(t, out + "/model.safetensors")
            print("ok")
            """, [Self.folder, broken])
        #expect(made.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        let report = try SmokeTest.run(model: broken, against: Self.folder, options: Self.options)
        #expect(!report.passed)
        #expect(report.failure?.name == "agreement", "\(report.verdict)")
        #expect(report.worstTensors.first?.name == "encoder.layer.0.attention.self.value.weight")
        #expect(report.firstDivergence?.hasPrefix("layer 0 attention") == true, "\(report.firstDivergence ?? "none")")
        let mixed = try SmokeTest.run(model: Self.folder, against: fixture("models/llama"), options: Self.options)
        #expect(!mixed.passed && mixed.verdict.contains("the model is an encoder, the reference a decoder"), "\(mixed.verdict)")
        let cli = try weightkit("smoke", broken, "--against", Self.folder, "--threads", "1")
        #expect(cli.status == 65 && cli.stdout.contains("FAIL (agreement)"), "\(cli.stdout)")
    }
}
