import WeightKitCore

/// Checks the JSON header of a pack entry by entry (`docs/FORMAT.md` §2, §6), one error per rule.
///
/// JSON offsets of individual entries are not tracked, so errors about an entry carry the
/// tensor's name and its index in `tensors` instead, and the byte offset of the header.
struct PackHeaderParser {
    let path: String
    let dataStart: Int
    let fileSize: Int
    /// Offset for entry errors: the start of the header text.
    var at: Int { PackHeader.prefixBytes }

    init(path: String, dataStart: Int, fileSize: Int) {
        self.path = path
        self.dataStart = dataStart
        self.fileSize = fileSize
    }

    func bad(_ message: String, tensor: String? = nil) -> FormatError {
        .invalidHeader(message, path: path, at: at, tensor: tensor)
    }

    /// `format_version` must be `[major, minor]` and agree with bytes 6 and 7.
    func checkVersionKey(_ value: JSONValue?, major: UInt8, minor: UInt8) throws(FormatError) {
        guard let value else { throw bad("missing \"format_version\"") }
        guard let items = value.array, items.count == 2, let a = items[0].int, let b = items[1].int else {
            throw bad("\"format_version\" must be [major, minor], found \(JSONWriter.serialize(value))")
        }
        guard a == Int(major), b == Int(minor) else {
            throw bad("\"format_version\" [\(a), \(b)] disagrees with the file's version bytes \(major).\(minor)")
        }
    }

    func optionalString(_ value: JSONValue?, key: String) throws(FormatError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.string else { throw bad("\"\(key)\" must be a string, found \(value.typeName)") }
        return text
    }

    func optionalObject(_ value: JSONValue?, key: String) throws(FormatError) -> JSONObject? {
        guard let value, value != .null else { return nil }
        guard let object = value.object else { throw bad("\"\(key)\" must be an object or null, found \(value.typeName)") }
        return object
    }

    /// `metadata`: an object of strings (absent means empty).
    func metadata(_ value: JSONValue?) throws(FormatError) -> Metadata {
        guard let object = try optionalObject(value, key: "metadata") else { return Metadata() }
        var metadata = Metadata()
        for (key, item) in object.entries {
            guard let text = item.string else {
                throw bad("\"metadata\" value for \"\(key)\" must be a string, found \(item.typeName)")
            }
            metadata[key] = .string(text)
        }
        return metadata
    }

