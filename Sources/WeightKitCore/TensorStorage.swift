/// Where a tensor's bytes live: a zero-copy view into a mapped file, or a buffer we own.
public struct TensorStorage: Sendable {
    enum Backing: Sendable {
        case mapped(MappedFile, Range<Int>)
        case owned(AlignedBuffer, Range<Int>)
    }

    var backing: Backing

    /// A view of `range` in `file` (the caller has checked the range against the file).
    public init(file: MappedFile, range: Range<Int>) {
        precondition(file.contains(offset: range.lowerBound, length: range.count), "view outside file")
        backing = .mapped(file, range)
    }

    /// Storage owning `buffer`.
    public init(buffer: AlignedBuffer) { backing = .owned(buffer, 0..<buffer.count) }

    /// The bytes `range` of this storage (relative to its start), sharing the same memory.
    public func slice(_ range: Range<Int>) -> TensorStorage {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "slice outside storage")
        switch backing {
        case .mapped(let file, let r):
            return TensorStorage(file: file, range: r.lowerBound + range.lowerBound..<r.lowerBound + range.upperBound)
        case .owned(let buffer, let r):
            var copy = self
            copy.backing = .owned(buffer, r.lowerBound + range.lowerBound..<r.lowerBound + range.upperBound)
            return copy
        }
    }

    /// Number of bytes.
    public var count: Int {
        switch backing {
        case .mapped(_, let range), .owned(_, let range): return range.count
        }
    }

    /// True when the bytes are a view into a memory-mapped file (no copy was made).
    public var isMapped: Bool {
        if case .mapped = backing { return true }
        return false
    }

    /// For a view into a mapped file: drops this process's resident pages of it after a copy
    /// was made (`MappedFile.releaseResidentPages`); the view stays valid. Owned buffers: nothing.
    public func releaseResidentPages() {
        if case .mapped(let file, let range) = backing { file.releaseResidentPages(in: range) }
    }

    /// Calls `body` with the tensor's bytes; the pointer must not escape.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        switch backing {
        case .mapped(let file, let range): return try unsafe file.withUnsafeBytes(in: range, body)
        case .owned(let buffer, let range):
            return try unsafe buffer.withUnsafeBytes { all throws(E) in
                // SAFETY: range was checked against the buffer when the slice was made.
                try unsafe body(UnsafeRawBufferPointer(rebasing: all[range]))
            }
        }
    }

    /// A copy of the bytes as an array (tests and small tensors).
    public var bytes: [UInt8] {
        unsafe withUnsafeBytes { unsafe Array($0) }
    }
}
