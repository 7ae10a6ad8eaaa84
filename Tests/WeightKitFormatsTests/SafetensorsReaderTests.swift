import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// The reader against files written by the reference `safetensors` package, and against one
/// malformed file per rule (fixtures/safetensors/generate.py).
@Suite("safetensors reader")
struct SafetensorsReaderTests {
    struct Expected {
        var shape: [Int]
        var hex: String
        var f64: [Double]?
        var ints: [String]?
    }

    static let expected: (tensors: [String: Expected], metadata: [String: String]) = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("safetensors/expected.json")))
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        var tensors: [String: Expected] = [:]
        for (name, value) in root["tensors"] as! [String: [String: Any]] {
            let floats = (value["f64"] as? [Any])?.map { item -> Double in
                if let s = item as? String { return s == "nan" ? .nan : (s == "inf" ? .infinity : -.infinity) }
                return (item as! NSNumber).doubleValue
            }
            tensors[name] = Expected(shape: value["shape"] as! [Int], hex: value["hex"] as! String, f64: floats, ints: value["int"] as? [String])
        }
        return (tensors, root["metadata"] as! [String: String])
    }()

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("every dtype written by the reference reads back with identical bytes, shapes and metadata")
    func allDTypes() throws {
        let file = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        #expect(file.tensors.count == Self.expected.tensors.count)
        for t in file.tensors {
            let want = try #require(Self.expected.tensors[t.name], "unexpected tensor \(t.name)")
            #expect(t.shape.dims == want.shape, "\(t.name)")
            let storage = try file.storage(of: t)
            #expect(storage.isMapped, "safetensors data must be a zero-copy view")
            #expect(Self.hex(storage.bytes) == want.hex, "\(t.name) bytes")
        }
        #expect(Dictionary(uniqueKeysWithValues: file.metadata.stringEntries) == Self.expected.metadata)
        let names = Set(file.tensors.map(\.dtype))
        #expect(names.count == 15, "the fixture covers all 15 safetensors dtypes")
    }

    @Test("floating tensors decode to the values numpy and ml_dtypes give")
    func floatValues() throws {
        let file = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        for t in file.tensors where t.dtype.isFloatingPoint && t.dtype != .float64 {
            let want = try #require(Self.expected.tensors[t.name]?.f64)
            var got = [Float](repeating: 0, count: t.elementCount)
            try file.storage(of: t).withUnsafeBytes { src in
                got.withUnsafeMutableBytes { dst in
                    if t.elementCount > 0 { ElementConversion.decodeToFloat32(src.baseAddress!, from: t.dtype, into: dst.baseAddress!, count: t.elementCount) }
                }
            }
            for (g, w) in zip(got, want) {
                // The expected values are f32-representable; Foundation's JSON parsing may be off in
                // the last bits of the double, so compare at f32 precision.
                if w.isNaN { #expect(g.isNaN, "\(t.name)") } else { #expect(g == Float(w), "\(t.name): \(g) vs \(w)") }
            }
        }
    }

    @Test("a 0-d tensor written by safetensors.numpy has shape [] and one element")
    func scalar() throws {
        let file = try SafetensorsFile(path: fixture("safetensors/scalar.safetensors"))
        let t = try #require(file.tensor(named: "scalar"))
        #expect(t.shape.dims == [] && t.elementCount == 1 && t.byteCount == 4)
        #expect(try file.storage(of: t).bytes == [0, 0, 0xF0, 0x40])
    }

    @Test("leading whitespace before the header object is accepted, as the reference accepts it")
    func leadingSpace() throws {
        let file = try SafetensorsFile(path: fixture("safetensors/leading_space.safetensors"))
        #expect(file.tensors.map(\.name) == ["a"])
        #expect(try file.storage(named: "a").bytes == [0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0])
    }

    static let malformed: [(String, FormatError.Kind)] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("safetensors/malformed/kinds.json")))
        let kinds = try! JSONSerialization.jsonObject(with: data) as! [String: String]
        return kinds.sorted { $0.key < $1.key }.map { ($0.key, FormatError.Kind(rawValue: $0.value)!) }
    }()

    @Test("each malformed file breaks one rule and gets that rule's error", arguments: malformed)
    func malformedFile(name: String, kind: FormatError.Kind) throws {
        let path = fixture("safetensors/malformed/\(name).safetensors")
        let error = #expect(throws: FormatError.self) { _ = try SafetensorsFile(path: path) }
        #expect(error?.kind == kind, "\(name): \(String(describing: error))")
        #expect(error?.path == path)
        #expect(error?.byteOffset != nil, "\(name) must say where: \(String(describing: error))")
    }

    @Test("errors name the tensor and the byte offset of its header entry")
    func errorLocations() throws {
        let gap = #expect(throws: FormatError.self) { _ = try SafetensorsFile(path: fixture("safetensors/malformed/offsets_gap.safetensors")) }
        #expect(gap?.tensorName == "b")
        // The error points at the opening quote of the "b" key in the header.
        let bytes = try readBytes(fixture("safetensors/malformed/offsets_gap.safetensors"))
        let quoteB = try #require((0..<bytes.count - 2).first { bytes[$0] == 0x22 && bytes[$0 + 1] == UInt8(ascii: "b") && bytes[$0 + 2] == 0x22 })
        #expect(gap?.byteOffset == quoteB)
        let big = #expect(throws: FormatError.self) { _ = try SafetensorsFile(path: fixture("safetensors/malformed/header_too_large.safetensors")) }
        #expect(big?.byteOffset == 0)
        #expect(big?.description.contains("1099511627776") == true)
        let dup = #expect(throws: FormatError.self) { _ = try SafetensorsFile(path: fixture("safetensors/malformed/duplicate_name.safetensors")) }
        #expect(dup?.tensorName == "a")
    }

    @Test("cutting a valid file at every length gives a clean error, never a crash")
    func everyTruncation() throws {
        let bytes = try readBytes(fixture("safetensors/writer_reference.safetensors"))
        let dir = TemporaryFolder()
        let path = dir.file("cut.safetensors")
        for length in 0..<bytes.count {
            try writeBytes(Array(bytes[..<length]), to: path)
            #expect(throws: FormatError.self, "length \(length)") { _ = try SafetensorsFile(path: path) }
        }
        try writeBytes(bytes, to: path)
        #expect(try SafetensorsFile(path: path).tensors.count == 10)
    }

    @Test("a missing file is cannotOpen; a folder without weights is unknownFormat")
    func openFailures() throws {
        let missing = #expect(throws: FormatError.self) { _ = try FormatRegistry.open(path: "/nonexistent/x.safetensors") }
        #expect(missing?.kind == .cannotOpen)
        let dir = TemporaryFolder()
        let empty = #expect(throws: FormatError.self) { _ = try FormatRegistry.open(path: dir.path) }
        #expect(empty?.kind == .unknownFormat)
    }
}
