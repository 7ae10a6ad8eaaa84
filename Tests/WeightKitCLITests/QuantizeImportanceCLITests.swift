import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `weightkit quantize IN OUT --type q4_0|q4_1|q8_0 --imatrix F`: the plain types with an
/// importance matrix, against what `llama-quantize --pure --token-embedding-type q8_0
/// --output-tensor-type q8_0 --imatrix F IN OUT TYPE` writes (fixtures/quant/imatrix/legacy,
/// generate.sh), tensor by tensor. Tensor and key order differ (llama-quantize writes its own
/// order for any type; WeightKit keeps the input's for the plain types), so whole files are not
/// compared; the quantize.imatrix.* keys are.
@Suite("weightkit quantize --type q4_0|q4_1|q8_0 --imatrix")
struct QuantizeImportanceCLITests {
    /// Every tensor's type and bytes in `ours` against `theirs`: the names that differ (empty
    /// when all are equal).
    static func differences(_ ours: String, _ theirs: String) throws -> [String] {
        let a = try FormatRegistry.open(path: ours), b = try FormatRegistry.open(path: theirs)
        var bad: [String] = []
        #expect(Set(a.tensors.map(\.name)) == Set(b.tensors.map(\.name)))
        for t in b.tensors {
            guard let mine = a.tensor(named: t.name) else { bad.append("\(t.name): missing"); continue }
            if mine.dtype != t.dtype {
                bad.append("\(t.name): \(mine.dtype.shortName) vs \(t.dtype.shortName)")
            } else if try a.storage(of: mine).bytes != (try b.storage(of: t).bytes) {
                bad.append("\(t.name): bytes")
            }
        }
        return bad
    }

    static func metadata(_ path: String, _ key: String) throws -> String? {
        (try FormatRegistry.open(path: path).metadata[key]).map { "\($0)" }
    }

    @Test("GGUF → .gguf: every tensor as llama-quantize --pure --imatrix writes it (dense, and per expert)",
          arguments: ["llama3", "mixtral"], ["q4_0", "q4_1"])
    func committed(family: String, type: String) throws {
        let tmp = TemporaryFolder()
        let ours = tmp.file("ours.gguf"), plain = tmp.file("plain.gguf")
        let input = "fixtures/models/\(family)/llamacpp.gguf", imatrix = "fixtures/quant/imatrix/\(family).imatrix.gguf"
        let reference = fixture("quant/imatrix/legacy/\(family)-\(type).gguf")
        let result = try weightkit("quantize", input, ours, "--type", type, "--imatrix", imatrix)
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try Self.differences(ours, reference)
        #expect(bad.isEmpty, "\(family) \(type): \(bad.prefix(5))")
        for key in ["quantize.imatrix.file", "quantize.imatrix.dataset", "quantize.imatrix.entries_count", "quantize.imatrix.chunks_count", "general.file_type"] {
            #expect(try Self.metadata(ours, key) == (try Self.metadata(reference, key)), "\(key)")
        }
        // The importance matters: without it the weight matrices differ from the reference (all
        // but the Q8_0 token embedding and output).
        #expect(try weightkit("quantize", input, plain, "--type", type).status == 0)
        let without = try Self.differences(plain, reference)
        #expect(without.count == 14, "\(without)")
    }

    @Test("Hugging Face folder → .gguf: the folder's tensors get the entries of their GGUF names (Mixtral's experts one row each)")
    func folder() throws {
        let tmp = TemporaryFolder()
        let ours = tmp.file("ours.gguf")
        let result = try weightkit(
            "quantize", fixture("models/mixtral"), ours, "--type", "q4_1", "--imatrix", fixture("quant/imatrix/mixtral.imatrix.gguf"))
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try Self.differences(ours, fixture("quant/imatrix/legacy/mixtral-q4_1.gguf"))
        #expect(bad.isEmpty, "\(bad.prefix(5))")
    }

