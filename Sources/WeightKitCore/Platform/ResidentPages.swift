#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Advice to the kernel about pages of a read-only file mapping (`madvise`). Releasing resident
/// pages is Linux's `MADV_DONTNEED` on a private mapping (the pages are re-read from the page
/// cache when touched again); elsewhere it does nothing. Errors are ignored: advice only.
enum ResidentPages {
    /// The system's page size.
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Drops this process's resident pages in [pointer, pointer + count) (page-aligned), so a
    /// copy of them does not count twice; the bytes stay readable.
    static func release(_ pointer: UnsafeRawPointer, count: Int) {
        #if os(Linux)
        _ = unsafe madvise(UnsafeMutableRawPointer(mutating: pointer), count, MADV_DONTNEED)
        #endif
    }

    /// Says [pointer, pointer + count) (page-aligned start) will be read in order or at random.
    static func advise(_ pointer: UnsafeRawPointer, count: Int, sequential: Bool) {
        _ = unsafe madvise(UnsafeMutableRawPointer(mutating: pointer), count, sequential ? MADV_SEQUENTIAL : MADV_RANDOM)
    }
}
