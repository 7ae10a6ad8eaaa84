import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Packs written independently of WeightKit (Python, from docs/FORMAT.md) read by us, and packs
/// we write read by an independent Python reader (fixtures/pack/read_wkp.py).
@Suite("Pack fixtures")
struct PackFixtureTests {
    static let tiny = fixture("pack/tiny.wkp")
    static let reader = fixture("pack/read_wkp.py")

    /// tiny.expected.json, parsed.
    static func expected() throws -> JSONObject {
        let bytes = try readBytes(fixture("pack/tiny.expected.json"))
        return try #require(try bytes.withUnsafeBytes { try JSON.parse($0) }.object)
    }

    @Test("a pack written by the Python generator reads back with the expected tensors, config, metadata and tokenizer")
    func readsPythonWrittenPack() throws {
        let pack = try PackReader(path: Self.tiny)
        let expected = try Self.expected()
        let wanted = try #require(expected["tensors"]?.array)
        #expect(pack.tensors.map(\.name) == wanted.compactMap { $0.object?["name"]?.string })
        for item in wanted {
            let object = try #require(item.object)
            let name = try #require(object["name"]?.string)
            let info = try #require(pack.tensor(named: name))
            #expect(info.dtype.shortName == object["dtype"]?.string)
            #expect(info.shape.dims == object["shape"]?.array?.compactMap(\.int))
            let storage = try pack.storage(of: info)
            #expect(PackTestSupport.hex(storage.bytes) == object["hex"]?.string, "bytes of \(name)")
            #expect(pack.entry(named: name)?.section.encoding.rawValue == object["encoding"]?.string)
            // Raw tensors are views into the mapping, 64-byte aligned; deflated ones are inflated.
            #expect(storage.isMapped == (object["encoding"]?.string == "raw"))
            #expect((info.fileOffset ?? 1) % 64 == 0)
        }
        #expect(pack.config.map { JSONValue.object($0) } == expected["config"])
        #expect(pack.metadata == Metadata(strings: [("source", "generate.py"), ("note", "tiny pack")]))
        #expect(try pack.tokenizerJSON() == expected["tokenizer"]?.string)
        #expect(pack.header.producer == "fixtures/pack/generate.py")
        #expect(pack.verify().isEmpty)
    }

    @Test("the independent Python reader reads packs we write, raw and compressed, with config and tokenizer")
    func pythonReadsOurPacks() throws {
        let folder = TemporaryFolder()
        for compress in [false, true] {
            let out = folder.file("copy\(compress).wkp")
            var options = WriteOptions(compress: compress)
            options.config = (["model_type": "gpt2", "n_embd": 8] as JSONValue).object
            options.tokenizerJSON = "{\"model\":{\"vocab\":{\"é\":0}}}"
            try PackTestSupport.convert(Self.tiny, to: out, format: .wkp, options: options)
            let script = """
                import sys, json, zlib; sys.path.insert(0, sys.argv[1]); from read_wkp import read_wkp
                ours, theirs = read_wkp(sys.argv[2]), read_wkp(sys.argv[3])
                assert ours["config"] == {"model_type": "gpt2", "n_embd": 8}, ours["config"]
                assert ours["tokenizer"] == '{"model":{"vocab":{"é":0}}}', ours["tokenizer"]
                assert ours["metadata"] == theirs["metadata"]
                assert list(ours["tensors"]) == list(theirs["tensors"])
                for k, v in theirs["tensors"].items():
                    assert ours["tensors"][k].dtype == v.dtype and ours["tensors"][k].shape == v.shape, k
                    assert ours["tensors"][k].tobytes() == v.tobytes(), k
                print(len(ours["tensors"]))
                """
            let output = try python(script, [fixture("pack"), out, Self.tiny])
            #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "8")
        }
    }

    @Test("a compressed copy deflates the compressible tensors only and keeps every byte")
    func compressedCopy() throws {
        let folder = TemporaryFolder()
        let out = folder.file("c.wkp")
        try PackTestSupport.convert(Self.tiny, to: out, format: .wkp, options: WriteOptions(compress: true))
        let original = try PackReader(path: Self.tiny)
        let copy = try PackReader(path: out, verifyOnLoad: true)
        #expect(copy.entry(named: "position_ids")?.section.encoding == .deflate)
        #expect(copy.entry(named: "logit_scale")?.section.encoding == .raw)  // 8 random bytes do not shrink
        for t in original.tensors {
            #expect(try copy.storage(named: t.name).bytes == original.storage(of: t).bytes, "\(t.name)")
        }
        #expect(copy.verify().isEmpty)
    }
}
