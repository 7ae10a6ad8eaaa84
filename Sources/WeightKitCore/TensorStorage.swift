/// Where a tensor's bytes live: a zero-copy view into a mapped file, or a buffer we own.
public struct TensorStorage: Sendable {
    enum Backing: Sendable {
        case mapped(MappedFile, Range<Int>)
        case owned(AlignedBuffer)
    }

    let backing: Backing

    /// A view of `range` in `file` (the caller has checked the range against the file).
    public init(file: MappedFile, range: Range<Int>) {
        precondition(file.contains(offset: range.lowerBound, length: range.count), "view outside file")
        backing = .mapped(file, range)
    }

    /// Storage owning `buffer`.
    public init(buffer: AlignedBuffer) { backing = .owned(buffer) }

    /// Number of bytes.
    public var count: Int {
        switch backing {
        case .mapped(_, let range): return range.count
        case .owned(let buffer): return buffer.count
        }
    }

    /// True when the bytes are a view into a memory-mapped file (no copy was made).
    public var isMapped: Bool {
        if case .mapped = backing { return true }
        return false
    }

    /// Calls `body` with the tensor's bytes; the pointer must not escape.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        switch backing {
        case .mapped(let file, let range): return try unsafe file.withUnsafeBytes(in: range, body)
        case .owned(let buffer): return try unsafe buffer.withUnsafeBytes(body)
        }
    }

    /// A copy of the bytes as an array (tests and small tensors).
    public var bytes: [UInt8] {
        unsafe withUnsafeBytes { unsafe Array($0) }
    }
}
