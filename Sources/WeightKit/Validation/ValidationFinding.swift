import WeightKitCore

/// One thing `validate` found.
public struct ValidationFinding: Sendable, Hashable {
    /// How bad it is.
    public enum Severity: String, Sendable, Comparable {
        /// Informational: a check skipped or a harmless difference.
        case note
        /// Suspicious but loadable (all-zero tensors, extreme magnitudes, f16 overflow risk).
        case warning
        /// The file is damaged or does not fit its model (exit 65).
        case error

        private var rank: Int { self == .note ? 0 : self == .warning ? 1 : 2 }
        /// Orders note < warning < error.
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    /// Which family of checks produced it.
    public enum Check: String, Sendable {
        /// The format's own rules, as enforced by its reader.
        case structure
        /// Values: NaN, Inf, all zeros, magnitudes.
        case numerics
        /// Tensors against the recognised architecture.
        case graph
        /// Checksums stored in the file (pack CRC-32).
        case integrity
        /// The per-tensor SHA-256 manifest given with `--check`.
        case manifest
    }

    /// How bad it is.
    public var severity: Severity
    /// Which check produced it.
    public var check: Check
    /// What was expected and what was found.
    public var message: String
    /// The tensor concerned.
    public var tensorName: String?
    /// The byte offset in the file, where meaningful.
    public var byteOffset: Int?
    /// The machine-readable kind of the underlying error (`FormatError.Kind`/`GraphError.Kind`), if any.
    public var kind: String?

    /// Creates a finding.
    public init(
        _ severity: Severity, _ check: Check, _ message: String,
        tensorName: String? = nil, byteOffset: Int? = nil, kind: String? = nil
    ) {
        self.severity = severity
        self.check = check
        self.message = message
        self.tensorName = tensorName
        self.byteOffset = byteOffset
        self.kind = kind
    }

    /// A finding from a reader's error.
    public init(_ severity: Severity, _ check: Check, error: FormatError, tensorName: String? = nil) {
        self.init(
            severity, check, error.message, tensorName: error.tensorName ?? tensorName,
            byteOffset: error.byteOffset, kind: error.kind.rawValue)
    }

    /// One line: `error [graph] tensor "x": message [byte 8]`.
    public var description: String {
        var line = "\(severity.rawValue) [\(check.rawValue)]"
        if let tensorName { line += " tensor \"\(tensorName)\"" }
        line += ": " + message
        if let byteOffset { line += " [byte \(byteOffset)]" }
        return line
    }

    /// The finding as a JSON object.
    public var json: JSONValue {
        var object = JSONObject()
        object.set("severity", .string(severity.rawValue))
        object.set("check", .string(check.rawValue))
        object.set("message", .string(message))
        if let tensorName { object.set("tensor", .string(tensorName)) }
        if let byteOffset { object.set("byteOffset", .integer(byteOffset)) }
        if let kind { object.set("kind", .string(kind)) }
        return .object(object)
    }
}
