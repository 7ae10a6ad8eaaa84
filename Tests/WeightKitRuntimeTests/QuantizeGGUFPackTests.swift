import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `Quantizer.quantize` into a .wkp writes the pack `Converter.convert` writes: a GGUF model's
/// quantized tensors in Hugging Face names and Q/K order with its config, tokenizer and chat
/// templates; a folder's tokenizer_config.json and chat template. The references are the same
/// quantization written as a .gguf (blocks byte-identical to llama-quantize's, tested elsewhere)
/// and that .gguf converted to a pack by `convert`'s GGUF → pack path (GGUFPackTests).
@Suite("quantize into a pack writes what convert writes")
struct QuantizeGGUFPackTests {
    /// Options for `type`: a block type as the CLI's policy, or a llama-quantize mix.
    static func options(_ type: String) -> QuantizationOptions {
        if let mix = QuantMix(name: type) {  // a mix name wins, as in the CLI
            return QuantizationOptions(mix: mix, threads: 2)
        }
        return QuantizationOptions(policy: QuantPolicy(scheme: QuantScheme(rawValue: type)!), threads: 2)
    }

    /// Every tensor of pack `a` equals pack `b`'s (name, dtype, shape, bytes), and so do the
    /// config, tokenizer.json and metadata.
    static func expectSamePack(_ a: String, _ b: String, _ label: String) throws {
        let x = try PackReader(path: a), y = try PackReader(path: b)
        #expect(x.tensors.map(\.name).sorted() == y.tensors.map(\.name).sorted(), "\(label)")
        for t in y.tensors {
            let mine = try #require(x.tensor(named: t.name), "\(label): \(t.name) missing")
            #expect(mine.dtype == t.dtype && mine.shape == t.shape, "\(label) \(t.name): \(mine.dtype) \(mine.shape) vs \(t.dtype) \(t.shape)")
            #expect(try x.storage(of: mine).bytes == y.storage(of: t).bytes, "\(label) \(t.name)")
        }
        #expect(x.config != nil && x.config == y.config, "\(label)")
        #expect(try x.tokenizerJSON() == y.tokenizerJSON(), "\(label)")
        #expect(x.metadata == y.metadata, "\(label): \(x.metadata.entries.map(\.0)) vs \(y.metadata.entries.map(\.0))")
    }

    /// Greedy ids of `a` and `b` are equal on `family`'s reference prompts, logits within 1e-5 of
    /// their scale; blocks multiplied with f32 activations: the default int16 rounding of
    /// activations could turn the last-bit differences of the two RoPE layouts' arithmetic into
    /// larger ones.
    static func expectSameGreedy(_ a: String, _ b: String, family: String) throws {
        let x = try ModelLoader.load(path: a, tokenizer: false), y = try ModelLoader.load(path: b, tokenizer: false)
        try GGUFPackTests.expectSameGreedy(x, y, family: family, count: 8, options: RuntimeOptions(threads: 2, quantizedActivations: .float32))
    }

    @Test(
        "GGUF → quantize → .wkp: convert's pack of the quantized .gguf, tensor for tensor, and its greedy ids",
        arguments: ["llama3", "mixtral", "gemma", "gpt-neox", "qwen3"], ["q8_0", "q4_1", "iq4_nl", "q4_k_m"])
    func gguf(family: String, type: String) throws {
        let dir = TemporaryFolder()
        let gguf = GGUFFamilyTests.llamaCppGGUF(family)
        let quantizedGGUF = dir.file("q.gguf"), direct = dir.file("q.wkp"), converted = dir.file("c.wkp")
        _ = try Quantizer.quantize(input: gguf, output: quantizedGGUF, options: Self.options(type))
        let report = try Quantizer.quantize(input: gguf, output: direct, options: Self.options(type))
        #expect(report.warnings.allSatisfy { $0.kind == .metadataDropped }, "\(report.warnings)")
        _ = try Converter.convert(input: quantizedGGUF, output: converted)
        try Self.expectSamePack(direct, converted, "\(family) \(type)")
        // The report names the pack's tensors and keeps each one's quantization error.
        let pack = try PackReader(path: direct)
        #expect(report.rows.map(\.name) == pack.tensors.map(\.name))
        #expect(report.rows.filter { $0.to.isQuantized }.allSatisfy { $0.stats != nil })
        // Q/K stay blocks (in Hugging Face's row order), not decoded.
        let q = try #require(pack.tensor(named: "model.layers.0.self_attn.q_proj.weight") ?? pack.tensor(named: "gpt_neox.layers.0.attention.query_key_value.weight"))
        #expect(q.dtype.isQuantized, "\(q.name) is \(q.dtype)")
        // The dry run lists what quantize writes.
        let plan = try Quantizer.dryRun(input: gguf, output: dir.file("dry.wkp"), options: Self.options(type))
        #expect(plan.rows.map(\.name) == report.rows.map(\.name) && plan.rows.map(\.to) == report.rows.map(\.to))
        #expect(plan.rows.map(\.bytesAfter) == report.rows.map(\.bytesAfter) && plan.bytesBefore == report.bytesBefore)
        try Self.expectSameGreedy(direct, quantizedGGUF, family: family)
    }

