import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// llama.cpp's `llama-quantize` binary when Benchmarks/llama-cpp/build.sh has built it (CI has none).
let llamaQuantize: String? = {
    let root = FileManager.default.homeDirectoryForCurrentUser.path + "/.cache/weightkit"
    let dirs = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
    return dirs.filter { $0.hasPrefix("llama.cpp-src-") }.sorted().map { "\(root)/\($0)/build/bin/llama-quantize" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}()

/// `weightkit quantize --type MIX`: llama-quantize's per-tensor types (fixtures/quant/mixes), its
/// general.file_type, and the bytes. On the tiny fixture models (hidden 64, no row a whole
/// 256-block) the K types fall back to Q8_0, Q5_0, Q5_1 and Q4_0 as llama-quantize's rules say.
@Suite("weightkit quantize --type MIX")
struct QuantizeMixCLITests {
    static let llama3 = fixture("models/llama3/llamacpp.gguf")

    /// Prints `name type` per tensor and the file type, and checks each block tensor's bytes
    /// against gguf.quants.quantize of the f32 input (Q8_0 and Q4_0 are the reference encoders
    /// llama-quantize uses without an importance matrix).
    static let check = """
        import sys, numpy as np, gguf
        from gguf import GGMLQuantizationType as T
        q = gguf.GGUFReader(sys.argv[1]); f = {t.name: t for t in gguf.GGUFReader(sys.argv[2]).tensors}
        print("file_type", int(q.fields["general.file_type"].contents()))
        for t in q.tensors:
            x = np.asarray(f[t.name].data, dtype=np.float32).reshape([int(d) for d in reversed(f[t.name].shape)])
            if t.tensor_type in (T.Q8_0, T.Q4_0):
                assert np.asarray(t.data).tobytes() == gguf.quants.quantize(x, t.tensor_type).tobytes(), t.name
            print(t.name, t.tensor_type.name.lower())
        """

    /// The fixture's llama-quantize types for `model` under `mix`.
    static func expectedTypes(model: String, mix: String) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("quant/mixes/mixes.json")))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let m = (root["models"] as! [String: [String: Any]])[model]!
        let names = (m["tensors"] as! [[Any]]).map { $0[0] as! String }
        let types = (m["mixes"] as! [String: [String]])[mix]!
        return Dictionary(uniqueKeysWithValues: zip(names, types.map { $0.lowercased() }))
    }

    static func parse(_ out: String) -> (fileType: Int?, types: [String: String]) {
        var fileType: Int?, types: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 2 else { continue }
            if parts[0] == "file_type" { fileType = Int(parts[1]) } else { types[parts[0]] = parts[1] }
        }
        return (fileType, types)
    }

    @Test("GGUF → .gguf: llama-quantize's type for every tensor, its file_type, gguf.quants' bytes",
          arguments: [("q6_k", 18), ("q3_k_s", 11), ("q2_k", 10)])
    func fallbackMixes(mix: String, fileType: Int) throws {
        let tmp = TemporaryFolder()
        let out = tmp.file("\(mix).gguf")
        let result = try weightkit("quantize", Self.llama3, out, "--type", mix, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let checked = Self.parse(try python(Self.check, [out, Self.llama3]))
        #expect(checked.fileType == fileType)
        #expect(checked.types == (try Self.expectedTypes(model: "llama3", mix: mix.uppercased())))
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let rows = json["tensors"] as! [[String: Any]]
        let v = try #require(rows.first { $0["name"] as? String == "blk.0.attn_v.weight" })
        #expect((v["reason"] as? String)?.contains("fallback") == true)
        #expect((v["cosine"] as? Double ?? 0) > 0.9)
    }

    /// llama-quantize's own files, committed (fixtures/quant/mixes/files/generate.sh), so CI
    /// checks whole-file identity without a llama.cpp build.
    @Test("byte for byte llama-quantize's committed files: Q4_K_M, Q3_K_M and Q4_K_M --imatrix on llama3 and mixtral",
          arguments: ["llama3", "mixtral"])
    func committedFiles(family: String) throws {
        let input = "fixtures/models/\(family)/llamacpp.gguf"
        for (name, extra) in [("q4_k_m", [String]()), ("q3_k_m", []), ("q4_k_m-imatrix", ["--imatrix", "fixtures/quant/imatrix/\(family).imatrix.gguf"])] {
            let tmp = TemporaryFolder()
            let ours = tmp.file("ours.gguf")
            let mix = name.hasPrefix("q4_k_m") ? "q4_k_m" : name
            let result = try weightkit(["quantize", input, ours, "--type", mix] + extra)
            #expect(result.status == 0, "\(family) \(name): \(result.stderr)")
            let a = try readBytes(ours), b = try readBytes(fixture("quant/mixes/files/\(family)-\(name).gguf"))
            #expect(a == b, "\(family) \(name): \(a.count) vs \(b.count) bytes, first difference at \(zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count))")
        }
    }

    @Test("byte for byte the file llama-quantize writes, for every tiny family",
          .enabled(if: llamaQuantize != nil, "llama-quantize is not built"),
          arguments: ["q6_k", "q3_k_s", "q2_k"])
    func sameFileAsLlamaQuantize(mix: String) throws {
        for family in ["llama3", "qwen3", "gemma2", "gemma3", "mixtral", "qwen3-moe", "phi3", "olmo2", "stablelm", "granite"] {
            let tmp = TemporaryFolder()
            let input = fixture("models/\(family)/llamacpp.gguf"), ours = tmp.file("ours.gguf"), theirs = tmp.file("theirs.gguf")
            let result = try weightkit("quantize", input, ours, "--type", mix)
            #expect(result.status == 0, "\(family): \(result.stderr)")
            let ref = try run(llamaQuantize!, [input, theirs, mix.uppercased(), "1"])
            #expect(ref.status == 0, "\(ref.stderr)")
            let a = try readBytes(ours), b = try readBytes(theirs)
            #expect(a == b, "\(family) \(mix): \(a.count) vs \(b.count) bytes, first difference at \(zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count))")
        }
    }

    @Test("every other mix: byte for byte llama-quantize's file (needs the K-quant encoders)",
          .enabled(if: llamaQuantize != nil, "llama-quantize is not built"),
          arguments: ["q2_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q5_0", "q5_1"])
    func sameFileAsLlamaQuantizeAfterEncoders(mix: String) throws {
        let imatrix = fixture("quant/imatrix/llama3.imatrix.gguf")
        for family in ["llama3", "qwen3", "gemma2", "mixtral", "phi3"] {
            let tmp = TemporaryFolder()
            let input = fixture("models/\(family)/llamacpp.gguf"), ours = tmp.file("ours.gguf"), theirs = tmp.file("theirs.gguf")
            // Q2_K_S needs an importance matrix; the llama3 one has no entries for other families' names.
            let extra = mix == "q2_k_s" ? ["--imatrix", imatrix] : []
            if mix == "q2_k_s", family != "llama3" { continue }
            let result = try weightkit(["quantize", input, ours, "--type", mix] + extra)
            #expect(result.status == 0, "\(family): \(result.stderr)")
            let ref = try run(llamaQuantize!, extra + [input, theirs, mix.uppercased(), "1"])
            #expect(ref.status == 0, "\(ref.stderr)")
            #expect(try readBytes(ours) == (try readBytes(theirs)), "\(family) \(mix)")
        }
    }

    @Test("--imatrix (GGUF and legacy .dat; dense and per-expert): byte for byte llama-quantize --imatrix (needs the encoders)",
          .enabled(if: llamaQuantize != nil, "llama-quantize is not built"),
          arguments: ["q4_k_m", "q3_k_s", "q5_0", "q5_1", "q2_k_s"])
    func sameFileWithImportance(mix: String) throws {
        for family in ["llama3", "mixtral"] {
            for format in ["gguf", "dat"] {
                let tmp = TemporaryFolder()
                let input = fixture("models/\(family)/llamacpp.gguf"), imatrix = fixture("quant/imatrix/\(family).imatrix.\(format)")
                let ours = tmp.file("ours.gguf"), theirs = tmp.file("theirs.gguf")
                let result = try weightkit("quantize", input, ours, "--type", mix, "--imatrix", imatrix)
                #expect(result.status == 0, "\(family) \(format): \(result.stderr)")
                let ref = try run(llamaQuantize!, ["--imatrix", imatrix, input, theirs, mix.uppercased(), "1"])
                #expect(ref.status == 0, "\(ref.stderr)")
                #expect(try readBytes(ours) == (try readBytes(theirs)), "\(family) \(format) \(mix)")
            }
        }
    }

    @Test("with --imatrix: the same file as llama-quantize --imatrix, quantize.imatrix.* keys included",
          .enabled(if: llamaQuantize != nil, "llama-quantize is not built"))
    func sameAsLlamaQuantizeWithImportance() throws {
        let tmp = TemporaryFolder()
        let ours = tmp.file("ours.gguf"), theirs = tmp.file("theirs.gguf")
        let imatrix = fixture("quant/imatrix/llama3.imatrix.gguf")
        let result = try weightkit("quantize", Self.llama3, ours, "--type", "q6_k", "--imatrix", imatrix)
        #expect(result.status == 0, "\(result.stderr)")
        let ref = try run(llamaQuantize!, ["--imatrix", imatrix, Self.llama3, theirs, "Q6_K", "1"])
        #expect(ref.status == 0, "\(ref.stderr)")
        let compare = """
            import sys, numpy as np, gguf
            a = gguf.GGUFReader(sys.argv[1]); b = gguf.GGUFReader(sys.argv[2])
            ta = {t.name: t for t in a.tensors}
            for t in b.tensors:
                assert ta[t.name].tensor_type == t.tensor_type and np.asarray(ta[t.name].data).tobytes() == np.asarray(t.data).tobytes(), t.name
            keys = [k for k in b.fields if k.startswith("quantize.") or k in ("general.file_type", "general.quantization_version")]
            for k in keys:
                assert k in a.fields, k
                assert a.fields[k].contents() == b.fields[k].contents(), (k, a.fields[k].contents(), b.fields[k].contents())
                assert a.fields[k].types == b.fields[k].types, (k, a.fields[k].types, b.fields[k].types)
            print(len(keys))
            """
        #expect(try python(compare, [ours, theirs]).trimmingCharacters(in: .whitespacesAndNewlines) == "6")
        #expect(try readBytes(ours) == (try readBytes(theirs)), "the whole file, header included")
    }

    @Test("Hugging Face folder → .wkp: HF names get the types of their GGUF tensors")
    func folderToPack() throws {
        let tmp = TemporaryFolder()
        let out = tmp.file("q6.wkp")
        let result = try weightkit("quantize", fixture("models/llama3"), out, "--type", "q6_k", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let rows = Dictionary(uniqueKeysWithValues: (json["tensors"] as! [[String: Any]]).map { ($0["name"] as! String, $0["to"] as! String) })
        #expect(rows["model.layers.0.self_attn.v_proj.weight"] == "q8_0")
        #expect(rows["model.layers.0.input_layernorm.weight"] == "f32")
    }

    @Test("Q4_K_M: every tensor gets llama-quantize's type (needs the K-quant encoders)")
    func q4KM() throws {
        let tmp = TemporaryFolder()
        let out = tmp.file("q4km.gguf")
        let result = try weightkit("quantize", Self.llama3, out, "--type", "q4_k_m")
        #expect(result.status == 0, "\(result.stderr)")
        let listed = """
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            print("file_type", int(r.fields["general.file_type"].contents()))
            for t in r.tensors: print(t.name, t.tensor_type.name.lower())
            """
        let checked = Self.parse(try python(listed, [out]))
        #expect(checked.fileType == 15)
        #expect(checked.types == (try Self.expectedTypes(model: "llama3", mix: "Q4_K_M")))
    }

    @Test("--imatrix: Q8_0 ignores it as ggml does; Q4_0 is encoded with it")
    func importance() throws {
        let tmp = TemporaryFolder()
        let plain = tmp.file("plain.gguf"), weighted = tmp.file("weighted.gguf")
        let imatrix = fixture("quant/imatrix/llama3.imatrix.gguf")
        #expect(try weightkit("quantize", Self.llama3, plain, "--type", "q6_k").status == 0)
        let result = try weightkit("quantize", Self.llama3, weighted, "--type", "q6_k", "--imatrix", imatrix)
        #expect(result.status == 0, "\(result.stderr)")
        let tensorsEqual = """
            import sys, numpy as np, gguf
            a = gguf.GGUFReader(sys.argv[1]); b = gguf.GGUFReader(sys.argv[2])
            assert all(np.asarray(x.data).tobytes() == np.asarray(y.data).tobytes() for x, y in zip(a.tensors, b.tensors))
            print(int(b.fields["quantize.imatrix.entries_count"].contents()))
            """
        #expect(Int(try python(tensorsEqual, [plain, weighted]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 > 0)
        let q4 = try weightkit("quantize", Self.llama3, tmp.file("q3.gguf"), "--type", "q3_k_s", "--imatrix", imatrix)
        // Q4_0 is encoded with the importance (byte identity with llama-quantize is tested above).
        #expect(q4.status == 0, "\(q4.stderr)")
    }

    @Test("a lone safetensors file has no architecture for the rules: a clear error; --keep with a mix is a usage error")
    func refusals() throws {
        let tmp = TemporaryFolder()
        let st = try weightkit("quantize", fixture("models/llama3/model.safetensors"), tmp.file("o.wkp"), "--type", "q6_k")
        #expect(st.status != 0)
        #expect(st.stderr.contains("needs GGUF tensor names"), "\(st.stderr)")
        let keep = try weightkit("quantize", Self.llama3, tmp.file("o.gguf"), "--type", "q4_k_m", "--keep", "*")
        #expect(keep.status == 64)
    }
}

/// `quantize --dry-run`: the plan alone, so every mix's types are checked end to end through the
/// CLI (GGUF input and a Hugging Face folder's HF names) even before the K-quant encoders exist.
@Suite("weightkit quantize --type MIX --dry-run")
struct QuantizeMixDryRunTests {
    static func plan(_ input: String, _ mix: String, _ extra: [String] = [], output: String = "never.gguf") throws -> [String: String] {
        let tmp = TemporaryFolder()
        let result = try weightkit(["quantize", input, tmp.file(output), "--type", mix, "--dry-run", "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.file(output)))
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let rows = json["tensors"] as! [[String: Any]]
        // Every row planned by the mix's rules (a reason), not by the q8_0/q4_0/q4_1 policy.
        #expect(rows.allSatisfy { $0["reason"] is String }, "\(mix): a row without a mix reason")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as! String, $0["to"] as! String) })
    }

    @Test("GGUF input: llama-quantize's type for every tensor, every mix",
          arguments: ["q2_k", "q2_k_s", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k", "q5_0", "q5_1"])
    func everyMix(mix: String) throws {
        for model in ["llama3", "mixtral", "phi3"] {
            let extra = mix == "q2_k_s" ? ["--imatrix", fixture("quant/imatrix/\(model == "mixtral" ? "mixtral" : "llama3").imatrix.gguf")] : []
            let got = try Self.plan(fixture("models/\(model)/llamacpp.gguf"), mix, extra)
            let want = try QuantizeMixCLITests.expectedTypes(model: model, mix: mix.uppercased())
            #expect(got == want, "\(model) \(mix)")
        }
    }

    @Test("Hugging Face Mixtral folder → .wkp: each expert matrix (HF names) gets its stacked GGUF tensor's type; → .gguf the GGUF names get the fixture's")
    func folderExperts() throws {
        #expect(try Self.plan(fixture("models/mixtral"), "q4_k_m") == (try QuantizeMixCLITests.expectedTypes(model: "mixtral", mix: "Q4_K_M")))
        let got = try Self.plan(fixture("models/mixtral"), "q4_k_m", output: "never.wkp")
        let want = try QuantizeMixCLITests.expectedTypes(model: "mixtral", mix: "Q4_K_M")
        #expect(got["model.layers.1.block_sparse_moe.experts.3.w2.weight"] == want["blk.1.ffn_down_exps.weight"])
        #expect(got["model.layers.0.self_attn.v_proj.weight"] == want["blk.0.attn_v.weight"])
        #expect(got["model.layers.0.block_sparse_moe.gate.weight"] == "f32")
    }
}

/// SmolLM2-135M-Instruct's real Q4_1 GGUF (WEIGHTKIT_SMOLLM2_GGUF, set by scripts/test.sh): its
/// blocks are decoded to f32 first, and every mix plans the types llama-quantize chose for the
/// F32 GGUF of the same model (fixtures/quant/mixes, 30 layers, 576 columns: the fallbacks).
@Suite("Real model: SmolLM2 mixes", .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2MixTests {
    @Test("every mix's dry run gives llama-quantize's type for each of the 272 tensors",
          arguments: ["q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k", "q5_0", "q5_1"])
    func dryRun(mix: String) throws {
        let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"]!
        let got = try QuantizeMixDryRunTests.plan(gguf, mix)
        #expect(got.count == 272)
        #expect(got == (try QuantizeMixCLITests.expectedTypes(model: "smollm2", mix: mix.uppercased())))
    }
}

/// SmolLM2-135M F32 and llama-quantize's own Q4_K_M … files of it (WEIGHTKIT_KQUANT_MODELS, made by
/// scripts/lib/deps.sh make_kquant_models): the issue's acceptance, the same file byte for byte.
@Suite("Real model: SmolLM2 mixes against llama-quantize's files", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_MODELS"] != nil))
struct SmolLM2MixFileTests {
    @Test("weightkit quantize smollm2-f32.gguf --type MIX writes llama-quantize's smollm2-MIX.gguf",
          arguments: ["q4_k_m", "q4_k_s", "q5_k_m", "q6_k", "q3_k_m", "q2_k", "q5_0", "q5_1"])
    func sameFile(mix: String) throws {
        let dir = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_MODELS"]!
        let reference = "\(dir)/smollm2-\(mix).gguf"
        try #require(FileManager.default.fileExists(atPath: reference), "\(reference) is missing: scripts/test.sh makes it with llama-quantize")
        let tmp = TemporaryFolder()
        let ours = tmp.file("ours.gguf")
        let result = try weightkit("quantize", "\(dir)/smollm2-f32.gguf", ours, "--type", mix)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try readBytes(ours) == (try readBytes(reference)), "\(mix)")
    }
}
