import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `weightkit edit` on packs: the metadata object changed, everything else byte for byte. There is
/// no reference pack editor, so the output is read by the independent Python reader written from
/// docs/FORMAT.md (fixtures/pack/read_wkp.py: every CRC, the layout and the padding checked), its
/// bytes are compared with the input's, and the same edit is compared with the GGUF path's.
@Suite("Pack metadata editing")
struct PackEditTests {
    /// tiny.wkp (written by fixtures/pack/generate.py, not by WeightKit): a config, two metadata
    /// strings, deflated and raw tensors, a deflated tokenizer and an unknown top-level key.
    static let tiny = fixture("pack/tiny.wkp")

    /// What read_wkp.py finds: config, metadata, tokenizer and per tensor dtype, shape, CRC-32.
    static func read(_ path: String) throws -> String {
        let script = """
            import sys, json
            sys.path.insert(0, sys.argv[1])
            from read_wkp import read_wkp
            import zlib
            p = read_wkp(sys.argv[2])
            print(json.dumps({"config": p["config"], "metadata": p["metadata"], "tokenizer": p["tokenizer"],
                              "tensors": {k: [str(v.dtype), list(v.shape), zlib.crc32(v.tobytes())] for k, v in p["tensors"].items()}}))
            """
        return try python(script, [fixture("pack"), path])
    }

    /// The header text (JSON, padding dropped) and the data section of a pack.
    static func parts(_ path: String) throws -> (header: String, data: Data) {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = bytes[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: bytes[24..<24 + length], as: UTF8.self)
        return (String(header.reversed().drop { $0 == " " }.reversed()), bytes[(24 + length)...])
    }

