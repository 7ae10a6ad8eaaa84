// One factory per failure, so messages stay the same wherever the failure is detected
// (NIO's FileSystemError+Syscall.swift).

/// Formats a byte count for messages: `1.5 GB`, `300 bytes`.
public func formatBytes(_ n: Int) -> String {
    if n < 1000 { return "\(n) bytes" }
    let units = ["kB", "MB", "GB", "TB", "PB"]
    var value = Double(n) / 1000
    var unit = 0
    while value >= 1000, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    let rounded = (value * 10).rounded() / 10
    let text = rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    return "\(text) \(units[unit])"
}

extension FormatError {
    /// The file ends at `fileSize` but `what` needs bytes up to `needed`.
    public static func truncated(
        _ what: String, at offset: Int, needed: Int, available: Int, path: String? = nil,
        fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        FormatError(
            .truncated, "truncated \(what): needs \(needed) bytes, \(available) remain",
            path: path, byteOffset: offset, fileID: fileID, line: line)
    }

    /// A count or length read from a file is above a named cap.
    public static func limit(
        _ what: String, value: some BinaryInteger, cap: some BinaryInteger, at offset: Int? = nil,
        path: String? = nil, fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        FormatError(
            .limitExceeded, "\(what) \(value) exceeds the limit of \(cap)",
            path: path, byteOffset: offset, fileID: fileID, line: line)
    }

    /// The input cannot be opened, stat'ed or mapped.
    public static func cannotOpen(
        _ path: String, reason: String, fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        FormatError(.cannotOpen, "cannot open: \(reason)", path: path, fileID: fileID, line: line)
    }

    /// Writing the output failed.
    public static func writeFailed(
        _ path: String, reason: String, fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        FormatError(.writeFailed, "cannot write: \(reason)", path: path, fileID: fileID, line: line)
    }

    /// A mapped file got shorter after it was opened (another process truncated it).
    public static func shrank(
        _ path: String, mappedSize: Int, currentSize: Int, tensor: String?,
        fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        FormatError(
            .truncated, "the file shrank from \(mappedSize) to \(currentSize) bytes while open; stopped before reading "
                + (tensor.map { "tensor \"\($0)\"" } ?? "its data"),
            path: path, byteOffset: currentSize, tensorName: tensor, fileID: fileID, line: line)
    }

    /// A malformed header value.
    public static func invalidHeader(
        _ message: String, path: String? = nil, at offset: Int? = nil, tensor: String? = nil,
        fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        FormatError(
            .invalidHeader, message, path: path, byteOffset: offset, tensorName: tensor,
            fileID: fileID, line: line)
    }

    /// A tensor's data was asked for, but its type (`code`, the format's type id) is one
    /// WeightKit does not know, so its values cannot be read.
    public static func unknownTensorType(
        _ tensor: TensorInfo, path: String?, fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        let code = tensor.unknownTypeCode.map(String.init) ?? "?"
        return FormatError(
            .unknownDType, "tensor \"\(tensor.name)\" has type \(code), which WeightKit does not know: its data cannot be read",
            path: path, byteOffset: tensor.fileOffset, tensorName: tensor.name, fileID: fileID, line: line)
    }

    /// `unknownTensorType` for a tensor of `source`, naming the file that holds it.
    public static func unknownTensorType(
        _ tensor: TensorInfo, in source: any TensorSource, fileID: String = #fileID, line: Int = #line
    ) -> FormatError {
        let files = source.files
        let path = files.indices.contains(tensor.fileIndex) ? files[tensor.fileIndex] : files.first
        return unknownTensorType(tensor, path: path, fileID: fileID, line: line)
    }
}
