import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Files over 4 GiB WRITTEN by our writers: a sparse safetensors source (4 GiB + 32 bytes of
/// zeros in "pad", then "x" f32 [4]) converted to each format must put x beyond the 4 GiB offset
/// with exact values, as the format's own Python reader sees it and as ours does. The outputs are
/// sparse too (OutputFile skips zero pages), so each test needs only a few MB of disk.
@Suite("Files over 4 GiB, written", .serialized)
struct LargeFileWriteTests {
    static let values: [Float] = [1.5, -2, 3e9, 7]

    /// A sparse safetensors file: "pad" (`dtype`, 4 GiB + 32 bytes of zeros) then "x" f32 [4].
    static func source(in folder: TemporaryFolder, padDType: String) throws -> SafetensorsFile {
        let path = folder.file("big.safetensors")
        _ = try python("""
            import sys, json, struct, numpy as np
            pad, width = \(LargeFileTests.padBytes), int(sys.argv[2])
            header = {"pad": {"dtype": sys.argv[3], "shape": [pad // width], "data_offsets": [0, pad]},
                      "x": {"dtype": "F32", "shape": [4], "data_offsets": [pad, pad + 16]}}
            h = json.dumps(header).encode(); h += b" " * (-len(h) % 8)
            with open(sys.argv[1], "wb") as f:
                f.write(struct.pack("<Q", len(h)) + h)
                f.seek(8 + len(h) + pad)
                f.write(np.array([1.5, -2, 3e9, 7], np.float32).tobytes())
            """, [path, padDType == "U8" ? "1" : "4", padDType])
        return try SafetensorsFile(path: path)
    }

    /// Converts `source` to `format` at `path` with our writer (the convert command's path).
    static func convert(_ source: any TensorSource, to path: String, format: TensorFormat) throws {
        let payloads = try source.tensors.map { try TensorPayload(source: source, input: $0) }
        _ = try FormatRegistry.write(payloads, metadata: source.metadata, to: path, format: format)
    }

    /// Our reader on the output: pad has its full size, x sits beyond 4 GiB with exact values.
    static func checkOurs(_ path: String, padBytes: Int = LargeFileTests.padBytes) throws {
        let output = try FormatRegistry.open(path: path)
        #expect(output.tensor(named: "pad")?.byteCount == padBytes)
        let x = try #require(output.tensor(named: "x"))
        #expect((x.fileOffset ?? 0) > 1 << 32, "x at \(String(describing: x.fileOffset))")
        #expect(try LargeFileTests.values(of: output, "x") == values)
    }

    /// The output is sparse (far below its 4 GiB length on disk) and gets deleted.
    static func checkSparseAndRemove(_ path: String) {
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(Int(info.st_size) > 1 << 32)
        #expect(Int(info.st_blocks) * 512 < 64 << 20, "\(path): \(info.st_blocks) blocks")
        unlink(path)
    }

    static let pythonValues = "[1.5, -2.0, 3000000000.0, 7.0]\n"

    @Test("safetensors: x written beyond 4 GiB reads back in safetensors and in ours")
    func safetensors() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out.safetensors")
        // Our writer lays out wider dtypes first, then by name: an f32 pad comes before x.
        try Self.convert(try Self.source(in: folder, padDType: "F32"), to: out, format: .safetensors)
        let reference = try python("""
            import sys, json, struct
            from safetensors import safe_open
            with open(sys.argv[1], "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]; begin = json.loads(f.read(n))["x"]["data_offsets"][0]
            assert 8 + n + begin > 1 << 32, begin
            with safe_open(sys.argv[1], "numpy") as f: print(f.get_tensor("x").tolist())
            """, [out])
        #expect(reference == Self.pythonValues)
        try Self.checkOurs(out)
        Self.checkSparseAndRemove(out)
    }

    @Test("GGUF: x written beyond 4 GiB reads back in gguf's GGUFReader and in ours")
    func gguf() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out.gguf")
        // GGUF has no u8 type: the pad is f32 here (same 4 GiB + 32 bytes).
        try Self.convert(try Self.source(in: folder, padDType: "F32"), to: out, format: .gguf)
        let reference = try python("""
            import sys
            from gguf import GGUFReader
            t = [t for t in GGUFReader(sys.argv[1]).tensors if t.name == "x"][0]
            assert int(t.data_offset) > 1 << 32, t.data_offset
            print([float(v) for v in t.data])
            """, [out])
        #expect(reference == Self.pythonValues)
        try Self.checkOurs(out)
        Self.checkSparseAndRemove(out)
    }

    @Test("npz (zip64): x.npy written beyond 4 GiB reads back in zipfile + numpy and in ours")
    func npz() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out.npz")
        try Self.convert(try Self.source(in: folder, padDType: "U8"), to: out, format: .npz)
        // Only x.npy is read (zipfile checks its CRC); the 4 GiB member is never loaded.
        let reference = try python("""
            import sys, zipfile
            from numpy.lib import format as F
            with zipfile.ZipFile(sys.argv[1]) as z:
                pad = z.getinfo("pad.npy"); info = z.getinfo("x.npy")
                assert pad.file_size > 1 << 32 and info.header_offset > 1 << 32, (pad.file_size, info.header_offset)
                with z.open(info) as f: print(F.read_array(f).tolist())
            """, [out])
        #expect(reference == Self.pythonValues)
        try Self.checkOurs(out)
        Self.checkSparseAndRemove(out)
    }

    @Test("pack: x written beyond 4 GiB reads back, CRC-checked, in a FORMAT.md reader and in ours")
    func pack() throws {
        let folder = TemporaryFolder()
        let out = folder.file("out.wkp")
        try Self.convert(try Self.source(in: folder, padDType: "U8"), to: out, format: .wkp)
        // read_wkp.py reads the whole file into memory; these lines map it and read only x.
        let reference = try python("""
            import json, mmap, struct, sys, zlib, numpy as np
            with open(sys.argv[1], "rb") as f: buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            magic, major, minor, hlen, _, hcrc = struct.unpack_from("<6sBBQII", buf, 0)
            assert magic == b"WKPACK" and zlib.crc32(buf[24:24 + hlen], zlib.crc32(buf[:20])) == hcrc
            x = [t for t in json.loads(buf[24:24 + hlen])["tensors"] if t["name"] == "x"][0]
            start = 24 + hlen + x["offset"]
            assert start > 1 << 32 and x["encoding"] == "raw", x
            raw = buf[start:start + x["length"]]
            assert zlib.crc32(raw) == x["crc32"], "CRC-32 mismatch"
            print(np.frombuffer(raw, "<f4").tolist())
            """, [out])
        #expect(reference == Self.pythonValues)
        let pack = try PackReader(path: out, verifyOnLoad: true)
        #expect(try LargeFileTests.values(of: pack, "x") == Self.values)
        try Self.checkOurs(out)
        Self.checkSparseAndRemove(out)
    }
}
