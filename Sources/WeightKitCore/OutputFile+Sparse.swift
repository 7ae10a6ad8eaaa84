extension OutputFile {
    /// The hole granularity: a whole page of zeros at a file offset that is a multiple of this
    /// is skipped rather than written. 4 KiB is the block size of ext4, XFS and APFS and the
    /// page size on x86-64, so every skipped page can become a hole.
    public static let holeBytes = 4096

    /// True when the `holeBytes` bytes at `page` are all zero. Checks the first word alone
    /// first (real tensor data almost always fails there, so ordinary writes pay one load per
    /// page), then 64 bytes per step, stopping at the first non-zero step.
    static func isZeroPage(_ page: UnsafeRawPointer) -> Bool {
        // SAFETY: the caller guarantees `holeBytes` readable bytes at `page`; loads are unaligned-safe.
        guard unsafe page.loadUnaligned(as: UInt64.self) == 0 else { return false }
        var offset = 0
        while offset < holeBytes {
            var bits: UInt64 = 0
            for word in 0..<8 {
                // SAFETY: offset + 64 <= holeBytes, so every word lies inside the page.
                bits |= unsafe page.loadUnaligned(fromByteOffset: offset + word * 8, as: UInt64.self)
            }
            guard bits == 0 else { return false }
            offset += 64
        }
        return true
    }
}
