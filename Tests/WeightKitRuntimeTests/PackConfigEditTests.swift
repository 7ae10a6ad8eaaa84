import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `edit --set config.NAME=…` on a pack: the carried config.json changes as the same edit of a
/// folder's config.json would change it, and an edit that no longer fits the tensors is refused.
@Suite("Pack config editing")
struct PackConfigEditTests {
    /// The tiny Llama folder (fixtures/models/llama) as a pack in `dir`.
    static func pack(in dir: TemporaryFolder) throws -> String {
        let out = dir.file("llama.wkp")
        _ = try Converter.convert(input: fixture("models/llama"), output: out)
        return out
    }

    static func logits(_ path: String) throws -> [Float] {
        let model = try ModelLoader.load(path: path, tokenizer: false)
        return try Transformer(graph: model.graph, threads: 2, batch: 4).forward([3, 14, 15, 92, 65, 35, 89, 79])
    }

    static func bytes(after dataStart: Int, of path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path)).dropFirst(dataStart)
    }

    @Test("config.rope_parameters.rope_theta set in the pack runs as the folder with that value in config.json; data copied byte for byte")
    func ropeTheta() throws {
        let dir = TemporaryFolder()
        let packPath = try Self.pack(in: dir), edited = dir.file("edited.wkp")
        let report = try MetadataEditor.edit(input: packPath, output: edited, edit: MetadataEdit(sets: ["config.rope_parameters.rope_theta=123.5", "note=kept"]))
        #expect(report.changed == ["config.rope_parameters.rope_theta"] && report.added == ["note"], "\(report)")
        let pack = try PackReader(path: edited)
        #expect(pack.config?["rope_parameters"]?.object?["rope_theta"] == .double(123.5) && pack.metadata["note"]?.stringValue == "kept")
        // The reference: a copy of the folder whose config.json says the same.
        let folder = dir.file("folder")
        try FileManager.default.copyItem(atPath: fixture("models/llama"), toPath: folder)
        let configPath = folder + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        config["rope_parameters"] = ["rope_theta": 123.5, "rope_type": "default"]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let a = try Self.logits(edited), b = try Self.logits(folder), before = try Self.logits(packPath)
        #expect(a == b)
        #expect(a != before)
        let original = try PackReader(path: packPath)
        #expect(try Self.bytes(after: pack.header.dataStart, of: edited) == Self.bytes(after: original.header.dataStart, of: packPath))
        #expect(try pack.tokenizerJSON() == original.tokenizerJSON())
    }

    @Test("a nested key, and a removal then a set that changes a key's kind")
    func nestedAndKind() throws {
        let dir = TemporaryFolder()
        let packPath = try Self.pack(in: dir), out = dir.file("out.wkp")
        _ = try MetadataEditor.edit(
            input: packPath, output: out,
            edit: MetadataEdit(sets: [#"config.rope_parameters={"rope_type": "linear", "factor": 2, "rope_theta": 10000}"#]))
        let linear = try ModelLoader.load(path: out, tokenizer: false)
        #expect(linear.graph.config.rope?.scaling == .linear(factor: 2))
        let nested = dir.file("nested.wkp")
        _ = try MetadataEditor.edit(input: out, output: nested, edit: MetadataEdit(sets: ["config.rope_parameters.factor=4"]))
        #expect(try ModelLoader.load(path: nested, tokenizer: false).graph.config.rope?.scaling == .linear(factor: 4))
        let eos = dir.file("eos.wkp")
        _ = try MetadataEditor.edit(
            input: packPath, output: eos, edit: MetadataEdit(sets: ["config.eos_token_id=[2, 7]"], removals: ["config.eos_token_id"]))
        #expect(try ModelLoader.load(path: eos, tokenizer: false).graph.config.eosTokenIDs == [2, 7])
    }

    @Test("refused, nothing written: a config that no longer fits the tensors, another kind of value, a missing key, a plain tensor set",
          arguments: [
            (["config.hidden_size=32"], [], "expected shape"),
            (["config.rope_parameters.rope_theta=fast"], [], "not a string"),
            (["config.hidden_size.factor=2"], [], "is not an object"),
            ([], ["config.no_such_key"], "has no such key"),
            (["config.num_hidden_layers=3"], [], "the edited config no longer describes"),
            (["config.rope_theta:f32=1"], [], "a config value is JSON"),
          ] as [([String], [String], String)])
    func refused(_ sets: [String], _ removals: [String], _ message: String) throws {
        let dir = TemporaryFolder()
        let packPath = try Self.pack(in: dir), out = dir.file("out.wkp")
        #expect {
            _ = try MetadataEditor.edit(input: packPath, output: out, edit: MetadataEdit(sets: sets, removals: removals))
        } throws: { error in
            (error as? FormatError)?.message.contains(message) == true
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("a pack with no config refuses config keys")
    func plainTensorSet() throws {
        let dir = TemporaryFolder()
        let plain = dir.file("plain.wkp")
        _ = try Converter.convert(input: fixture("models/llama/model.safetensors"), output: plain)
        #expect(throws: FormatError.self) {
            _ = try MetadataEditor.edit(input: plain, output: dir.file("o.wkp"), edit: MetadataEdit(sets: ["config.rope_theta=1"]))
        }
    }
}
