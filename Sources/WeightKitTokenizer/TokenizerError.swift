/// An error building or running a tokenizer, with where it came from.
///
/// Shaped like Core's `FormatError`: a `kind` to switch on, a `message` saying what was expected
/// and what was found, the file `path` and the JSON/metadata `field` concerned when known, and the
/// source `location` that raised it.
public struct TokenizerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, coarsely; tests and exit codes switch on this.
    public enum Kind: String, Sendable, Hashable {
        /// The tokenizer file is not valid JSON, or a value has the wrong JSON type.
        case invalidJSON
        /// A required field is absent.
        case missingField
        /// A stage `type` (normalizer, pre-tokenizer, model, post-processor, decoder) or an option
        /// value this implementation does not handle.
        case unsupported
        /// A value is present but not usable (a merge naming a token not in the vocabulary…).
        case invalidValue
        /// A count above a named cap.
        case limitExceeded
        /// The file cannot be opened or read.
        case cannotOpen
    }

    /// What went wrong.
    public var kind: Kind
    /// What was expected and what was found.
    public var message: String
    /// The file concerned.
    public var path: String?
    /// The JSON path or metadata key concerned (`model.merges[12]`, `tokenizer.ggml.tokens`).
    public var field: String?
    /// Where in WeightKit's source the error was raised (`#fileID:#line`).
    public var location: String

    /// Creates an error.
    public init(
        _ kind: Kind, _ message: String, path: String? = nil, field: String? = nil,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.kind = kind
        self.message = message
        self.path = path
        self.field = field
        self.location = "\(fileID):\(line)"
    }

    /// One line: `tokenizer.json, pre_tokenizer.type: unsupported pre-tokenizer type "X"`.
    public var description: String {
        var head: [String] = []
        if let path { head.append(path) }
        if let field { head.append(field) }
        let text = head.joined(separator: ", ")
        return text.isEmpty ? message : text + ": " + message
    }

    /// The same error with a path filled in when it had none.
    public func at(path: String) -> TokenizerError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }

    /// A stage whose `type` is not implemented.
    static func unsupportedType(_ stage: String, _ type: String, field: String, fileID: String = #fileID, line: Int = #line) -> TokenizerError {
        TokenizerError(.unsupported, "unsupported \(stage) type \"\(type)\"", field: field, fileID: fileID, line: line)
    }

    /// A field is absent.
    static func missing(_ field: String, fileID: String = #fileID, line: Int = #line) -> TokenizerError {
        TokenizerError(.missingField, "missing field", field: field, fileID: fileID, line: line)
    }

    /// A field has the wrong JSON type.
    static func wrongType(_ field: String, expected: String, found: String, fileID: String = #fileID, line: Int = #line) -> TokenizerError {
        TokenizerError(.invalidJSON, "expected \(expected), found \(found)", field: field, fileID: fileID, line: line)
    }
}
