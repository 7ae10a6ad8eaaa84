import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// GGUF → .wkp keeps the model runnable: the pack (Hugging Face names and Q/K order, config,
/// tokenizer, chat template) runs as the GGUF runs. The references are llama.cpp's converter's
/// GGUFs of the model families (fixtures/models/convert_llamacpp.py) run straight from the GGUF.
@Suite("GGUF converted to a pack runs as the GGUF")
struct GGUFPackTests {
    /// Converts `gguf` to a pack in `dir`; returns its path.
    static func pack(_ gguf: String, in dir: TemporaryFolder, name: String = "model.wkp") throws -> String {
        let out = dir.file(name)
        let report = try Converter.convert(input: gguf, output: out)
        // Only metadata that is no string and not config (SmolLM2's general.languages array) may be left out.
        #expect(report.outputFormat == .wkp && report.warnings.allSatisfy { $0.kind == .metadataDropped }, "\(report.warnings)")
        return out
    }

    /// `count` greedy ids after `prompt`, and the prompt's logits.
    static func greedy(_ model: LoadedModel, _ prompt: [Int], count: Int, options: RuntimeOptions = RuntimeOptions(threads: 2)) throws
        -> (ids: [Int], logits: [Float])
    {
        let transformer = Transformer(graph: model.graph, maxSequence: prompt.count + count, options: options, batch: 4)
        let logits = try transformer.forward(prompt)
        transformer.reset()
        var sampler = Sampler()
        let ids = try Generator(transformer: transformer).generate(
            prompt: prompt, maxTokens: count, sampler: &sampler, clock: { 0 }, onToken: { _ in true }).tokens
        return (ids, logits)
    }

    @Test("greedy ids and logits of the pack equal the GGUF's, every family", arguments: GGUFFamilyTests.converted)
    func family(_ family: String) throws {
        let dir = TemporaryFolder()
        let gguf = GGUFFamilyTests.llamaCppGGUF(family)
        let packPath = try Self.pack(gguf, in: dir)
        let fromGGUF = try ModelLoader.load(path: gguf, tokenizer: false)
        let fromPack = try ModelLoader.load(path: packPath, tokenizer: false)
        #expect(fromPack.source is PackReader)
        // The pack holds Q/K in Hugging Face's order: it runs half-split RoPE where the GGUF runs interleaved.
        #expect(fromPack.graph.config.ropeLayout == .halfSplit)
        try Self.expectSameGreedy(fromGGUF, fromPack, family: family, count: 12)  // fewer in llama-dynamic's context of 16
    }

    /// Greedy ids of `a` and `b` (run with `options`) are equal on `family`'s reference prompts,
    /// `count` ids each (fewer where the context ends), the prompt's logits within 1e-5 of their scale.
    static func expectSameGreedy(
        _ a: LoadedModel, _ b: LoadedModel, family: String, count: Int, options: RuntimeOptions = RuntimeOptions(threads: 2)
    ) throws {
        for c in try FidelityTests.reference(family) {
            let n = min(count, a.graph.config.contextLength - c.prompt.count)
            let p = try greedy(a, c.prompt, count: n, options: options), q = try greedy(b, c.prompt, count: n, options: options)
            #expect(p.ids == q.ids, "\(family) prompt \(c.prompt)")
            let worst = zip(p.logits, q.logits).map { abs($0 - $1) }.max()!, scale = p.logits.map(abs).max()!
            #expect(worst <= 1e-5 * scale, "\(family): max |Δlogit| \(worst) of \(scale)")
        }
    }

    /// llama3's llama.cpp GGUF with a default chat template and a named one (`tool_use`) set.
    static func templatedGGUF(in dir: TemporaryFolder) throws -> (path: String, template: String) {
        let template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
        let gguf = dir.file("templated.gguf")
        _ = try MetadataEditor.edit(
            input: GGUFFamilyTests.llamaCppGGUF("llama3"), output: gguf,
            edit: MetadataEdit(sets: ["tokenizer.chat_template.tool_use=tools {{ tools }}"], chatTemplate: template))
        return (gguf, template)
    }

