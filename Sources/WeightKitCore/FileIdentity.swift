#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file's identity (device and inode, following symbolic links): two paths with equal
/// identities are the same file, however they are spelled or linked.
public struct FileIdentity: Sendable, Hashable {
    /// The device.
    public var device: UInt64
    /// The inode.
    public var inode: UInt64
    /// True for a directory.
    public var isDirectory: Bool
    /// The size in bytes when the identity was taken (not part of equality).
    public var size: Int

    /// The identity of what `path` names, or nil when nothing is there (calls `stat`).
    public init?(path: String) {
        var info = stat()
        guard unsafe stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
        size = Int(info.st_size)
    }

    /// Same device and inode.
    public static func == (a: FileIdentity, b: FileIdentity) -> Bool { a.device == b.device && a.inode == b.inode }

    /// Hashes device and inode.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(device)
        hasher.combine(inode)
    }
}
