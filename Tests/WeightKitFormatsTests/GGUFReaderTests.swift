import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Reads `fixtures/gguf/all_types.gguf`, written by gguf-py, and compares with what gguf-py says.
@Suite("GGUF reader")
struct GGUFReaderTests {
    static let path = fixture("gguf/all_types.gguf")

    /// `all_types.expected.json`: per tensor, numpy shape, type name and gguf.quants.dequantize values.
    static func expected() throws -> [String: (shape: [Int], type: String, values: [Float])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("gguf/all_types.expected.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return root.mapValues { entry in
            ((entry["shape"] as! [Int]), entry["type"] as! String, (entry["values"] as! [Double]).map { Float($0) })
        }
    }

    /// The tensor's values as f32, dequantizing blocks.
    static func floats(_ file: GGUFFile, _ t: TensorInfo) throws -> [Float] {
        let bytes = try file.storage(of: t).bytes
        if t.dtype.isQuantized { return QuantBlocks.dequantize(bytes, as: t.dtype) }
        var out = [Float](repeating: 0, count: t.elementCount)
        unsafe bytes.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                unsafe ElementConversion.decodeToFloat32(src.baseAddress!, from: t.dtype, into: dst.baseAddress!, count: t.elementCount)
            }
        }
        return out
    }

    @Test("every metadata value type reads with its value and exact type")
    func metadata() throws {
        let file = try GGUFFile(path: Self.path)
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.value("general.architecture") == .string("llama"))
        #expect(file.value("test.u8") == .uint8(200))
        #expect(file.value("test.i8") == .int8(-100))
        #expect(file.value("test.u16") == .uint16(60000))
        #expect(file.value("test.i16") == .int16(-30000))
        #expect(file.value("test.u32") == .uint32(4_000_000_000))
        #expect(file.value("test.i32") == .int32(-2_000_000_000))
        #expect(file.value("test.f32") == .float32(0.15625))
        #expect(file.value("test.bool") == .bool(true))
        #expect(file.value("test.string") == .string("héllo ✓"))
        #expect(file.value("test.u64") == .uint64(1 << 63 + 5))
        #expect(file.value("test.i64") == .int64(-(1 << 62)))
        #expect(file.value("test.f64") == .float64(2.718281828459045))
        #expect(file.value("test.array.i32") == .array(elementType: .int32, [.int32(1), .int32(-2), .int32(3)]))
        #expect(file.value("test.array.str") == .array(elementType: .string, [.string("a"), .string("bc"), .string("")]))
        #expect(file.value("test.array.f32") == .array(elementType: .float32, [.float32(0.5), .float32(-1.25)]))
        #expect(file.value("test.array.u8") == .array(elementType: .uint8, [.uint8(1), .uint8(2), .uint8(255)]))
        #expect(file.value("test.array.nested") == .array(elementType: .array, [
            .array(elementType: .int32, [.int32(1), .int32(2)]), .array(elementType: .int32, [.int32(3)]),
        ]))
        #expect(file.metadata["test.u64"] == .uint(1 << 63 + 5))
        #expect(file.metadata["test.array.nested"] == .array([.array([.int(1), .int(2)]), .array([.int(3)])]))
    }

    @Test("tensor shapes are numpy-style and values equal gguf.quants.dequantize")
    func tensorValues() throws {
        let file = try GGUFFile(path: Self.path)
        let expected = try Self.expected()
        #expect(file.tensors.count == expected.count)
        let dtypes = Set(file.tensors.map(\.dtype))
        #expect(dtypes == [.float32, .float16, .bfloat16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K])
        for t in file.tensors {
            let want = try #require(expected[t.name], "\(t.name) not in expected")
            #expect(t.shape.dims == want.shape, "\(t.name)")
            #expect(t.dtype.shortName == want.type.lowercased(), "\(t.name)")
            #expect(try file.storage(of: t).isMapped)
            let got = try Self.floats(file, t)
            #expect(got == want.values, "\(t.name): values differ from gguf.quants.dequantize")
        }
    }

    @Test("tensor data offsets match gguf-py's GGUFReader")
    func offsetsMatchPython() throws {
        let file = try GGUFFile(path: Self.path)
        let out = try python("""
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            for t in r.tensors: print(t.name, t.data_offset, t.n_bytes)
            """, [Self.path])
        let lines = out.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.count == file.tensors.count)
        for (t, line) in zip(file.tensors, lines) {
            #expect(line == [t.name, String(t.fileOffset!), String(t.byteCount)])
        }
    }

    @Test("the format registry detects and opens GGUF")
    func registry() throws {
        #expect(try FormatDetector.detect(path: Self.path) == .gguf)
        let source = try FormatRegistry.open(path: Self.path)
        #expect(source.formatName == "gguf")
        #expect(source.tensors.count == 11)
    }
}

extension GGUFReaderTests {
    @Test("GGUF v2 (same layout, u64 counts) reads like v3")
    func version2() throws {
        var bytes = try readBytes(Self.path)
        bytes[4] = 2
        let folder = TemporaryFolder()
        try writeBytes(bytes, to: folder.file("v2.gguf"))
        let file = try GGUFFile(path: folder.file("v2.gguf"))
        #expect(file.version == 2)
        #expect(file.tensors.count == 11)
    }
}
