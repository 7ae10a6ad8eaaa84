import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// safetensors → wkp → safetensors is bit-identical; the pack itself matches the source.
@Suite("Pack round trips")
struct PackRoundTripTests {
    /// Writes a safetensors file with the reference library: every dtype numpy has, odd shapes,
    /// a scalar, an empty tensor, a compressible and an incompressible tensor, and metadata.
    static func referenceSafetensors(at path: String) throws {
        let script = """
            import sys, numpy as np
            from safetensors.numpy import save_file
            rng = np.random.default_rng(7)
            t = {"model.layers.0.self_attn.q_proj.weight": rng.standard_normal((48, 40)).astype(np.float32),
                 "model.layers.0.mlp.up_proj.weight": rng.standard_normal((40, 24)).astype(np.float16),
                 "model.norm.weight": np.ones(40, np.float32),
                 "zeros": np.zeros((256, 16), np.float64),
                 "scalar": np.array(-1.25, np.float32), "empty": np.zeros((0, 7), np.float32),
                 "flags": np.array([True, False, True]), "ids": np.arange(-5, 5, dtype=np.int64),
                 "noise": rng.integers(0, 256, size=(64, 64), dtype=np.uint8)}
            for d in ["uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64"]:
                t["t_" + d] = (rng.integers(0, 100, size=(3, 5))).astype(d)
            # One metadata key: the Rust writer emits __metadata__ in HashMap order, so a file
            # with several keys has no reproducible byte layout.
            save_file(t, sys.argv[1], metadata={"source": "test ✓"})
            """
        _ = try python(script, [path])
    }

    @Test("safetensors → wkp → safetensors is byte-identical, raw and compressed", arguments: [false, true])
    func safetensorsRoundTrip(compress: Bool) throws {
        let folder = TemporaryFolder()
        let original = folder.file("in.safetensors")
        try Self.referenceSafetensors(at: original)
        let pack = folder.file("mid.wkp")
        let back = folder.file("out.safetensors")
        let report = try PackTestSupport.convert(original, to: pack, format: .wkp, options: WriteOptions(compress: compress))
        #expect(report.droppedMetadata.isEmpty)
        try PackTestSupport.convert(pack, to: back, format: .safetensors)
        #expect(try readBytes(back) == readBytes(original))

        let source = try SafetensorsFile(path: original)
        let reader = try PackReader(path: pack, verifyOnLoad: true)
        #expect(reader.metadata == source.metadata)
        #expect(reader.tensors.map(\.name) == source.tensors.map(\.name))
        #expect(reader.verify().isEmpty)
        if compress {
            #expect(reader.entry(named: "zeros")?.section.encoding == .deflate)
            #expect(reader.entry(named: "noise")?.section.encoding == .raw)  // random bytes do not shrink
            #expect(try fileSize(pack) < fileSize(original))
        } else {
            #expect(reader.header.tensors.allSatisfy { $0.section.encoding == .raw && $0.section.offset % 64 == 0 })
        }
        // The reference library reads the round-tripped file as the original.
        let check = """
            import sys, numpy as np
            from safetensors.numpy import load_file
            a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
            assert a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)
            print("ok")
            """
        #expect(try python(check, [original, back]) == "ok\n")
    }

    @Test("a Hugging Face folder's config.json and tokenizer.json travel in the pack and back out")
    func configAndTokenizer() throws {
        let folder = TemporaryFolder()
        let model = folder.file("model")
        try SafetensorsWriter.makeFolder(model)
        try Self.referenceSafetensors(at: model + "/model.safetensors")
        let configText = "{\"model_type\": \"llama\", \"hidden_size\": 40, \"rms_norm_eps\": 1e-05, \"architectures\": [\"LlamaForCausalLM\"]}"
        let tokenizerText = "{\"version\":\"1.0\",\"added_tokens\":[],\"model\":{\"type\":\"BPE\",\"vocab\":{\"Ġthe\":0,\"日本\":1},\"merges\":[]}}\n"
        try writeBytes(Array(configText.utf8), to: model + "/config.json")
        try writeBytes(Array(tokenizerText.utf8), to: model + "/tokenizer.json")

        let hf = try HuggingFaceFolder(path: model)
        var options = WriteOptions()
        options.config = hf.config
        options.tokenizerJSON = tokenizerText
        let payloads = try hf.tensors.tensors.map { try TensorPayload(source: hf.tensors, input: $0) }
        let pack = folder.file("model.wkp")
        _ = try FormatRegistry.write(payloads, metadata: hf.tensors.metadata, to: pack, format: .wkp, options: options)

        let reader = try PackReader(path: pack)
        #expect(reader.config == hf.config)
        #expect(reader.config?["rms_norm_eps"] == .double(1e-05))
        #expect(try reader.tokenizerJSON() == tokenizerText)
        #expect(reader.header.producer == PackWriter.producer)
        let script = """
            import sys, json; sys.path.insert(0, sys.argv[1]); from read_wkp import read_wkp
            p = read_wkp(sys.argv[2])
            assert p["config"] == json.load(open(sys.argv[3])), p["config"]
            assert p["tokenizer"] == open(sys.argv[4], encoding="utf-8").read()
            print("ok")
            """
        #expect(try python(script, [fixture("pack"), pack, model + "/config.json", model + "/tokenizer.json"]) == "ok\n")
    }

    @Test("the writer refuses what a pack cannot hold, before creating the file")
    func writerRefusals() throws {
        let folder = TemporaryFolder()
        let source = try PackReader(path: fixture("pack/tiny.wkp"))
        let w = try #require(source.tensor(named: "model.norm.weight"))
        let twice = [try TensorPayload(source: source, input: w), try TensorPayload(source: source, input: w)]
        let out = folder.file("x.wkp")
        #expect { try PackWriter.write(twice, metadata: Metadata(), to: out) } throws: { ($0 as? FormatError)?.kind == .duplicateName }
        let long = [try TensorPayload(source: source, input: w, name: String(repeating: "x", count: 1025))]
        #expect { try PackWriter.write(long, metadata: Metadata(), to: out) } throws: { ($0 as? FormatError)?.kind == .limitExceeded }
        #expect(FormatDetector.kind(of: out) == .missing)
        let typed = try PackWriter.write([], metadata: { var m = Metadata(); m["n"] = .int(3); m["s"] = .string("x"); return m }(), to: out)
        #expect(typed.droppedMetadata == ["n"])
        #expect(try PackReader(path: out).metadata == Metadata(strings: [("s", "x")]))
        #expect(try fileSize(out) % 64 == 0)  // no sections: the file ends at the data start
    }

    func fileSize(_ path: String) throws -> Int { try readBytes(path).count }
}
