import WeightKitCore

/// The parsed and validated header of one safetensors file.
///
/// Enforces the reference crate's rules (`safetensors/src/tensor.rs`, `read_metadata` and
/// `Metadata::validate`), one error per rule:
/// - the 8-byte little-endian header length is at most `maxHeaderBytes` and fits in the file;
/// - the header is valid UTF-8 JSON and an object (leading whitespace allowed) without duplicate keys;
/// - `__metadata__`, if present, maps strings to strings;
/// - every other entry has a known `dtype`, a `shape` of non-negative integers and
///   `data_offsets` of two non-negative integers;
/// - sorted by offset, tensors are contiguous from 0 with no gap or overlap, each spans exactly
///   elements × width bytes, and the last end + 8 + header length is the file size.
public struct SafetensorsHeader: Sendable {
    /// Cap on the header length: the reference crate's 100 MB limit (a header that large already
    /// describes millions of tensors; anything bigger is corrupt or hostile).
    public static let maxHeaderBytes = 100_000_000

    /// Header length from the first 8 bytes.
    public var headerLength: Int
    /// Absolute offset where tensor data begins (8 + header length).
    public var dataStart: Int
    /// Tensors sorted by data offset, with absolute file offsets.
    public var tensors: [TensorInfo]
    /// `__metadata__`, in file order.
    public var metadata: Metadata

