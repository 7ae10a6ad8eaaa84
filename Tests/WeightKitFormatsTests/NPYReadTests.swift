import Foundation
import Testing
import WeightKitCore
@testable import WeightKitFormats
import WeightKitTestSupport

/// What `fixtures/numpy/generate.py` recorded for each tensor it wrote with numpy.
struct NumPyExpectation: Sendable, CustomStringConvertible {
    var file: String
    var tensor: String
    var dtype: String
    var shape: [Int]
    var crc32: UInt32
    var description: String { "\(file):\(tensor)" }

    /// Every entry of `fixtures/numpy/expected.json`.
    static let all: [NumPyExpectation] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("numpy/expected.json")))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: [String: [String: Any]]]
        return root.keys.sorted().flatMap { file in
            root[file]!.keys.sorted().map { name in
                let e = root[file]![name]!
                return NumPyExpectation(
                    file: file, tensor: name, dtype: e["dtype"] as! String, shape: e["shape"] as! [Int],
                    crc32: UInt32((e["crc32"] as! NSNumber).uint64Value))
            }
        }
    }()

    /// Checks `source`'s tensor against this expectation: dtype, shape and the CRC-32 of its
    /// native C-ordered bytes.
    func check(in source: any TensorSource) throws {
        let info = try #require(source.tensor(named: tensor), "\(self) missing")
        #expect(info.dtype.shortName == dtype, "\(self)")
        #expect(info.shape.dims == shape, "\(self)")
        let storage = try source.storage(of: info)
        #expect(storage.count == info.byteCount, "\(self)")
        #expect(CRC32.checksum(storage.bytes) == crc32, "\(self): values differ from numpy's")
    }
}

/// Runs `body`, which must throw a `FormatError` of `kind`; returns it.
@discardableResult
func expectFormatError(_ kind: FormatError.Kind, _ what: String = "", _ body: () throws -> Void) -> FormatError? {
    do {
        try body()
        Issue.record("\(what): expected a \(kind) error, nothing was thrown")
    } catch let error as FormatError {
        #expect(error.kind == kind, "\(what): \(error)")
        return error
    } catch {
        Issue.record("\(what): expected a FormatError, got \(error)")
    }
    return nil
}

@Suite("npy reader")
struct NPYReadTests {
    static let npyFiles = NumPyExpectation.all.filter { $0.file.hasSuffix(".npy") }

    @Test("every .npy numpy wrote reads with numpy's dtype, shape and values", arguments: npyFiles)
    func readsNumPyFixture(_ e: NumPyExpectation) throws {
        let file = try NPYFile(path: fixture("numpy/" + e.file))
        #expect(file.tensors.count == 1)
        try e.check(in: file)
    }

    @Test("little-endian C-ordered data is a zero-copy view; big-endian and Fortran data are owned copies")
    func zeroCopy() throws {
        let le = try NPYFile(path: fixture("numpy/dtypes/f4.npy"))
        #expect(try le.storage(of: le.info).isMapped)
        #expect(le.info.fileOffset == le.header.dataOffset)
        #expect(le.header.dataOffset % 64 == 0)
        for name in ["bigendian/f4.npy", "fortran.npy", "fortran_bigendian.npy"] {
            let f = try NPYFile(path: fixture("numpy/" + name))
            #expect(try !f.storage(of: f.info).isMapped, "\(name)")
            #expect(f.info.fileOffset == nil, "\(name)")
        }
    }

    @Test("a Fortran-ordered 3-D array is presented in C order")
    func fortranValues() throws {
        // generate.py: np.asfortranarray(np.arange(60).reshape(3, 4, 5) * 0.5 - 7)
        let f = try NPYFile(path: fixture("numpy/fortran.npy"))
        #expect(f.header.fortranOrder && f.info.shape == [3, 4, 5])
        let values = try f.storage(of: f.info).bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(values == (0..<60).map { Float($0) * 0.5 - 7 })
        let be = try NPYFile(path: fixture("numpy/fortran_bigendian.npy"))
        let ints = try be.storage(of: be.info).bytes.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        #expect(ints == [-3, -2, -1, 0, 1, 2])
    }

    @Test("versions 1.0, 2.0 and 3.0, a 0-d array and an empty array")
    func versionsAndEdgeShapes() throws {
        #expect(try NPYFile(path: fixture("numpy/v2.npy")).header.major == 2)
        #expect(try NPYFile(path: fixture("numpy/v3.npy")).header.major == 3)
        let scalar = try NPYFile(path: fixture("numpy/scalar.npy"))
        #expect(scalar.info.shape.rank == 0 && scalar.info.elementCount == 1)
        let value = try scalar.storage(of: scalar.info).bytes.withUnsafeBytes { $0.loadUnaligned(as: Double.self) }
        #expect(value == 2.718281828459045)
        let empty = try NPYFile(path: fixture("numpy/empty.npy"))
        #expect(empty.info.shape == [0, 3] && empty.info.byteCount == 0)
        #expect(try empty.storage(of: empty.info).count == 0)
    }

