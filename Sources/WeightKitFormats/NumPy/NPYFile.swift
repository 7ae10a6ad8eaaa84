import WeightKitCore

/// A single `.npy` file: one tensor, named after the file (`wte.npy` → `wte`).
///
/// Little-endian C-ordered data is a zero-copy view into the mapping; big-endian or
/// Fortran-ordered data is presented in native C order as an owned copy, made when the
/// storage is asked for.
public final class NPYFile: TensorSource {
    /// The mapped file.
    public let file: MappedFile
    /// The parsed header.
    public let header: NPYHeader
    /// The one tensor.
    public let info: TensorInfo

    public var formatName: String { "npy" }
    public var files: [String] { [file.path] }
    public var tensors: [TensorInfo] { [info] }
    public var metadata: Metadata { Metadata() }

    /// Maps `path` and validates its header against the file size; `name` overrides the
    /// tensor name (default: the file name without `.npy`).
    public init(path: String, name: String? = nil, fileIndex: Int = 0) throws(FormatError) {
        file = try MappedFile(path: path)
        header = try unsafe file.withUnsafeBytes(in: 0..<min(file.count, NPYHeader.maxPrefixLength)) {
            raw throws(FormatError) in try unsafe NPYHeader(parsing: raw, path: path)
        }
        let (total, overflow) = header.dataOffset.addingReportingOverflow(header.dataByteCount)
        guard !overflow, total == file.count else {
            throw FormatError(
                .sizeMismatch,
                "shape \(header.shape) of \(header.dtype.shortName) needs \(header.dataByteCount) data bytes after the \(header.dataOffset)-byte header (\(overflow ? "more than 2^63" : String(total)) in all), but the file has \(file.count)",
                path: path, byteOffset: header.dataOffset)
        }
        info = TensorInfo(
            name: name ?? Self.tensorName(forFile: path), dtype: header.dtype, shape: header.shape,
            byteCount: header.dataByteCount, fileOffset: header.isNativeLayout ? header.dataOffset : nil,
            fileIndex: fileIndex)
    }

    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard tensor.name == info.name else {
            throw FormatError(.tensorNotFound, "no tensor named \"\(tensor.name)\"", path: file.path, tensorName: tensor.name)
        }
        try file.checkNotShrunk(tensorName: tensor.name)
        // The range was checked against the file size in init.
        return NPYLayout.storage(header, file: file, range: header.dataOffset..<file.count)
    }

    /// `a/b/wte.npy` → `wte`.
    public static func tensorName(forFile path: String) -> String {
        var name = Substring(path)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        if name.lowercased().hasSuffix(".npy") { name = name.dropLast(4) }
        return String(name)
    }
}
