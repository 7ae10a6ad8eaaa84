import WeightKitCore
import WeightKitFormats
import WeightKitGraph

/// Editing the architecture config a pack carries (its config.json), through the same
/// `--set`/`--remove` as metadata, under keys `config.NAME` (`config.rope_scaling.factor` for a
/// nested object). The edited config must still describe a model the pack's tensors make: it is
/// read as `ModelLoader` reads it and bound to the tensors before anything is written.
extension MetadataEditor {
    /// The prefix that addresses a pack's config rather than its metadata.
    public static let packConfigPrefix = "config."

    /// Splits `edit` into the part for the pack's metadata and the sets and removals for its
    /// config (`config.` prefix dropped).
    static func splitConfigEdits(_ edit: MetadataEdit, input: String) throws -> (MetadataEdit, sets: [(path: [String], raw: String)], removals: [[String]]) {
        var rest = edit
        rest.sets = []
        rest.removals = []
        var sets: [(path: [String], raw: String)] = [], removals: [[String]] = []
        for text in edit.sets {
            let (key, type, raw) = try assignment(text, path: input)
            guard key.hasPrefix(packConfigPrefix) else { rest.sets.append(text); continue }
            if let type {
                throw FormatError(
                    .unsupported, "\"\(key):\(type)\": a config value is JSON (10000, 1e6, true, \"text\", [1, 2]), not typed with :\(type)",
                    path: input)
            }
            sets.append((try configPath(key, input: input), raw))
        }
        for key in edit.removals {
            guard key.hasPrefix(packConfigPrefix) else { rest.removals.append(key); continue }
            removals.append(try configPath(key, input: input))
        }
        return (rest, sets, removals)
    }

    /// `config.a.b` → ["a", "b"].
    static func configPath(_ key: String, input: String) throws -> [String] {
        let path = key.dropFirst(packConfigPrefix.count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.contains(where: \.isEmpty) else { throw FormatError(.invalidHeader, "\"\(key)\" names no config key", path: input) }
        return path
    }

    /// `config` with the removals, then the sets applied, the changes recorded in `report` as
    /// `config.NAME`; then checked: it must read as an architecture config and bind to `pack`'s
    /// tensors.
    ///
    /// A value is parsed as JSON, else taken as a string; it must have the kind of the value it
    /// replaces (a number for a number, a string for a string …), so a typo cannot turn
    /// `rope_theta` into a string.
    static func editConfig(
        _ original: JSONObject, of pack: PackReader, sets: [(path: [String], raw: String)], removals: [[String]], input: String,
        report: inout MetadataEditReport
    ) throws -> JSONObject {
        var config = original
        for path in removals {
            let name = packConfigPrefix + path.joined(separator: ".")
            guard value(in: config, at: path) != nil else {
                throw FormatError(.invalidHeader, "cannot remove \"\(name)\": the pack's config has no such key", path: input)
            }
            config = try updated(config, at: path, with: nil, name: name, input: input)
            report.removed.append(name)
        }
        for (path, raw) in sets {
            let name = packConfigPrefix + path.joined(separator: ".")
            let new = jsonValue(raw)
            let old = value(in: config, at: path)
            if let old, old != .null, !sameKind(old, new) {
                throw FormatError(
                    .invalidHeader, "\"\(name)\" is \(describe(old)) (\(JSONWriter.serialize(old))), not \(describe(new)) (\(raw))", path: input)
            }
            config = try updated(config, at: path, with: new, name: name, input: input)
            if let old { if old != new { report.changed.append(name) } } else { report.added.append(name) }
        }
        do {
            let architecture = try ArchitectureConfig(huggingFace: config, path: input)
            _ = try ModelGraph.bind(pack, config: architecture)
        } catch {
            throw FormatError(.invalidHeader, "the edited config no longer describes this pack's model: \(error)", path: input)
        }
        return config
    }

    /// `raw` as one JSON value (a scalar too: it is parsed inside an array), else as a string.
    static func jsonValue(_ raw: String) -> JSONValue {
        guard let items = (try? JSON.parse("[" + raw + "]"))?.array, items.count == 1 else { return .string(raw) }
        return items[0]
    }

    /// The value at `path` in `object`, nil when a key on the way is missing.
    static func value(in object: JSONObject, at path: [String]) -> JSONValue? {
        guard let first = path.first, let value = object[first] else { return nil }
        guard path.count > 1 else { return value }
        return value.object.flatMap { self.value(in: $0, at: Array(path.dropFirst())) }
    }

    /// `object` with the value at `path` set to `value` (nil removes it); objects on the way
    /// must exist.
    static func updated(_ object: JSONObject, at path: [String], with value: JSONValue?, name: String, input: String) throws -> JSONObject {
        let key = path[0]
        guard path.count > 1 else {
            guard let value else {
                var out = JSONObject()
                for (k, v) in object.entries where k != key { out.set(k, v) }
                return out
            }
            var out = object
            out.set(key, value)
            return out
        }
        guard let inner = object[key]?.object else {
            throw FormatError(.invalidHeader, "\"\(name)\": the config's \"\(key)\" is not an object", path: input)
        }
        var out = object
        out.set(key, .object(try updated(inner, at: Array(path.dropFirst()), with: value, name: name, input: input)))
        return out
    }

    /// Whether `new` may replace `old`: the same JSON kind, numbers all one kind (a whole double
    /// is written as an integer, and reading the config refuses a fraction where it needs an
    /// integer).
    static func sameKind(_ old: JSONValue, _ new: JSONValue) -> Bool {
        switch (old, new) {
        case (.int, .int), (.int, .uint), (.uint, .int), (.uint, .uint), (.int, .double), (.uint, .double): return true
        case (.double, .int), (.double, .uint), (.double, .double): return true
        case (.string, .string), (.bool, .bool), (.array, .array), (.object, .object): return true
        default: return false
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a bool"
        case .int, .uint: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
