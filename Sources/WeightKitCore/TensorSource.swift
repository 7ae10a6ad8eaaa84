/// A metadata value: safetensors has string maps; GGUF has typed scalars and arrays.
public indirect enum MetadataValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    case bool(Bool)
    case array([MetadataValue])

    /// The value as a string, when it is one.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A short human-readable rendering (arrays summarised past a few items).
    public var description: String {
        switch self {
        case .string(let s): return s
        case .int(let v): return String(v)
        case .uint(let v): return String(v)
        case .float(let v): return String(v)
        case .bool(let v): return String(v)
        case .array(let items):
            let head = items.prefix(5).map { item -> String in
                if case .string(let s) = item { return "\"\(s)\"" }
                return item.description
            }
            return "[" + head.joined(separator: ", ") + (items.count > 5 ? ", … (\(items.count) items)" : "") + "]"
        }
    }
}

/// Ordered key → value metadata, as the file stores it.
public struct Metadata: Sendable, Hashable {
    /// Entries in file order (safetensors: sorted by key).
    public var entries: [(key: String, value: MetadataValue)] {
        get { keys.map { ($0, values[$0]!) } }
    }
    private var keys: [String] = []
    private var values: [String: MetadataValue] = [:]

    /// Empty metadata.
    public init() {}

    /// Metadata from string pairs, keeping their order.
    public init(strings: [(String, String)]) {
        for (k, v) in strings { self[k] = .string(v) }
    }

    /// Number of entries.
    public var count: Int { keys.count }
    /// True when there are no entries.
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for `key`; setting appends new keys at the end and replaces existing ones in place.
    public subscript(key: String) -> MetadataValue? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The entries whose values are strings (what safetensors `__metadata__` can hold).
    public var stringEntries: [(String, String)] {
        entries.compactMap { entry in entry.value.stringValue.map { (entry.key, $0) } }
    }

    public static func == (a: Metadata, b: Metadata) -> Bool { a.keys == b.keys && a.values == b.values }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(keys)
    }
}

/// A set of named tensors read from one or more files: what every format reader yields.
///
/// Readers know only bytes, names, dtypes and shapes; binding tensors to a model is the graph
/// layer's job.
public protocol TensorSource: AnyObject, Sendable {
    /// Name of the format (`safetensors`, `npy`, `gguf`, …).
    var formatName: String { get }
    /// The files the tensors come from, in `TensorInfo.fileIndex` order.
    var files: [String] { get }
    /// Tensors in file order.
    var tensors: [TensorInfo] { get }
    /// File-level metadata.
    var metadata: Metadata { get }
    /// The bytes of `tensor` (one of `tensors`), as stored: zero-copy where the format allows.
    func storage(of tensor: TensorInfo) throws -> TensorStorage
}

extension TensorSource {
    /// The tensor called `name`, or nil.
    public func tensor(named name: String) -> TensorInfo? {
        tensors.first { $0.name == name }
    }

    /// The bytes of the tensor called `name`.
    public func storage(named name: String) throws -> TensorStorage {
        guard let info = tensor(named: name) else {
            throw FormatError(.tensorNotFound, "no tensor named \"\(name)\"", path: files.first, tensorName: name)
        }
        return try storage(of: info)
    }

    /// Sum of the element counts of all tensors.
    public var totalElements: Int { tensors.reduce(0) { $0 + $1.elementCount } }

    /// Sum of the stored byte sizes of all tensors.
    public var totalBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }
}