    @Test("a folder of .npy files reads as one tensor set named after the files")
    func folder() throws {
        let folder = try NPYFolder(path: fixture("numpy/dtypes"))
        #expect(folder.tensors.map(\.name) == ["b1", "f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"])
        for e in NumPyExpectation.all where e.file.hasPrefix("dtypes/") {
            try e.check(in: folder)
        }
        #expect(try FormatDetector.detect(path: fixture("numpy/dtypes")) == .npyFolder)
        #expect(try FormatRegistry.open(path: fixture("numpy/dtypes")).formatName == "npy-folder")
    }

    @Test("format detection finds .npy and .npz by their magic bytes")
    func detection() throws {
        #expect(try FormatDetector.detect(path: fixture("numpy/v2.npy")) == .npy)
        #expect(try FormatDetector.detect(path: fixture("numpy/mixed.npz")) == .npz)
    }

    static let malformed: [(String, FormatError.Kind)] = [
        ("bad_magic.npy", .badMagic),
        ("truncated_header.npy", .truncated),
        ("bad_version.npy", .unsupportedVersion),
        ("header_too_large.npy", .headerTooLarge),
        ("dict_unknown_key.npy", .invalidHeader),
        ("dict_missing_key.npy", .invalidHeader),
        ("dict_malformed.npy", .invalidHeader),
        ("dict_call.npy", .invalidHeader),
        ("shape_not_tuple.npy", .invalidHeader),
        ("size_mismatch.npy", .sizeMismatch),
        ("shape_overflow.npy", .shapeMismatch),
        ("pickle.npy", .unsupportedDType),
        ("structured.npy", .unsupportedDType),
        ("strings.npy", .unsupportedDType),
        ("complex.npy", .unsupportedDType),
    ]

    @Test("every malformed .npy fixture gives the intended error kind", arguments: malformed)
    func malformedFixture(_ name: String, _ kind: FormatError.Kind) {
        let path = fixture("numpy/bad/" + name)
        let error = expectFormatError(kind, name) { _ = try NPYFile(path: path) }
        #expect(error?.path == path)
    }

    @Test("errors point at the offending byte")
    func byteOffsets() throws {
        let path = fixture("numpy/bad/dict_unknown_key.npy")
        let bytes = try readBytes(path)
        let key = Array("'extra'".utf8)
        let offset = try #require(bytes.indices.first { Array(bytes[$0..<min(bytes.count, $0 + key.count)]) == key })
        #expect(expectFormatError(.invalidHeader) { _ = try NPYFile(path: path) }?.byteOffset == offset)
        #expect(expectFormatError(.headerTooLarge) { _ = try NPYFile(path: fixture("numpy/bad/header_too_large.npy")) }?.byteOffset == 8)
        let pickle = expectFormatError(.unsupportedDType) { _ = try NPYFile(path: fixture("numpy/bad/pickle.npy")) }
        #expect(pickle?.message.contains("pickle") == true)
    }

    @Test("a .npy cut at every length is an error, never a crash")
    func everyTruncation() throws {
        let bytes = try readBytes(fixture("numpy/dtypes/f4.npy"))
        let dir = TemporaryFolder()
        for n in 0..<bytes.count {
            let path = dir.file("cut\(n).npy")
            try writeBytes(Array(bytes[0..<n]), to: path)
            expectFormatError(n == 0 ? .badMagic : n < 128 ? .truncated : .sizeMismatch, "cut at \(n)") {
                _ = try NPYFile(path: path)
            }
        }
    }

    @Test("header dict parsing: accepted spellings and rejected ones")
    func dictParser() throws {
        func parse(_ text: String) throws -> NPYDictParser.Dict {
            var p = NPYDictParser(bytes: Array(text.utf8), base: 0, path: nil)
            return try p.parse()
        }
        let d = try parse("{\"shape\":(),\"fortran_order\":True,\"descr\":\"<f8\"}\n")
        #expect(d.shape == [] && d.fortranOrder && d.descr == "<f8")
        #expect(try parse("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3,), }   \n").shape == [2, 3])
        for bad in [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'descr': '<f4'}",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2.0,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (02,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
            "{'descr': '<\\x66\\x34', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
            "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,)}",
        ] {
            expectFormatError(.invalidHeader, bad) { _ = try parse(bad) }
        }
    }

    @Test("descr strings: every byte order, and refusals that say why")
    func descrStrings() throws {
        for (text, dtype, big) in [("<f4", DType.float32, false), (">i8", .int64, true), ("|b1", .bool, false),
                                   ("=u2", .uint16, false), (">u1", .uint8, false), ("f2", .float16, false)] {
            let d = try NPYDescr(parsing: text, path: nil, at: 0)
            #expect(d.dtype == dtype && d.bigEndian == big, "\(text)")
        }
        for text in ["|O", "<U3", "|S5", "|V8", "<M8[ns]", "<c16", "<f16"] {
            expectFormatError(.unsupportedDType, text) { _ = try NPYDescr(parsing: text, path: nil, at: 0) }
        }
        expectFormatError(.unknownDType) { _ = try NPYDescr(parsing: "<z4", path: nil, at: 0) }
    }
}
