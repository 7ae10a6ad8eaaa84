import WeightKitCore

/// The header of a NumPy `.npy` array: format version, dtype, byte order, memory order, shape.
///
/// Layout (numpy `lib/format.py`): the magic `\x93NUMPY`, major and minor version bytes, the
/// header length (u16 LE in v1.0, u32 LE in v2.0/v3.0), then a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and ended
/// by `\n` (latin-1 in v1/v2, UTF-8 in v3). The data follows immediately.
public struct NPYHeader: Sendable, Hashable {
    /// Format major version (1, 2 or 3).
    public var major: UInt8
    /// Format minor version (0).
    public var minor: UInt8
    /// Element type.
    public var dtype: DType
    /// True when the data is stored big-endian (never for one-byte types).
    public var bigEndian: Bool
    /// True when the data is stored column-major (`fortran_order: True`).
    public var fortranOrder: Bool
    /// Dimensions as numpy presents them, outermost first.
    public var shape: Shape
    /// Bytes from the start of the `.npy` to the first data byte (magic + length + dict).
    public var dataOffset: Int
    /// Bytes of array data that follow the header.
    public var dataByteCount: Int

    /// The six magic bytes: `\x93NUMPY`.
    public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
    /// Cap on the dict's length: numpy's own `max_header_size` default (10,000 characters),
    /// which it enforces because the dict is evaluated as a Python literal.
    public static let maxHeaderLength = 10_000
    /// Cap on the number of dimensions: numpy's `NPY_MAXDIMS` (64 since numpy 2.0).
    public static let maxRank = 64
    /// Bytes of prefix that always hold a whole valid header: magic, version, u32 length, dict.
    public static let maxPrefixLength = 12 + maxHeaderLength

    /// Creates a header (for writers).
    public init(dtype: DType, shape: Shape, fortranOrder: Bool = false, bigEndian: Bool = false) {
        self.major = 1
        self.minor = 0
        self.dtype = dtype
        self.bigEndian = bigEndian && dtype.blockBytes > 1
        self.fortranOrder = fortranOrder
        self.shape = shape
        self.dataOffset = 0
        self.dataByteCount = shape.byteCount(of: dtype) ?? 0
    }

    /// True when the stored bytes are already native little-endian C order (a zero-copy view).
    public var isNativeLayout: Bool { !bigEndian && (!fortranOrder || shape.dims.filter { $0 != 1 }.count <= 1) }

    /// Parses the header at the start of `bytes` (an `.npy` file, or a prefix of one holding
    /// at least the whole header). Byte offsets in errors are relative to `bytes`.
    public init(parsing bytes: UnsafeRawBufferPointer, path: String? = nil) throws(FormatError) {
        let prefix = unsafe Array(bytes.prefix(Self.maxPrefixLength))
        try self.init(prefix: prefix, path: path)
    }

    init(prefix: [UInt8], path: String?) throws(FormatError) {
        guard prefix.count >= 8 else {
            if !Self.magic.starts(with: prefix.prefix(6)) || prefix.isEmpty {
                throw FormatError(.badMagic, "not a .npy file: expected the magic \\x93NUMPY", path: path, byteOffset: 0)
            }
            throw .truncated(".npy magic and version", at: 0, needed: 8, available: prefix.count, path: path)
        }
        guard prefix.starts(with: Self.magic) else {
            throw FormatError(
                .badMagic, "not a .npy file: expected the magic \\x93NUMPY, found \(hexBytes(prefix.prefix(6)))",
                path: path, byteOffset: 0)
        }
        major = prefix[6]
        minor = prefix[7]
        guard (1...3).contains(major), minor == 0 else {
            throw FormatError(
                .unsupportedVersion, ".npy format version \(major).\(minor) is not 1.0, 2.0 or 3.0",
                path: path, byteOffset: 6)
        }
        let lengthBytes = major == 1 ? 2 : 4
        guard prefix.count >= 8 + lengthBytes else {
            throw .truncated(".npy header length", at: 8, needed: lengthBytes, available: prefix.count - 8, path: path)
        }
        var length = 0
        for i in 0..<lengthBytes { length |= Int(prefix[8 + i]) << (8 * i) }
        guard length <= Self.maxHeaderLength else {
            throw FormatError(
                .headerTooLarge, ".npy header length \(length) exceeds numpy's limit of \(Self.maxHeaderLength) characters",
                path: path, byteOffset: 8)
        }
        let start = 8 + lengthBytes
        guard prefix.count >= start + length else {
            throw .truncated(".npy header", at: start, needed: length, available: prefix.count - start, path: path)
        }
        let text = Array(prefix[start..<start + length])
        if major == 3, String(validating: text, as: UTF8.self) == nil {
            throw FormatError(.invalidHeader, ".npy v3 header is not valid UTF-8", path: path, byteOffset: start)
        }
        var parser = NPYDictParser(bytes: text, base: start, path: path)
        let dict = try parser.parse()
        let descr = try NPYDescr(parsing: dict.descr, path: path, at: dict.descrOffset)
        dtype = descr.dtype
        bigEndian = descr.bigEndian
        fortranOrder = dict.fortranOrder
        shape = Shape(dict.shape)
        guard shape.rank <= Self.maxRank else {
            throw .limit(".npy shape rank", value: shape.rank, cap: Self.maxRank, at: dict.shapeOffset, path: path)
        }
        guard let bytes = shape.byteCount(of: dtype) else {
            throw FormatError(
                .shapeMismatch, ".npy shape \(shape) of \(dtype.shortName) overflows a 64-bit byte count",
                path: path, byteOffset: dict.shapeOffset)
        }
        dataOffset = start + length
        dataByteCount = bytes
    }
}

/// `93 4e 55 …` for messages about magic bytes.
func hexBytes(_ bytes: some Collection<UInt8>) -> String {
    let digits = Array("0123456789abcdef")
    return bytes.map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined(separator: " ")
}