    @Test("set, remove and a chat template: read_wkp.py sees the new metadata; config, tokenizer, tensors, data bytes and unknown keys unchanged")
    func roundTrip() throws {
        let tmp = TemporaryFolder(), out = tmp.file("out.wkp")
        let template = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\"é😀\\{% endfor %}"
        try template.write(toFile: tmp.file("t.jinja"), atomically: true, encoding: .utf8)
        let r = try weightkit("edit", Self.tiny, out, "--set", "note=changed = yes", "--set", "count=7", "--set", "kind:str=3.5",
                              "--remove", "source", "--chat-template", tmp.file("t.jinja"), "--json")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"changed\": [\n    \"note\"") && r.stdout.contains("\"removed\": [\n    \"source\""), "\(r.stdout)")
        let before = try JSONSerialization.jsonObject(with: Data(Self.read(Self.tiny).utf8)) as! [String: Any]
        let after = try JSONSerialization.jsonObject(with: Data(Self.read(out).utf8)) as! [String: Any]
        #expect(after["metadata"] as? [String: String] == ["note": "changed = yes", "count": "7", "kind": "3.5", "chat_template": template])
        for key in ["config", "tokenizer", "tensors"] {
            #expect(NSDictionary(dictionary: ["v": after[key]!]).isEqual(to: ["v": before[key]!]), "\(key) changed")
        }
        // Byte for byte: the data section, and the header outside "metadata" (the unknown key too).
        let (inHeader, inData) = try Self.parts(Self.tiny), (outHeader, outData) = try Self.parts(out)
        #expect(inData == outData)
        func around(_ header: String) -> (String, String) {
            (String(header[..<header.range(of: "\"metadata\":")!.lowerBound]), String(header[header.range(of: ",\"tokenizer\":")!.lowerBound...]))
        }
        #expect(around(inHeader) == around(outHeader))
        #expect(outHeader.contains("\"x_future_key\":{\"ignored\":true}"))
        // The order of keys: kept ones where they were, new ones appended.
        #expect(try PackReader(path: out).metadata.entries.map(\.key) == ["note", "count", "kind", "chat_template"])
        #expect(try PackReader(path: out).metadata["chat_template"]?.stringValue == template)
        let validate = try weightkit("validate", out)
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
    }

    @Test("--in-place replaces the pack only when done; a pack without a metadata key gains one")
    func inPlace() throws {
        let tmp = TemporaryFolder(), path = tmp.file("m.wkp")
        // A pack written by WeightKit from a safetensors file: "metadata" holds its __metadata__.
        #expect(try weightkit("convert", fixture("models/llama/model.safetensors"), path).status == 0)
        let data = try Self.parts(path).data
        #expect(try weightkit("edit", path, "--in-place", "--set", "a=1", "--set", "b=two").status == 0)
        #expect(try weightkit("edit", path, "--in-place", "--remove", "a").status == 0)
        #expect(try PackReader(path: path).metadata["b"]?.stringValue == "two")
        #expect(try PackReader(path: path).metadata["a"] == nil)
        #expect(try Self.parts(path).data == data)
        #expect(try weightkit("validate", path).status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.contains("weightkit-") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        // A header with no "metadata" key (it is optional): the key is added before the closing brace.
        let bare = try Self.withoutMetadata(Self.tiny, tmp.file("bare.wkp"))
        #expect(try PackReader(path: bare).metadata.count == 0)
        let r = try weightkit("edit", bare, tmp.file("bare2.wkp"), "--set", "k=v")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.read(tmp.file("bare2.wkp")).contains("\"metadata\": {\"k\": \"v\"}"))
    }

    /// A copy of `input` whose header JSON has no "metadata" key, made in Python from the spec.
    static func withoutMetadata(_ input: String, _ output: String) throws -> String {
        let script = """
            import sys, json, struct, zlib
            buf = open(sys.argv[1], "rb").read()
            hlen = struct.unpack_from("<Q", buf, 8)[0]
            header = json.loads(buf[24:24 + hlen])
            del header["metadata"]
            text = json.dumps(header, separators=(",", ":")).encode()
            text += b" " * ((-(24 + len(text))) % 64)
            prefix = buf[:8] + struct.pack("<QI", len(text), 0)
            open(sys.argv[2], "wb").write(prefix + struct.pack("<I", zlib.crc32(text, zlib.crc32(prefix))) + text + buf[24 + hlen:])
            print("ok")
            """
        #expect(try python(script, [input, output]).contains("ok"))
        return output
    }

    @Test("bad edits are clear errors naming the key and write nothing", arguments: [
        (["--remove", "no.such.key"], "cannot remove metadata key \"no.such.key\": the file has no such key"),
        (["--set", "n:u32=4"], "metadata key \"n:u32\": pack metadata holds strings only, not u32"),
        (["--set", "n:[str]=[\"a\"]"], "holds strings only, not [str]"),
        (["--set", "novalue"], "is not KEY=VALUE"),
        (["--set", ":str=x"], "an empty metadata key"),
    ])
    func refusals(_ args: [String], _ message: String) throws {
        let tmp = TemporaryFolder()
        let r = try weightkit(["edit", Self.tiny, tmp.file("out.wkp")] + args)
        #expect(r.status == 65 && r.stderr.contains(message), "\(args): \(r.status) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.file("out.wkp")))
    }

    @Test("a truncated or damaged pack is refused with where, and nothing is written", arguments: [
        (10, "truncated"), (100, "truncated"), (-1, "truncated pack data of \"tokenizer\""),
        (-200, "tensor \"logit_scale\": data offset 448 lies past the end of the file"),
    ])
    func truncated(_ cut: Int, _ message: String) throws {
        let tmp = TemporaryFolder(), path = tmp.file("cut.wkp")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.tiny))
        try bytes.prefix(cut > 0 ? cut : bytes.count + cut).write(to: URL(fileURLWithPath: path))
        let r = try weightkit("edit", path, tmp.file("out.wkp"), "--set", "a=b")
        #expect(r.status == 65 && r.stderr.contains(message), "cut \(cut): \(r.status) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.file("out.wkp")))
    }

    @Test("a flipped header byte is refused (header CRC), not re-stamped with a new CRC")
    func damagedHeader() throws {
        let tmp = TemporaryFolder(), path = tmp.file("bad.wkp")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.tiny))
        bytes[60] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: path))
        let r = try weightkit("edit", path, tmp.file("out.wkp"), "--set", "a=b")
        #expect(r.status == 65 && r.stderr.contains("header CRC-32"), "\(r.stderr)")
    }

    @Test("a damaged tensor stays detectable in the edited copy (its CRC-32 is carried, not recomputed)")
    func damagedTensor() throws {
        let tmp = TemporaryFolder(), path = tmp.file("bad.wkp")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.tiny))
        let length = bytes[8..<16].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        bytes[24 + length + 5] ^= 0x40  // inside model.embed_tokens.weight, the first section
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try weightkit("edit", path, tmp.file("out.wkp"), "--set", "a=b").status == 0)
        let v = try weightkit("validate", tmp.file("out.wkp"))
        #expect(v.status != 0 && (v.stdout + v.stderr).contains("model.embed_tokens.weight"), "\(v.stdout)\(v.stderr)")
    }

    @Test("the same string edit on a GGUF and on its pack gives the same keys and values (GGUF → pack keeps string keys)")
    func sameAsGGUF() throws {
        let tmp = TemporaryFolder(), gguf = fixture("models/llama3/llamacpp.gguf")
        let edit = ["--set", "general.name=Renamed", "--set", "my.note=hello world", "--remove", "general.size_label"]
        // Edit the GGUF, then convert to a pack; and convert first, then edit the pack.
        #expect(try weightkit(["edit", gguf, tmp.file("e.gguf")] + edit).status == 0)
        #expect(try weightkit("convert", tmp.file("e.gguf"), tmp.file("a.wkp")).status == 0)
        #expect(try weightkit("convert", gguf, tmp.file("p.wkp")).status == 0)
        let r = try weightkit(["edit", tmp.file("p.wkp"), tmp.file("b.wkp")] + edit)
        #expect(r.status == 0, "\(r.stderr)")
        let a = try PackReader(path: tmp.file("a.wkp")), b = try PackReader(path: tmp.file("b.wkp"))
        #expect(a.metadata == b.metadata)
        #expect(b.metadata["general.name"]?.stringValue == "Renamed" && b.metadata["general.size_label"] == nil)
        #expect(b.metadata["my.note"]?.stringValue == "hello world")
        #expect(try Self.parts(tmp.file("a.wkp")).data == Self.parts(tmp.file("b.wkp")).data)
        #expect(try Self.read(tmp.file("a.wkp")) == Self.read(tmp.file("b.wkp")))
        // A typed GGUF edit has no pack counterpart: refused, naming key and type.
        let typed = try weightkit("edit", tmp.file("p.wkp"), tmp.file("c.wkp"), "--set", "my.count:u32=7")
        #expect(typed.status == 65 && typed.stderr.contains("\"my.count:u32\": pack metadata holds strings only, not u32"), "\(typed.stderr)")
    }

    @Test("the library call: a chat template set in a pack is what the loader reads")
    func library() throws {
        let tmp = TemporaryFolder(), out = tmp.file("t.wkp")
        let report = try MetadataEditor.edit(input: Self.tiny, output: out, edit: MetadataEdit(chatTemplate: "{{ messages }}"))
        #expect(report.added == ["chat_template"] && report.tensorCount == 8)
        #expect(report.bytesWritten == (try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int))
        #expect(try PackReader(path: out).metadata[MetadataEditor.packChatTemplateKey]?.stringValue == "{{ messages }}")
        #expect(try PackReader(path: out).verify().isEmpty)
    }
}
