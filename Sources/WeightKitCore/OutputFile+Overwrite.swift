#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension OutputFile {
    /// Replaces bytes already written at `offset` with `bytes` (calls `open` on the temporary
    /// file and `pwrite`), for formats whose header is known only after their data: write a
    /// placeholder first, stream the data, then fill the placeholder in before `commit()`.
    ///
    /// - Precondition: `offset + bytes.count` is within what has been written (programmer error).
    public func overwrite(_ bytes: [UInt8], at offset: Int) throws(FormatError) {
        precondition(offset >= 0 && offset + bytes.count <= written, "overwrite past the written bytes")
        let fd = unsafe open(temporaryPath, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .writeFailed(path, reason: errnoDescription()) }
        defer { close(fd) }
        var failure: FormatError?
        unsafe bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                // SAFETY: raw is the live array storage; done < raw.count keeps the slice inside it.
                let n = unsafe pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .writeFailed(path, reason: errnoDescription())
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
    }
}
