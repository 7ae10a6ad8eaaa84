#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Values the Linux kernel reports in /proc files (`VmHWM` in /proc/self/status, `MemAvailable`
/// in /proc/meminfo).
public enum ProcFile {
    /// The number after `key:` in `path` — a size in KiB for the keys above — or nil when the
    /// file or the key is missing (other systems). /proc files report size 0, so this reads with
    /// read(2) instead of mapping or stat-sizing them.
    public static func value(_ key: String, in path: String) -> Int? {
        #if os(Linux)
        let fd = unsafe open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 16384)
        let count = unsafe bytes.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress!, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        #else
        return nil
        #endif
    }
}
