import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// The families of issue 18 through GGUF, against llama.cpp's own converter: the GGUFs that
/// `convert_hf_to_gguf.py` wrote from the tiny transformers models (fixtures/models/convert_llamacpp.py)
/// must run with transformers' logits and greedy ids, and the GGUF WeightKit writes from the same
/// folder must hold what llama.cpp's holds (keys, values, tensor names, shapes and values).
@Suite("llama.cpp GGUFs of the model families")
struct GGUFFamilyTests {
    /// Every family llama.cpp's converter turned into a GGUF; gpt-neox only after its transformers 5
    /// config got `rotary_pct` back (convert_llamacpp_neox.py: the converter reads only that name).
    static let converted = [
        "llama3", "llama-linear", "llama-dynamic", "llama-yarn", "mistral", "qwen3", "qwen3-moe", "qwen3-moe-nonorm",
        "mixtral", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "phi3", "olmo2", "stablelm", "granite", "gpt-neox",
    ]

    /// llama.cpp's GGUF of `family`.
    static func llamaCppGGUF(_ family: String) -> String {
        fixture("models/\(family)/" + (family == "gpt-neox" ? "llamacpp-rotary_pct.gguf" : "llamacpp.gguf"))
    }

    /// What llama.cpp's GGUF cannot carry (fixtures/models/TENSORS.md), turned into what the file then
    /// means to llama.cpp (`src/models/<arch>.cpp`): the HF description with these changes.
    static func llamaCppReading(_ family: String, _ c: inout ArchitectureConfig) {
        switch family {
        case "llama-dynamic":
            // No rope.scaling key: plain RoPE within the original 16 positions.
            c.rope!.scaling = .none
            c.contextLength = 16
        case "mistral":
            c.family = .llama
            c.slidingWindow = nil
            c.layerAttention = Array(repeating: .full, count: c.layers)
        case "qwen3-moe-nonorm":
            c.moe!.normalizeTopK = true  // qwen3moe's build_moe_ffn always renormalises
        case "gemma2":
            c.attentionScale = 1 / Float(16).squareRoot()  // 1/√head_dim, not query_pre_attn_scalar 24
        case "gemma3", "gemma3-multimodal":
            c.attentionScale = 1 / Float(16).squareRoot()
            c.layerAttention = Array(repeating: .sliding, count: c.layers)  // default pattern 6: 3 layers all local
        default: break
        }
    }

    /// Families whose llama.cpp GGUF says everything transformers computes.
    static var lossless: [String] { converted.filter { !["llama-dynamic", "mistral", "qwen3-moe-nonorm", "gemma2", "gemma3", "gemma3-multimodal"].contains($0) } }

    static func description(gguf path: String) throws -> ArchitectureConfig {
        let file = try GGUFFile(path: path)
        return try GGUFConfig.architecture(
            ggufMetadata: file.metadata, tensorNames: Set(file.tensors.map(\.name)),
            vocabularyRows: file.tensor(named: "token_embd.weight")?.shape.dims.first, path: path,
            values: { try GGUFConfig.floatValues(in: file, named: $0) }).1
    }

    @Test("llama.cpp's GGUF describes the model as the HF folder does, up to what it cannot carry", arguments: converted)
    func describes(_ family: String) throws {
        let folder = fixture("models/\(family)")
        let json = try HuggingFaceFolder(path: folder).config!
        var expected = try ArchitectureConfig(huggingFace: json)
        let gguf = try Self.description(gguf: Self.llamaCppGGUF(family))
        expected.ropeLayout = ["llama3", "llama-linear", "llama-dynamic", "llama-yarn", "mistral", "mixtral", "granite"].contains(family) ? .interleaved : .halfSplit
        expected.normWeightOffset = 0
        if case .llama3 = expected.rope!.scaling {
            // rope_freqs.weight: the same frequencies as transformers' llama3 rule, within f32.
            guard case .frequencyFactors = gguf.rope!.scaling else { Issue.record("llama3: no frequency factors"); return }
            let ours = gguf.rope!.frequencies(sequenceLength: 1).inverse, theirs = expected.rope!.frequencies(sequenceLength: 1).inverse
            #expect(zip(ours, theirs).allSatisfy { abs($0 - $1) <= 1e-6 * $1 }, "\(ours) vs \(theirs)")
            expected.rope = gguf.rope
        }
        Self.llamaCppReading(family, &expected)
        #expect(gguf == expected, "\(family):\nGGUF \(gguf)\nHF   \(expected)")
    }

    @Test("llama.cpp's GGUF gives transformers' logits and greedy ids", arguments: lossless)
    func runs(_ family: String) throws {
        let model = try ModelLoader.load(path: Self.llamaCppGGUF(family), tokenizer: false)
        try FidelityTests.expectReference(family, Transformer(graph: model.graph, threads: 2, batch: 4), label: family + " (llama.cpp GGUF)")
        try FidelityTests.expectReference(family, Transformer(graph: model.graph, threads: 1), label: family + " (llama.cpp GGUF, one chunk)")
    }

