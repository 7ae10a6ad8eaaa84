/// A heap buffer of bytes aligned to 64 bytes, owned by one reference.
///
/// Used for tensor data that cannot be a view into a mapping (inflated, byte-swapped,
/// transposed or converted data). 64-byte alignment lets kernels bind it to any element type.
@safe public final class AlignedBuffer: @unchecked Sendable {
    // @unchecked: the pointer is owned exclusively; writers finish before the buffer is shared.

    /// Number of bytes.
    public let count: Int
    private let base: UnsafeMutableRawPointer

    /// Allocates `count` bytes (uninitialized; zero them if you need zeros).
    public init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        self.count = count
        unsafe base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    /// Copies `bytes` into a new buffer.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if bytes.count > 0 {
            // SAFETY: both regions are bytes.count long and do not overlap.
            unsafe base.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
    }

    /// Creates a buffer holding `bytes`.
    public convenience init(_ bytes: [UInt8]) {
        self.init(count: bytes.count)
        unsafe bytes.withUnsafeBytes { src in unsafe self.copyIn(src) }
    }

    private func copyIn(_ src: UnsafeRawBufferPointer) {
        if src.count > 0 { unsafe base.copyMemory(from: src.baseAddress!, byteCount: src.count) }
    }

    deinit { unsafe base.deallocate() }

    /// Calls `body` with the bytes.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        // SAFETY: base is a live allocation of at least count bytes.
        try unsafe body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Calls `body` with the bytes, writable.
    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try unsafe body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }
}
