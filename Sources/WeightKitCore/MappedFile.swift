#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory: the only owner of a mapping.
///
/// Opens the file read-only, `fstat`s it, maps it `PROT_READ`/`MAP_PRIVATE`, and unmaps and
/// closes in `deinit` (llama2.c's lifecycle). It never changes after `init`, so tensor views can
/// share it across threads.
///
/// Hazard: if another process truncates the file while it is mapped, touching the lost pages
/// raises SIGBUS. Readers check every range against `count` taken at open time and call
/// `checkNotShrunk` before touching each tensor, which catches a file that shrank before that
/// tensor but not one shrinking during the read (candle marks its mmap constructor `unsafe` for
/// the same reason).
@safe public final class MappedFile: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init and the mapping is read-only.

    /// The path as given.
    public let path: String
    /// File size in bytes at open time.
    public let count: Int
    private let base: UnsafeRawPointer?
    private let descriptor: Int32

    /// Opens and maps `path` (calls `open`, `fstat`, `mmap`).
    public init(path: String) throws(FormatError) {
        self.path = path
        let fd = unsafe open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path, reason: errnoDescription()) }
        var info = stat()
        guard unsafe fstat(fd, &info) == 0 else {
            let reason = errnoDescription()
            close(fd)
            throw .cannotOpen(path, reason: reason)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .cannotOpen(path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        if size == 0 {
            // mmap rejects length 0; an empty file has nothing to view.
            unsafe base = nil
        } else {
            let mapped = unsafe mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let mapped = unsafe mapped, unsafe mapped != MAP_FAILED else {
                let reason = errnoDescription()
                close(fd)
                throw .cannotOpen(path, reason: "mmap failed: \(reason)")
            }
            unsafe base = UnsafeRawPointer(mapped)
        }
        self.count = size
        self.descriptor = fd
    }

    deinit {
        if let base = unsafe base {
            // SAFETY: base/count are exactly what mmap returned; no view outlives self.
            unsafe munmap(UnsafeMutableRawPointer(mutating: base), count)
        }
        close(descriptor)
    }

    /// Calls `body` with the bytes `range` of the file.
    ///
    /// - Precondition: `range` lies within `0..<count` (readers check with `contains`, so a bad
    ///   range here is a programmer error, not bad input).
    public func withUnsafeBytes<R, E: Error>(
        in range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range outside mapping")
        guard let base = unsafe base, !range.isEmpty else {
            return try unsafe body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        // SAFETY: range checked against count above; the mapping lives as long as self.
        return try unsafe body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
    }

    /// Calls `body` with the whole file.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try unsafe withUnsafeBytes(in: 0..<count, body)
    }

    /// True when `offset..<offset+length` lies inside the file (overflow-checked).
    public func contains(offset: Int, length: Int) -> Bool {
        guard offset >= 0, length >= 0 else { return false }
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= count
    }

    /// Throws `.truncated` when the file is now shorter than when it was mapped (calls `fstat`
    /// on the open descriptor, so a rename over the path does not fool it). Touching the lost
    /// pages would raise SIGBUS, so readers call this before touching a tensor's bytes: one
    /// `fstat` per tensor. It narrows the window; it cannot close it (a truncation between this
    /// check and the read still faults).
    public func checkNotShrunk(tensorName: String? = nil) throws(FormatError) {
        var info = stat()
        guard unsafe fstat(descriptor, &info) == 0 else { return }  // descriptor is ours and open: cannot fail
        let now = Int(info.st_size)
        guard now >= count else { throw .shrank(path, mappedSize: count, currentSize: now, tensor: tensorName) }
    }

    /// Drops this process's resident pages of the whole pages inside `range`
    /// (`ResidentPages.release`: Linux), so a copy of them does not count twice; the bytes stay
    /// readable (the mapping is read-only and private, never written, so the next read faults
    /// them in again from the page cache).
    public func releaseResidentPages(in range: Range<Int>) {
        guard let base = unsafe base else { return }
        let page = ResidentPages.pageSize
        let start = (max(0, range.lowerBound) + page - 1) / page * page
        let end = min(range.upperBound, count) / page * page
        guard end > start else { return }
        // SAFETY: a page-aligned range inside the mapping.
        unsafe ResidentPages.release(base + start, count: end - start)
    }

    /// Advises the kernel how the range will be read (calls `madvise`); errors are ignored.
    public func advise(sequential: Bool, in range: Range<Int>? = nil) {
        guard let base = unsafe base else { return }
        let r = range ?? 0..<count
        let page = ResidentPages.pageSize
        let start = r.lowerBound / page * page
        guard r.upperBound > start else { return }
        // SAFETY: page-aligned start inside the mapping, length clipped to the mapping.
        unsafe ResidentPages.advise(base + start, count: min(r.upperBound, count) - start, sequential: sequential)
    }
}
