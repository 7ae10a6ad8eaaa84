import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Files we write, read back by gguf-py's GGUFReader and by us.
@Suite("GGUF writer")
struct GGUFWriterTests {
    static let source = fixture("gguf/all_types.gguf")

    /// Rewrites the writable tensors of all_types.gguf through the registry (GGUF → GGUF).
    static func rewrite(to path: String) throws -> GGUFFile {
        let file = try GGUFFile(path: source)
        let payloads = try file.tensors.filter { GGMLType.writable.contains($0.dtype) }.map {
            try TensorPayload(source: file, input: $0)
        }
        _ = try FormatRegistry.write(payloads, metadata: file.metadata, to: path, format: .gguf)
        return file
    }

    @Test("gguf-py reads our GGUF with the same metadata types and tensor values")
    func pythonReadsOurs() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out.gguf")
        let original = try Self.rewrite(to: out)
        let result = try python("""
            import sys, gguf, numpy as np
            a, b = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
            assert b.fields["GGUF.version"].contents() == 3
            assert b.alignment == 32
            for k, f in a.fields.items():
                if k.startswith("GGUF."): continue
                g = b.fields[k]
                assert f.types == g.types, (k, f.types, g.types)
                assert f.contents() == g.contents(), k
            ta = {t.name: t for t in a.tensors}
            n = 0
            for t in b.tensors:
                s = ta[t.name]
                assert t.tensor_type == s.tensor_type and list(t.shape) == list(s.shape), t.name
                assert t.data_offset % 32 == 0
                x = gguf.quants.dequantize(t.data, t.tensor_type)
                y = gguf.quants.dequantize(s.data, s.tensor_type)
                assert np.array_equal(x, y), t.name
                n += 1
            print(n)
            """, [Self.source, out])
        let writable = original.tensors.filter { GGMLType.writable.contains($0.dtype) }.count
        #expect(result.trimmingCharacters(in: .whitespacesAndNewlines) == String(writable))
        #expect(writable == 7)  // f32 ×2, f16, bf16, q8_0, q4_0, q4_1
    }

    @Test("a file gguf-py wrote, rewritten by us, is the same file: data padded after the last tensor too")
    func sameFileAsGGUFPy() throws {
        let folder = TemporaryFolder()
        let reference = folder.file("ref.gguf"), out = folder.file("out.gguf")
        // The last tensor holds 6 bytes, so the file ends in 26 bytes of padding.
        _ = try python("""
            import sys, gguf, numpy as np
            w = gguf.GGUFWriter(sys.argv[1], "llama")
            w.add_uint32("test.value", 7)
            w.add_string("test.name", "padding")
            w.add_tensor("a", np.arange(5, dtype=np.float32))
            w.add_tensor("b", np.array([1, -2, 3], dtype=np.float16))
            w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
            """, [reference])
        let file = try GGUFFile(path: reference)
        let payloads = try file.tensors.map { try TensorPayload(source: file, input: $0) }
        _ = try FormatRegistry.write(payloads, metadata: file.metadata, to: out, format: .gguf)
        let ours = try readBytes(out), theirs = try readBytes(reference)
        #expect(ours.count == theirs.count)
        #expect(ours == theirs)
    }

    @Test("we read back what we wrote, byte for byte per tensor")
    func roundTrip() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out.gguf")
        let original = try Self.rewrite(to: out)
        let copy = try GGUFFile(path: out)
        for t in copy.tensors {
            let o = try #require(original.tensor(named: t.name))
            #expect(t.dtype == o.dtype && t.shape == o.shape)
            #expect(try copy.storage(of: t).bytes == original.storage(of: o).bytes, "\(t.name)")
        }
        #expect(copy.value("test.u64") == .uint64(1 << 63 + 5))
        #expect(copy.value("test.f64") == original.value("test.f64"))
    }

    @Test("Core metadata is typed the way llama.cpp reads it")
    func coreMetadataTypes() throws {
        var meta = Metadata()
        meta["general.architecture"] = .string("llama")
        meta["llama.block_count"] = .uint(30)
        meta["llama.rope.freq_base"] = .float(100000)
        meta["tokenizer.ggml.token_type"] = .array([.int(1), .int(3)])
        meta["tokenizer.ggml.scores"] = .array([.float(0), .float(-1.5)])
        meta["tokenizer.ggml.add_bos_token"] = .bool(false)
        meta["test.big"] = .array([.uint(1), .uint(5_000_000_000)])
        meta["test.mixed"] = .array([.int(-1), .uint(3_000_000_000)])
        let folder = TemporaryFolder()
        let out = folder.file("typed.gguf")
        _ = try GGUFWriter.write([], metadata: meta, to: out)
        let result = try python("""
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            for k in ["llama.block_count", "llama.rope.freq_base", "tokenizer.ggml.token_type", "tokenizer.ggml.scores", "tokenizer.ggml.add_bos_token", "test.big", "test.mixed"]:
                f = r.fields[k]
                print(k, ",".join(t.name for t in f.types), f.contents())
            """, [out])
        #expect(result.split(separator: "\n").map(String.init) == [
            "llama.block_count UINT32 30",
            "llama.rope.freq_base FLOAT32 100000.0",
            "tokenizer.ggml.token_type ARRAY,INT32 [1, 3]",
            "tokenizer.ggml.scores ARRAY,FLOAT32 [0.0, -1.5]",
            "tokenizer.ggml.add_bos_token BOOL False",
            "test.big ARRAY,UINT64 [1, 5000000000]",
            "test.mixed ARRAY,INT64 [-1, 3000000000]",
        ])
    }

    @Test("quantized output gets general.quantization_version; blocks it cannot store are refused")
    func quantizationVersionAndRefusal() throws {
        let file = try GGUFFile(path: Self.source)
        let folder = TemporaryFolder()
        let q8 = try #require(file.tensor(named: "t.q8_0"))
        _ = try GGUFWriter.write([try TensorPayload(source: file, input: q8)], metadata: Metadata(), to: folder.file("q.gguf"))
        #expect(try GGUFFile(path: folder.file("q.gguf")).value("general.quantization_version") == .uint32(2))
        // The K-quants are stored now (llama-quantize's mixes write them); the IQ types are not.
        let q4k = try #require(file.tensor(named: "t.q4_k"))
        _ = try GGUFWriter.write([try TensorPayload(source: file, input: q4k)], metadata: Metadata(), to: folder.file("k.gguf"))
        #expect(try GGUFFile(path: folder.file("k.gguf")).tensor(named: "t.q4_k")?.dtype == .q4_K)
        let types = try GGUFFile(path: fixture("quant/all_types/all_types.gguf"))
        let iq = try #require(types.tensors.first { $0.dtype == .iq2_XXS })
        let error = try #require(throws: FormatError.self) {
            try GGUFWriter.write([try TensorPayload(source: types, input: iq)], metadata: Metadata(), to: folder.file("iq.gguf"))
        }
        #expect(error.kind == .unsupportedDType)
        #expect(FormatDetector.kind(of: folder.file("iq.gguf")) == .missing)
    }
}
