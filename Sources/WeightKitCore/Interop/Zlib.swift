import CWeightKitKernels
import CZlib

/// zlib's CRC-32 (the one zip, PNG and our pack use).
///
/// Whole 16-byte units go through `wk_crc32_fold` (carry-less multiplication, CWeightKitKernels)
/// on CPUs with PCLMULQDQ: several times zlib's speed. zlib's `crc32_z` does the tail, short
/// inputs and other CPUs, and is the reference the fold is tested against.
public enum CRC32 {
    /// Continues `crc` over `bytes`; start with 0.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        let start = unsafe base.assumingMemoryBound(to: UInt8.self)
        var crc = crc, done = 0
        if bytes.count >= 64, usesFold {
            done = bytes.count & ~15
            // SAFETY: [start, start + done) lies inside the live buffer; done >= 64 and is a multiple of 16.
            crc = unsafe wk_crc32_fold(crc, start, done)
        }
        return unsafe zlibUpdate(crc, UnsafeRawBufferPointer(start: start + done, count: bytes.count - done))
    }

    /// zlib's `crc32_z` alone (the reference for tests).
    public static func zlibUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        // SAFETY: base/count describe a live buffer; crc32_z takes a size_t length.
        return UInt32(unsafe crc32_z(UInt(crc), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// True when this CPU runs the carry-less-multiplication fold.
    public static let usesFold = wk_has_pclmul() != 0

    /// CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        unsafe bytes.withUnsafeBytes { unsafe update(0, $0) }
    }
}
