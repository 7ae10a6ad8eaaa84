import CZlib

/// zlib's CRC-32 (the one zip, PNG and our pack use).
public enum CRC32 {
    /// Continues `crc` over `bytes` (calls `crc32_z`); start with 0.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        // SAFETY: base/count describe a live buffer; crc32_z takes a size_t length.
        return UInt32(unsafe crc32_z(UInt(crc), base.assumingMemoryBound(to: UInt8.self), bytes.count))
    }

    /// CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        unsafe bytes.withUnsafeBytes { unsafe update(0, $0) }
    }
}
