import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// `fixtures/quant/all_types/all_types.gguf`: one tensor of every type in ggml's table, written
/// by gguf-py's GGUFWriter; and `unknown_types.gguf`, whose tensors have codes nobody knows.
@Suite("GGUF: every ggml type, and unknown ones")
struct GGUFAllTypesTests {
    static let path = fixture("quant/all_types/all_types.gguf")
    static let unknownPath = fixture("quant/all_types/unknown_types.gguf")

    /// `all_types.json`: per tensor, gguf-py's type name, numpy shape and dequantized values.
    static func expected() throws -> [String: (type: String, shape: [Int], values: [Float])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("quant/all_types/all_types.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return root.mapValues { ($0["type"] as! String, $0["shape"] as! [Int], ($0["values"] as! [Double]).map { Float($0) }) }
    }

    /// The tensor's values as f32: blocks dequantized, plain types widened to Double, then rounded.
    static func floats(_ file: GGUFFile, _ t: TensorInfo) throws -> [Float] {
        let bytes = try file.storage(of: t).bytes
        if t.dtype.isQuantized { return QuantBlocks.dequantize(bytes, as: t.dtype) }
        var out = [Double](repeating: 0, count: t.elementCount)
        unsafe bytes.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBufferPointer { dst in
                unsafe IntegerWidening.widen(src.baseAddress!, dtype: t.dtype, into: dst.baseAddress!, count: t.elementCount)
            }
        }
        return out.map { Float($0) }
    }

    @Test("every tensor has gguf-py's type and shape, and values whose bits equal gguf.quants.dequantize")
    func values() throws {
        let file = try GGUFFile(path: Self.path)
        let expected = try Self.expected()
        #expect(file.tensors.count == 35 && expected.count == 35)
        #expect(Set(file.tensors.map(\.dtype)) == Set(DType.allCases).subtracting([.bool, .uint8, .uint16, .uint32, .uint64, .float8E4M3, .float8E5M2, .unknown]))
        for t in file.tensors {
            let want = try #require(expected[t.name], "\(t.name)")
            #expect(t.dtype.shortName == want.type.lowercased(), "\(t.name)")
            #expect(GGMLType.name(code: try #require(GGMLType.code(of: t.dtype))) == want.type)
            #expect(t.shape.dims == want.shape, "\(t.name)")
            let got = try Self.floats(file, t)
            #expect(got.map(\.bitPattern) == want.values.map(\.bitPattern), "\(t.name)")
        }
    }

    @Test("every code in gguf-py's GGMLQuantizationType maps to a DType and back")
    func codes() {
        let known: [UInt32] = [0, 1, 2, 3] + Array(6...30) + [34, 35, 39, 40, 41, 42]
        for code in known {
            let dtype = GGMLType.dtype(code: code)
            #expect(dtype != nil, "code \(code)")
            #expect(dtype.flatMap(GGMLType.code(of:)) == code, "code \(code)")
        }
        for code: UInt32 in [4, 5, 31, 32, 33, 36, 37, 38, 43, 99] { #expect(GGMLType.dtype(code: code) == nil, "code \(code)") }
        #expect(GGMLType.name(code: 31) == "Q4_0_4_4" && GGMLType.name(code: 99) == "type 99")
        #expect(GGMLType.name(code: 24) == "I8" && GGMLType.name(code: 23) == "IQ4_XS")
    }

    @Test("unknown type codes: the header reads, each such tensor keeps its code and is shown as unknown")
    func unknownHeader() throws {
        let file = try GGUFFile(path: Self.unknownPath)
        #expect(file.tensors.map(\.name) == ["mystery", "old", "known"])
        #expect(file.tensors.map(\.dtype) == [.unknown, .unknown, .float32])
        #expect(file.tensors.map(\.unknownTypeCode) == [99, 31, nil])
        #expect(file.tensors.map(\.typeName) == ["unknown (type 99)", "unknown (type 31)", "f32"])
        #expect(file.tensors.map(\.byteCount) == [0, 0, 16])
        #expect(file.tensors[0].shape == [2, 8])
        let known = try Self.floats(file, file.tensors[2])
        #expect(known == [1.5, -2, 0.25, 8])
    }

    @Test("reading an unknown tensor's data fails naming the file, the tensor and the type code")
    func unknownData() throws {
        let file = try GGUFFile(path: Self.unknownPath)
        for (t, code) in zip(file.tensors.prefix(2), [99, 31]) {
            let error = try #require(throws: FormatError.self) { try file.storage(of: t) }
            #expect(error.kind == .unknownDType)
            #expect(error.path == Self.unknownPath)
            #expect(error.tensorName == t.name)
            #expect(error.byteOffset == t.fileOffset)
            #expect(error.message.contains("type \(code)"), "\(error)")
            #expect("\(error)".contains(t.name) && "\(error)".contains("unknown_types.gguf"))
        }
        let error = try #require(throws: FormatError.self) { try TensorPayload(source: file, input: file.tensors[0], dtype: .float32) }
        #expect(error.kind == .unknownDType && error.path == Self.unknownPath && error.tensorName == "mystery")
    }

    @Test("an unknown tensor's start is still checked against the file; it takes part in no overlap check")
    func unknownPlacement() throws {
        var bytes = try readBytes(Self.unknownPath)
        let file = try GGUFFile(path: Self.unknownPath)
        // The "mystery" tensor's offset field sits just before the "old" tensor's name: set it
        // past the end of the file.
        let header = Array(bytes[..<file.dataOffset])
        let name = Array("old".utf8)
        let at = try #require((0..<header.count - name.count).first { Array(header[$0..<$0 + name.count]) == name }) - 8 - 8
        let folder = TemporaryFolder()
        withUnsafeBytes(of: UInt64(1 << 20).littleEndian) { for i in 0..<8 { bytes[at + i] = $0[i] } }
        try writeBytes(bytes, to: folder.file("past.gguf"))
        let error = try #require(throws: FormatError.self) { try GGUFFile(path: folder.file("past.gguf")) }
        #expect(error.kind == .truncated && error.tensorName == "mystery", "\(error)")
        // Overlapping the known tensor's data is not detectable, and not refused.
        withUnsafeBytes(of: UInt64(96).littleEndian) { for i in 0..<8 { bytes[at + i] = $0[i] } }
        try writeBytes(bytes, to: folder.file("overlap.gguf"))
        #expect(try GGUFFile(path: folder.file("overlap.gguf")).tensors.count == 3)
    }
}