    /// The `tensors` array, every entry checked; names must be unique.
    func tensors(_ value: JSONValue?) throws(FormatError) -> [PackTensorEntry] {
        guard let value else { throw bad("missing \"tensors\"") }
        guard let items = value.array else { throw bad("\"tensors\" must be an array, found \(value.typeName)") }
        guard items.count <= PackHeader.maxTensors else {
            throw .limit("tensor count", value: items.count, cap: PackHeader.maxTensors, at: at, path: path)
        }
        var seen = Set<String>()
        var entries: [PackTensorEntry] = []
        entries.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            let entry = try tensor(item, index: i)
            guard seen.insert(entry.info.name).inserted else {
                throw FormatError(.duplicateName, "tensors[\(i)] repeats an earlier name", path: path, byteOffset: at, tensorName: entry.info.name)
            }
            entries.append(entry)
        }
        return entries
    }

    /// One tensor entry: name, dtype, shape, then its section.
    func tensor(_ value: JSONValue, index i: Int) throws(FormatError) -> PackTensorEntry {
        guard let object = value.object else { throw bad("tensors[\(i)] must be an object, found \(value.typeName)") }
        guard let name = object["name"]?.string else { throw bad("tensors[\(i)] has no string \"name\"") }
        guard !name.isEmpty, name.utf8.count <= PackHeader.maxNameBytes else {
            if name.isEmpty { throw bad("tensors[\(i)] has an empty name") }
            throw .limit("name length", value: name.utf8.count, cap: PackHeader.maxNameBytes, at: at, path: path)
        }
        guard let dtypeName = object["dtype"]?.string else { throw bad("missing string \"dtype\"", tensor: name) }
        guard let dtype = DType.allCases.first(where: { $0.shortName == dtypeName }) else {
            throw FormatError(.unknownDType, "unknown dtype \"\(dtypeName)\"", path: path, byteOffset: at, tensorName: name)
        }
        let shape = try self.shape(object["shape"], name: name)
        guard let rawSize = shape.byteCount(of: dtype) else {
            throw FormatError(
                .shapeMismatch, "shape \(shape) does not fit \(dtype.shortName) (overflow or a partial block)",
                path: path, byteOffset: at, tensorName: name)
        }
        if dtype.isQuantized, (shape.dims.last ?? 0) % dtype.blockElements != 0 || shape.rank == 0 {
            throw FormatError(
                .shapeMismatch, "\(dtype.shortName) needs an innermost dimension that is a multiple of \(dtype.blockElements), found \(shape)",
                path: path, byteOffset: at, tensorName: name)
        }
        let section = try self.section(object, rawLength: rawSize, name: name)
        let info = TensorInfo(name: name, dtype: dtype, shape: shape, byteCount: rawSize, fileOffset: section.offset)
        return PackTensorEntry(info: info, section: section)
    }

    func shape(_ value: JSONValue?, name: String) throws(FormatError) -> Shape {
        guard let dims = value?.array else { throw bad("\"shape\" must be an array of integers", tensor: name) }
        guard dims.count <= PackHeader.maxRank else {
            throw FormatError.limit("rank", value: dims.count, cap: PackHeader.maxRank, at: at, path: path).about(tensor: name)
        }
        var out: [Int] = []
        for d in dims {
            guard let n = d.int, n >= 0 else {
                throw bad("\"shape\" entries must be non-negative integers, found \(JSONWriter.serialize(d))", tensor: name)
            }
            out.append(n)
        }
        return Shape(out)
    }

    /// `offset`, `length`, `encoding`, `crc32` of an entry whose decoded size is `rawLength`.
    func section(_ object: JSONObject, rawLength: Int, name: String) throws(FormatError) -> PackSection {
        guard let offset = object["offset"]?.int, offset >= 0 else { throw bad("\"offset\" must be a non-negative integer", tensor: name) }
        guard let length = object["length"]?.int, length >= 0 else { throw bad("\"length\" must be a non-negative integer", tensor: name) }
        guard let encodingName = object["encoding"]?.string else { throw bad("missing string \"encoding\"", tensor: name) }
        guard let encoding = PackEncoding(rawValue: encodingName) else {
            throw FormatError(
                .unsupported, "encoding \"\(encodingName)\" is not known to this reader (pack \(PackHeader.majorVersion).\(PackHeader.minorVersion))",
                path: path, byteOffset: at, tensorName: name)
        }
        guard let crcValue = object["crc32"]?.int, let crc = UInt32(exactly: crcValue) else {
            throw bad("\"crc32\" must be an integer from 0 to 4294967295", tensor: name)
        }
        switch encoding {
        case .raw:
            guard length == rawLength else {
                throw FormatError(
                    .shapeMismatch, "raw data needs \(rawLength) bytes but \"length\" is \(length)",
                    path: path, byteOffset: at, tensorName: name)
            }
        case .deflate:
            guard length >= 1 else { throw bad("a deflate stream cannot be empty", tensor: name) }
            let (bound, overflow) = length.multipliedReportingOverflow(by: PackHeader.maxDeflateRatio)
            guard overflow || rawLength <= bound else {
                throw FormatError(
                    .limitExceeded,
                    "\(rawLength) bytes cannot come from a \(length)-byte deflate stream (DEFLATE's ratio is at most \(PackHeader.maxDeflateRatio):1)",
                    path: path, byteOffset: at, tensorName: name)
            }
        }
        let (absolute, overflow) = dataStart.addingReportingOverflow(offset)
        guard !overflow, absolute <= fileSize else {
            throw FormatError(
                .truncated, "data offset \(offset) lies past the end of the file (\(fileSize) bytes)",
                path: path, byteOffset: at, tensorName: name)
        }
        return PackSection(offset: absolute, length: length, rawLength: rawLength, encoding: encoding, crc32: crc)
    }

    /// The `tokenizer` entry, or nil when absent or null.
    func tokenizer(_ value: JSONValue?) throws(FormatError) -> PackTokenizerEntry? {
        guard let object = try optionalObject(value, key: "tokenizer") else { return nil }
        let name = "tokenizer"
        guard let format = object["format"]?.string else { throw bad("the tokenizer entry has no string \"format\"") }
        guard let rawLength = object["raw_length"]?.int, rawLength >= 0 else {
            throw bad("the tokenizer's \"raw_length\" must be a non-negative integer")
        }
        guard rawLength <= PackHeader.maxTokenizerBytes else {
            throw .limit("tokenizer raw_length", value: rawLength, cap: PackHeader.maxTokenizerBytes, at: at, path: path)
        }
        let section = try self.section(object, rawLength: rawLength, name: name)
        return PackTokenizerEntry(format: format, section: section)
    }

    /// The data-section layout (§1): sections in order, each at the aligned end of the one before,
    /// and the file ending exactly at the last section's end.
    func checkLayout(tensors: [PackTensorEntry], tokenizer: PackTokenizerEntry?) throws(FormatError) {
        var sections = tensors.map { ($0.info.name, $0.section) }
        if let tokenizer { sections.append(("tokenizer", tokenizer.section)) }
        var expected = dataStart
        var end = dataStart
        for (name, section) in sections {
            guard section.offset == expected else {
                throw FormatError(
                    .invalidOffsets,
                    "data starts at offset \(section.offset - dataStart) but must start at \(expected - dataStart), the 64-byte-aligned end of the previous section",
                    path: path, byteOffset: at, tensorName: name)
            }
            let (stop, overflow) = section.offset.addingReportingOverflow(section.length)
            guard !overflow, stop <= fileSize else {
                throw .truncated("pack data of \"\(name)\"", at: section.offset, needed: section.length, available: fileSize - section.offset, path: path)
            }
            end = stop
            expected = (stop + PackHeader.alignment - 1) / PackHeader.alignment * PackHeader.alignment
        }
        guard fileSize == end else {
            throw FormatError(
                .sizeMismatch, "the file is \(fileSize) bytes but its last section ends at \(end)",
                path: path, byteOffset: end)
        }
    }
}
