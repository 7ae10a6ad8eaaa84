#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory backed by transparent huge pages: Linux only (an anonymous mapping aligned to 2 MiB and
/// `madvise(MADV_HUGEPAGE)`); elsewhere `map` returns nil and callers use ordinary memory.
enum HugePages {
    /// The huge page size the mapping is aligned to.
    static let size = 2 << 20

    /// A zeroed mapping holding at least `count` bytes from a 2 MiB-aligned address, or nil when
    /// this system has no transparent huge pages or the mapping fails. Free it with `unmap`.
    static func map(count: Int) -> (aligned: UnsafeMutableRawPointer, start: UnsafeMutableRawPointer, length: Int)? {
        #if os(Linux)
        let (rounded, o1) = count.addingReportingOverflow(size - 1)
        let (length, o2) = (rounded / size * size).addingReportingOverflow(size)
        guard count > 0, !o1, !o2, let start = unsafe mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              unsafe start != MAP_FAILED else { return nil }
        // SAFETY: the aligned range [aligned, aligned + rounded) lies inside the mapping of length bytes.
        let aligned = unsafe start + (size - Int(bitPattern: start) % size) % size
        _ = unsafe madvise(aligned, rounded / size * size, MADV_HUGEPAGE)
        return unsafe (aligned, start, length)
        #else
        return nil
        #endif
    }

    /// Releases a mapping `map` returned (calls `munmap`).
    static func unmap(start: UnsafeMutableRawPointer, length: Int) {
        #if os(Linux)
        _ = unsafe munmap(start, length)
        #endif
    }
}
