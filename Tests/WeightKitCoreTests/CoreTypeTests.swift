import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport

@Suite("Shapes, dtypes, JSON, CRC and output files")
struct CoreTypeTests {
    @Test("element and byte counts are overflow-checked")
    func shapes() {
        #expect(Shape([2, 3]).elementCount == 6)
        #expect(Shape([]).elementCount == 1)
        #expect(Shape([0, 5]).elementCount == 0)
        #expect(Shape([1 << 62, 4]).elementCount == nil)
        #expect(Shape([-1]).elementCount == nil)
        #expect(Shape([1 << 61]).byteCount(of: .float32) == nil)
        #expect(Shape([64]).byteCount(of: .q8_0) == 68)
        #expect(Shape([33]).byteCount(of: .q4_0) == nil, "a partial block is not storable")
        #expect(Shape([4, 32]).byteCount(of: .q4_1) == 80)
    }

    @Test("every safetensors dtype name maps both ways", arguments: DType.allCases)
    func dtypeNames(dtype: DType) {
        if let name = dtype.safetensorsName {
            #expect(DType(safetensorsName: name) == dtype)
            #expect(DType(name: name) == dtype)
        } else {
            #expect(dtype.isQuantized || dtype == .unknown)
        }
        #expect(DType(name: dtype.shortName) == (dtype == .unknown ? nil : dtype), "unknown only comes from a file's type code")
    }

    @Test("json-c parse keeps order, integers and rejects duplicates, trailing data and deep nesting")
    func json() throws {
        let value = try JSON.parse(#"{"b": 1, "a": [1.5, "x", null, true], "big": 18446744073709551615}  "#)
        let object = try #require(value.object)
        #expect(object.keys == ["b", "a", "big"])
        #expect(object["b"] == .int(1))
        #expect(object["big"] == .uint(UInt64.max))
        #expect(object["a"] == .array([.double(1.5), .string("x"), .null, .bool(true)]))

        let dup = #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a": {"x": 1, "y": 2, "x": 3}}"#) }
        #expect(dup?.duplicateKey == "x")
        #expect(dup?.byteOffset == 23, "offset of the second \"x\"")
        let trailing = #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a": 1} x"#) }
        #expect(trailing?.byteOffset == 9)
        #expect(throws: JSONParseError.self) { try JSON.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) }
        #expect(throws: JSONParseError.self) { try JSON.parse(#"{"a": 1"#) }
        #expect(throws: JSONParseError.self) { try JSON.parse("") }
    }

    @Test("duplicate keys with escapes are found by their decoded names")
    func escapedDuplicates() throws {
        let error = #expect(throws: JSONParseError.self) { try JSON.parse(#"{"\u0041\n": 1, "A\n": 2}"#) }
        #expect(error?.duplicateKey == "A\n")
    }

    @Test("JSONWriter output parses back to the same value")
    func writerRoundTrip() throws {
        let value: JSONValue = ["name": "quote \" backslash \\ tab \t ctl \u{01} é 😀", "n": [1, -2, 3.5], "ok": true, "nil": .null]
        #expect(try JSON.parse(JSONWriter.serialize(value)) == value)
        #expect(try JSON.parse(JSONWriter.serialize(value, indent: 2)) == value)
    }

    @Test("CRC-32 matches zlib's check value")
    func crc() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    @Test("OutputFile appears only on commit, and leaves nothing behind when dropped")
    func atomicOutput() throws {
        let dir = TemporaryFolder()
        let target = dir.file("out.bin")
        do {
            let file = try OutputFile(path: target)
            try file.write([1, 2, 3])
            #expect(!FileManager.default.fileExists(atPath: target))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "dropped writer must remove its temp file")
        let file = try OutputFile(path: target)
        try file.write([1, 2, 3])
        try file.commit()
        #expect(try readBytes(target) == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.bin"])
        let failing = #expect(throws: FormatError.self) { try OutputFile(path: "/nonexistent-dir/x.bin") }
        #expect(failing?.kind == .writeFailed)
    }

    @Test("statistics match numpy on values with NaN and Inf excluded")
    func stats() throws {
        let values: [Float] = (0..<1000).map { Float($0 % 17) * 0.25 - 1 } + [.nan, .infinity, 0]
        let stats = values.withUnsafeBytes { TensorStats.compute($0, dtype: .float32, count: values.count) }
        let finite = values.filter(\.isFinite).map(Double.init)
        let mean = finite.reduce(0, +) / Double(finite.count)
        let std = (finite.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(finite.count)).squareRoot()
        #expect(stats.nanCount == 1 && stats.infCount == 1)
        #expect(stats.min == finite.min() && stats.max == finite.max())
        #expect(abs(stats.mean! - mean) < 1e-9)
        #expect(abs(stats.std! - std) < 1e-9)
        let ints: [Int16] = [-3, 0, 7, 7]
        let s2 = ints.withUnsafeBytes { TensorStats.compute($0, dtype: .int16, count: 4) }
        #expect(s2.min == -3 && s2.max == 7 && s2.mean == 2.75 && s2.zeroCount == 1)
    }
}

@Suite("Aligned buffers")
struct AlignedBufferTests {
    @Test("huge-page buffers hold what is written, zeroed at first, 2 MiB-aligned on Linux", arguments: [0, 1, 4096, (3 << 20) + 5])
    func hugePages(count: Int) {
        let buffer = AlignedBuffer(count: count, hugePages: true)
        #expect(buffer.count == count)
        buffer.withUnsafeMutableBytes { bytes in
            #expect(bytes.count == count)
            #expect(bytes.allSatisfy { $0 == 0 })
            for i in 0..<count { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
            #if os(Linux)
            if count > 0 { #expect(Int(bitPattern: bytes.baseAddress!) % (2 << 20) == 0) }
            #endif
        }
        buffer.withUnsafeBytes { bytes in
            #expect((0..<count).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        }
    }
}
