import WeightKitCore

/// A numpy dtype string (`descr`): byte order plus kind and width, e.g. `<f4`, `>i8`, `|b1`.
struct NPYDescr: Sendable, Hashable {
    var dtype: DType
    /// True for `>` with a multi-byte type.
    var bigEndian: Bool

    /// Kind+width → DType for every numeric dtype numpy writes.
    static let table: [String: DType] = [
        "b1": .bool, "?": .bool,
        "i1": .int8, "u1": .uint8, "i2": .int16, "u2": .uint16,
        "i4": .int32, "u4": .uint32, "i8": .int64, "u8": .uint64,
        "f2": .float16, "f4": .float32, "f8": .float64,
    ]

    /// Parses `text` (from the header dict at `offset`).
    ///
    /// `<`, `=` and `|` (and no prefix) mean little-endian on the hosts WeightKit supports;
    /// `>` means big-endian. Object dtypes are refused because numpy stores them as a pickle,
    /// and WeightKit never unpickles; strings, records, dates, complex and long double are
    /// refused as unsupported.
    init(parsing text: String, path: String?, at offset: Int) throws(FormatError) {
        var body = Substring(text)
        var big = false
        if let first = body.first, "<>|=".contains(first) {
            big = first == ">"
            body = body.dropFirst()
        }
        if let dtype = Self.table[String(body)] {
            self.dtype = dtype
            self.bigEndian = big && dtype.blockBytes > 1
            return
        }
        guard let kind = body.first else {
            throw FormatError(.unknownDType, "empty dtype string 'descr'", path: path, byteOffset: offset)
        }
        switch kind {
        case "O":
            throw FormatError(
                .unsupportedDType,
                "dtype '\(text)' is an object array, which numpy stores as a Python pickle; WeightKit never unpickles (loading a pickle can run arbitrary code)",
                path: path, byteOffset: offset)
        case "S", "a", "U", "V", "M", "m", "c", "f", "i", "u":
            let what: String
            switch kind {
            case "S", "a", "U": what = "string"
            case "V": what = "void/record"
            case "M", "m": what = "datetime"
            case "c": what = "complex"
            default: what = "numeric width"
            }
            throw FormatError(
                .unsupportedDType, "unsupported dtype '\(text)' (\(what)): WeightKit reads b1, i1-i8, u1-u8, f2, f4 and f8",
                path: path, byteOffset: offset)
        default:
            throw FormatError(.unknownDType, "unknown dtype string '\(text)'", path: path, byteOffset: offset)
        }
    }

    /// The descr numpy writes for `dtype` stored little-endian: `<f4`, `|u1`, `|b1`; nil when
    /// numpy has no such dtype (bf16, f8, block types).
    static func descr(for dtype: DType) -> String? {
        switch dtype {
        case .bool: return "|b1"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .int16: return "<i2"
        case .uint16: return "<u2"
        case .int32: return "<i4"
        case .uint32: return "<u4"
        case .int64: return "<i8"
        case .uint64: return "<u8"
        case .float16: return "<f2"
        case .float32: return "<f4"
        case .float64: return "<f8"
        default: return nil
        }
    }
}
