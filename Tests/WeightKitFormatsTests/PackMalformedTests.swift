import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// One rule of docs/FORMAT.md per case: a hand-built pack breaking it, and the error it must give.
@Suite("Pack malformed headers")
struct PackMalformedTests {
    typealias S = PackTestSupport

    struct Case: Sendable, CustomStringConvertible {
        var description: String
        var bytes: [UInt8]
        var kind: FormatError.Kind
        var offset: Int?
        var tensor: String? = nil
        var says: String? = nil
    }

    static let cases: [Case] = [
        Case(description: "wrong magic", bytes: Array("WKPACX".utf8) + S.craft(json: S.oneTensor(), data: S.data12).dropFirst(6),
             kind: .badMagic, offset: 0),
        Case(description: "newer major version", bytes: S.craft(json: S.oneTensor(version: "[2,0]"), data: S.data12, major: 2),
             kind: .unsupportedVersion, offset: 6, says: "pack format 2.0 is newer than this reader, which reads 1.x"),
        Case(description: "major version 0", bytes: S.craft(json: S.oneTensor(), data: S.data12, major: 0),
             kind: .unsupportedVersion, offset: 6),
        Case(description: "header length over the cap", bytes: lengthField(UInt64(PackHeader.maxHeaderBytes) + 1),
             kind: .headerTooLarge, offset: 8),
        Case(description: "header length past the file", bytes: lengthField(1 << 20), kind: .truncated, offset: 24),
        Case(description: "data start not 64-aligned", bytes: lengthField(41), kind: .invalidHeader, offset: 8),
        Case(description: "header CRC wrong", bytes: S.craft(json: S.oneTensor(), data: S.data12, crc: 1234),
             kind: .checksumMismatch, offset: 20, says: "header CRC-32"),
        Case(description: "header not JSON", bytes: S.craft(json: "{\"tensors\":[}"), kind: .invalidHeader, offset: nil),
        Case(description: "header not an object", bytes: S.craft(json: "[1,0]"), kind: .invalidHeader, offset: 24),
        Case(description: "duplicate key", bytes: S.craft(json: "{\"format_version\":[1,0],\"tensors\":[],\"tensors\":[]}"),
             kind: .invalidHeader, offset: nil, says: "duplicate key"),
        Case(description: "format_version missing", bytes: S.craft(json: "{\"tensors\":[]}"), kind: .invalidHeader, offset: 24),
        Case(description: "format_version disagrees with the bytes", bytes: S.craft(json: S.oneTensor(version: "[1,1]"), data: S.data12),
             kind: .invalidHeader, offset: 24, says: "disagrees"),
        Case(description: "tensors missing", bytes: S.craft(json: "{\"format_version\":[1,0]}"), kind: .invalidHeader, offset: 24),
        Case(description: "config not an object", bytes: S.craft(json: S.oneTensor().replacingFirst("\"config\":null", with: "\"config\":[1]"), data: S.data12),
             kind: .invalidHeader, offset: 24),
        Case(description: "metadata value not a string",
             bytes: S.craft(json: "{\"format_version\":[1,0],\"metadata\":{\"k\":1},\"tensors\":[]}"), kind: .invalidHeader, offset: 24),
        Case(description: "unknown dtype", bytes: S.craft(json: S.oneTensor(dtype: "f7"), data: S.data12),
             kind: .unknownDType, offset: 24, tensor: "w"),
        Case(description: "negative dimension", bytes: S.craft(json: S.oneTensor(shape: "[-2]"), data: S.data12),
             kind: .invalidHeader, offset: 24, tensor: "w"),
        Case(description: "fractional dimension", bytes: S.craft(json: S.oneTensor(shape: "[2.0]"), data: S.data12),
             kind: .invalidHeader, offset: 24, tensor: "w"),
        Case(description: "rank over the cap", bytes: S.craft(json: S.oneTensor(shape: "[" + Array(repeating: "1", count: 65).joined(separator: ",") + "]")),
             kind: .limitExceeded, offset: 24, tensor: "w"),
        Case(description: "element count overflows", bytes: S.craft(json: S.oneTensor(shape: "[4294967296,4294967296]"), data: S.data12),
             kind: .shapeMismatch, offset: 24, tensor: "w"),
        Case(description: "raw length disagrees with the shape", bytes: S.craft(json: S.oneTensor(shape: "[3]"), data: S.data12),
             kind: .shapeMismatch, offset: 24, tensor: "w"),
        Case(description: "q4_0 innermost dimension not a multiple of 32",
             bytes: S.craft(json: S.oneTensor(dtype: "q4_0", shape: "[32,1]", length: 18), data: [UInt8](repeating: 0, count: 18)),
             kind: .shapeMismatch, offset: 24, tensor: "w"),
        Case(description: "unknown encoding", bytes: S.craft(json: S.oneTensor(encoding: "zstd"), data: S.data12),
             kind: .unsupported, offset: 24, tensor: "w", says: "encoding \"zstd\""),
        Case(description: "deflate claiming more than 1032:1",
             bytes: S.craft(json: S.oneTensor(shape: "[1000000]", length: 3, encoding: "deflate"), data: [3, 0, 0]),
             kind: .limitExceeded, offset: 24, tensor: "w"),
        Case(description: "crc32 out of range", bytes: S.craft(json: S.oneTensor().replacingCRC("4294967296"), data: S.data12),
             kind: .invalidHeader, offset: 24, tensor: "w"),
        Case(description: "name too long", bytes: S.craft(json: S.oneTensor().replacingName(String(repeating: "n", count: 1025)), data: S.data12),
             kind: .limitExceeded, offset: 24),
        Case(description: "duplicate tensor names",
             bytes: S.craft(json: "{\"format_version\":[1,0],\"tensors\":[\(entry(0)),\(entry(64))]}", data: S.data12 + [UInt8](repeating: 0, count: 56) + S.data12),
             kind: .duplicateName, offset: 24, tensor: "w"),
        Case(description: "gap before a tensor", bytes: S.craft(json: S.oneTensor(offset: 64), data: [UInt8](repeating: 0, count: 64) + S.data12),
             kind: .invalidOffsets, offset: 24, tensor: "w"),
        Case(description: "data past the end of the file", bytes: S.craft(json: S.oneTensor(), data: Array(S.data12.prefix(5))),
             kind: .truncated, offset: S.craft(json: S.oneTensor()).count),
        Case(description: "extra bytes after the last tensor", bytes: S.craft(json: S.oneTensor(), data: S.data12 + [0]),
             kind: .sizeMismatch, offset: S.craft(json: S.oneTensor()).count + 8),
        Case(description: "tokenizer over the cap",
             bytes: S.craft(json: S.oneTensor(top: "\"tokenizer\":{\"format\":\"tokenizer.json\",\"offset\":64,\"length\":1,\"encoding\":\"raw\",\"crc32\":0,\"raw_length\":268435457},"), data: S.data12),
             kind: .limitExceeded, offset: 24),
    ]

