import Foundation
import Testing
import WeightKitFormats
import WeightKitTestSupport

/// Hugging Face folders with a SentencePiece tokenizer.model (Llama 2, Mistral, TinyLlama style) to
/// GGUF: the tokenizer keys equal what llama.cpp's convert_hf_to_gguf.py --vocab-only wrote for the
/// same folder (fixtures/tokenizer/spm_convert/generate.py): key set, GGUF value types and values —
/// all 32000+ tokens, scores and token types, special ids, add flags, chat template.
@Suite("SentencePiece tokenizer.model → GGUF, against llama.cpp's converter")
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
