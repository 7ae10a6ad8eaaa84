import WeightKitCore

extension PackWriter {
    /// Writes a copy of `pack` to `path` whose header `metadata` object is `metadata` (strings
    /// only, as `docs/FORMAT.md` §2 defines it) and, when `config` is given, whose `config`
    /// object is `config` (the caller checks it). Everything else is copied unchanged: the version
    /// bytes, the header text outside the `metadata` value byte for byte (config, tokenizer and
    /// tensor entries, keys this version does not know), and the whole data section. Section
    /// offsets count from the data start, so every tensor's and the tokenizer's entry and CRC-32
    /// stay valid wherever the data lands; only the header length and its CRC-32 are new.
    ///
    /// Stored bytes are not decoded or re-checked on the way (a damaged section keeps its old
    /// CRC-32, so `validate` still finds it in the copy). The output appears only when complete.
    ///
    /// - Throws: `FormatError` `.unsupported` for a non-string value (naming its key),
    ///   `.limitExceeded` when the new header passes the header cap, `.truncated` when the file
    ///   shrank since it was opened, `.writeFailed`.
    public static func rewrite(
        _ pack: PackReader, metadata: Metadata, config: JSONObject? = nil, to path: String
    ) throws(FormatError) -> WriteReport {
        var strings = JSONObject()
        for (key, value) in metadata.entries {
            guard let text = value.stringValue else {
                throw FormatError(
                    .unsupported, "metadata key \"\(key)\": pack metadata holds strings only, not \(kind(of: value)) (\(value))", path: pack.file.path)
            }
            strings.set(key, .string(text))
        }
        let file = pack.file, header = pack.header
        let text = unsafe file.withUnsafeBytes(in: PackHeader.prefixBytes..<header.dataStart) { unsafe Array($0) }
        var json = spliced(text, key: "metadata", value: Array(JSONWriter.serialize(.object(strings)).utf8))
        if let config { json = spliced(json, key: "config", value: Array(JSONWriter.serialize(.object(config)).utf8)) }
        let dataStart = PackPlan.align(PackHeader.prefixBytes + json.count)
        guard dataStart - PackHeader.prefixBytes <= PackHeader.maxHeaderBytes else {
            throw .limit("header length", value: dataStart - PackHeader.prefixBytes, cap: PackHeader.maxHeaderBytes, path: path)
        }
        let output = try OutputFile(path: path)
        try output.write(PackPlan.framedHeader(json, dataStart: dataStart, major: header.major, minor: header.minor))
        try file.checkNotShrunk(tensorName: nil)
        var offset = header.dataStart
        while offset < file.count {
            let end = min(file.count, offset + copyStep)
            try unsafe file.withUnsafeBytes(in: offset..<end) { chunk throws(FormatError) in try unsafe output.write(chunk) }
            offset = end
        }
        try output.commit()
        return WriteReport(files: [path], bytesWritten: output.written, droppedMetadata: [])
    }

    static func kind(of value: MetadataValue) -> String {
        switch value {
        case .string: return "a string"
        case .int, .uint: return "an integer"
        case .float: return "a float"
        case .bool: return "a bool"
        case .array: return "an array"
        }
    }

    /// Bytes copied per step of `rewrite`'s data copy.
    static let copyStep = 8 << 20

    /// The header JSON `text` (already validated, space padding included) with the value of its
    /// top-level `key` replaced by `value`, or the key added before the closing brace when
    /// absent; every other byte kept, the padding dropped.
    static func spliced(_ text: [UInt8], key: String, value metadata: [UInt8]) -> [UInt8] {
        var end = text.count
        while end > 0, text[end - 1] == UInt8(ascii: " ") { end -= 1 }
        let json = Array(text[..<end])
        let keyOffset = unsafe json.withUnsafeBytes { unsafe JSON.topLevelKeyOffsets($0) }[key]
        guard let keyOffset else {
            // The root is a non-empty object (it holds `tensors`): add the key before its `}`.
            let close = json.lastIndex(of: UInt8(ascii: "}"))!
            return Array(json[..<close]) + Array(",\"\(key)\":".utf8) + metadata + Array(json[close...])
        }
        var i = endOfString(json, at: keyOffset)
        while json[i] != UInt8(ascii: ":") { i += 1 }
        i += 1
        while isSpace(json[i]) { i += 1 }
        return Array(json[..<i]) + metadata + Array(json[endOfValue(json, at: i)...])
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    /// The offset just past the string literal whose opening quote is at `start`.
    static func endOfString(_ json: [UInt8], at start: Int) -> Int {
        var i = start + 1
        while json[i] != UInt8(ascii: "\"") { i += json[i] == UInt8(ascii: "\\") ? 2 : 1 }
        return i + 1
    }

    /// The offset just past the JSON value starting at `start` (valid JSON: json-c parsed it).
    static func endOfValue(_ json: [UInt8], at start: Int) -> Int {
        switch json[start] {
        case UInt8(ascii: "\""):
            return endOfString(json, at: start)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0, i = start
            repeat {
                switch json[i] {
                case UInt8(ascii: "\""): i = endOfString(json, at: i); continue
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
                default: break
                }
                i += 1
            } while depth > 0
            return i
        default:  // null, a number, true/false
            var i = start
            while i < json.count, !isSpace(json[i]), ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]")].contains(json[i]) { i += 1 }
            return i
        }
    }
}
