import Foundation
import Testing
@testable import WeightKit
import WeightKitTestSupport

/// `ImportanceComputation` (weightkit imatrix) against llama-imatrix's own files of the same
/// model, text and chunk size (fixtures/quant/imatrix/computed/generate.sh: an f32 KV cache, no
/// flash attention, so both sides compute in float): the same tensors, shapes, metadata and
/// counts, and sums within float tolerance.
@Suite("Importance matrix computed like llama-imatrix")
struct ImportanceComputationTests {
    static let text = fixture("quant/imatrix/calibration.txt")
    static let llama3 = fixture("models/llama3/llamacpp.gguf")

    /// A GGUF file's tensors in file order: name, shape, f32 values.
    static func tensors(_ path: String) throws -> [(name: String, shape: [Int], values: [Float])] {
        let file = try GGUFFile(path: path)
        return try file.tensors.map { t in
            #expect(t.dtype == .float32, "\(t.name)")
            let storage = try file.storage(of: t)
            let values = unsafe storage.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { unsafe Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            }
            return (t.name, t.shape.dims, values)
        }
    }

    /// Compares our file with llama-imatrix's: metadata, names, shapes and counts exactly; each
    /// sum within `elementTolerance` relative, each tensor within `normTolerance` (‖a − b‖/‖b‖).
    /// Returns the largest differences seen.
    @discardableResult
    static func compare(_ ours: String, _ reference: String, elementTolerance: Double, normTolerance: Double) throws -> (element: Double, norm: Double) {
        let a = try GGUFFile(path: ours), b = try GGUFFile(path: reference)
        for key in ["general.type", "imatrix.datasets", "imatrix.chunk_count", "imatrix.chunk_size"] {
            #expect(a.metadata[key] == b.metadata[key], "\(key)")
        }
        #expect(a.metadata.entries.map(\.0) == b.metadata.entries.map(\.0), "the same keys in the same order")
        // The same header bytes (keys, tensor infos, offsets) and the data padded to the end as
        // ggml pads it (its reader refuses a data section shorter than the padded sizes).
        let dataStart = try #require(b.tensors.first?.fileOffset)
        let oursBytes = try readBytes(ours), referenceBytes = try readBytes(reference)
        #expect(oursBytes.count == referenceBytes.count, "file size")
        #expect(oursBytes.prefix(dataStart) == referenceBytes.prefix(dataStart), "header bytes")
        let x = try tensors(ours), y = try tensors(reference)
        #expect(x.map(\.name) == y.map(\.name), "the same tensors in llama-imatrix's order")
        var worst = (element: 0.0, norm: 0.0)
        for (p, q) in zip(x, y) {
            #expect(p.shape == q.shape, "\(p.name)")
            guard p.values.count == q.values.count else { continue }
            if p.name.hasSuffix(".counts") {
                #expect(p.values == q.values, "\(p.name)")
                continue
            }
            var diff = 0.0, norm = 0.0
            for (u, v) in zip(p.values, q.values) {
                let d = Double(u) - Double(v)
                diff += d * d
                norm += Double(v) * Double(v)
                worst.element = max(worst.element, abs(d) / max(abs(Double(v)), 1e-30))
            }
            worst.norm = max(worst.norm, (diff / norm).squareRoot())
        }
        #expect(worst.element <= elementTolerance, "largest relative difference of a sum")
        #expect(worst.norm <= normTolerance, "largest norm-relative difference of a tensor")
        return worst
    }

    /// Computes `model`'s importance over the committed text into a temporary file.
    static func run(
        _ model: String, _ folder: TemporaryFolder, chunkSize: Int, chunks: Int?, processOutput: Bool = false,
        runtime: RuntimeOptions = RuntimeOptions(), name: String = "ours.gguf"
    ) throws -> (String, ImportanceReport) {
        let out = folder.file(name)
        let loaded = try ModelLoader.load(path: model)
        let options = ImportanceOptions(chunkSize: chunkSize, chunks: chunks, processOutput: processOutput, dataset: "calibration.txt", runtime: runtime)
        let report = try ImportanceComputation.computeFile(model: loaded, textPath: text, output: out, options: options)
        return (out, report)
    }

