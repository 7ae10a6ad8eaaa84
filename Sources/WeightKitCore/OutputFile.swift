import CWeightKitKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output file that appears at its path only when complete.
///
/// Writes go to a temporary file in the target's folder (so the final `rename` is atomic on
/// the same file system); `commit()` renames it into place. If the writer is dropped without
/// `commit()` (an error, a crash of the conversion), the temporary file is removed and the
/// target path is untouched.
public final class OutputFile {
    /// The final path.
    public let path: String
    /// The temporary path being written.
    public let temporaryPath: String
    private var descriptor: Int32
    private var committed = false
    /// Bytes written so far.
    public private(set) var written = 0
    /// Where the last writeback request ended.
    private var writebackStart = 0

    /// Creates the temporary file beside `path` (calls `mkstemp`).
    public init(path: String) throws(FormatError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var template = Array("\(folder).\(name).weightkit-XXXXXX".utf8CString)
        let fd = unsafe template.withUnsafeMutableBufferPointer { unsafe mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .writeFailed(path, reason: errnoDescription()) }
        self.descriptor = fd
        self.temporaryPath = unsafe template.withUnsafeBufferPointer { unsafe String(cString: $0.baseAddress!) }
        // mkstemp creates 0600; give the output the usual permissions (0644 under umask 022).
        let mask = umask(0)
        umask(mask)
        fchmod(fd, 0o666 & ~mask)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        if !committed { unsafe unlink(temporaryPath) }
    }

    /// Appends `bytes` (calls `write` until all are written). Every whole page of zeros that
    /// falls on a page-aligned file offset is skipped with `lseek` instead (a hole: sparse on
    /// disk, reads back as zeros); `commit()` sets the final length, so a trailing hole counts.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let page = Self.holeBytes
        var pending = 0  // first byte of `bytes` not yet written or skipped
        var cursor = (page - written % page) % page  // next page-aligned file offset, relative to `bytes`
        while cursor + page <= bytes.count {
            // SAFETY: cursor + page <= bytes.count keeps the page inside `bytes`.
            guard unsafe Self.isZeroPage(base + cursor) else {
                cursor += page
                continue
            }
            var end = cursor + page
            // SAFETY: as above, for the page at `end`.
            while end + page <= bytes.count, unsafe Self.isZeroPage(base + end) { end += page }
            try unsafe writeAll(UnsafeRawBufferPointer(rebasing: bytes[pending..<cursor]))
            try skip(end - cursor)
            pending = end
            cursor = end
        }
        try unsafe writeAll(UnsafeRawBufferPointer(rebasing: bytes[pending...]))
    }

    /// Writes all of `bytes` at the current position (calls `write`, retrying on EINTR).
    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let n = unsafe SystemIO.write(descriptor, base, min(left, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                throw .writeFailed(path, reason: errnoDescription())
            }
            unsafe base += n
            left -= n
            written += n
        }
        startWriteback()
    }

    /// Asks the kernel to start writing what is finished to disk (`sync_file_range`, Linux; no
    /// waiting) every `writebackBytes`, so the disk works while we produce the rest and
    /// `commit()`'s fsync finds little left: packing a 540 MB folder went from 0.59 to ~0.3 s
    /// here (a C test of the same pattern: 0.47 -> 0.26 s for 540 MB, fsync included).
    private func startWriteback() {
        guard written - writebackStart >= Self.writebackBytes else { return }
        _ = wk_start_writeback(descriptor, Int64(writebackStart), Int64(written - writebackStart))
        writebackStart = written
    }

    /// Bytes between writeback requests.
    static let writebackBytes = 16 << 20

    /// Moves the position `count` bytes forward without writing (calls `lseek`), leaving a hole.
    private func skip(_ count: Int) throws(FormatError) {
        guard lseek(descriptor, off_t(count), SEEK_CUR) >= 0 else {
            throw .writeFailed(path, reason: "lseek: " + errnoDescription())
        }
        written += count
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws(FormatError) {
        var failure: FormatError?
        unsafe bytes.withUnsafeBytes { raw in
            do throws(FormatError) { try unsafe write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Appends the UTF-8 of `text`.
    public func write(_ text: String) throws(FormatError) {
        try write(Array(text.utf8))
    }

    /// Appends `count` zero bytes (alignment padding).
    public func writeZeros(_ count: Int) throws(FormatError) {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Flushes the temporary file to disk (`fsync`), closes it, renames it to `path` and
    /// flushes the folder (so the rename itself survives a power cut): after a crash the path
    /// holds the old file or the complete new one, never a torn one.
    public func commit() throws(FormatError) {
        guard !committed else { return }
        let fd = descriptor
        descriptor = -1
        // The length covers a trailing hole (skipped zeros are not written, so not yet counted).
        guard ftruncate(fd, off_t(written)) == 0 else {
            let reason = errnoDescription()
            close(fd)
            throw .writeFailed(path, reason: "ftruncate: " + reason)
        }
        guard fsync(fd) == 0 else {
            let reason = errnoDescription()
            close(fd)
            throw .writeFailed(path, reason: "fsync: " + reason)
        }
        guard close(fd) == 0 else { throw .writeFailed(path, reason: errnoDescription()) }
        guard unsafe rename(temporaryPath, path) == 0 else { throw .writeFailed(path, reason: errnoDescription()) }
        committed = true
        Self.syncFolder(of: path)
    }

    /// `fsync` on the folder holding `path`, best effort (some file systems refuse it).
    static func syncFolder(of path: String) {
        let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = unsafe open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
