import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Hostile inputs the per-format malformed tables do not already cover: each one must end in a
/// `FormatError` of the right kind (with a byte offset where one means something), quickly, with
/// no crash and no silent renaming. Crashers found by fuzzing (fixtures/fuzz/) are replayed here.
@Suite("Hostile inputs")
struct HostileInputTests {
    /// A safetensors file: 8-byte length, header, data.
    static func safetensors(_ header: String, data: [UInt8] = [0, 0, 0, 0]) -> [UInt8] {
        let h = Array(header.utf8)
        return (0..<8).map { UInt8(truncatingIfNeeded: h.count >> ($0 * 8)) } + h + data
    }

    /// Opens `bytes` as `format` and returns the error (nil if it opened).
    static func openError(_ bytes: [UInt8], as format: TensorFormat, name: String = "x") throws -> FormatError? {
        let folder = TemporaryFolder()
        let path = folder.file(name)
        try writeBytes(bytes, to: path)
        do {
            let source = try FormatRegistry.open(path: path, format: format)
            for t in source.tensors { _ = try source.storage(of: t) }
            return nil
        } catch let error as FormatError {
            #expect(error.path == path, "error names the file: \(error)")
            return error
        }
    }

    static let f32 = "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"

    @Test("safetensors: hostile headers fail with the rule's kind and offset", arguments: [
        ("NUL in a name", "{\"a\\u0000b\":{\(f32)}}", FormatError.Kind.invalidHeader),
        ("2^63 end offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9223372036854775808]}}", .invalidHeader),
        ("2^64-1 end offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}", .invalidHeader),
        ("shape × width overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", .shapeMismatch),
        ("negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", .invalidHeader),
        ("huge dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1e30],\"data_offsets\":[0,4]}}", .invalidHeader),
        ("duplicate name", "{\"a\":{\(f32)},\"a\":{\(f32)}}", .duplicateName),
        ("two tensors on the same bytes", "{\"a\":{\(f32)},\"b\":{\(f32)}}", .invalidOffsets),
        ("invalid UTF-8 in a name", "{\"a\u{FFFD}\":{\(f32)}}", .invalidHeader),
    ])
    func safetensorsHeaders(_ label: String, _ header: String, _ kind: FormatError.Kind) throws {
        var bytes = Self.safetensors(header)
        if label.hasPrefix("invalid UTF-8") {
            // Replace U+FFFD's UTF-8 with a lone continuation byte: invalid UTF-8 in a key.
            let marker: [UInt8] = [0xEF, 0xBF, 0xBD]
            let at = try #require((0..<bytes.count - 2).first { Array(bytes[$0..<$0 + 3]) == marker })
            bytes.replaceSubrange(at..<at + 3, with: [0x80, 0x20, 0x20])
        }
        let error = try #require(try Self.openError(bytes, as: .safetensors), "\(label) opened")
        #expect(error.kind == kind, "\(label): \(error)")
        #expect(error.byteOffset != nil, "\(label): \(error)")
    }

    @Test("safetensors: a 2^63 header length, 100 000-deep nesting and data after the declared end are refused fast")
    func safetensorsSizes() throws {
        let clock = ContinuousClock()
        let started = clock.now
        let huge: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x80] + Array("{}".utf8)
        #expect(try Self.openError(huge, as: .safetensors)?.kind == .headerTooLarge)
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        let nested = try #require(try Self.openError(Self.safetensors(deep), as: .safetensors))
        #expect(nested.kind == .invalidHeader)
        #expect(nested.message.contains("nesting too deep"))
        // A polyglot: a valid file with a zip appended after the declared end.
        let polyglot = Self.safetensors("{\"a\":{\(Self.f32)}}") + Array("PK\u{3}\u{4}junk".utf8)
        let trailing = try #require(try Self.openError(polyglot, as: .safetensors))
        #expect(trailing.kind == .sizeMismatch)
        #expect(trailing.byteOffset == polyglot.count - 8)
        #expect(clock.now - started < .seconds(5))
    }

    @Test("fuzz crashers stay fixed: each committed input fails cleanly", arguments: [
        ("safetensors/duplicate-key-misaligned.safetensors", TensorFormat.safetensors, FormatError.Kind.duplicateName),
    ])
    func fuzzRegressions(_ name: String, _ format: TensorFormat, _ kind: FormatError.Kind) throws {
        let bytes = try readBytes(fixture("fuzz/" + name))
        let error = try #require(try Self.openError(bytes, as: format))
        #expect(error.kind == kind, "\(error)")
    }

    @Test("JSON: a NUL in an object key is refused rather than cut short by json-c")
    func jsonNULKey() throws {
        #expect(throws: JSONParseError.self) { try JSON.parse("{\"a\\u0000b\":1}") }
        #expect(throws: JSONParseError.self) { try JSON.parse("{\"x\":{\"a\\u0000\":1}}") }
        // A NUL in a *value* survives exactly, and an escaped backslash before u0000 is no NUL.
        #expect(try JSON.parse("{\"a\":\"x\\u0000y\"}").object?["a"]?.string == "x\u{0}y")
        #expect(try JSON.parse("{\"a\\\\u0000\":1}").object?["a\\u0000"] == .integer(1))
    }
}

extension HostileInputTests {
    /// A GGUF v3 file with one F32 [4] tensor called `name` and no metadata.
    static func gguf(name: [UInt8]) -> [UInt8] {
        func u64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        var bytes = Array("GGUF".utf8) + u32(3) + u64(1) + u64(0)
        bytes += u64(name.count) + name + u32(1) + u64(4) + u32(0) + u64(0)
        bytes += [UInt8](repeating: 0, count: (32 - bytes.count % 32) % 32)
        return bytes + [UInt8](repeating: 0, count: 16)
    }

    @Test("GGUF: a NUL or invalid UTF-8 in a tensor name is refused at the name's offset")
    func ggufNames() throws {
        #expect(try Self.openError(Self.gguf(name: Array("ab".utf8)), as: .gguf) == nil)
        for name: [UInt8] in [[0x61, 0, 0x62], [0x61, 0xFF]] {
            let error = try #require(try Self.openError(Self.gguf(name: name), as: .gguf))
            #expect(error.kind == .invalidHeader, "\(error)")
            #expect(error.byteOffset == 32, "name bytes start after the 24-byte preamble and the u64 length: \(error)")
        }
    }
}