    @Test("tiny llama3 GGUF, 4 chunks of 32, --process-output: llama-imatrix's file within 1e-4 per sum")
    func llama3GGUF() throws {
        let folder = TemporaryFolder()
        let (out, report) = try Self.run(Self.llama3, folder, chunkSize: 32, chunks: 4, processOutput: true)
        #expect(report.chunks == 4 && report.chunkSize == 32 && report.tensors == 15 && !report.beginsWithBOS)
        #expect(report.textTokens == 2959)
        try Self.compare(out, fixture("quant/imatrix/computed/llama3-c32.gguf"), elementTolerance: 1e-4, normTolerance: 1e-5)
        // Read back as llama-quantize reads it: sums over counts.
        let matrix = try ImportanceMatrix.read(path: out)
        #expect(matrix.chunkCount == 4 && matrix.chunkSize == 32 && matrix.datasets == ["calibration.txt"])
        #expect(matrix.entries.count == 15 && matrix.entries["output.weight"]?.values.count == 64)
    }

    @Test("the same model from its Hugging Face folder (names and Q/K order as transformers keeps them) gives the same file")
    func llama3Folder() throws {
        let folder = TemporaryFolder()
        let (out, _) = try Self.run(fixture("models/llama3"), folder, chunkSize: 32, chunks: 4, processOutput: true)
        try Self.compare(out, fixture("quant/imatrix/computed/llama3-c32.gguf"), elementTolerance: 1e-4, normTolerance: 1e-5)
    }

    @Test("without --process-output output.weight is not collected; every chunk of the text when --chunks is not given")
    func noOutput() throws {
        let loaded = try ModelLoader.load(path: Self.llama3)
        let text = try String(contentsOfFile: Self.text, encoding: .utf8)
        let (sums, report) = try ImportanceComputation.compute(model: loaded, text: text, options: ImportanceOptions(chunkSize: 64))
        #expect(sums.entries["output.weight"] == nil && sums.entries.count == 14)
        #expect(report.chunks == 2959 / 64 && sums.chunkCount == report.chunks)
        #expect(sums.entries.values.allSatisfy { $0.count == report.chunks * 64 })
        #expect(sums.entries["blk.0.attn_q.weight"] == sums.entries["blk.0.attn_k.weight"], "Q and K see the same input")
    }

    @Test("chunks whose last ubatch llama-imatrix skips (5 of 105: 510 tokens collected, chunk count 4)")
    func skippedUbatch() throws {
        let folder = TemporaryFolder()
        let (out, report) = try Self.run(Self.llama3, folder, chunkSize: 105, chunks: 5)
        #expect(report.chunks == 5 && report.skippedTokens == 15)
        try Self.compare(out, fixture("quant/imatrix/computed/llama3-c105.gguf"), elementTolerance: 1e-4, normTolerance: 1e-5)
        #expect(ImportanceComputation.skippedTail(chunkSize: 52, chunksInBatch: 10) == 1)
        #expect(ImportanceComputation.skippedTail(chunkSize: 110, chunksInBatch: 5) == 0)
        #expect(ImportanceComputation.skippedTail(chunkSize: 128, chunksInBatch: 16) == 0)
        #expect(ImportanceComputation.skippedTail(chunkSize: 1030, chunksInBatch: 1) == 6)
        #expect(ImportanceComputation.skippedTail(chunkSize: 2048 + 520, chunksInBatch: 1) == 8)
    }

