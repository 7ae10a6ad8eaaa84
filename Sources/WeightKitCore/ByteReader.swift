/// A little-endian cursor over a byte range of a mapped file that checks every read.
///
/// Each read is checked against the bytes remaining before any pointer is formed; a short read
/// throws `.truncated` naming the offset. Lengths read from the file are checked by the caller
/// against named caps before they are used to allocate.
public struct ByteReader {
    /// The file being read.
    public let file: MappedFile
    /// Absolute offset of the next read.
    public private(set) var offset: Int
    /// Absolute end of the readable range.
    public let end: Int
    /// What the reader is parsing, for messages ("GGUF header").
    public let context: String

    /// A reader over `range` of `file` (clipped to the file).
    public init(file: MappedFile, range: Range<Int>? = nil, context: String) {
        self.file = file
        let r = range ?? 0..<file.count
        self.offset = max(0, r.lowerBound)
        self.end = min(file.count, r.upperBound)
        self.context = context
    }

    /// Bytes left before `end`.
    public var remaining: Int { max(0, end - offset) }

    /// Throws `.truncated` unless `count` more bytes are available.
    public func require(_ count: Int, for what: String) throws(FormatError) {
        guard count >= 0, count <= remaining else {
            throw .truncated("\(context) \(what)", at: offset, needed: count, available: remaining, path: file.path)
        }
    }

    /// Reads a little-endian integer.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws(FormatError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what)
        let value = unsafe file.withUnsafeBytes(in: offset..<offset + size) { raw in
            // SAFETY: the range was checked by require(); loadUnaligned has no alignment needs.
            unsafe raw.loadUnaligned(as: T.self)
        }
        offset += size
        return T(littleEndian: value)
    }

    /// Reads a little-endian IEEE float.
    public mutating func readFloat32(_ what: String) throws(FormatError) -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    /// Reads a little-endian IEEE double.
    public mutating func readFloat64(_ what: String) throws(FormatError) -> Double {
        Double(bitPattern: try read(UInt64.self, what))
    }

    /// Reads `count` raw bytes.
    public mutating func readBytes(_ count: Int, _ what: String) throws(FormatError) -> [UInt8] {
        try require(count, for: what)
        let bytes = unsafe file.withUnsafeBytes(in: offset..<offset + count) { unsafe Array($0) }
        offset += count
        return bytes
    }

    /// Reads `count` bytes as UTF-8, throwing `.invalidHeader` if they are not valid UTF-8.
    public mutating func readUTF8(_ count: Int, _ what: String) throws(FormatError) -> String {
        let start = offset
        let bytes = try readBytes(count, what)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidHeader("\(context) \(what) is not valid UTF-8", path: file.path, at: start)
        }
        return text
    }

    /// Moves the cursor forward by `count` bytes.
    public mutating func skip(_ count: Int, _ what: String) throws(FormatError) {
        try require(count, for: what)
        offset += count
    }
}
