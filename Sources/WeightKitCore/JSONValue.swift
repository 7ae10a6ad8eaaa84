/// A JSON value parsed by json-c and copied into Swift (see `Interop/JSONC.swift`).
///
/// Objects keep their keys in file order. Integers stay integers (`int`/`uint`) so that
/// `1` and `1.0` can be told apart, as strict formats require.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON type name for messages: `object`, `string`, `integer`…
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .uint: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The object, if this is one.
    public var object: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    /// The array, if this is one.
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// The value as an `Int` when it is an integer that fits (never from a float).
    public var int: Int? {
        switch self {
        case .int(let v): return Int(exactly: v)
        case .uint(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// The value as a `Double` when it is any number.
    public var number: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}

/// A JSON object: key/value pairs in file order, with keyed lookup.
public struct JSONObject: Sendable, Hashable {
    /// Pairs in file order.
    public private(set) var entries: [(key: String, value: JSONValue)] = []
    private var index: [ExactString: Int] = [:]  // exact bytes: "é" and "e\u{301}" are different keys

    /// An empty object.
    public init() {}

    /// The value for `key`, or nil.
    public subscript(key: String) -> JSONValue? {
        guard let i = index[ExactString(key)] else { return nil }
        return entries[i].value
    }

    /// Number of keys.
    public var count: Int { entries.count }

    /// Keys in file order.
    public var keys: [String] { entries.map(\.key) }

    /// Appends a pair, or replaces the value of an existing key in place.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if let i = index[ExactString(key)] {
            entries[i].value = value
        } else {
            index[ExactString(key)] = entries.count
            entries.append((key, value))
        }
    }

    public static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.entries.count == b.entries.count && zip(a.entries, b.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for (k, v) in entries {
            hasher.combine(k)
            hasher.combine(v)
        }
    }
}

/// Why a JSON text was refused, and where.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// The repeated key, when the error is a duplicate key in an object.
    public var duplicateKey: String? = nil
    /// Byte offset in the parsed text.
    public var byteOffset: Int
    /// `message at byte N`.
    public var description: String { "\(message) at byte \(byteOffset)" }
}