    @Test("mixture of experts (GGUF and Hugging Face folder): per-expert sums and routed-token counts as llama-imatrix's mul_mat_id",
          arguments: [("models/mixtral/llamacpp.gguf", "mixtral"), ("models/mixtral", "mixtral"), ("models/qwen3-moe/llamacpp.gguf", "qwen3-moe")])
    func experts(model: String, reference: String) throws {
        let folder = TemporaryFolder()
        let (out, report) = try Self.run(fixture(model), folder, chunkSize: 32, chunks: 4)
        #expect(report.tensors == 16)
        try Self.compare(out, fixture("quant/imatrix/computed/\(reference)-c32.gguf"), elementTolerance: 1e-4, normTolerance: 1e-5)
        let sums = try ImportanceMatrix.read(path: out)
        let experts = try #require(sums.entries["blk.0.ffn_down_exps.weight"])
        #expect(experts.matrices == 4 && experts.columns == 32)
        #expect(sums.entries["blk.0.ffn_gate_inp.weight"]?.matrices == 1)
    }

    @Test("mixture of experts with a skipped last ubatch: dense products not collected there, experts still are")
    func expertsSkippedUbatch() throws {
        // llama-imatrix ran on the mixtral fixture with a context of 128 (its own is 64).
        let folder = TemporaryFolder(), model = folder.file("mixtral-ctx128.gguf")
        let edit = try weightkit("edit", fixture("models/mixtral/llamacpp.gguf"), model, "--set", "llama.context_length=128", "-q")
        #expect(edit.status == 0, "\(edit.stderr)")
        let (out, report) = try Self.run(model, folder, chunkSize: 105, chunks: 5)
        #expect(report.chunks == 5 && report.skippedTokens == 15)
        try Self.compare(out, fixture("quant/imatrix/computed/mixtral-c105.gguf"), elementTolerance: 1e-4, normTolerance: 1e-5)
        let file = try GGUFFile(path: out)
        let dense = try file.storage(of: #require(file.tensor(named: "blk.0.attn_q.weight.counts"))).bytes
        let routed = try file.storage(of: #require(file.tensor(named: "blk.0.ffn_up_exps.weight.counts"))).bytes
        func floats(_ b: [UInt8]) -> [Float] { stride(from: 0, to: b.count, by: 4).map { Float(bitPattern: UInt32(b[$0]) | UInt32(b[$0 + 1]) << 8 | UInt32(b[$0 + 2]) << 16 | UInt32(b[$0 + 3]) << 24) } }
        #expect(floats(dense) == [510], "5 × 105 less the 15 skipped")
        #expect(floats(routed).reduce(0, +) == 2 * 525, "top 2 of every one of the 525 tokens")
    }

    @Test("an added BOS (tokenizer.ggml.add_bos_token) starts every chunk, as in llama-imatrix")
    func beginsWithBOS() throws {
        // llama-imatrix ran on the GGUF with add_bos_token = true; here the same GGUF's tokenizer
        // gains the BOS its vocabulary would then add.
        var loaded = try ModelLoader.load(path: Self.llama3)
        let base = try #require(loaded.tokenizer)
        #expect(base.bosTokenId == 1)
        loaded.tokenizer = AddingBOS(base: base)
        let folder = TemporaryFolder(), out = folder.file("ours.gguf")
        let options = ImportanceOptions(chunkSize: 32, chunks: 4, dataset: "calibration.txt")
        let report = try ImportanceComputation.computeFile(model: loaded, textPath: Self.text, output: out, options: options)
        #expect(report.beginsWithBOS && report.textTokens == 2960)
        try Self.compare(out, fixture("quant/imatrix/computed/llama3-bos-c32.gguf"), elementTolerance: 1e-4, normTolerance: 1e-5)
    }

    @Test("requests llama-imatrix refuses or that are not reproduced are refused by name")
    func refusals() throws {
        let loaded = try ModelLoader.load(path: Self.llama3)
        func message(_ text: String, _ options: ImportanceOptions) -> String {
            do {
                _ = try ImportanceComputation.compute(model: loaded, text: text, options: options)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let text = try String(contentsOfFile: Self.text, encoding: .utf8)
        #expect(message("", ImportanceOptions(chunkSize: 32)).contains("the text is empty"))
        // llama-imatrix: "you need at least 128 tokens for a context of 64 tokens".
        #expect(message(String(text.prefix(100)), ImportanceOptions(chunkSize: 64)).contains("tokenizes to 100 tokens; llama-imatrix needs at least 128"))
        #expect(message(text, ImportanceOptions(chunkSize: 8)).contains("at least 16"))
        #expect(message(text, ImportanceOptions(chunkSize: 256)).contains("exceeds the model's context of 128"))
        #expect(message(text, ImportanceOptions(chunkSize: 32, chunks: 0)).contains("at least 1"))
        for (model, words) in [("models/phi3/llamacpp.gguf", "blk.0.attn_qkv.weight, fused in GGUF"), ("models/bert", "encoder")] {
            let m = try ModelLoader.load(path: fixture(model))
            #expect(throws: ConversionError.self) { try ImportanceCollector.map(m.graph, processOutput: false) }
            do { _ = try ImportanceCollector.map(m.graph, processOutput: false) } catch { #expect("\(error)".contains(words), "\(model): \(error)") }
        }
    }

    @Test("squared inputs that overflow stop the run naming the weight, column and chunk")
    func nonFinite() throws {
        let info = TensorInfo(name: "model.layers.3.mlp.down_proj.weight", dtype: .float32, shape: Shape([2, 4]), byteCount: 32)
        let weight = Weight(info: info, storage: TensorStorage(buffer: AlignedBuffer(count: 32)))
        let collector = ImportanceCollector(map: [.init(runtime: info.name, gguf: "blk.3.ffn_down.weight", columns: 4)])
        let rows: [Float] = [1, 2, 3, 4, 0.5, -1, 2, 0]
        unsafe rows.withUnsafeBufferPointer { unsafe collector.multiplying([weight, weight], input: $0, rows: 2) }
        #expect(collector.sums[0] == [1.25, 5, 13, 16] && collector.counts[0] == [2], "one sum per column in token order, a weight listed twice counted once")
        #expect(collector.problem == nil)
        let big: [Float] = [0, 0, 2e19, 0]
        unsafe big.withUnsafeBufferPointer { unsafe collector.multiplying([weight], input: $0, rows: 1) }
        let problem = try #require(collector.problem)
        #expect(problem.name == "blk.3.ffn_down.weight" && problem.column == 2)
        let error = ImportanceComputation.nonFinite(problem, chunk: 2, 128)
        #expect(error.kind == .nonFinite && error.message.contains("blk.3.ffn_down.weight") && error.message.contains("chunk 3 (tokens 256..<384)"))
    }
}

/// A tokenizer that adds its BOS in front, as a GGUF vocabulary with `add_bos_token` does.
struct AddingBOS: Tokenizer {
    let base: any Tokenizer
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        let ids = base.encode(text, addSpecialTokens: addSpecialTokens)
        return addSpecialTokens ? [base.bosTokenId!] + ids : ids
    }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { base.decode(ids, skipSpecialTokens: skipSpecialTokens) }
    func token(for id: Int) -> String? { base.token(for: id) }
    func id(for token: String) -> Int? { base.id(for: token) }
    var vocabularySize: Int { base.vocabularySize }
    var bosTokenId: Int? { base.bosTokenId }
    var eosTokenId: Int? { base.eosTokenId }
    func isSpecial(_ id: Int) -> Bool { base.isSpecial(id) }
}

/// SmolLM2-135M-Instruct's real Q4_1 GGUF (WEIGHTKIT_SMOLLM2_GGUF): every one of its 210 block
/// matrices against llama-imatrix on the F32 GGUF of the same weight values (generate.sh says
/// why not the Q4_1 file: llama.cpp rounds activations to 8 bits for its Q4_1 products).
@Suite("Real model: SmolLM2 importance matrix", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2ImportanceTests {
    @Test("5 chunks of 128 tokens: llama-imatrix's sums within 1e-3 per element, 1e-4 per tensor")
    func againstLlamaImatrix() throws {
        let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"]!
        let folder = TemporaryFolder()
        let reference = fixture("quant/imatrix/computed/smollm2-c128.gguf")
        // Float activations: every product in f32 on any CPU, like the reference run.
        let (out, report) = try ImportanceComputationTests.run(gguf, folder, chunkSize: 128, chunks: nil, runtime: RuntimeOptions(quantizedActivations: .float32))
        #expect(report.chunks == 5 && report.tensors == 210 && !report.beginsWithBOS)
        let worst = try ImportanceComputationTests.compare(out, reference, elementTolerance: 1e-3, normTolerance: 1e-4)
        print("SmolLM2 imatrix (f32 activations) vs llama-imatrix: max relative \(worst.element), max norm-relative \(worst.norm)")
        // The default: on a CPU with AVX-512 VNNI, prefill rounds each activation to 16 bits per
        // block of 32 (relative to the block's largest), which moves the sums of columns that stay
        // near zero (measured: 5.7% on one element, 2.8e-4 per tensor); elsewhere it is the f32 run.
        let (defaults, _) = try ImportanceComputationTests.run(gguf, folder, chunkSize: 128, chunks: nil, name: "defaults.gguf")
        let loose = try ImportanceComputationTests.compare(defaults, reference, elementTolerance: 0.1, normTolerance: 1e-3)
        print("SmolLM2 imatrix (default activations) vs llama-imatrix: max relative \(loose.element), max norm-relative \(loose.norm)")
        // Without --parse-special llama-imatrix reads special-token text as characters; ours would not.
        let loaded = try ModelLoader.load(path: gguf)
        do {
            _ = try ImportanceComputation.compute(model: loaded, text: "<|im_start|>user\n" + String(repeating: "text ", count: 400), options: ImportanceOptions(chunkSize: 128))
            Issue.record("special-token text was accepted")
        } catch {
            #expect("\(error)".contains("the special token \"<|im_start|>\""), "\(error)")
        }
    }
}

/// llama-imatrix's file with its default settings (f16 KV cache; WEIGHTKIT_KQUANT_PURE, made by
/// scripts/lib/deps.sh from the Jargon File excerpt, 8 chunks of 128): its half-precision keys
/// and values move the sums by up to 0.3% per element (0.03% per tensor), which bounds the tolerance here.
@Suite("Real model: SmolLM2 importance matrix against llama-imatrix's defaults", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"] != nil))
struct SmolLM2DefaultImportanceTests {
    @Test("the Jargon File excerpt, 8 chunks of 128: within 1% per element, 0.1% per tensor")
    func againstDefaults() throws {
        let dir = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"]!
        let text = fixture("text/jargon-file-4.4.7-excerpt.txt")
        let folder = TemporaryFolder()
        let out = folder.file("ours.gguf")
        let loaded = try ModelLoader.load(path: "\(dir)/smollm2-f32.gguf")
        let reference = "\(dir)/smollm2.imatrix.gguf"
        let recorded = try GGUFFile(path: reference).metadata["imatrix.datasets"]
        guard case .array(let names)? = recorded, let name = names.first?.stringValue else { Issue.record("no dataset in \(reference)"); return }
        let options = ImportanceOptions(chunkSize: 128, chunks: 8, dataset: name)
        _ = try ImportanceComputation.computeFile(model: loaded, textPath: text, output: out, options: options)
        let worst = try ImportanceComputationTests.compare(out, reference, elementTolerance: 1e-2, normTolerance: 1e-3)
        print("SmolLM2 imatrix vs llama-imatrix defaults: max relative \(worst.element), max norm-relative \(worst.norm)")
    }
}