    @Test("GGUF → quantize --embeddings f16 --keep GLOB → .wkp: the casts and kept tensors land on their Hugging Face names")
    func casts() throws {
        let dir = TemporaryFolder()
        let gguf = GGUFFamilyTests.llamaCppGGUF("llama3")
        let options = QuantizationOptions(policy: QuantPolicy(scheme: .q4_0, keep: ["blk.1.ffn_*"], embeddings: .f16), threads: 2)
        let quantizedGGUF = dir.file("q.gguf"), direct = dir.file("q.wkp"), converted = dir.file("c.wkp")
        _ = try Quantizer.quantize(input: gguf, output: quantizedGGUF, options: options)
        _ = try Quantizer.quantize(input: gguf, output: direct, options: options)
        _ = try Converter.convert(input: quantizedGGUF, output: converted)
        try Self.expectSamePack(direct, converted, "llama3 q4_0 f16 embeddings")
        let pack = try PackReader(path: direct)
        #expect(pack.tensor(named: "model.embed_tokens.weight")?.dtype == .float16)
        #expect(pack.tensor(named: "model.layers.1.mlp.down_proj.weight")?.dtype == .float32)
        #expect(pack.tensor(named: "model.layers.0.mlp.down_proj.weight")?.dtype == .q4_0)
    }

    @Test("GGUF → quantize --imatrix → .wkp: the blocks of the .gguf written with the importance matrix", arguments: ["q4_1", "q4_k_m"])
    func importance(type: String) throws {
        let dir = TemporaryFolder()
        let gguf = GGUFFamilyTests.llamaCppGGUF("mixtral"), path = fixture("quant/imatrix/mixtral.imatrix.gguf")
        var options = Self.options(type)
        options.importance = try ImportanceMatrix.read(path: path)
        options.importancePath = path
        let quantizedGGUF = dir.file("q.gguf"), direct = dir.file("q.wkp"), converted = dir.file("c.wkp"), plain = dir.file("p.wkp")
        _ = try Quantizer.quantize(input: gguf, output: quantizedGGUF, options: options)
        _ = try Quantizer.quantize(input: gguf, output: direct, options: options)
        _ = try Quantizer.quantize(input: gguf, output: plain, options: Self.options(type))
        _ = try Converter.convert(input: quantizedGGUF, output: converted)
        let x = try PackReader(path: direct), y = try PackReader(path: converted), z = try PackReader(path: plain)
        #expect(x.tensors.map(\.name).sorted() == y.tensors.map(\.name).sorted())
        var changed = 0  // tensors the importance matrix changed: the test sees it
        for t in y.tensors {
            let mine = try #require(x.tensor(named: t.name))
            let bytes = try x.storage(of: mine).bytes
            let reference = try y.storage(of: t).bytes
            #expect(mine.dtype == t.dtype && bytes == reference, "\(t.name)")
            if let other = z.tensor(named: t.name), try z.storage(of: other).bytes != bytes { changed += 1 }
        }
        #expect(changed > 0)
    }

