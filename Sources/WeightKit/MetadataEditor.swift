import WeightKitCore
import WeightKitFormats

/// Changes to a GGUF, pack or safetensors file's metadata; tensors are copied byte for byte.
public struct MetadataEdit: Sendable {
    /// `KEY=VALUE` or `KEY:TYPE=VALUE` assignments, in order (see `MetadataEditor.value`).
    public var sets: [String]
    /// Keys to remove; each must exist.
    public var removals: [String]
    /// A new chat template: GGUF `tokenizer.chat_template`, pack `chat_template`.
    public var chatTemplate: String?

    /// The edit.
    public init(sets: [String] = [], removals: [String] = [], chatTemplate: String? = nil) {
        self.sets = sets
        self.removals = removals
        self.chatTemplate = chatTemplate
    }
}

/// What an edit changed.
public struct MetadataEditReport: Sendable {
    /// The file written.
    public var output: String
    /// Keys whose value changed, keys added, keys removed.
    public var changed: [String] = []
    public var added: [String] = []
    public var removed: [String] = []
    /// Tensors copied unchanged, and the bytes written.
    public var tensorCount = 0
    public var bytesWritten = 0
}

/// `weightkit edit`: GGUF metadata set, removed or replaced without touching the tensors, as
/// gguf-py's `gguf_set_metadata.py` (existing scalars keep their type) and `gguf_new_metadata.py`
/// (`--remove-metadata`, `--chat-template`) do; a safetensors file's `__metadata__` and a pack's
/// `metadata` (strings only; a pack's chat template is its `chat_template` key).
public enum MetadataEditor {
    /// Writes `input` with `edit` applied to `output` (nil: `input` itself, replaced only when the
    /// new file is complete).
    ///
    /// - Throws: `FormatError` naming the key for an unknown key to remove, a value that does not
    ///   parse as its type, an unknown type, `general.alignment` (it sets the data layout), a
    ///   type other than `str` for a pack or safetensors file (their metadata holds strings only),
    ///   or a file that is none of these; `ConversionError` when `output` exists (without `overwrite`) or is
    ///   the input under another name.
    public static func edit(input: String, output: String? = nil, edit: MetadataEdit, overwrite: Bool = false) throws -> MetadataEditReport {
        let target = output ?? input
        if output != nil { try OutputCheck.check(target, inputs: [input], overwrite: overwrite) }
        // One file, as stored: a shard of a llama-gguf-split set is edited alone, its split.*
        // keys kept, the other shards untouched.
        let source: any TensorSource = try FormatDetector.detect(path: input) == .gguf
            ? GGUFFile(singleFile: input) : FormatRegistry.open(path: input)
        if let file = source as? SafetensorsFile { return try editSafetensors(file, input: input, target: target, edit: edit) }
        if let pack = source as? PackReader { return try editPack(pack, input: input, target: target, edit: edit) }
        guard let file = source as? GGUFFile else {
            throw FormatError(
                .unsupported, "edit changes the metadata of a GGUF, pack or single safetensors file; this is \(source.formatName)",
                path: input)
        }
        var entries = file.typedMetadata.map { (key: $0.key, value: $0.value) }
        var report = MetadataEditReport(output: target)
        func guardKey(_ key: String) throws {
            guard !key.isEmpty else { throw FormatError(.invalidHeader, "an empty metadata key", path: input) }
            guard key != "general.alignment" else {
                throw FormatError(.unsupported, "general.alignment sets where the tensor data lies and cannot be edited", path: input)
            }
        }
        for key in edit.removals {
            try guardKey(key)
            guard let index = entries.firstIndex(where: { $0.key == key }) else {
                throw FormatError(.invalidHeader, "cannot remove metadata key \"\(key)\": the file has no such key", path: input)
            }
            entries.remove(at: index)
            report.removed.append(key)
        }
        var assignments: [(String, GGUFValue)] = []
        for text in edit.sets {
            let (key, type, raw) = try assignment(text, path: input)
            try guardKey(key)
            let existing = entries.first { $0.key == key }?.value
            assignments.append((key, try value(raw, type: type, existing: existing, key: key, path: input)))
        }
        if let template = edit.chatTemplate { assignments.append(("tokenizer.chat_template", .string(template))) }
        for (key, value) in assignments {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if entries[index].value != value { report.changed.append(key) }
                entries[index].value = value
            } else {
                entries.append((key, value))
                report.added.append(key)
            }
        }
        let payloads = try file.tensors.map { try TensorPayload(source: file, input: $0) }
        let written = try GGUFWriter.write(payloads, typedMetadata: entries.filter { $0.key != "general.alignment" }.map { ($0.key, $0.value) }, to: target)
        report.tensorCount = payloads.count
        report.bytesWritten = written.bytesWritten
        return report
    }

    /// Safetensors `__metadata__`: string keys and string values only; tensors copied unchanged.
    static func editSafetensors(_ file: SafetensorsFile, input: String, target: String, edit: MetadataEdit) throws -> MetadataEditReport {
        guard edit.chatTemplate == nil else {
            throw FormatError(.unsupported, "a safetensors file holds no chat template (it lives in tokenizer_config.json beside it)", path: input)
        }
        let (metadata, edited) = try editStrings(file.metadata, edit: edit, what: "safetensors __metadata__", input: input, target: target)
        var report = edited
        let payloads = try file.tensors.map { try TensorPayload(source: file, input: $0) }
        let written = try SafetensorsWriter.write(payloads, metadata: metadata, to: target)
        report.tensorCount = payloads.count
        report.bytesWritten = written.bytesWritten
        return report
    }

    /// The pack metadata key a chat template is stored under (what `ModelLoader` reads).
    public static let packChatTemplateKey = "chat_template"
    /// The pack metadata key holding tokenizer_config.json's text (BOS/EOS and add_bos_token,
    /// applied to the pack's tokenizer.json when it is loaded).
    public static let packTokenizerConfigKey = "tokenizer_config"

    /// A pack's `metadata` (strings only, docs/FORMAT.md §2; the chat template is its
    /// `chat_template` key) and its config (`config.NAME` keys, `MetadataEditor+PackConfig`): the
    /// header rewritten around the new objects, everything else — tokenizer, tensor entries, the
    /// data section — copied byte for byte.
    static func editPack(_ pack: PackReader, input: String, target: String, edit: MetadataEdit) throws -> MetadataEditReport {
        var (strings, configSets, configRemovals) = try splitConfigEdits(edit, input: input)
        if let template = edit.chatTemplate {
            strings.sets.append("\(packChatTemplateKey):str=\(template)")
            strings.chatTemplate = nil
        }
        let (metadata, edited) = try editStrings(pack.metadata, edit: strings, what: "pack metadata", input: input, target: target)
        var report = edited
        var config: JSONObject?
        if !configSets.isEmpty || !configRemovals.isEmpty {
            guard let original = pack.config else {
                throw FormatError(.invalidHeader, "the pack carries no config to edit (it is a plain tensor set)", path: input)
            }
            config = try editConfig(original, of: pack, sets: configSets, removals: configRemovals, input: input, report: &report)
        }
        let written = try PackWriter.rewrite(pack, metadata: metadata, config: config, to: target)
        report.tensorCount = pack.tensors.count
        report.bytesWritten = written.bytesWritten
        return report
    }

    /// `edit` applied to a string-only metadata map (`what` names it in errors): removals first
    /// (each key must exist), then the sets in order, new keys appended.
    static func editStrings(
        _ original: Metadata, edit: MetadataEdit, what: String, input: String, target: String
    ) throws -> (Metadata, MetadataEditReport) {
        var metadata = original
        var report = MetadataEditReport(output: target)
        for key in edit.removals {
            guard metadata[key] != nil else {
                throw FormatError(.invalidHeader, "cannot remove metadata key \"\(key)\": the file has no such key", path: input)
            }
            metadata[key] = nil
            report.removed.append(key)
        }
        for text in edit.sets {
            let (key, type, raw) = try assignment(text, path: input)
            guard !key.isEmpty else { throw FormatError(.invalidHeader, "an empty metadata key", path: input) }
            if let type, type != "str" {
                throw FormatError(.unsupported, "metadata key \"\(key):\(type)\": \(what) holds strings only, not \(type)", path: input)
            }
            let value = MetadataValue.string(raw)
            if let old = metadata[key] {
                if old != value { report.changed.append(key) }
            } else {
                report.added.append(key)
            }
            metadata[key] = value
        }
        return (metadata, report)
    }

    /// `KEY=VALUE` or `KEY:TYPE=VALUE` split into its parts.
    static func assignment(_ text: String, path: String) throws -> (key: String, type: String?, value: String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw FormatError(.invalidHeader, "\"\(text)\" is not KEY=VALUE or KEY:TYPE=VALUE", path: path)
        }
        let key = text[..<eq], value = String(text[text.index(after: eq)...])
        guard let colon = key.lastIndex(of: ":") else { return (String(key), nil, value) }
        return (String(key[..<colon]), String(key[key.index(after: colon)...]), value)
    }

    /// `raw` as a GGUF value: of `type` when given (u8 … i64, f32, f64, bool, str, or `[T]` with
    /// a JSON array), else of the existing value's type, else inferred (true/false: bool; an
    /// integer: u32, or i32 / u64 / i64 when it needs to be; a decimal: f32; anything else: str).
    public static func value(_ raw: String, type: String?, existing: GGUFValue?, key: String, path: String? = nil) throws -> GGUFValue {
        func fail(_ what: String) -> FormatError {
            FormatError(.invalidHeader, "metadata key \"\(key)\": \(what)", path: path)
        }
        if let type {
            if type.hasPrefix("["), type.hasSuffix("]") {
                let element = String(type.dropFirst().dropLast())
                guard let elementType = scalarType(element) else { throw fail("unknown array element type \"\(element)\" (u8 … i64, f32, f64, bool, str)") }
                let parsed = try? Array(raw.utf8).withUnsafeBytes { bytes in try unsafe JSON.parse(bytes) }
                guard case .array(let items)? = parsed else { throw fail("\"\(raw)\" is not a JSON array") }
                let values = try items.map { item -> GGUFValue in
                    let text: String
                    switch item {
                    case .string(let s): text = s
                    default: text = JSONWriter.serialize(item)
                    }
                    return try scalar(text, elementType, fail)
                }
                return .array(elementType: elementType, values)
            }
            guard let t = scalarType(type) else { throw fail("unknown type \"\(type)\" (u8 … i64, f32, f64, bool, str, or [T] for an array)") }
            return try scalar(raw, t, fail)
        }
        if let existing {
            if case .array(let elementType, _) = existing {
                return try value(raw, type: "[\(typeName(elementType))]", existing: nil, key: key, path: path)
            }
            return try scalar(raw, existing.type, fail)
        }
        if raw == "true" || raw == "false" { return .bool(raw == "true") }
        if let u = UInt32(raw) { return .uint32(u) }
        if let i = Int32(raw) { return .int32(i) }
        if let u = UInt64(raw) { return .uint64(u) }
        if let i = Int64(raw) { return .int64(i) }
        if raw.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let f = Float(raw), f.isFinite { return .float32(f) }
        return .string(raw)
    }

    static let names: [(String, GGUFValueType)] = [
        ("u8", .uint8), ("i8", .int8), ("u16", .uint16), ("i16", .int16), ("u32", .uint32), ("i32", .int32), ("u64", .uint64),
        ("i64", .int64), ("f32", .float32), ("f64", .float64), ("bool", .bool), ("str", .string),
    ]

    static func scalarType(_ name: String) -> GGUFValueType? { names.first { $0.0 == name }?.1 }
    static func typeName(_ type: GGUFValueType) -> String { names.first { $0.1 == type }?.0 ?? "str" }

    static func scalar(_ raw: String, _ type: GGUFValueType, _ fail: (String) -> FormatError) throws -> GGUFValue {
        func number<T: FixedWidthInteger>(_: T.Type) throws -> T {
            guard let v = T(raw) else { throw fail("\"\(raw)\" is not a \(typeName(type)) (\(T.min) … \(T.max))") }
            return v
        }
        switch type {
        case .uint8: return .uint8(try number(UInt8.self))
        case .int8: return .int8(try number(Int8.self))
        case .uint16: return .uint16(try number(UInt16.self))
        case .int16: return .int16(try number(Int16.self))
        case .uint32: return .uint32(try number(UInt32.self))
        case .int32: return .int32(try number(Int32.self))
        case .uint64: return .uint64(try number(UInt64.self))
        case .int64: return .int64(try number(Int64.self))
        case .float32:
            guard let f = Float(raw), f.isFinite else { throw fail("\"\(raw)\" is not a finite f32") }
            return .float32(f)
        case .float64:
            guard let d = Double(raw), d.isFinite else { throw fail("\"\(raw)\" is not a finite f64") }
            return .float64(d)
        case .bool:
            guard raw == "true" || raw == "false" else { throw fail("\"\(raw)\" is not a bool (true or false)") }
            return .bool(raw == "true")
        case .string: return .string(raw)
        case .array: throw fail("an array needs an element type: KEY:[T]=[…]")
        }
    }
}