    @Test("the pack carries the tokenizer (BOS included) and the chat templates; pack → folder → GGUF gives them back")
    func tokenizerAndTemplate() throws {
        let dir = TemporaryFolder()
        let (gguf, template) = try Self.templatedGGUF(in: dir)
        let packPath = try Self.pack(gguf, in: dir)
        let original = try ModelLoader.load(path: gguf), packed = try ModelLoader.load(path: packPath)
        #expect(packed.chatTemplateText == template)
        let pack = try PackReader(path: packPath)
        #expect(pack.metadata["chat_template.tool_use"]?.stringValue == "tools {{ tools }}")
        let a = try #require(original.tokenizer), b = try #require(packed.tokenizer)
        for text in ["Hello world, the", " spaces  and\ttabs", "ünïcödé 🙂 漢字"] {
            #expect(a.encode(text) == b.encode(text), "\(text)")
        }
        #expect(a.bosTokenId != nil && a.bosTokenId == b.bosTokenId && a.eosTokenId == b.eosTokenId)

        let folder = dir.file("folder") + "/"
        _ = try Converter.convert(input: packPath, output: folder)
        let back = dir.file("back.gguf")
        _ = try Converter.convert(input: folder, output: back)
        let metadata = try GGUFFile(path: back).metadata
        #expect(metadata["tokenizer.chat_template"]?.stringValue == template)
    }