    /// The `{arch}.*` keys of a GGUF.
    static func modelKeys(_ file: GGUFFile, _ arch: String) -> [String: MetadataValue] {
        Dictionary(file.metadata.entries.filter { $0.key.hasPrefix(arch + ".") }.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    static func values(_ file: GGUFFile, _ name: String) throws -> [Float] {
        try #require(try GGUFConfig.floatValues(in: file, named: name), "\(name) is not f32")
    }

    @Test("the GGUF WeightKit writes from the HF folder holds what llama.cpp's converter writes, and runs", arguments: converted)
    func writes(_ family: String) throws {
        let folder = fixture("models/\(family)")
        let temporary = TemporaryFolder()
        let report = try Converter.convert(input: folder, output: temporary.file("ours.gguf"))
        let ours = try GGUFFile(path: temporary.file("ours.gguf")), theirs = try GGUFFile(path: Self.llamaCppGGUF(family))
        let arch = try #require(theirs.metadata["general.architecture"]?.stringValue)
        #expect(ours.metadata["general.architecture"]?.stringValue == arch)
        let (mine, llamaCpp) = (Self.modelKeys(ours, arch), Self.modelKeys(theirs, arch))
        #expect(Set(mine.keys) == Set(llamaCpp.keys), "\(family): ours only \(Set(mine.keys).subtracting(llamaCpp.keys)), llama.cpp only \(Set(llamaCpp.keys).subtracting(mine.keys))")
        for (key, value) in llamaCpp {
            if case .float(let d) = value, case .float(let e)? = mine[key] {
                #expect(Float(d) == Float(e), "\(family) \(key): ours \(e), llama.cpp \(d)")
            } else {
                #expect(mine[key] == value, "\(family) \(key): ours \(mine[key].map { "\($0)" } ?? "absent"), llama.cpp \(value)")
            }
        }
        // llama.cpp reads tokenizer.ggml.merges only as strings, even when there are none.
        let merges = { (f: GGUFFile) -> GGUFValueType? in
            guard case .array(let element, _)? = f.typedMetadata.first(where: { $0.key == "tokenizer.ggml.merges" })?.value else { return nil }
            return element
        }
        #expect(merges(ours) == merges(theirs), "\(family): tokenizer.ggml.merges type")
        let shapes = { (f: GGUFFile) in Set(f.tensors.map { "\($0.name) \($0.shape.dims) \($0.dtype.shortName)" }) }
        #expect(shapes(ours) == shapes(theirs), "\(family): ours only \(shapes(ours).subtracting(shapes(theirs))), llama.cpp only \(shapes(theirs).subtracting(shapes(ours)))")
        for tensor in theirs.tensors where ours.tensor(named: tensor.name) != nil {
            let (a, b) = (try Self.values(ours, tensor.name), try Self.values(theirs, tensor.name))
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            // rope_freqs: f32 arithmetic in a different order than torch's (one ulp); weights: bit-equal.
            #expect(a.count == b.count && worst <= (tensor.name == "rope_freqs.weight" ? 1e-6 * (b.max() ?? 1) : 0), "\(family) \(tensor.name): max |Δ| \(worst)")
        }
        // What the GGUF cannot carry is said, and only then.
        let lossy = !Self.lossless.contains(family)
        #expect(report.warnings.contains { $0.message.hasPrefix("llama.cpp's GGUF cannot carry") } == lossy, "\(family): \(report.warnings.map(\.message))")
        if !lossy {
            let model = try ModelLoader.load(path: temporary.file("ours.gguf"), tokenizer: false)
            try FidelityTests.expectReference(family, Transformer(graph: model.graph, threads: 2, batch: 4), label: family + " (WeightKit GGUF)")
        }
    }

    @Test("the HF folder WeightKit writes from llama.cpp's GGUF runs with transformers' ids", arguments: lossless)
    func folder(_ family: String) throws {
        let temporary = TemporaryFolder()
        _ = try Converter.convert(input: Self.llamaCppGGUF(family), output: temporary.file("hf") + "/")
        let model = try ModelLoader.load(path: temporary.file("hf"), tokenizer: false)
        try FidelityTests.expectReference(family, Transformer(graph: model.graph, threads: 2, batch: 4), label: family + " (HF folder from GGUF)")
    }

    @Test("llama.cpp's rope_freqs is read back as Llama 3 scaling only when llama3's rule reproduces every factor")
    func llama3Recovered() throws {
        let file = try GGUFFile(path: fixture("models/llama3/llamacpp.gguf"))
        let factors = try Self.values(file, "rope_freqs.weight")
        let found = try #require(GGUFConfig.llama3Parameters(factors: factors, theta: 500_000, rotaryDim: 16))
        // The fixture's config.json: factor 8, low 1, high 4, original context 8.
        #expect(found.factor == 8 && found.low == 1 && found.high == 4 && found.originalContext == 8)
        var bent = factors
        bent[3] *= 0.9
        #expect(GGUFConfig.llama3Parameters(factors: bent, theta: 500_000, rotaryDim: 16) == nil)
    }

    /// What llama-simple printed on each llama.cpp GGUF (fixtures/models/llama_simple_compare.py):
    /// the prompt ids, the number of greedy tokens, and their bytes as printed.
    static func llamaSimple() throws -> [String: (prompt: [Int], tokens: Int, printed: [Int])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("models/llama_simple.json")))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return root.mapValues { ($0["prompt"] as! [Int], $0["tokens"] as! Int, $0["printed"] as! [Int]) }
    }

