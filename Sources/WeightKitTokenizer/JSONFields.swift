import WeightKitCore

/// A JSON object being read as one tokenizer stage, with its JSON path for error messages.
struct JSONFields {
    /// The object.
    let object: JSONObject
    /// Where it sits in the file: `pre_tokenizer.pretokenizers[1]`.
    let path: String

    /// Wraps `value`, which must be an object.
    init(_ value: JSONValue, path: String) throws(TokenizerError) {
        guard let object = value.object else {
            throw .wrongType(path, expected: "an object", found: value.typeName)
        }
        self.object = object
        self.path = path
    }

    /// Wraps a pipeline stage's object; nil when the stage is absent or JSON null (no stage).
    init?(stage value: JSONValue?, path: String) throws(TokenizerError) {
        guard let value, value != .null else { return nil }
        try self.init(value, path: path)
    }

    /// `path.key`.
    func field(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    /// The value of `key`, treating JSON null as absent.
    func value(_ key: String) -> JSONValue? {
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    /// The stage's `type` string.
    func type() throws(TokenizerError) -> String { try string("type") }

    /// A required string.
    func string(_ key: String) throws(TokenizerError) -> String {
        guard let v = value(key) else { throw .missing(field(key)) }
        guard let s = v.string else { throw .wrongType(field(key), expected: "a string", found: v.typeName) }
        return s
    }

    /// An optional string.
    func optionalString(_ key: String) throws(TokenizerError) -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.string else { throw .wrongType(field(key), expected: "a string", found: v.typeName) }
        return s
    }

    /// A boolean, or `defaultValue` when absent.
    func bool(_ key: String, default defaultValue: Bool) throws(TokenizerError) -> Bool {
        guard let v = value(key) else { return defaultValue }
        guard let b = v.bool else { throw .wrongType(field(key), expected: "a boolean", found: v.typeName) }
        return b
    }

    /// An integer, or `defaultValue` when absent.
    func int(_ key: String, default defaultValue: Int) throws(TokenizerError) -> Int {
        guard let v = value(key) else { return defaultValue }
        guard let i = v.int else { throw .wrongType(field(key), expected: "an integer", found: v.typeName) }
        return i
    }

    /// A required array.
    func array(_ key: String) throws(TokenizerError) -> [JSONValue] {
        guard let v = value(key) else { throw .missing(field(key)) }
        guard let a = v.array else { throw .wrongType(field(key), expected: "an array", found: v.typeName) }
        return a
    }

    /// The stages of a `Sequence` stage: each item of the array `key` built by `make` (which
    /// returns nil for a JSON null or a stage that changes nothing; those are dropped).
    func stages<Stage>(
        _ key: String, _ make: (JSONValue?, String) throws(TokenizerError) -> Stage?
    ) throws(TokenizerError) -> [Stage] {
        var stages: [Stage] = []
        for (i, item) in try array(key).enumerated() {
            if let stage = try make(item, field("\(key)[\(i)]")) { stages.append(stage) }
        }
        return stages
    }

    /// A pattern object `{"String": "…"}` or `{"Regex": "…"}`.
    func pattern(_ key: String) throws(TokenizerError) -> Pattern {
        let p = try JSONFields(value(key) ?? .null, path: field(key))
        if let s = try p.optionalString("String") { return .string(s) }
        if let r = try p.optionalString("Regex") { return .regex(r) }
        throw TokenizerError(.invalidValue, "expected {\"String\": …} or {\"Regex\": …}", field: field(key))
    }

    /// A split pattern as tokenizer.json stores it.
    enum Pattern: Equatable {
        case string(String)
        case regex(String)
    }
}

/// A single scalar from a one-character string (Metaspace replacement, Strip content…).
func singleScalar(_ text: String, field: String) throws(TokenizerError) -> Unicode.Scalar {
    let scalars = Array(text.unicodeScalars)
    guard scalars.count == 1 else {
        throw TokenizerError(.invalidValue, "expected one character, found \"\(text)\"", field: field)
    }
    return scalars[0]
}