    /// Parses and validates the header of `file`.
    public init(file: MappedFile) throws(FormatError) {
        let path = file.path
        var reader = ByteReader(file: file, context: "safetensors")
        let declared = try reader.read(UInt64.self, "header length")
        guard declared <= UInt64(Self.maxHeaderBytes) else {
            throw FormatError(
                .headerTooLarge, "header length \(declared) exceeds the \(formatBytes(Self.maxHeaderBytes)) limit",
                path: path, byteOffset: 0)
        }
        let length = Int(declared)
        guard length <= reader.remaining else {
            throw .truncated("safetensors header", at: 8, needed: length, available: reader.remaining, path: path)
        }
        headerLength = length
        dataStart = 8 + length
        let parsed = try unsafe file.withUnsafeBytes(in: 8..<dataStart) { raw throws(FormatError) in
            try unsafe Self.parseJSON(raw, path: path)
        }
        var metadata = Metadata()
        var entries: [(info: TensorInfo, start: Int, end: Int, keyOffset: Int)] = []
        for (name, value) in parsed.root.entries {
            let at = 8 + (parsed.keyOffsets[name] ?? 0)
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value, path: path, at: at)
                continue
            }
            entries.append(try Self.parseEntry(name, value, path: path, at: at))
        }
        entries.sort { ($0.start, $0.end) < ($1.start, $1.end) }
        var cursor = 0
        for entry in entries {
            let name = entry.info.name
            guard entry.start == cursor else {
                let what = entry.start > cursor ? "a gap" : "an overlap"
                throw FormatError(
                    .invalidOffsets,
                    "data_offsets start at \(entry.start) but the previous tensor ends at \(cursor) (\(what))",
                    path: path, byteOffset: entry.keyOffset, tensorName: name)
            }
            guard entry.end >= entry.start else {
                throw FormatError(
                    .invalidOffsets, "data_offsets end \(entry.end) is before start \(entry.start)",
                    path: path, byteOffset: entry.keyOffset, tensorName: name)
            }
            guard entry.end - entry.start == entry.info.byteCount else {
                throw FormatError(
                    .shapeMismatch,
                    "\(entry.info.dtype.safetensorsName!) \(entry.info.shape) needs \(entry.info.byteCount) bytes but data_offsets span \(entry.end - entry.start)",
                    path: path, byteOffset: entry.keyOffset, tensorName: name)
            }
            cursor = entry.end
        }
        let (expected, overflow) = dataStart.addingReportingOverflow(cursor)
        guard !overflow, expected == file.count else {
            throw FormatError(
                .sizeMismatch,
                "header describes \(overflow ? "more than Int.max" : String(expected)) bytes but the file has \(file.count)",
                path: path, byteOffset: min(expected, file.count))
        }
        self.metadata = metadata
        let base = 8 + length
        self.tensors = entries.map { entry in
            var info = entry.info
            info.fileOffset = base + entry.start
            return info
        }
    }

    static func parseJSON(_ raw: UnsafeRawBufferPointer, path: String) throws(FormatError) -> (root: JSONObject, keyOffsets: [String: Int]) {
        // The reference accepts JSON whitespace before the object; anything else must be `{`.
        var first = 0
        while first < raw.count, [0x20, 0x09, 0x0A, 0x0D].contains(unsafe raw[first]) { first += 1 }
        guard first < raw.count, unsafe raw[first] == UInt8(ascii: "{") else {
            throw .invalidHeader("header must be a JSON object starting with \"{\"", path: path, at: 8 + first)
        }
        let value: JSONValue
        do {
            value = try unsafe JSON.parse(raw)
        } catch {
            if let key = error.duplicateKey {
                throw FormatError(.duplicateName, "tensor name appears twice in the header", path: path, byteOffset: 8 + error.byteOffset, tensorName: key)
            }
            throw .invalidHeader("header is not valid JSON: \(error.message)", path: path, at: 8 + error.byteOffset)
        }
        guard let root = value.object else {
            throw .invalidHeader("header must be a JSON object, found \(value.typeName)", path: path, at: 8)
        }
        return (root, unsafe JSON.topLevelKeyOffsets(raw))
    }

    static func parseMetadata(_ value: JSONValue, path: String, at: Int) throws(FormatError) -> Metadata {
        if case .null = value { return Metadata() }
        guard let object = value.object else {
            throw .invalidHeader("__metadata__ must be an object of strings, found \(value.typeName)", path: path, at: at)
        }
        var metadata = Metadata()
        for (key, item) in object.entries {
            guard let text = item.string else {
                throw .invalidHeader("__metadata__ value for \"\(key)\" must be a string, found \(item.typeName)", path: path, at: at)
            }
            metadata[key] = .string(text)
        }
        return metadata
    }

    static func parseEntry(_ name: String, _ value: JSONValue, path: String, at: Int) throws(FormatError) -> (info: TensorInfo, start: Int, end: Int, keyOffset: Int) {
        func bad(_ message: String) -> FormatError { .invalidHeader(message, path: path, at: at, tensor: name) }
        guard let object = value.object else { throw bad("entry must be an object, found \(value.typeName)") }
        guard let dtypeValue = object["dtype"] else { throw bad("missing \"dtype\"") }
        guard let dtypeName = dtypeValue.string else { throw bad("\"dtype\" must be a string, found \(dtypeValue.typeName)") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw FormatError(.unknownDType, "unknown dtype \"\(dtypeName)\"", path: path, byteOffset: at, tensorName: name)
        }
        guard let shapeValue = object["shape"] else { throw bad("missing \"shape\"") }
        guard let dims = shapeValue.array else { throw bad("\"shape\" must be an array, found \(shapeValue.typeName)") }
        var shape: [Int] = []
        for d in dims {
            guard let n = d.int, n >= 0 else { throw bad("\"shape\" entries must be non-negative integers, found \(JSONWriter.serialize(d))") }
            shape.append(n)
        }
        guard let offsetsValue = object["data_offsets"] else { throw bad("missing \"data_offsets\"") }
        guard let offsets = offsetsValue.array, offsets.count == 2,
            let start = offsets[0].int, let end = offsets[1].int, start >= 0, end >= 0
        else {
            throw bad("\"data_offsets\" must be two non-negative integers, found \(JSONWriter.serialize(offsetsValue))")
        }
        guard let bytes = Shape(shape).byteCount(of: dtype) else {
            throw FormatError(.shapeMismatch, "shape \(Shape(shape)) overflows the byte count", path: path, byteOffset: at, tensorName: name)
        }
        return (TensorInfo(name: name, dtype: dtype, shape: Shape(shape), byteCount: bytes), start, end, at)
    }
}