    /// Families whose 19-token prompt and 16 tokens fit the GGUF's context (llama-dynamic's is 16,
    /// which WeightKit keeps as the limit; llama.cpp runs past it).
    static let ranInLlamaCpp = converted.filter { $0 != "llama-dynamic" }

    @Test("llama.cpp's GGUF gives llama-simple's greedy text, lossy families included", arguments: ranInLlamaCpp)
    func matchesLlamaCpp(_ family: String) throws {
        let reference = try #require(try Self.llamaSimple()[family])
        let model = try ModelLoader.load(path: Self.llamaCppGGUF(family), tokenizer: false)
        var sampler = Sampler()
        let (ids, _) = try Generator(transformer: Transformer(graph: model.graph, threads: 2, batch: 4)).generate(
            prompt: reference.prompt, maxTokens: reference.tokens, sampler: &sampler, clock: { 0 }, onToken: { _ in true })
        // Byte tokenizer: id i is byte i; llama-simple prints with printf("%s"), so id 0 (NUL) never shows.
        #expect(ids.count == reference.tokens && ids.filter { $0 != 0 } == reference.printed, "\(family): \(ids)")
    }

    /// llama.cpp's own greedy ids on the reference prompts (fixtures/models/llamacpp-greedy.json,
    /// convert_llamacpp.py --greedy on wk18-fix).
    static func llamaCppGreedy() throws -> [String: [[Int]]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("models/llamacpp-greedy.json")))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        return root.mapValues { $0["greedy"] as! [[Int]] }
    }

    /// All but phi3 (llama.cpp takes the long factors whenever its context, 64, exceeds the original
    /// 16, even for short prompts; WeightKit, like transformers, by the sequence's length) and
    /// llama-dynamic (context 16, see `ranInLlamaCpp`).
    static let sameAsLlamaCppGreedy = converted.filter { $0 != "phi3" && $0 != "llama-dynamic" && $0 != "gpt-neox" }

    @Test("llama.cpp's GGUF gives llama.cpp's own greedy ids on the reference prompts", arguments: sameAsLlamaCppGreedy)
    func matchesLlamaCppGreedy(_ family: String) throws {
        let expected = try #require(try Self.llamaCppGreedy()[family])
        let model = try ModelLoader.load(path: Self.llamaCppGGUF(family), tokenizer: false)
        let transformer = Transformer(graph: model.graph, threads: 2, batch: 4)
        for (c, greedy) in zip(try FidelityTests.reference(family), expected) {
            transformer.reset()
            var sampler = Sampler()
            let (ids, _) = try Generator(transformer: transformer).generate(
                prompt: c.prompt, maxTokens: greedy.count, sampler: &sampler, clock: { 0 }, onToken: { _ in true })
            #expect(ids == greedy, "\(family) prompt \(c.prompt)")
        }
    }

    @Test("a mixture of experts quantized to Q8_0 GGUF: stacked experts quantized, router float, merges as strings, and it runs", arguments: ["mixtral", "qwen3-moe"])
    func quantizedExperts(_ family: String) throws {
        let temporary = TemporaryFolder()
        _ = try Quantizer.quantize(input: fixture("models/\(family)"), output: temporary.file("q8.gguf"), options: QuantizationOptions(policy: QuantPolicy(scheme: .q8_0)))
        let file = try GGUFFile(path: temporary.file("q8.gguf"))
        #expect(file.tensor(named: "blk.0.ffn_gate_inp.weight")?.dtype == .float32)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.dtype == .q8_0)
        #expect(file.tensor(named: "blk.0.ffn_gate_exps.weight")?.dtype == .q8_0)
        guard case .array(let element, _)? = file.typedMetadata.first(where: { $0.key == "tokenizer.ggml.merges" })?.value else {
            Issue.record("no tokenizer.ggml.merges")
            return
        }
        #expect(element == .string)
        let model = try ModelLoader.load(path: temporary.file("q8.gguf"), tokenizer: false)
        let logits = try Transformer(graph: model.graph, threads: 2).forward(try FidelityTests.reference(family)[0].prompt)
        let reference = try FidelityTests.reference(family)[0].logits
        let worst = zip(logits, reference).map { abs($0 - $1) }.max()!
        #expect(worst / reference.map(abs).max()! < 0.05, "\(family): Q8_0 logits off by \(worst)")
    }
}
