import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// The built `weightkit` binary on packs: validate's report and exit code, convert to and from
/// `.wkp` with a Hugging Face folder's config and tokenizer.
@Suite("Pack CLI")
struct PackCLITests {
    static let tiny = fixture("pack/tiny.wkp")

    @Test("validate passes a sound pack with exit 0")
    func validateSound() throws {
        let result = try run(weightkitBinary, ["validate", Self.tiny])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(": OK (wkp, 8 tensors") || result.stdout.contains(": OK with warnings (wkp, 8 tensors"))
    }

    @Test("validate lists every damaged tensor by name and exits 65, as text and JSON")
    func validateDamaged() throws {
        var bytes = try readBytes(Self.tiny)
        let pack = try PackReader(path: Self.tiny)
        for name in ["mask", "logit_scale"] { bytes[try #require(pack.entry(named: name)).section.offset] ^= 1 }
        let folder = TemporaryFolder()
        let path = folder.file("bad.wkp")
        try writeBytes(bytes, to: path)
        let text = try run(weightkitBinary, ["validate", path])
        #expect(text.status == 65)
        #expect(text.stdout.contains("DAMAGED (wkp, 8 tensors") && text.stdout.contains("; 2 errors"))
        #expect(text.stdout.contains("tensor \"mask\": CRC-32"))
        #expect(text.stdout.contains("tensor \"logit_scale\": CRC-32"))
        let json = try run(weightkitBinary, ["validate", path, "--json"])
        #expect(json.status == 65)
        let report = try #require(try JSON.parse(json.stdout).object)
        #expect(report["ok"] == .bool(false))
        let errors = report["findings"]?.array?.filter { $0.object?["severity"] == "error" }
        #expect(errors?.compactMap { $0.object?["tensor"]?.string } == ["mask", "logit_scale"])
        #expect(errors?.first?.object?["kind"] == "checksumMismatch")
    }

    @Test("validate reports a damaged header or a truncated pack with exit 65, a missing file with 66")
    func validateHeaderAndMissing() throws {
        let bytes = try readBytes(Self.tiny)
        let folder = TemporaryFolder()
        try writeBytes(Array(bytes.prefix(bytes.count - 1)), to: folder.file("short.wkp"))
        var header = bytes
        header[40] ^= 0x20
        try writeBytes(header, to: folder.file("header.wkp"))
        let short = try run(weightkitBinary, ["validate", folder.file("short.wkp")])
        #expect(short.status == 65)
        #expect(short.stdout.contains("error [structure]: truncated"))
        let damaged = try run(weightkitBinary, ["validate", folder.file("header.wkp")])
        #expect(damaged.status == 65)
        #expect(damaged.stdout.contains("header CRC-32"))
        #expect(try run(weightkitBinary, ["validate", folder.file("missing.wkp")]).status == 66)
    }

    @Test("convert carries an HF folder's config and tokenizer into a pack and back out to a folder")
    func convertFolderThroughPack() throws {
        let folder = TemporaryFolder()
        let model = folder.file("model")
        try SafetensorsWriter.makeFolder(model)
        _ = try python("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            save_file({"w": np.arange(64, dtype=np.float32).reshape(8, 8), "b": np.zeros(8, np.float32)}, sys.argv[1])
            """, [model + "/model.safetensors"])
        let config = "{\"model_type\":\"llama\",\"hidden_size\":8,\"torch_dtype\":\"float32\"}"
        let tokenizer = "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"[UNK]\":0,\"ü\":1}}}"
        try writeBytes(Array(config.utf8), to: model + "/config.json")
        try writeBytes(Array(tokenizer.utf8), to: model + "/tokenizer.json")

        let pack = folder.file("model.wkp")
        let toPack = try run(weightkitBinary, ["convert", model, pack, "--compress"])
        #expect(toPack.status == 0, "\(toPack.stderr)")
        let reader = try PackReader(path: pack)
        #expect(reader.config?["model_type"] == "llama")
        #expect(try reader.tokenizerJSON() == tokenizer)
        #expect(reader.entry(named: "b")?.section.encoding == .deflate)
        let inspect = try run(weightkitBinary, ["inspect", pack])
        #expect(inspect.stdout.contains("model_type") && inspect.stdout.contains("llama"))

        let back = folder.file("back") + "/"
        let toFolder = try run(weightkitBinary, ["convert", pack, back])
        #expect(toFolder.status == 0, "\(toFolder.stderr)")
        #expect(try readBytes(back + "model.safetensors") == readBytes(model + "/model.safetensors"))
        #expect(try readBytes(back + "tokenizer.json") == Array(tokenizer.utf8))
        #expect(try HuggingFaceFolder.readJSONObject(back + "config.json") == HuggingFaceFolder.readJSONObject(model + "/config.json"))

        let cast = folder.file("half.wkp")
        #expect(try run(weightkitBinary, ["convert", model, cast, "--dtype", "f16"]).status == 0)
        #expect(try PackReader(path: cast).config?["torch_dtype"] == "float16")
    }
}