    @Test("Hugging Face folder → .wkp: each expert matrix is quantized with its row of the stacked entry")
    func folderToPack() throws {
        let tmp = TemporaryFolder()
        let pack = tmp.file("ours.wkp")
        let result = try weightkit(
            "quantize", fixture("models/mixtral"), pack, "--type", "q4_1", "--imatrix", fixture("quant/imatrix/mixtral.imatrix.gguf"))
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try FormatRegistry.open(path: pack), theirs = try FormatRegistry.open(path: fixture("quant/imatrix/legacy/mixtral-q4_1.gguf"))
        // Expert 2 of layer 1's w1 is matrix 2 of blk.1.ffn_gate_exps, quantized with row 2 of its entry.
        let expert = try #require(ours.tensor(named: "model.layers.1.block_sparse_moe.experts.2.w1.weight"))
        let stacked = try #require(theirs.tensor(named: "blk.1.ffn_gate_exps.weight"))
        let bytes = try ours.storage(of: expert).bytes, all = try theirs.storage(of: stacked).bytes
        #expect(expert.dtype == .q4_1 && bytes.count * 4 == all.count)
        #expect(bytes == Array(all[(2 * bytes.count)..<(3 * bytes.count)]))
    }

    @Test("Q8_0 ignores the importance matrix, as ggml's quantize_q8_0 does, and says so")
    func q8Ignores() throws {
        let tmp = TemporaryFolder()
        let input = fixture("models/llama3/llamacpp.gguf")
        let weighted = try weightkit("quantize", input, tmp.file("w.gguf"), "--type", "q8_0", "--imatrix", fixture("quant/imatrix/llama3.imatrix.gguf"))
        #expect(weighted.status == 0, "\(weighted.stderr)")
        #expect(weighted.stderr.contains("Q8_0 does not use an importance matrix"), "\(weighted.stderr)")
        #expect(try weightkit("quantize", input, tmp.file("p.gguf"), "--type", "q8_0").status == 0)
        #expect(try Self.differences(tmp.file("w.gguf"), tmp.file("p.gguf")).isEmpty)
    }

    @Test("an entry whose size is not the tensor's columns is refused, naming the tensor; a lone safetensors file has no GGUF names")
    func refusals() throws {
        let tmp = TemporaryFolder()
        // llama3's entries are 64 or 96 wide; a one-entry matrix of 32 values for attn_q.
        let bad = ImportanceMatrix(format: .gguf, entries: ["blk.0.attn_q.weight": .init(values: .init(repeating: 1, count: 32), matrices: 1)])
        var options = QuantizationOptions(policy: QuantPolicy(scheme: .q4_0))
        options.importance = bad
        #expect {
            _ = try Quantizer.quantize(input: fixture("models/llama3/llamacpp.gguf"), output: tmp.file("o.gguf"), options: options)
        } throws: { error in
            let e = error as? FormatError
            return e?.kind == .sizeMismatch && e?.tensorName == "blk.0.attn_q.weight" && "\(error)".contains("expected 64")
        }
        #expect(!FileManager.default.fileExists(atPath: tmp.file("o.gguf")))
        // GPT-2's Conv1D stores [in, out]: in a .wkp its (square) c_proj is quantized along rows
        // that are the GGUF tensor's outputs, so attn_output's entry cannot weigh them.
        let gpt2 = ImportanceMatrix(format: .gguf, entries: ["blk.0.attn_output.weight": .init(values: .init(repeating: 1, count: 64), matrices: 1)])
        var transposed = QuantizationOptions(policy: QuantPolicy(scheme: .q4_0))
        transposed.importance = gpt2
        // The fixture's config leaves n_inner null (4 × n_embd), which the GGUF mapping needs given.
        let folder = tmp.file("gpt2")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("models/gpt2/model.safetensors"), toPath: folder + "/model.safetensors")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture("models/gpt2/config.json")))) as! [String: Any]
        config["n_inner"] = 256
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: folder + "/config.json"))
        #expect {
            _ = try Quantizer.quantize(input: folder, output: tmp.file("g.wkp"), options: transposed)
        } throws: { error in
            (error as? FormatError)?.kind == .unsupported && (error as? FormatError)?.tensorName == "transformer.h.0.attn.c_proj.weight"
                && "\(error)".contains("transposed")
        }
        let st = try weightkit(
            "quantize", fixture("models/llama3/model.safetensors"), tmp.file("o.wkp"), "--type", "q4_0", "--imatrix",
            fixture("quant/imatrix/llama3.imatrix.gguf"))
        #expect(st.status != 0)
        #expect(st.stderr.contains("an importance matrix needs GGUF tensor names"), "\(st.stderr)")
    }
}

