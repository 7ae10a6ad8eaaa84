import WeightKitCore

/// What `Validator.validate` found.
public struct ValidationResult: Sendable {
    /// The input.
    public var path: String
    /// Its format.
    public var format: String
    /// Tensors in the input.
    public var tensors = 0
    /// Tensor bytes read.
    public var bytesChecked = 0
    /// The recognised architecture family, if any.
    public var architecture: String?
    /// Everything found, in check order.
    public var findings: [ValidationFinding] = []
    /// The per-tensor SHA-256 manifest, when hashes were requested.
    public var manifest: TensorManifest?
    /// Wall time.
    public var seconds = 0.0

    /// Creates an empty result.
    public init(path: String, format: String) {
        self.path = path
        self.format = format
    }

    /// Findings of `severity`.
    public func count(_ severity: ValidationFinding.Severity) -> Int { findings.filter { $0.severity == severity }.count }

    /// Errors fail; warnings fail only when `strict`.
    public func passes(strict: Bool) -> Bool {
        count(.error) == 0 && (!strict || count(.warning) == 0)
    }

    /// `ok`, `warnings` or `errors`.
    public var status: String { count(.error) > 0 ? "errors" : count(.warning) > 0 ? "warnings" : "ok" }

    /// The human summary: a status line, then one line per finding (notes only with `verbose`).
    public func text(verbose: Bool) -> String {
        let arch = architecture.map { ", \($0)" } ?? ""
        let errors = count(.error), warnings = count(.warning)
        let verdict = errors > 0 ? "DAMAGED" : warnings > 0 ? "OK with warnings" : "OK"
        let head = "\(path): \(verdict) (\(format)\(arch), \(tensors) tensors, \(bytesChecked) bytes checked in \(String(format3: seconds)) s; \(errors) errors, \(warnings) warnings)"
        let shown = findings.filter { verbose || $0.severity != .note }
        return ([head] + shown.map { "  " + $0.description }).joined(separator: "\n")
    }

    /// The result as JSON.
    public func json() -> JSONValue {
        var object = JSONObject()
        object.set("path", .string(path))
        object.set("format", .string(format))
        if let architecture { object.set("architecture", .string(architecture)) }
        object.set("status", .string(status))
        object.set("ok", .bool(count(.error) == 0))
        object.set("tensors", .integer(tensors))
        object.set("bytesChecked", .integer(bytesChecked))
        object.set("errors", .integer(count(.error)))
        object.set("warnings", .integer(count(.warning)))
        object.set("seconds", .double(seconds))
        object.set("findings", .array(findings.map(\.json)))
        if let manifest {
            object.set("sha256", .array(manifest.entries.map { ["tensor": .string($0.name), "sha256": .string($0.sha256)] }))
        }
        return .object(object)
    }
}

extension String {
    /// `value` with three decimals.
    init(format3 value: Double) {
        let scaled = Int((value * 1000).rounded())
        let fraction = String(scaled % 1000)
        self = "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
