import WeightKitCore

/// How a section of a pack's data is stored.
public enum PackEncoding: String, Sendable, Hashable {
    /// The bytes as they are: viewable in place from the mapping.
    case raw
    /// A raw DEFLATE stream (RFC 1951, windowBits −15) of the bytes.
    case deflate
}

/// Where one section (a tensor or the tokenizer blob) lies in a pack, and how to check it.
public struct PackSection: Sendable, Hashable {
    /// Absolute byte offset of the stored bytes in the file.
    public var offset: Int
    /// Stored byte count.
    public var length: Int
    /// Decoded byte count (equals `length` for raw sections).
    public var rawLength: Int
    /// How the bytes are stored.
    public var encoding: PackEncoding
    /// CRC-32 of the decoded bytes.
    public var crc32: UInt32

    /// Creates a section description.
    public init(offset: Int, length: Int, rawLength: Int, encoding: PackEncoding, crc32: UInt32) {
        self.offset = offset
        self.length = length
        self.rawLength = rawLength
        self.encoding = encoding
        self.crc32 = crc32
    }

    /// The stored bytes' range in the file.
    public var range: Range<Int> { offset..<offset + length }
}

/// A tensor of a pack: what readers see, plus where and how it is stored.
public struct PackTensorEntry: Sendable, Hashable {
    /// Name, dtype, shape, decoded byte count and absolute file offset.
    public var info: TensorInfo
    /// Its section.
    public var section: PackSection
}

/// The tokenizer blob of a pack.
public struct PackTokenizerEntry: Sendable, Hashable {
    /// What the blob holds: `tokenizer.json` (the Hugging Face tokenizers file) in version 1.0.
    public var format: String
    /// Its section.
    public var section: PackSection
}

/// The parsed and validated header of a WeightKit pack (`docs/FORMAT.md`).
///
/// Parsing reads only the first `dataStart` bytes: the 24-byte prefix (magic, version, header
/// length, header CRC-32) and the JSON header. It checks, one error per rule: the magic, the major
/// version, the header length against its cap and the file, the 64-byte alignment of the data,
/// the header CRC, the JSON, every tensor entry, and the layout of the data section against the
/// file size. Tensor data is not read.
public struct PackHeader: Sendable {
    /// `WKPACK`.
    public static let magic: [UInt8] = Array("WKPACK".utf8)
    /// The major version this code reads and writes.
    public static let majorVersion: UInt8 = 1
    /// The minor version this code writes.
    public static let minorVersion: UInt8 = 0
    /// Bytes before the JSON header: magic, versions, length, reserved, CRC.
    public static let prefixBytes = 24
    /// Alignment of the data section and of every section in it.
    public static let alignment = 64

    /// Cap on the header length: ~150 bytes per tensor entry, so 64 MiB holds ~400,000 tensors,
    /// over 4× the largest public checkpoints; the tokenizer lives outside the header.
    public static let maxHeaderBytes = 64 << 20
    /// Cap on the tensor count, independent of the header size.
    public static let maxTensors = 1_000_000
    /// Cap on a tensor name's UTF-8 length: HF names are under 200 bytes, GGUF allows 64.
    public static let maxNameBytes = 1024
    /// Cap on a tensor's rank: numpy 2's NPY_MAXDIMS, so every .npy array fits.
    public static let maxRank = 64
    /// Cap on the tokenizer blob: the largest tokenizer.json files (256k vocabularies) are ~35 MB.
    public static let maxTokenizerBytes = 256 << 20
    /// DEFLATE cannot compress more than 1032:1; a stream claiming more is corrupt (and would be
    /// an allocation bomb).
    public static let maxDeflateRatio = 1032

    /// Major version from byte 6.
    public var major: UInt8
    /// Minor version from byte 7.
    public var minor: UInt8
    /// Header text length (JSON plus space padding).
    public var headerLength: Int
    /// Absolute offset of the data section (`24 + headerLength`, a multiple of 64).
    public var dataStart: Int
    /// What wrote the file, when it says.
    public var producer: String?
    /// The architecture config, or nil for a plain tensor set.
    public var config: JSONObject?
    /// String metadata, in file order.
    public var metadata: Metadata
    /// Tensors in data-section order.
    public var tensors: [PackTensorEntry]
    /// The tokenizer blob, if any.
    public var tokenizer: PackTokenizerEntry?

