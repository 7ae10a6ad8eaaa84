/// An error reading or writing a weights file, with where in the file it happened.
///
/// Modeled on NIO's `FileSystemError`: a `kind` to switch on, a `message` saying what was
/// expected and what was found, the file `path`, the `byteOffset` and `tensorName` when known,
/// an optional underlying `cause`, and the source `location` that raised it (shown with
/// `--verbose` only). Build these through the factories in `FormatError+Factories.swift`.
public struct FormatError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely; tests and exit codes switch on this.
    public enum Kind: String, Sendable, Hashable {
        /// The file ends before a structure it declares.
        case truncated
        /// The leading bytes are not this format's magic.
        case badMagic
        /// A version this reader does not implement.
        case unsupportedVersion
        /// A declared header length is above the reader's cap.
        case headerTooLarge
        /// The header is not well-formed (bad JSON, wrong JSON type, missing field, bad literal).
        case invalidHeader
        /// Tensor data offsets overlap, leave gaps, or fall outside the data section.
        case invalidOffsets
        /// A shape and a byte size disagree, or a shape is not what was required.
        case shapeMismatch
        /// A dtype string or code this reader does not know.
        case unknownDType
        /// A dtype that is known but cannot be used here (e.g. bf16 in .npy).
        case unsupportedDType
        /// Two tensors (or keys) with the same name.
        case duplicateName
        /// A count or length above a named cap.
        case limitExceeded
        /// The file size disagrees with what the header implies.
        case sizeMismatch
        /// A checksum does not match the data.
        case checksumMismatch
        /// A requested tensor does not exist.
        case tensorNotFound
        /// A feature of the format this build does not handle.
        case unsupported
        /// The input does not exist or cannot be opened or mapped.
        case cannotOpen
        /// Reading failed at the OS level.
        case readFailed
        /// Creating, writing or renaming the output failed.
        case writeFailed
        /// The format of the input could not be determined.
        case unknownFormat
        /// A value that must be finite (a weight to quantize) is NaN or ±Inf.
        case nonFinite
    }

    /// What went wrong.
    public var kind: Kind
    /// What was expected and what was found.
    public var message: String
    /// The file concerned, as the user named it.
    public var path: String?
    /// Absolute byte offset in `path` where the problem is.
    public var byteOffset: Int?
    /// The tensor concerned.
    public var tensorName: String?
    /// The underlying error, if any.
    public var cause: (any Error & Sendable)?
    /// Where in WeightKit's source the error was raised (`#fileID:#line`).
    public var location: String

    /// Creates an error; prefer the factories in `FormatError+Factories.swift`.
    public init(
        _ kind: Kind, _ message: String, path: String? = nil, byteOffset: Int? = nil,
        tensorName: String? = nil, cause: (any Error & Sendable)? = nil,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.kind = kind
        self.message = message
        self.path = path
        self.byteOffset = byteOffset
        self.tensorName = tensorName
        self.cause = cause
        self.location = "\(fileID):\(line)"
    }

    /// One line: `model.safetensors @ byte 8, tensor "w": message`.
    public var description: String {
        var head: [String] = []
        if let path { head.append(path) }
        if let byteOffset { head.append("@ byte \(byteOffset)") }
        var text = head.joined(separator: " ")
        if let tensorName { text += text.isEmpty ? "tensor \"\(tensorName)\"" : ", tensor \"\(tensorName)\"" }
        text += text.isEmpty ? message : ": " + message
        if let cause { text += " (\(cause))" }
        return text
    }

    /// The same error with a path filled in when it had none (readers learn the path late).
    public func at(path: String) -> FormatError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }

    /// The same error with a tensor name filled in when it had none.
    public func about(tensor: String) -> FormatError {
        var copy = self
        if copy.tensorName == nil { copy.tensorName = tensor }
        return copy
    }

    /// The same error with byte offsets shifted by `base` (for parsers run on a sub-range).
    public func shifted(by base: Int) -> FormatError {
        var copy = self
        if let offset = copy.byteOffset { copy.byteOffset = offset + base }
        return copy
    }
}
