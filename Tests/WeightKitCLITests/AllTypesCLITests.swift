import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// `inspect`, `convert` and `validate` on gguf-py's file holding every ggml type, and on a file
/// with type codes nobody knows (`fixtures/quant/generate_all_types.py`).
@Suite("Every ggml type through the CLI")
struct AllTypesCLITests {
    static let allTypes = fixture("quant/all_types/all_types.gguf")
    static let unknown = fixture("quant/all_types/unknown_types.gguf")

    @Test("convert to f32 safetensors and npz gives gguf-py's values, bit for bit")
    func convert() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("quant/all_types/all_types.json")))
        let expected = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let folder = TemporaryFolder()
        for name in ["all.safetensors", "all.npz"] {  // npz: a cast dequantizes the blocks it cannot hold
            let result = try weightkit("convert", Self.allTypes, folder.file(name), "--dtype", "f32")
            #expect(result.status == 0, "\(result.stderr)")
            let source = try FormatRegistry.open(path: folder.file(name))
            #expect(source.tensors.count == 35)
            for t in source.tensors where t.dtype == .float32 {
                let want = (try #require(expected[t.name]?["values"] as? [Double], "\(t.name)")).map { Float($0).bitPattern }
                let got = try source.storage(of: t).bytes
                let bits = stride(from: 0, to: got.count, by: 4).map { UInt32(got[$0]) | UInt32(got[$0 + 1]) << 8 | UInt32(got[$0 + 2]) << 16 | UInt32(got[$0 + 3]) << 24 }
                #expect(bits == want, "\(name): \(t.name)")
            }
            #expect(source.tensors.filter { $0.dtype == .float32 }.count == 31, "every float and block tensor decoded to f32")
        }
    }

    @Test("inspect lists every type by its short name; validate passes")
    func inspect() throws {
        let result = try weightkit("inspect", Self.allTypes, "--tensors")
        #expect(result.status == 0)
        for name in ["q8_1", "q2_k", "q3_k", "q5_k", "q8_k", "iq2_xxs", "iq2_xs", "iq2_s", "iq3_xxs", "iq3_s", "iq1_s", "iq1_m",
                     "iq4_nl", "iq4_xs", "tq1_0", "tq2_0", "mxfp4", "nvfp4", "q1_0", "q2_0", "i8", "i16", "i32", "i64", "f64"] {
            #expect(result.stdout.contains("  t.\(name)  ") || result.stdout.contains("t.\(name) "), "\(name)")
            #expect(result.stdout.contains(" \(name) "), "\(name)")
        }
        #expect(try weightkit("validate", Self.allTypes).status == 0)
    }

    @Test("unknown type codes: inspect shows them, reading their data fails naming tensor and code")
    func unknownTypes() throws {
        let text = try weightkit("inspect", Self.unknown, "--tensors")
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("mystery  unknown (type 99)"))
        #expect(text.stdout.contains("old      unknown (type 31)"))
        let json = try weightkit("inspect", Self.unknown, "--json")
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"unknown (type 99)\"") && json.stdout.contains("\"unknown (type 31)\""))
        let folder = TemporaryFolder()
        for run in [
            try weightkit("convert", Self.unknown, folder.file("u.safetensors"), "--dtype", "f32"),
            try weightkit("inspect", Self.unknown, "--stats"),
            try weightkit("validate", Self.unknown),
        ] {
            #expect(run.status == 65, "\(run.stderr)")
            #expect((run.stderr + run.stdout).contains("tensor \"mystery\" has type 99"), "\(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("u.safetensors")))
    }
}
