/// A heap buffer of bytes aligned to 64 bytes, owned by one reference.
///
/// Used for tensor data that cannot be a view into a mapping (inflated, byte-swapped,
/// transposed or converted data). 64-byte alignment lets kernels bind it to any element type.
@safe public final class AlignedBuffer: @unchecked Sendable {
    // @unchecked: the pointer is owned exclusively; writers finish before the buffer is shared.

    /// Number of bytes.
    public let count: Int
    private let base: UnsafeMutableRawPointer
    /// The anonymous mapping holding a huge-page buffer (nil: `base` is from the allocator).
    private let mapping: (start: UnsafeMutableRawPointer, length: Int)?

    private init(count: Int, base: UnsafeMutableRawPointer, mapping: (start: UnsafeMutableRawPointer, length: Int)?) {
        self.count = count
        unsafe self.base = base
        unsafe self.mapping = mapping
    }

    /// Allocates `count` bytes (uninitialized; zero them if you need zeros).
    public convenience init(count: Int) {
        precondition(count >= 0, "negative buffer size")
        unsafe self.init(count: count, base: UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64), mapping: nil)
    }

    /// Allocates `count` bytes (zeroed) on 2 MiB-aligned memory the kernel is asked to back with
    /// transparent huge pages (`HugePages`: Linux only; elsewhere or when mapping fails an
    /// ordinary buffer). A core streams such memory faster: with 4 KiB pages its hardware
    /// prefetcher stops at every page boundary and every page costs a TLB miss (figures in
    /// docs/BENCHMARKS.md).
    public convenience init(count: Int, hugePages: Bool) {
        precondition(count >= 0, "negative buffer size")
        if hugePages, let pages = HugePages.map(count: count) {
            unsafe self.init(count: count, base: pages.aligned, mapping: (pages.start, pages.length))
            return
        }
        self.init(count: count)
        unsafe base.initializeMemory(as: UInt8.self, repeating: 0, count: count)
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

    deinit {
        if let mapping = unsafe mapping {
            unsafe HugePages.unmap(start: mapping.start, length: mapping.length)
            return
        }
        unsafe base.deallocate()
    }

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
