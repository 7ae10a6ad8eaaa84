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
        // Written by Python with a seek past the 4 GiB of zeros (LargeFileWriteTests.source).
        let folder = TemporaryFolder()
        let file = try LargeFileWriteTests.source(in: folder, padDType: "U8")
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

    @Test("npz (zip64): a member whose local header sits beyond 4 GiB reads back exactly, as numpy reads it")
    func npzZip64() throws {
        let folder = TemporaryFolder()
        let path = folder.file("big.npz")
        // Hand-made zip64: "pad.npy" (u1, 2^32 elements, sizes in a zip64 extra), then "x.npy"
        // at local-header offset > 4 GiB (offset in its central zip64 extra), then a zip64 end
        // record. pad's CRC is left 0: no reader under test reads pad's bytes.
        _ = try python("""
            import io, struct, sys, zlib, numpy as np
            from numpy.lib import format as F
            def header(descr, shape):
                b = io.BytesIO(); F.write_array_header_1_0(b, {"descr": descr, "fortran_order": False, "shape": shape}); return b.getvalue()
            P = 1 << 32
            h1 = header("|u1", (P,)); size1 = len(h1) + P
            x = np.array([1.5, -2, 3e9, 7], np.float32)
            m2 = header("<f4", (4,)) + x.tobytes(); crc2 = zlib.crc32(m2)
            n1, n2 = b"pad.npy", b"x.npy"
            local1 = struct.pack("<IHHHHHIIIHH", 0x04034b50, 45, 0, 0, 0, 0x21, 0, 0xFFFFFFFF, 0xFFFFFFFF, len(n1), 20) + n1 + struct.pack("<HHQQ", 1, 16, size1, size1)
            off2 = len(local1) + size1
            local2 = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 0, 0, 0x21, crc2, len(m2), len(m2), len(n2), 0) + n2
            cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0x21, 0, 0xFFFFFFFF, 0xFFFFFFFF, len(n1), 20, 0, 0, 0, 0, 0) + n1 + struct.pack("<HHQQ", 1, 16, size1, size1)
            cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 45, 45, 0, 0, 0, 0x21, crc2, len(m2), len(m2), len(n2), 12, 0, 0, 0, 0, 0xFFFFFFFF) + n2 + struct.pack("<HHQ", 1, 8, off2)
            cdoff = off2 + len(local2) + len(m2)
            eocd64 = struct.pack("<IQHHIIQQQQ", 0x06064b50, 44, 45, 45, 0, 0, 2, 2, len(cd), cdoff)
            locator = struct.pack("<IIQI", 0x07064b50, 0, cdoff + len(cd), 1)
            eocd = struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, 2, 2, len(cd), 0xFFFFFFFF, 0)
            with open(sys.argv[1], "wb") as f:
                f.write(local1 + h1)
                f.seek(off2)
                f.write(local2 + m2 + cd + eocd64 + locator + eocd)
            assert np.load(sys.argv[1])["x"].tolist() == x.tolist()
            """, [path])
        let archive = try NPZArchive(path: path)
        #expect(archive.tensor(named: "pad")?.byteCount == 1 << 32)
        #expect(try Self.values(of: archive, "x") == [1.5, -2, 3e9, 7])
    }

    @Test("pack: a tensor at data offset 4 GiB reads back exactly with its CRC-32 checked")
    func pack() throws {
        let folder = TemporaryFolder()
        let path = folder.file("big.wkp")
        // Written from docs/FORMAT.md: 24-byte preamble, JSON header padded so data starts on a
        // 64-byte boundary, sections at 64-aligned offsets. pad's CRC is left 0 (never read).
        _ = try python("""
            import json, struct, sys, zlib, numpy as np
            P = 1 << 32
            x = np.array([1.5, -2, 3e9, 7], np.float32).tobytes()
            header = {"format_version": [1, 0], "producer": "LargeFileTests", "tensors": [
                {"name": "pad", "dtype": "u8", "shape": [P], "offset": 0, "length": P, "encoding": "raw", "crc32": 0},
                {"name": "x", "dtype": "f32", "shape": [4], "offset": P, "length": 16, "encoding": "raw", "crc32": zlib.crc32(x)}]}
            h = json.dumps(header).encode(); h += b" " * (-(24 + len(h)) % 64)
            pre = struct.pack("<6sBBQI", b"WKPACK", 1, 0, len(h), 0)
            crc = zlib.crc32(h, zlib.crc32(pre))
            with open(sys.argv[1], "wb") as f:
                f.write(pre + struct.pack("<I", crc) + h)
                f.seek(24 + len(h) + P)
                f.write(x)
            """, [path])
        let pack = try PackReader(path: path, verifyOnLoad: true)
        #expect(pack.tensor(named: "pad")?.byteCount == 1 << 32)
        #expect(try Self.values(of: pack, "x") == [1.5, -2, 3e9, 7])
    }
}
