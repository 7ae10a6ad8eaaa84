import Foundation
import Testing
import WeightKitCore
@testable import WeightKitFormats
import WeightKitTestSupport

/// A tiny in-memory tensor source for writer tests.
final class MemorySource: TensorSource {
    let formatName = "memory"
    let files: [String] = []
    let tensors: [TensorInfo]
    let metadata: Metadata
    let data: [String: [UInt8]]

    init(_ items: [(String, DType, Shape, [UInt8])], metadata: Metadata = Metadata()) {
        tensors = items.map { TensorInfo(name: $0.0, dtype: $0.1, shape: $0.2, byteCount: $0.3.count) }
        data = Dictionary(uniqueKeysWithValues: items.map { ($0.0, $0.3) })
        self.metadata = metadata
    }

    func storage(of tensor: TensorInfo) throws -> TensorStorage {
        TensorStorage(buffer: AlignedBuffer(data[tensor.name]!))
    }

    func payloads() throws -> [TensorPayload] { try tensors.map { try TensorPayload(source: self, input: $0) } }
}

/// Prints, per array in the .npy/.npz files given, `name dtype shape crc32-of-LE-C-bytes`.
let numpyDigest = """
    import sys, zlib, numpy as np
    for path in sys.argv[1:]:
        data = np.load(path, allow_pickle=False)
        items = data.items() if hasattr(data, "items") else [(path.rsplit("/", 1)[-1][:-4], data)]
        for name, a in sorted(items):
            le = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
            print(name, a.dtype.str, list(a.shape), zlib.crc32(le.tobytes()))
    """

/// The same digest computed from one of our tensor sources.
func digest(_ source: any TensorSource) throws -> String {
    let descr: [DType: String] = [
        .bool: "|b1", .int8: "|i1", .uint8: "|u1", .int16: "<i2", .uint16: "<u2", .int32: "<i4", .uint32: "<u4",
        .int64: "<i8", .uint64: "<u8", .float16: "<f2", .float32: "<f4", .float64: "<f8",
    ]
    return try source.tensors.sorted { $0.name < $1.name }.map { t in
        "\(t.name) \(descr[t.dtype]!) \(t.shape.dims) \(CRC32.checksum(try source.storage(of: t).bytes))"
    }.joined(separator: "\n") + "\n"
}

@Suite("npy writer")
struct NPYWriteTests {
    @Test("headers are byte-identical to numpy.save's", arguments: [
        ("<f4", [3, 4]), ("|b1", [5]), ("<i8", []), ("<f2", [0, 7]), ("|u1", [1, 2, 3, 4]), ("<u4", [123_456_789_012]),
    ] as [(String, [Int])])
    func headerMatchesNumPy(_ descr: String, _ dims: [Int]) throws {
        let dtype = try NPYDescr(parsing: descr, path: nil, at: 0).dtype
        let ours = NPYWriter.header(dtype: dtype, shape: Shape(dims))
        let theirs = try python("""
            import io, sys, numpy as np
            buf = io.BytesIO()
            np.lib.format.write_array_header_1_0(buf, {"descr": sys.argv[1], "fortran_order": False, "shape": tuple(int(x) for x in sys.argv[2:])})
            print(buf.getvalue().hex())
            """, [descr] + dims.map(String.init))
        #expect(hexString(ours) == theirs.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(ours.count % 64 == 0)
    }

    @Test("a written .npy is byte-identical to numpy.save of the same array")
    func fileMatchesNumPy() throws {
        let source = try NPYFile(path: fixture("numpy/dtypes/i2.npy"))
        let dir = TemporaryFolder()
        let out = dir.file("ours.npy")
        _ = try NPYWriter.write(try source.tensors.map { try TensorPayload(source: source, input: $0) }, metadata: Metadata(), to: out)
        _ = try python("import sys, numpy as np; np.save(sys.argv[2], np.load(sys.argv[1]))", [out, dir.file("theirs.npy")])
        #expect(try readBytes(out) == readBytes(dir.file("theirs.npy")))
    }