    static func entry(_ offset: Int) -> String {
        "{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[2],\"offset\":\(offset),\"length\":8,\"encoding\":\"raw\",\"crc32\":\(S.crcOf12)}"
    }

    /// A valid one-tensor pack with its header length field replaced (CRC not recomputed).
    static func lengthField(_ length: UInt64) -> [UInt8] {
        var bytes = S.craft(json: S.oneTensor(), data: S.data12)
        bytes.replaceSubrange(8..<16, with: withUnsafeBytes(of: length.littleEndian) { Array($0) })
        return bytes
    }

    @Test("each broken rule gives its error kind, byte offset and tensor", arguments: cases)
    func brokenRule(_ c: Case) throws {
        let error = try #require(S.openError(c.bytes, in: TemporaryFolder()), "\(c) opened")
        #expect(error.kind == c.kind, "\(error)")
        if let offset = c.offset { #expect(error.byteOffset == offset, "\(error)") }
        if let tensor = c.tensor { #expect(error.tensorName == tensor, "\(error)") }
        if let says = c.says { #expect(error.message.contains(says), "\(error)") }
        #expect(error.path != nil)
    }

    @Test("unknown keys are ignored and any minor version is accepted within major version 1")
    func forwardCompatible() throws {
        let json = S.oneTensor(extra: ",\"x_new\":{\"a\":[1,2]}", top: "\"x_future\":true,\"producer\":\"future\",", version: "[1,7]")
        let folder = TemporaryFolder()
        #expect(S.openError(S.craft(json: json, data: S.data12, minor: 7), in: folder) == nil)
        let pack = try PackReader(path: folder.file("t.wkp"))
        #expect(pack.header.minor == 7)
        #expect(try pack.storage(named: "w").bytes == S.data12)
        #expect(pack.verify().isEmpty)
    }

    @Test("a deflated tensor that is corrupt, short or too long is damage on load and in verify")
    func badDeflateStreams() throws {
        // Stored (uncompressed) deflate block of 8 bytes: 01 | len 08 00 | nlen f7 ff | data.
        let good: [UInt8] = [0x01, 0x08, 0x00, 0xF7, 0xFF] + S.data12
        let streams: [(String, [UInt8])] = [
            ("corrupt", [0x01, 0x08, 0x00, 0x00, 0x00] + S.data12),
            ("short", Array(good.prefix(9))),
            ("trailing", good + [0]),
            ("wrong crc", good),
        ]
        for (label, stream) in streams {
            let crc = label == "wrong crc" ? S.crcOf12 ^ 1 : S.crcOf12
            let json = S.oneTensor(length: stream.count, encoding: "deflate", crc: crc)
            let folder = TemporaryFolder()
            #expect(S.openError(S.craft(json: json, data: stream), in: folder) == nil, "\(label)")
            let pack = try PackReader(path: folder.file("t.wkp"))
            #expect(throws: FormatError.self, "\(label)") { try pack.storage(named: "w") }
            #expect(pack.verify().map(\.place) == [.tensor("w")], "\(label)")
        }
        let folder = TemporaryFolder()
        _ = S.openError(S.craft(json: S.oneTensor(length: good.count, encoding: "deflate"), data: good), in: folder)
        #expect(try PackReader(path: folder.file("t.wkp")).storage(named: "w").bytes == S.data12)
    }

    @Test("verify streams a deflated tensor that claims 1 GiB: the bad stream is damage, nothing huge is allocated")
    func hugeClaimStreamsInVerify() throws {
        let stored = [UInt8](repeating: 0, count: 1 << 20)  // a stored block whose LEN/NLEN disagree
        let json = S.oneTensor(dtype: "u8", shape: "[1073741824]", length: stored.count, encoding: "deflate")
        let folder = TemporaryFolder()
        #expect(S.openError(S.craft(json: json, data: stored), in: folder) == nil)
        let damage = try PackReader.validate(path: folder.file("t.wkp"))
        #expect(damage.map(\.place) == [.tensor("w")])
        #expect(damage.first?.error.message.contains("cannot be inflated") == true)
    }

    @Test("nonzero padding between tensors is reported after the tensor it follows")
    func nonzeroPadding() throws {
        let json = "{\"format_version\":[1,0],\"tensors\":[\(Self.entry(0)),\(Self.entry(64).replacingName("v"))]}"
        var data = S.data12 + [UInt8](repeating: 0, count: 56) + S.data12
        data[30] = 7
        let folder = TemporaryFolder()
        let bytes = S.craft(json: json, data: data)
        #expect(S.openError(bytes, in: folder) == nil)
        let damage = try PackReader.validate(path: folder.file("t.wkp"))
        #expect(damage.map(\.place) == [.padding(after: "w")])
        #expect(damage.first?.error.byteOffset == bytes.count - data.count + 30)
    }

    @Test("a missing file is a cannotOpen error, not damage")
    func missingFile() {
        #expect(throws: FormatError.self) { try PackReader.validate(path: "/nonexistent/x.wkp") }
    }
}

extension String {
    func replacingCRC(_ text: String) -> String {
        replacingFirst("\"crc32\":\(PackTestSupport.crcOf12)", with: "\"crc32\":\(text)")
    }

    func replacingName(_ name: String) -> String {
        replacingFirst("\"name\":\"w\"", with: "\"name\":\"\(name)\"")
    }

    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
