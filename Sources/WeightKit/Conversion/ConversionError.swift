/// A conversion or quantization refused before anything was written: the request itself is
/// wrong (the output is the input, the output exists, the options contradict the input).
///
/// Unreadable or malformed inputs are `FormatError`s and models that do not bind are
/// `GraphError`s; this type covers what the caller asked for. Build it through the factories.
public struct ConversionError: Error, Sendable, CustomStringConvertible {
    /// What was wrong with the request.
    public enum Kind: String, Sendable, Hashable {
        /// The output names the input (same path, or the same file through a link).
        case outputIsInput
        /// The output exists and overwriting was not allowed.
        case outputExists
        /// The options do not fit the input or output (no output format, several tensors for
        /// one .npy, a non-float cast).
        case invalidRequest
    }

    /// What was wrong.
    public var kind: Kind
    /// What was asked and why it cannot be done.
    public var message: String
    /// The path concerned.
    public var path: String?

    /// Creates an error; prefer the factories below.
    public init(_ kind: Kind, _ message: String, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
    }

    /// The message (it names the path where one is concerned).
    public var description: String { message }
}

extension ConversionError {
    /// `output` is `input` (same path, a hard link or a symbolic link to it).
    public static func outputIsInput(_ output: String, input: String) -> ConversionError {
        ConversionError(.outputIsInput, "'\(output)' is the input '\(input)' (same file); write the output somewhere else", path: output)
    }

    /// `output` exists and `overwrite` is off.
    public static func outputExists(_ output: String) -> ConversionError {
        ConversionError(.outputExists, "'\(output)' already exists; pass --force (overwrite: true) to overwrite it", path: output)
    }

    /// The request does not fit the input or output.
    public static func invalidRequest(_ message: String, path: String? = nil) -> ConversionError {
        ConversionError(.invalidRequest, message, path: path)
    }
}
