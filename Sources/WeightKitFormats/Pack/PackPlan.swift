import WeightKitCore

/// What a pack's header will say, built up by `PackWriter` and serialized twice: once with
/// worst-case values to reserve room, once with the real ones.
struct PackPlan {
    /// The architecture config, or nil.
    var config: JSONObject?
    /// String metadata.
    var metadata: Metadata
    /// Tensors and their sections (offsets relative to the data start).
    var tensors: [(info: TensorInfo, section: PackSection)] = []
    /// The tokenizer blob's section (relative offset), if any.
    var tokenizer: PackSection?

    init(config: JSONObject?, metadata: Metadata) {
        self.config = config
        self.metadata = metadata
    }

    /// `x` rounded up to a multiple of 64.
    static func align(_ x: Int) -> Int {
        (x + PackHeader.alignment - 1) / PackHeader.alignment * PackHeader.alignment
    }

    /// The header JSON text, compact, keys in the order of `docs/FORMAT.md` §2.
    func headerJSON() -> [UInt8] {
        var root = JSONObject()
        root.set("format_version", [.integer(PackHeader.majorVersion), .integer(PackHeader.minorVersion)])
        root.set("producer", .string(PackWriter.producer))
        root.set("config", config.map { .object($0) } ?? .null)
        var strings = JSONObject()
        for (key, value) in metadata.stringEntries { strings.set(key, .string(value)) }
        root.set("metadata", .object(strings))
        if let tokenizer {
            var entry = JSONObject()
            entry.set("format", "tokenizer.json")
            Self.describe(tokenizer, into: &entry)
            entry.set("raw_length", .integer(tokenizer.rawLength))
            root.set("tokenizer", .object(entry))
        } else {
            root.set("tokenizer", .null)
        }
        var table: [JSONValue] = []
        table.reserveCapacity(tensors.count)
        for (info, section) in tensors {
            var entry = JSONObject()
            entry.set("name", .string(info.name))
            entry.set("dtype", .string(info.dtype.shortName))
            entry.set("shape", .array(info.shape.dims.map { .integer($0) }))
            Self.describe(section, into: &entry)
            table.append(.object(entry))
        }
        root.set("tensors", .array(table))
        return Array(JSONWriter.serialize(.object(root)).utf8)
    }

    static func describe(_ section: PackSection, into entry: inout JSONObject) {
        entry.set("offset", .integer(section.offset))
        entry.set("length", .integer(section.length))
        entry.set("encoding", .string(section.encoding.rawValue))
        entry.set("crc32", .integer(section.crc32))
    }

    /// The 24-byte prefix plus the header text padded with spaces to `dataStart`.
    ///
    /// - Precondition: the JSON fits (the writer reserved room with worst-case values).
    func headerBytes(dataStart: Int) -> [UInt8] {
        let text = headerJSON()
        precondition(PackHeader.prefixBytes + text.count <= dataStart, "pack header outgrew its reserved room")
        return Self.framedHeader(text, dataStart: dataStart, major: PackHeader.majorVersion, minor: PackHeader.minorVersion)
    }

    /// The bytes before the data section: magic, version, the JSON's length, its CRC-32 (over
    /// the prefix with a zero CRC field, then the JSON), and the JSON padded with spaces up to
    /// `dataStart`. `text` must fit: `PackHeader.prefixBytes + text.count <= dataStart`.
    static func framedHeader(_ text: [UInt8], dataStart: Int, major: UInt8, minor: UInt8) -> [UInt8] {
        var padded = text
        padded.append(contentsOf: repeatElement(UInt8(ascii: " "), count: dataStart - PackHeader.prefixBytes - text.count))
        var prefix = PackHeader.magic + [major, minor]
        prefix += littleEndian(UInt64(padded.count))
        prefix += littleEndian(UInt32(0))
        let crc = unsafe padded.withUnsafeBytes { body in
            unsafe prefix.withUnsafeBytes { head in unsafe CRC32.update(CRC32.update(0, head), body) }
        }
        return prefix + littleEndian(crc) + padded
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        unsafe withUnsafeBytes(of: value.littleEndian) { unsafe Array($0) }
    }
}