    /// Parses and validates the header of `file`.
    public init(file: MappedFile) throws(FormatError) {
        let path = file.path
        var reader = ByteReader(file: file, context: "pack")
        let magic = try reader.readBytes(6, "magic")
        guard magic == Self.magic else {
            throw FormatError(.badMagic, "expected the magic \"WKPACK\", found \(Self.describe(magic))", path: path, byteOffset: 0)
        }
        major = try reader.read(UInt8.self, "major version")
        minor = try reader.read(UInt8.self, "minor version")
        try Self.checkVersion(major: major, minor: minor, path: path)
        let declared = try reader.read(UInt64.self, "header length")
        _ = try reader.read(UInt32.self, "reserved field")
        let storedCRC = try reader.read(UInt32.self, "header CRC-32")
        guard declared <= UInt64(Self.maxHeaderBytes) else {
            throw FormatError(
                .headerTooLarge, "header length \(declared) exceeds the \(formatBytes(Self.maxHeaderBytes)) limit",
                path: path, byteOffset: 8)
        }
        headerLength = Int(declared)
        guard headerLength <= reader.remaining else {
            throw .truncated("pack header", at: Self.prefixBytes, needed: headerLength, available: reader.remaining, path: path)
        }
        dataStart = Self.prefixBytes + headerLength
        guard dataStart % Self.alignment == 0 else {
            throw .invalidHeader(
                "data would start at byte \(dataStart), which is not a multiple of \(Self.alignment) (header length \(headerLength))",
                path: path, at: 8)
        }
        let computed = Self.headerCRC(file: file, dataStart: dataStart)
        guard computed == storedCRC else {
            throw FormatError(
                .checksumMismatch,
                "header CRC-32 is \(Self.hex(computed)) but the file stores \(Self.hex(storedCRC)): the header is damaged",
                path: path, byteOffset: 20)
        }
        let root = try Self.parseJSON(file: file, dataStart: dataStart)
        let parser = PackHeaderParser(path: path, dataStart: dataStart, fileSize: file.count)
        try parser.checkVersionKey(root["format_version"], major: major, minor: minor)
        producer = try parser.optionalString(root["producer"], key: "producer")
        config = try parser.optionalObject(root["config"], key: "config")
        metadata = try parser.metadata(root["metadata"])
        tensors = try parser.tensors(root["tensors"])
        tokenizer = try parser.tokenizer(root["tokenizer"])
        try parser.checkLayout(tensors: tensors, tokenizer: tokenizer)
    }

    /// Refuses major versions other than 1, naming both versions.
    static func checkVersion(major: UInt8, minor: UInt8, path: String) throws(FormatError) {
        if major > Self.majorVersion {
            throw FormatError(
                .unsupportedVersion,
                "pack format \(major).\(minor) is newer than this reader, which reads \(Self.majorVersion).x; upgrade WeightKit",
                path: path, byteOffset: 6)
        }
        guard major == Self.majorVersion else {
            throw FormatError(.unsupportedVersion, "pack major version \(major) is not valid (this reader reads \(Self.majorVersion).x)", path: path, byteOffset: 6)
        }
    }

    /// CRC-32 of bytes [0, 20) followed by [24, dataStart).
    static func headerCRC(file: MappedFile, dataStart: Int) -> UInt32 {
        let head = unsafe file.withUnsafeBytes(in: 0..<20) { unsafe CRC32.update(0, $0) }
        return unsafe file.withUnsafeBytes(in: prefixBytes..<dataStart) { unsafe CRC32.update(head, $0) }
    }

    /// Parses the header text as a JSON object.
    static func parseJSON(file: MappedFile, dataStart: Int) throws(FormatError) -> JSONObject {
        let path = file.path
        let value: JSONValue
        do {
            value = try unsafe file.withUnsafeBytes(in: prefixBytes..<dataStart) { raw throws(JSONParseError) in
                try unsafe JSON.parse(raw)
            }
        } catch {
            throw .invalidHeader("header is not valid JSON: \(error.message)", path: path, at: prefixBytes + error.byteOffset)
        }
        guard let root = value.object else {
            throw .invalidHeader("header must be a JSON object, found \(value.typeName)", path: path, at: prefixBytes)
        }
        return root
    }

    /// `0x1234abcd`.
    static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The first bytes as text when printable, else as hex.
    static func describe(_ bytes: [UInt8]) -> String {
        if bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) { return "\"" + String(decoding: bytes, as: UTF8.self) + "\"" }
        return bytes.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined(separator: " ")
    }
}
