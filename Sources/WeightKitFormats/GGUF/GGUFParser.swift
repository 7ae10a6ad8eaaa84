import WeightKitCore

/// The checked walk over a GGUF header: magic, version, counts, metadata, tensor infos.
struct GGUFParser {
    var reader: ByteReader
    /// Array elements read so far, against `GGUFFile.maxTotalArrayElements`.
    var arrayElements = 0
    var path: String { reader.file.path }

    /// A tensor info before its offset is made absolute.
    struct RawTensor {
        var info: TensorInfo
        var relativeOffset: Int
        var fieldOffset: Int
    }

    /// Magic, version and the two counts.
    static func header(_ reader: inout ByteReader) throws(FormatError) -> (version: UInt32, tensorCount: Int, kvCount: Int) {
        let path = reader.file.path
        guard reader.remaining >= 4, try reader.readBytes(4, "magic") == GGUFFile.magic else {
            throw FormatError(.badMagic, "not a GGUF file: expected the magic bytes \"GGUF\"", path: path, byteOffset: 0)
        }
        let version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            let swapped = version.byteSwapped
            let why = version == 1
                ? "GGUF v1 (32-bit counts) is not supported; v2 and v3 are"
                : (swapped == 2 || swapped == 3) ? "big-endian GGUF is not supported" : "unknown GGUF version \(version); v2 and v3 are supported"
            throw FormatError(.unsupportedVersion, why, path: path, byteOffset: 4)
        }
        let tensorCount = try count(&reader, "tensor count", cap: GGUFFile.maxTensorCount, minimumSize: 24)
        let kvCount = try count(&reader, "metadata count", cap: GGUFFile.maxKVCount, minimumSize: 13)
        return (version, tensorCount, kvCount)
    }

    /// Reads a u64 count, checked against `cap` and against `minimumSize` bytes per item remaining.
    static func count(_ reader: inout ByteReader, _ what: String, cap: Int, minimumSize: Int) throws(FormatError) -> Int {
        let at = reader.offset
        let raw = try reader.read(UInt64.self, what)
        guard raw <= UInt64(cap) else { throw .limit(what, value: raw, cap: cap, at: at, path: reader.file.path) }
        let n = Int(raw)
        guard n * minimumSize <= reader.remaining else {
            throw .truncated("GGUF: \(n) items of \(what)", at: at, needed: n * minimumSize, available: reader.remaining, path: reader.file.path)
        }
        return n
    }

    /// A u64-length-prefixed UTF-8 string, length capped.
    mutating func string(_ what: String, cap: Int = GGUFFile.maxStringLength) throws(FormatError) -> String {
        let at = reader.offset
        let length = try reader.read(UInt64.self, "\(what) length")
        guard length <= UInt64(cap) else { throw .limit("\(what) length", value: length, cap: cap, at: at, path: path) }
        return try reader.readUTF8(Int(length), what)
    }

    /// `count` key/value pairs; duplicate keys rejected.
    mutating func metadata(count: Int) throws(FormatError) -> [(key: String, value: GGUFValue)] {
        var entries: [(key: String, value: GGUFValue)] = []
        entries.reserveCapacity(count)
        var seen = Set<String>()
        for _ in 0..<count {
            let at = reader.offset
            let key = try string("metadata key")
            guard seen.insert(key).inserted else {
                throw FormatError(.duplicateName, "metadata key \"\(key)\" appears twice", path: path, byteOffset: at)
            }
            let type = try valueType("value type of \"\(key)\"")
            do throws(FormatError) {
                entries.append((key, try value(of: type, depth: 0)))
            } catch {
                var e = error
                if !e.message.contains(key) { e.message += " (in \"\(key)\")" }
                throw e
            }
        }
        return entries
    }

    mutating func valueType(_ what: String) throws(FormatError) -> GGUFValueType {
        let at = reader.offset
        let code = try reader.read(UInt32.self, what)
        guard let type = GGUFValueType(rawValue: code) else {
            throw .invalidHeader("unknown metadata \(what) \(code)", path: path, at: at)
        }
        return type
    }

    /// One value of `type`; arrays recurse up to `maxArrayNesting`.
    mutating func value(of type: GGUFValueType, depth: Int) throws(FormatError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, "u8 value"))
        case .int8: return .int8(try reader.read(Int8.self, "i8 value"))
        case .uint16: return .uint16(try reader.read(UInt16.self, "u16 value"))
        case .int16: return .int16(try reader.read(Int16.self, "i16 value"))
        case .uint32: return .uint32(try reader.read(UInt32.self, "u32 value"))
        case .int32: return .int32(try reader.read(Int32.self, "i32 value"))
        case .uint64: return .uint64(try reader.read(UInt64.self, "u64 value"))
        case .int64: return .int64(try reader.read(Int64.self, "i64 value"))
        case .float32: return .float32(try reader.readFloat32("f32 value"))
        case .float64: return .float64(try reader.readFloat64("f64 value"))
        case .string: return .string(try string("string value"))
        case .bool:
            let at = reader.offset
            let b = try reader.read(UInt8.self, "bool value")
            guard b <= 1 else { throw .invalidHeader("bool value \(b) is neither 0 nor 1", path: path, at: at) }
            return .bool(b == 1)
        case .array:
            guard depth < GGUFFile.maxArrayNesting else {
                throw .limit("array nesting", value: depth + 1, cap: GGUFFile.maxArrayNesting, at: reader.offset, path: path)
            }
            let elementType = try valueType("array element type")
            let countAt = reader.offset
            let n = try Self.count(&reader, "array length", cap: GGUFFile.maxArrayLength, minimumSize: elementType.minimumSize)
            arrayElements += n
            guard arrayElements <= GGUFFile.maxTotalArrayElements else {
                throw .limit("metadata array elements in all", value: arrayElements, cap: GGUFFile.maxTotalArrayElements, at: countAt, path: path)
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(n)
            for _ in 0..<n { items.append(try value(of: elementType, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        }
    }

    /// `general.alignment` checked: a u32 power of two (absent: 32).
    static func alignment(_ value: GGUFValue?, path: String) throws(FormatError) -> Int {
        guard let value else { return GGUFFile.defaultAlignment }
        guard case .uint32(let a) = value, a > 0, a & (a - 1) == 0 else {
            throw .invalidHeader("general.alignment must be a u32 power of two, found \(value.metadataValue)", path: path)
        }
        return Int(a)
    }

    /// `count` tensor infos: name, dims (innermost first), type, offset relative to the data section.
    mutating func tensorInfos(count: Int, alignment: Int) throws(FormatError) -> [RawTensor] {
        var result: [RawTensor] = []
        result.reserveCapacity(count)
        var seen = Set<String>()
        for _ in 0..<count {
            let start = reader.offset
            let name = try string("tensor name", cap: GGUFFile.maxNameLength)
            // llama.cpp reads names as C strings: "a\0b" would silently be "a" there (and in
            // file names), so a NUL is refused rather than carried along.
            guard !name.utf8.contains(0) else {
                throw FormatError(.invalidHeader, "tensor name contains a NUL byte", path: path, byteOffset: start + 8, tensorName: name)
            }
            guard seen.insert(name).inserted else {
                throw FormatError(.duplicateName, "tensor name appears twice", path: path, byteOffset: start, tensorName: name)
            }
            do throws(FormatError) {
                result.append(try tensorInfo(name: name, alignment: alignment))
            } catch {
                throw error.about(tensor: name)
            }
        }
        return result
    }

    mutating func tensorInfo(name: String, alignment: Int) throws(FormatError) -> RawTensor {
        let dimsAt = reader.offset
        let rank = try reader.read(UInt32.self, "dimension count")
        guard rank <= GGUFFile.maxDims else { throw .limit("dimension count", value: rank, cap: GGUFFile.maxDims, at: dimsAt, path: path) }
        var ne: [Int] = []
        for _ in 0..<rank {
            let d = try reader.read(UInt64.self, "dimension")
            guard d <= UInt64(Int64.max) else { throw .limit("dimension", value: d, cap: Int64.max, at: dimsAt, path: path) }
            ne.append(Int(d))
        }
        let shape = Shape(ne.reversed())
        guard shape.elementCount != nil else {
            throw .limit("element count of \(shape)", value: UInt64.max, cap: Int.max, at: dimsAt, path: path)
        }
        let code = try reader.read(UInt32.self, "tensor type")
        // A code WeightKit does not know (or one ggml removed) keeps the tensor in the header:
        // its size is unknown, so it gets no row or extent check and reading it is an error.
        let dtype = GGMLType.dtype(code: code) ?? .unknown
        let rowLength = ne.first ?? 1
        var bytes = 0
        if dtype != .unknown {
            guard rowLength % dtype.blockElements == 0, let count = shape.byteCount(of: dtype) else {
                throw FormatError(
                    .shapeMismatch, "row length \(rowLength) is not a multiple of \(dtype.shortName)'s block of \(dtype.blockElements)",
                    path: path, byteOffset: dimsAt)
            }
            bytes = count
        }
        let offsetAt = reader.offset
        let offset = try reader.read(UInt64.self, "tensor data offset")
        guard offset <= UInt64(Int.max), Int(offset) % alignment == 0 else {
            throw FormatError(.invalidOffsets, "data offset \(offset) is not a multiple of the alignment \(alignment)", path: path, byteOffset: offsetAt)
        }
        let info = TensorInfo(
            name: name, dtype: dtype, shape: shape, byteCount: bytes, unknownTypeCode: dtype == .unknown ? code : nil)
        return RawTensor(info: info, relativeOffset: Int(offset), fieldOffset: offsetAt)
    }

    /// Makes offsets absolute and checks each tensor lies inside the file, none overlapping.
    ///
    /// A tensor of unknown type has no known size: only its start is checked (inside the file),
    /// and it takes part in no overlap check (its `byteCount` is 0).
    static func placeTensors(_ raw: [RawTensor], dataOffset: Int, fileSize: Int, path: String) throws(FormatError) -> [TensorInfo] {
        var placed: [TensorInfo] = []
        placed.reserveCapacity(raw.count)
        for t in raw {
            let (start, o1) = dataOffset.addingReportingOverflow(t.relativeOffset)
            let (end, o2) = start.addingReportingOverflow(t.info.byteCount)
            guard !o1, !o2, end <= fileSize else {
                throw FormatError(
                    .truncated, "tensor data at \(t.relativeOffset) + \(t.info.byteCount) bytes runs past the end of the file (\(fileSize) bytes)",
                    path: path, byteOffset: t.fieldOffset, tensorName: t.info.name)
            }
            var info = t.info
            info.fileOffset = start
            placed.append(info)
        }
        let sorted = placed.sorted { ($0.fileOffset!, $0.byteCount) < ($1.fileOffset!, $1.byteCount) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.fileOffset! + a.byteCount > b.fileOffset! && a.byteCount > 0 && b.byteCount > 0 {
            throw FormatError(
                .invalidOffsets, "data overlaps tensor \"\(a.name)\" (offsets \(a.fileOffset! - dataOffset) and \(b.fileOffset! - dataOffset))",
                path: path, byteOffset: b.fileOffset, tensorName: b.name)
        }
        return placed
    }
}