    @Test("every dtype, big-endian and Fortran inputs included, is written so numpy.load reads identical values")
    func numpyReadsOurFiles() throws {
        let dir = TemporaryFolder()
        var paths: [String] = []
        for folder in ["dtypes", "bigendian"] {
            for name in try FormatDetector.listDirectory(fixture("numpy/" + folder)) {
                let source = try NPYFile(path: fixture("numpy/\(folder)/\(name)"))
                let out = dir.file("\(folder)-\(name)")
                _ = try NPYWriter.write(try source.tensors.map { try TensorPayload(source: source, input: $0) }, metadata: Metadata(), to: out)
                paths.append(out)
            }
        }
        for name in ["fortran.npy", "fortran_bigendian.npy", "scalar.npy", "empty.npy"] {
            let source = try NPYFile(path: fixture("numpy/" + name))
            let out = dir.file(name)
            _ = try NPYWriter.write(try source.tensors.map { try TensorPayload(source: source, input: $0) }, metadata: Metadata(), to: out)
            paths.append(out)
        }
        for path in paths {
            let ours = try digest(NPYFile(path: path))
            #expect(try python(numpyDigest, [path]) == ours, "\(path)")
        }
        // The same values as numpy wrote them: the CRCs in expected.json.
        for e in NumPyExpectation.all where e.file.hasSuffix(".npy") && !e.file.hasPrefix("v") {
            let written = dir.file(e.file.replacingOccurrences(of: "/", with: "-"))
            try e.check(in: NPYFile(path: written, name: e.tensor))
        }
    }

    @Test("bf16 and f8 are refused with a hint to cast; several tensors need --tensor")
    func refusals() throws {
        let dir = TemporaryFolder()
        for dtype in [DType.bfloat16, .float8E4M3, .float8E5M2] {
            let source = MemorySource([("w", dtype, [2], [UInt8](repeating: 0, count: 2 * dtype.blockBytes))])
            let error = expectFormatError(.unsupportedDType, dtype.shortName) {
                _ = try NPYWriter.write(try source.payloads(), metadata: Metadata(), to: dir.file("x.npy"))
            }
            #expect(error?.message.contains("--dtype f32") == true)
            expectFormatError(.unsupportedDType) { _ = try NPZWriter.write(try source.payloads(), metadata: Metadata(), to: dir.file("x.npz")) }
            #expect(!FormatRegistry.canStore(dtype, in: .npz))
        }
        let two = MemorySource([("a", .uint8, [1], [1]), ("b", .uint8, [1], [2])])
        let error = expectFormatError(.unsupported) { _ = try NPYWriter.write(try two.payloads(), metadata: Metadata(), to: dir.file("x.npy")) }
        #expect(error?.message.contains("--tensor") == true)
        #expect(try FormatDetector.listDirectory(dir.path).isEmpty, "no partial output")
    }

    @Test("a folder of .npy is written one file per tensor; unsafe names are refused before writing")
    func folderWriter() throws {
        let dir = TemporaryFolder()
        let source = MemorySource([("model.embed", .float32, [2], [0, 0, 128, 63, 0, 0, 0, 64]), ("bias", .int8, [3], [1, 2, 255])],
                                  metadata: Metadata(strings: [("format", "pt")]))
        let out = dir.file("arrays")
        let report = try NPYFolderWriter.write(try source.payloads(), metadata: source.metadata, folder: out)
        #expect(report.droppedMetadata == ["format"])
        #expect(try FormatDetector.listDirectory(out) == ["bias.npy", "model.embed.npy"])
        let back = try NPYFolder(path: out)
        #expect(try digest(back) == digest(source))
        #expect(try python(numpyDigest, [joinPath(out, "bias.npy"), joinPath(out, "model.embed.npy")]) == digest(source))
        for bad in ["../escape", "/abs/path", "a/b", "..", ""] {
            let evil = MemorySource([("ok", .uint8, [1], [1]), (bad, .uint8, [1], [1])])
            let target = dir.file("evil")
            expectFormatError(.invalidHeader, bad) { _ = try NPYFolderWriter.write(try evil.payloads(), metadata: Metadata(), folder: target) }
            #expect(FormatDetector.kind(of: target) == .missing, "nothing written for \(bad)")
        }
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}