    @Test("a Gemma norm whose 1 + w does not survive w's f32 round trip is refused, naming the tensor")
    func gemmaNormRoundTrip() throws {
        let dir = TemporaryFolder()
        let gguf = dir.file("gemma.gguf")
        var bytes = try readBytes(GGUFFamilyTests.llamaCppGGUF("gemma"))
        let info = try #require(try GGUFFile(path: GGUFFamilyTests.llamaCppGGUF("gemma")).tensor(named: "blk.1.ffn_norm.weight"))
        #expect(info.dtype == .float32)
        // 1e-3 − 1 rounds to a multiple of 2^-24 in f32, so adding 1 back cannot give 1e-3.
        let offset = try #require(info.fileOffset) + 4 * 5
        withUnsafeBytes(of: Float(1e-3).bitPattern.littleEndian) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
        try writeBytes(bytes, to: gguf)
        #expect(throws: FormatError.self) { _ = try Converter.convert(input: gguf, output: dir.file("gemma.wkp")) }
        do {
            _ = try Converter.convert(input: gguf, output: dir.file("gemma.wkp"))
        } catch let error as FormatError {
            #expect(error.kind == .unsupported && error.tensorName == "blk.1.ffn_norm.weight" && error.message.contains("[5]"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("gemma.wkp")))
    }

    @Test("a folder's pack carries its tokenizer_config.json and chat template too, and runs --chat's inputs as the folder")
    func folderSideFiles() throws {
        let dir = TemporaryFolder()
        let folder = dir.file("llama3")
        try FileManager.default.copyItem(atPath: fixture("models/llama3"), toPath: folder)
        let template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}"
        try template.write(toFile: folder + "/chat_template.jinja", atomically: true, encoding: .utf8)
        // BOS/EOS and add_bos_token, which only tokenizer_config.json says (ā and Ă are ids 1 and 2 of the byte vocabulary).
        try #"{"bos_token": "ā", "eos_token": "Ă", "add_bos_token": true, "tokenizer_class": "PreTrainedTokenizerFast"}"#
            .write(toFile: folder + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        let packPath = dir.file("llama3.wkp")
        _ = try Converter.convert(input: folder, output: packPath)
        let a = try ModelLoader.load(path: folder), b = try ModelLoader.load(path: packPath)
        #expect(a.chatTemplateText == template && b.chatTemplateText == template)
        let x = try #require(a.tokenizer), y = try #require(b.tokenizer)
        #expect(x.encode("Hello world") == y.encode("Hello world") && x.bosTokenId == y.bosTokenId && x.eosTokenId == y.eosTokenId)
        #expect(x.bosTokenId != nil && x.eosTokenId != nil && x.encode("Hello world").first == x.bosTokenId)
        // And on to GGUF: the pack's tokenizer_config and template give the folder's tokenizer keys.
        let fromFolder = dir.file("folder.gguf"), fromPack = dir.file("pack.gguf")
        _ = try Converter.convert(input: folder, output: fromFolder)
        _ = try Converter.convert(input: packPath, output: fromPack)
        func tokenizerKeys(_ path: String) throws -> [String: MetadataValue] {
            Dictionary(uniqueKeysWithValues: try GGUFFile(path: path).metadata.entries.filter { $0.key.hasPrefix("tokenizer.") }.map { ($0.key, $0.value) })
        }
        let want = try tokenizerKeys(fromFolder), got = try tokenizerKeys(fromPack)
        #expect(want["tokenizer.chat_template"] == .string(template) && want["tokenizer.ggml.add_bos_token"] == .bool(true))
        #expect(Set(got.keys) == Set(want.keys), "\(Set(want.keys).symmetricDifference(got.keys))")
        for (key, value) in want where got[key] != value { Issue.record("\(key): pack → GGUF differs from folder → GGUF") }
    }

    @Test("a BERT GGUF's pack embeds as the GGUF: same pooling, tokens and vectors")
    func bert() throws {
        let dir = TemporaryFolder()
        let gguf = fixture("models/bert/llamacpp.gguf")
        let packPath = try Self.pack(gguf, in: dir)
        let a = try Embedder(path: gguf), b = try Embedder(path: packPath)
        #expect(a.settings.pooling == b.settings.pooling && a.settings.normalize == b.settings.normalize)
        let texts = ["hello world", "a cat sat on the mat", "ünïcödé"]
        #expect(texts.map { a.tokens($0).ids } == texts.map { b.tokens($0).ids })
        let x = try a.embed(texts), y = try b.embed(texts)
        #expect(x == y)
    }

    @Test("a GGUF of no architecture WeightKit runs converts as a plain tensor set, with a warning")
    func unknownArchitecture() throws {
        let dir = TemporaryFolder()
        let out = dir.file("tensors.wkp")
        let report = try Converter.convert(input: fixture("gguf/all_types.gguf"), output: out)
        #expect(report.warnings.first?.kind == .unknownArchitecture, "\(report.warnings)")
        #expect(try PackReader(path: out).config == nil)
    }
}

/// The real SmolLM2-135M-Instruct GGUF (Q4_1, Q8_0 and f32 tensors) converted to a pack.
@Suite("Real model: SmolLM2 GGUF → pack", .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2PackTests {
    @Test("the pack's tokens, greedy ids and chat template equal the GGUF's")
    func smolLM2() throws {
        let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"]!
        let dir = TemporaryFolder()
        let packPath = try GGUFPackTests.pack(gguf, in: dir)
        let original = try ModelLoader.load(path: gguf), packed = try ModelLoader.load(path: packPath)
        #expect(packed.chatTemplateText != nil && packed.chatTemplateText == original.chatTemplateText)
        let prompt = try #require(original.tokenizer).encode("The capital of France is")
        #expect(try #require(packed.tokenizer).encode("The capital of France is") == prompt)
        let a = try GGUFPackTests.greedy(original, prompt, count: 24), b = try GGUFPackTests.greedy(packed, prompt, count: 24)
        #expect(a.ids == b.ids)
        // Not bit-equal: q·k sums a head's elements in another order (half-split pairs against
        // interleaved ones), and 30 layers carry that rounding to the logits (measured 0.0054 of ~20).
        let worst = zip(a.logits, b.logits).map { abs($0 - $1) }.max()!
        #expect(worst <= 0.02, "max |Δlogit| \(worst)")
        #expect(try #require(packed.tokenizer).decode(b.ids).hasPrefix(" Paris."))
    }
}
