import Foundation
import Testing
import WeightKitFormats
import WeightKitTestSupport

/// Hugging Face folders to GGUF: the tokenizer keys equal what llama.cpp's convert_hf_to_gguf.py
/// wrote for the same folder — key set, GGUF value types and values. SentencePiece folders
/// (tokenizer.model: Llama 2, Mistral, TinyLlama style; fixtures/tokenizer/spm_convert/generate.py,
/// all 32000+ tokens, scores and types, special ids, add flags, chat template) and every tiny
/// family fixture with a byte-level BPE or WordPiece tokenizer.json (its llamacpp.gguf).
@Suite("Tokenizer keys in HF → GGUF, against llama.cpp's converter")
struct SentencePieceConvertTests {
    /// A folder of the case's side files, Llama 2's tokenizer.model and the tiny llama weights.
    static func folder(_ name: String, in dir: TemporaryFolder) throws -> String {
        let source = fixture("tokenizer/spm_convert/\(name)")
        let out = dir.file(name)
        let fm = FileManager.default
        try fm.createDirectory(atPath: out, withIntermediateDirectories: true)
        for item in try fm.contentsOfDirectory(atPath: source) where item != "expected.gguf" {
            try fm.copyItem(atPath: source + "/" + item, toPath: out + "/" + item)
        }
        try fm.copyItem(atPath: fixture("tokenizer/spm_convert/tokenizer.model"), toPath: out + "/tokenizer.model")
        try fm.copyItem(atPath: fixture("models/llama/model.safetensors"), toPath: out + "/model.safetensors")
        return out
    }

    /// The `tokenizer.*` keys of a GGUF, typed.
    static func tokenizerKeys(_ path: String) throws -> [String: GGUFValue] {
        let file = try GGUFFile(path: path)
        return Dictionary(file.typedMetadata.filter { $0.key.hasPrefix("tokenizer.") }.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("tokenizer keys equal the converter's", arguments: ["llama2", "chat"])
    func equalsConverter(_ name: String) throws {
        let dir = TemporaryFolder()
        let folder = try Self.folder(name, in: dir)
        let out = dir.file("\(name).gguf")
        let result = try weightkit("convert", folder, out, "-q")
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try Self.tokenizerKeys(out)
        let expected = try Self.tokenizerKeys(fixture("tokenizer/spm_convert/\(name)/expected.gguf"))
        #expect(Set(ours.keys) == Set(expected.keys), "ours only: \(Set(ours.keys).subtracting(expected.keys).sorted()); converter only: \(Set(expected.keys).subtracting(ours.keys).sorted())")
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) where ours[key] != value {
            // Arrays hold 32000 items: name the first difference rather than print both.
            if case .array(let t1, let a)? = ours[key], case .array(let t2, let b) = value, t1 == t2, a.count == b.count,
                let i = a.indices.first(where: { a[$0] != b[$0] }) {
                Issue.record("\(name): \(key)[\(i)] is \(a[i]), the converter wrote \(b[i])")
            } else {
                Issue.record("\(name): \(key) is \(ours[key].map { "\($0)".prefix(200) } ?? "absent"), the converter wrote \("\(value)".prefix(200))")
            }
        }
        #expect(expected["tokenizer.ggml.tokens"].map { if case .array(_, let v) = $0 { v.count } else { 0 } } ?? 0 >= 32000)
    }

    /// The family fixtures converted by llama.cpp (fixtures/models/*/llamacpp.gguf) that carry a tokenizer.json.
    static let families = ["bert", "gemma", "gemma2", "gemma3", "gemma3-multimodal", "granite", "llama-dynamic", "llama-linear",
                           "llama-yarn", "llama3", "mistral", "mixtral", "olmo2", "phi3", "qwen3", "qwen3-moe", "stablelm"]

    @Test("byte-level BPE and WordPiece folders: tokenizer keys equal the converter's", arguments: families)
    func familyKeys(_ family: String) throws {
        let dir = TemporaryFolder()
        let out = dir.file("\(family).gguf")
        let result = try weightkit("convert", fixture("models/\(family)"), out, "-q")
        #expect(result.status == 0, "\(result.stderr)")
        var ours = try Self.tokenizerKeys(out)
        let expected = try Self.tokenizerKeys(fixture("models/\(family)/llamacpp.gguf"))
        if family == "bert" {
            // The converter names a WordPiece pre-tokenizer by hashing a test text's tokens (here
            // "jina-v2-en"); llama.cpp's WordPiece tokenizer does not read it. We write "default".
            #expect(ours["tokenizer.ggml.pre"] == .string("default"))
            ours["tokenizer.ggml.pre"] = expected["tokenizer.ggml.pre"]
        }
        #expect(Set(ours.keys) == Set(expected.keys), "ours only: \(Set(ours.keys).subtracting(expected.keys).sorted()); converter only: \(Set(expected.keys).subtracting(ours.keys).sorted())")
        for (key, value) in expected.sorted(by: { $0.key < $1.key }) where ours[key] != value {
            Issue.record("\(family): \(key) is \(ours[key].map { "\($0)".prefix(200) } ?? "absent"), the converter wrote \("\(value)".prefix(200))")
        }
    }

    @Test("a tokenizer.json whose pre-tokenizer llama.cpp does not know is refused, not written as default")
    func unknownPreTokenizer() throws {
        let dir = TemporaryFolder()
        let folder = dir.file("odd")
        try FileManager.default.copyItem(atPath: fixture("models/llama3"), toPath: folder)
        try? FileManager.default.removeItem(atPath: folder + "/llamacpp.gguf")
        let path = folder + "/tokenizer.json"
        var text = try String(contentsOfFile: path, encoding: .utf8)
        // A Split on single spaces before the byte-level stage: no llama.cpp pre-tokenizer splits so.
        let odd = #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]}"#
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var edited = json
        edited["pre_tokenizer"] = try JSONSerialization.jsonObject(with: Data(odd.utf8))
        text = String(decoding: try JSONSerialization.data(withJSONObject: edited), as: UTF8.self)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let out = dir.file("odd.gguf")
        let result = try weightkit("convert", folder, out, "-q")
        #expect(result.status != 0)
        #expect(result.stderr.contains("tokenizer.json"), "\(result.stderr)")
        #expect(result.stderr.contains("match no tokenizer.ggml.pre"), "\(result.stderr)")
        #expect(result.stderr.contains("split:string: :Isolated"), "names the stages: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("a tokenizer.model that is not a protocol buffer is a clear error naming the file")
    func malformedModel() throws {
        let dir = TemporaryFolder()
        let folder = try Self.folder("llama2", in: dir)
        let model = folder + "/tokenizer.model"
        var bytes = try readBytes(model)
        bytes = Array(bytes.prefix(1000))  // cut inside a piece
        try FileManager.default.removeItem(atPath: model)
        try writeBytes(bytes, to: model)
        let out = dir.file("out.gguf")
        let result = try weightkit("convert", folder, out, "-q")
        #expect(result.status != 0)
        #expect(result.stderr.contains("tokenizer.model"), "\(result.stderr)")
        #expect(result.stderr.contains("byte"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out), "no partial output")
    }
}