    @Test("GGUF → quantize → .wkp carries the chat templates and the tokenizer (BOS included)")
    func chatTemplate() throws {
        let dir = TemporaryFolder()
        let (gguf, template) = try GGUFPackTests.templatedGGUF(in: dir)
        let out = dir.file("q.wkp")
        _ = try Quantizer.quantize(input: gguf, output: out, options: Self.options("q4_0"))
        let original = try ModelLoader.load(path: gguf), packed = try ModelLoader.load(path: out)
        #expect(packed.chatTemplateText == template)
        #expect(try PackReader(path: out).metadata["chat_template.tool_use"]?.stringValue == "tools {{ tools }}")
        let a = try #require(original.tokenizer), b = try #require(packed.tokenizer)
        for text in ["Hello world, the", "ünïcödé 🙂 漢字"] { #expect(a.encode(text) == b.encode(text), "\(text)") }
        #expect(a.bosTokenId != nil && a.bosTokenId == b.bosTokenId && a.eosTokenId == b.eosTokenId)
    }

    @Test("folder → quantize → .wkp carries tokenizer_config.json and the chat template, and runs as the folder's .gguf", arguments: ["q4_0", "q4_k_m"])
    func folder(type: String) throws {
        let dir = TemporaryFolder()
        let folder = dir.file("llama3")
        try FileManager.default.copyItem(atPath: fixture("models/llama3"), toPath: folder)
        try FileManager.default.removeItem(atPath: folder + "/llamacpp.gguf")
        let template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}"
        try template.write(toFile: folder + "/chat_template.jinja", atomically: true, encoding: .utf8)
        // BOS/EOS and add_bos_token, which only tokenizer_config.json says (ā and Ă are ids 1 and 2 of the byte vocabulary).
        let tokenizerConfig = #"{"bos_token": "ā", "eos_token": "Ă", "add_bos_token": true, "tokenizer_class": "PreTrainedTokenizerFast"}"#
        try tokenizerConfig.write(toFile: folder + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        let pack = dir.file("q.wkp"), gguf = dir.file("q.gguf"), converted = dir.file("c.wkp")
        _ = try Quantizer.quantize(input: folder, output: pack, options: Self.options(type))
        _ = try Quantizer.quantize(input: folder, output: gguf, options: Self.options(type))
        let metadata = try PackReader(path: pack).metadata
        #expect(metadata["tokenizer_config"]?.stringValue == tokenizerConfig)
        let a = try ModelLoader.load(path: folder), b = try ModelLoader.load(path: pack)
        #expect(b.chatTemplateText == template)
        let x = try #require(a.tokenizer), y = try #require(b.tokenizer)
        #expect(x.encode("Hello world") == y.encode("Hello world") && x.bosTokenId == y.bosTokenId && x.eosTokenId == y.eosTokenId)
        #expect(y.bosTokenId != nil && y.eosTokenId != nil && y.encode("Hello world").first == y.bosTokenId)
        // The blocks are those of the folder's .gguf, Q/K rows back in Hugging Face's order.
        _ = try Converter.convert(input: gguf, output: converted)
        let p = try PackReader(path: pack), c = try PackReader(path: converted)
        for t in p.tensors {
            let other = try #require(c.tensor(named: t.name), "\(t.name)")
            let same = try p.storage(of: t).bytes == c.storage(of: other).bytes
            #expect(t.dtype == other.dtype && same, "\(type) \(t.name)")
        }
        #expect(p.tensors.contains { $0.name == "model.layers.0.self_attn.k_proj.weight" && $0.dtype.isQuantized })
        try Self.expectSameGreedy(pack, gguf, family: "llama3")
    }

    @Test("a GGUF of no architecture WeightKit runs quantizes into a plain tensor set, with a warning")
    func unknownArchitecture() throws {
        let dir = TemporaryFolder()
        let out = dir.file("tensors.wkp")
        let report = try Quantizer.quantize(input: fixture("gguf/all_types.gguf"), output: out, options: Self.options("q8_0"))
        #expect(report.warnings.first?.kind == .unknownArchitecture, "\(report.warnings)")
        let pack = try PackReader(path: out)
        #expect(pack.config == nil && pack.tensors.contains { $0.dtype == .q8_0 })
    }

    @Test("GPT-2's Conv1D weights cannot keep GGUF-row blocks in a pack: refused naming the tensor, nothing written")
    func transposed() throws {
        let dir = TemporaryFolder()
        let gguf = dir.file("gpt2.gguf"), out = dir.file("gpt2.wkp"), folder = dir.file("gpt2")
        try FileManager.default.copyItem(atPath: fixture("models/gpt2"), toPath: folder)
        // The fixture's config.json has GPT-2's own "n_inner": null, which means 4 × n_embd.
        _ = try Converter.convert(input: folder, output: gguf)
        let header = try GGUFFile(path: gguf)
        #expect(header.metadata["gpt2.feed_forward_length"] == .uint(UInt64(4 * 64)), "\(String(describing: header.metadata["gpt2.feed_forward_length"]))")
        let runs: [(String, String, QuantizationOptions) throws -> QuantizationReport] = [
            Quantizer.quantize(input:output:options:), Quantizer.dryRun(input:output:options:),
        ]
        for run in runs {
            do {
                _ = try run(gguf, out, Self.options("q8_0"))
                Issue.record("a GPT-2 GGUF quantized into a pack")
            } catch let error as FormatError {
                #expect(error.kind == .unsupported && error.tensorName?.hasPrefix("blk.") == true && error.message.contains("transposed"), "\(error)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
