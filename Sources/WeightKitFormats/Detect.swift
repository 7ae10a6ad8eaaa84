#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitCore

/// Decides the format of a path: magic bytes first, then the extension; never guesses `.bin`.
public enum FormatDetector {
    /// Kind of thing at a path.
    public enum PathKind: Sendable { case file, directory, missing }

    /// Whether `path` is a file, a directory or missing (calls `stat`).
    public static func kind(of path: String) -> PathKind {
        var info = stat()
        guard unsafe stat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    /// Detects the format of an existing input.
    public static func detect(path: String) throws(FormatError) -> TensorFormat {
        switch kind(of: path) {
        case .missing:
            throw .cannotOpen(path, reason: errnoDescription(ENOENT))
        case .directory:
            return try detectFolder(path)
        case .file:
            break
        }
        let head = try readPrefix(path, count: 16)
        if head.starts(with: [0x93] + Array("NUMPY".utf8)) { return .npy }
        if head.starts(with: Array("PK".utf8) + [3, 4]) || head.starts(with: Array("PK".utf8) + [5, 6]) { return .npz }
        if head.starts(with: Array("GGUF".utf8)) { return .gguf }
        if head.starts(with: Array("WKPACK".utf8)) { return .wkp }
        if head.count > 8, head[8] == UInt8(ascii: "{") { return .safetensors }
        if path.hasSuffix(".safetensors.index.json") || path.hasSuffix("/index.json") { return .safetensorsIndex }
        if let ext = path.split(separator: ".").last.map(String.init),
            let format = TensorFormat.allCases.first(where: { $0.fileExtension == ext.lowercased() })
        {
            return format
        }
        throw FormatError(
            .unknownFormat,
            "cannot tell the format from the first bytes or the extension; pass --format (safetensors, npy, npz, gguf, wkp)",
            path: path)
    }

    /// The format an output path asks for by its extension (or folder-ness: a path ending in `/`).
    public static func outputFormat(for path: String) -> TensorFormat? {
        if path.hasSuffix("/") || kind(of: path) == .directory { return .huggingFace }
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        let ext = path[path.index(after: dot)...].lowercased()
        return TensorFormat.allCases.first { $0.fileExtension == ext }
    }

    static func detectFolder(_ path: String) throws(FormatError) -> TensorFormat {
        let names = try listDirectory(path)
        if names.contains("model.safetensors") || names.contains("model.safetensors.index.json")
            || names.contains("config.json")
        {
            return .huggingFace
        }
        if names.contains(where: { $0.hasSuffix(".safetensors") }) { return .huggingFace }
        if names.contains(where: { $0.hasSuffix(".npy") }) { return .npyFolder }
        throw FormatError(
            .unknownFormat, "folder holds no model.safetensors, index, config.json or .npy files", path: path)
    }

    /// The first `count` bytes of a file (fewer if it is shorter).
    static func readPrefix(_ path: String, count: Int) throws(FormatError) -> [UInt8] {
        let fd = unsafe open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(path, reason: errnoDescription()) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = unsafe buffer.withUnsafeMutableBytes { unsafe read(fd, $0.baseAddress, count) }
        guard n >= 0 else { throw .cannotOpen(path, reason: errnoDescription()) }
        return Array(buffer.prefix(n))
    }

    /// The entries of a directory, sorted, without `.` and `..` (calls `opendir`/`readdir`).
    public static func listDirectory(_ path: String) throws(FormatError) -> [String] {
        guard let dir = unsafe opendir(path) else { throw .cannotOpen(path, reason: errnoDescription()) }
        defer { unsafe closedir(dir) }
        var names: [String] = []
        while let entry = unsafe readdir(dir) {
            let name = unsafe withUnsafeBytes(of: entry.pointee.d_name) { raw in
                unsafe String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// Joins path components with `/`.
public func joinPath(_ folder: String, _ name: String) -> String {
    folder.hasSuffix("/") ? folder + name : folder + "/" + name
}