/// SmolLM2-135M's F32 GGUF with llama-imatrix's importance matrix (WEIGHTKIT_KQUANT_PURE, made by
/// scripts/lib/deps.sh make_kquant_pure_models): `weightkit quantize --type T --imatrix` against
/// `llama-quantize --pure --token-embedding-type q8_0 --output-tensor-type q8_0 --imatrix`, every
/// tensor.
@Suite("Real model: SmolLM2 plain types with --imatrix against llama-quantize", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"] != nil))
struct SmolLM2ImportanceFileTests {
    @Test("every tensor's type and bytes", arguments: ["q4_0", "q4_1", "q8_0", "iq4_nl"])
    func sameTensors(type: String) throws {
        let dir = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"]!
        let reference = "\(dir)/smollm2-pure-imatrix-embq8-\(type).gguf"
        try #require(FileManager.default.fileExists(atPath: reference), "\(reference) is missing: scripts/test.sh makes it with llama-quantize")
        let tmp = TemporaryFolder()
        let ours = tmp.file("ours.gguf")
        let result = try weightkit("quantize", "\(dir)/smollm2-f32.gguf", ours, "--type", type, "--imatrix", "\(dir)/smollm2.imatrix.gguf")
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try QuantizeImportanceCLITests.differences(ours, reference)
        #expect(bad.isEmpty, "\(type): \(bad.count) differ: \(bad.prefix(5))")
    }

    /// SmolLM2's only rows of whole 256-value super-blocks are ffn_down's (1536 columns); the
    /// references quantize them to IQ4_XS and the rest to Q4_0 (`llama-quantize --tensor-type
    /// ffn_down=iq4_xs … Q4_0`, scripts/lib/deps.sh), so ffn_down is compared, and everything
    /// else is kept in float on our side to save the time.
    @Test("IQ4_XS: every ffn_down as llama-quantize writes it, without and with the importance matrix", arguments: [false, true])
    func iq4xs(importance: Bool) throws {
        let dir = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"]!
        let reference = "\(dir)/smollm2-\(importance ? "imatrix-" : "")iq4_xs.gguf"
        try #require(FileManager.default.fileExists(atPath: reference), "\(reference) is missing: scripts/test.sh makes it with llama-quantize")
        let tmp = TemporaryFolder()
        let ours = tmp.file("ours.gguf")
        var arguments = ["quantize", "\(dir)/smollm2-f32.gguf", ours, "--type", "iq4_xs", "--embeddings", "keep",
                         "--keep", "blk.*.attn_*", "--keep", "blk.*.ffn_gate.*", "--keep", "blk.*.ffn_up.*"]
        if importance { arguments += ["--imatrix", "\(dir)/smollm2.imatrix.gguf"] }
        let result = try weightkit(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let a = try FormatRegistry.open(path: ours), b = try FormatRegistry.open(path: reference)
        let downs = b.tensors.filter { $0.name.hasSuffix("ffn_down.weight") }
        #expect(downs.count == 30 && downs.allSatisfy { $0.dtype == .iq4_XS })
        for t in downs {
            let mine = try #require(a.tensor(named: t.name))
            let same = try a.storage(of: mine).bytes == b.storage(of: t).bytes
            #expect(mine.dtype == .iq4_XS && same, "\(t.name)")
        }
        #expect(try GGUFFile(path: ours).value("general.file_type") == .uint32(30), "LLAMA_FTYPE_MOSTLY_IQ4_XS")
    }
}
