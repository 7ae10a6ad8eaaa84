import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Files over 4 GiB, made sparse (seek + write: a few kB on disk): a tensor placed beyond the
/// 4 GiB offset must be found and read exactly, so no reader truncates offsets to 32 bits.
@Suite("Files over 4 GiB", .serialized)
struct LargeFileTests {
    /// The 4 GiB + 32 bytes of zeros that come before the tensor under test.
    static let padBytes = (1 << 32) + 32

    static func values(of source: any TensorSource, _ name: String) throws -> [Float] {
        let info = try #require(source.tensor(named: name))
        let storage = try source.storage(of: info)
        return storage.withUnsafeBytes { raw in (0..<4).map { unsafe raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    @Test("safetensors: a tensor at data offset 4 GiB + 32 reads back exactly")
    func safetensors() throws {
        let folder = TemporaryFolder()
        let path = folder.file("big.safetensors")
        _ = try python("""
            import sys, json, struct, numpy as np
            pad = \(Self.padBytes)
            header = {"pad": {"dtype": "U8", "shape": [pad], "data_offsets": [0, pad]},
                      "x": {"dtype": "F32", "shape": [4], "data_offsets": [pad, pad + 16]}}
            h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
            with open(sys.argv[1], "wb") as f:
                f.write(struct.pack("<Q", len(h)) + h)
                f.seek(8 + len(h) + pad)
                f.write(np.array([1.5, -2, 3e9, 7], np.float32).tobytes())
            """, [path])
        let file = try SafetensorsFile(path: path)
        #expect(file.tensor(named: "pad")?.byteCount == Self.padBytes)
        #expect(try Self.values(of: file, "x") == [1.5, -2, 3e9, 7])
    }

    @Test("GGUF: a tensor at data offset 4 GiB + 32 reads back exactly")
    func gguf() throws {
        let folder = TemporaryFolder()
        let path = folder.file("big.gguf")
        _ = try python("""
            import sys, struct, numpy as np
            pad = \(Self.padBytes)
            def s(t): b = t.encode(); return struct.pack("<Q", len(b)) + b
            def info(name, n, off): return s(name) + struct.pack("<I", 1) + struct.pack("<Q", n) + struct.pack("<I", 0) + struct.pack("<Q", off)
            head = b"GGUF" + struct.pack("<IQQ", 3, 2, 0) + info("pad", pad // 4, 0) + info("x", 4, pad)
            head += b"\\0" * (-len(head) % 32)
            with open(sys.argv[1], "wb") as f:
                f.write(head)
                f.seek(len(head) + pad)
                f.write(np.array([1.5, -2, 3e9, 7], np.float32).tobytes())
            """, [path])
        let file = try GGUFFile(path: path)
        #expect(file.tensor(named: "pad")?.byteCount == Self.padBytes)
        #expect(try Self.values(of: file, "x") == [1.5, -2, 3e9, 7])
        // The same check through gguf's own reader: our layout reading agrees with llama.cpp's.
        let reference = try python("""
            import sys
            from gguf import GGUFReader
            r = GGUFReader(sys.argv[1])
            t = [t for t in r.tensors if t.name == "x"][0]
            print(int(t.data_offset), list(t.data))
            """, [path])
        #expect(reference.hasSuffix("[np.float32(1.5), np.float32(-2.0), np.float32(3e+09), np.float32(7.0)]\n") || reference.contains("[1.5, -2.0, 3e+09, 7.0]"))
    }
}
