#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitCore
import WeightKitFormats

/// Everything `inspect` shows, gathered once and rendered as text or JSON.
struct InspectReport {
    var path: String
    var format: String
    var files: [(path: String, size: Int)]
    var tensors: [TensorInfo]
    var metadata: Metadata
    var config: JSONObject?
    var stats: [String: TensorStats] = [:]

    /// config.json keys worth a line, in display order.
    static let configKeys = [
        "model_type", "architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings",
        "rms_norm_eps", "layer_norm_eps", "rope_theta", "hidden_act", "tie_word_embeddings", "torch_dtype",
    ]

    var totalElements: Int { tensors.reduce(0) { $0 + $1.elementCount } }
    var totalBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    /// Per dtype: tensor count, elements, bytes; most bytes first, then by name (a stable order).
    var byDType: [(dtype: DType, tensors: Int, elements: Int, bytes: Int)] {
        var table: [DType: (Int, Int, Int)] = [:]
        for t in tensors {
            let old = table[t.dtype] ?? (0, 0, 0)
            table[t.dtype] = (old.0 + 1, old.1 + t.elementCount, old.2 + t.byteCount)
        }
        return table.map { ($0.key, $0.value.0, $0.value.1, $0.value.2) }.sorted { ($0.bytes, $1.dtype.shortName) > ($1.bytes, $0.dtype.shortName) }
    }

    // MARK: Text

    func text(showTensors: Bool) -> String {
        var lines: [String] = []
        lines.append(path)
        lines.append("  format      \(format)")
        if files.count == 1 {
            lines.append("  file size   \(formatBytes(files[0].size)) (\(grouped(files[0].size)) bytes)")
        } else {
            let total = files.reduce(0) { $0 + $1.size }
            lines.append("  files       \(files.count), \(formatBytes(total)) in all")
            for f in files { lines.append("              \(f.path)  \(formatBytes(f.size))") }
        }
        lines.append("  tensors     \(grouped(tensors.count))")
        lines.append("  parameters  \(grouped(totalElements))")
        for (i, row) in byDType.enumerated() {
            let label = i == 0 ? "  dtypes      " : "              "
            lines.append(label + "\(Self.dtypeLabel(row.dtype)): \(plural(row.tensors, "tensor")), \(plural(row.elements, "element")), \(formatBytes(row.bytes))")
        }
        var longText: [(key: String, text: String)] = []
        for (i, entry) in metadata.entries.enumerated() {
            let label = i == 0 ? "  metadata    " : "              "
            if let text = entry.value.stringValue, text.contains("\n") || text.count > 100 {
                longText.append((entry.key, text))
                lines.append(label + "\(entry.key) = (\(text.count) characters, shown below)")
            } else {
                lines.append(label + "\(entry.key) = \(Self.summary(entry.value))")
            }
        }
        for (key, text) in longText {
            lines.append("  \(key):")
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) { lines.append("    " + line) }
        }
        if let config {
            lines.append("  config.json")
            for key in Self.configKeys {
                guard let value = config[key] else { continue }
                let shown = value.array.map { $0.compactMap(\.string).joined(separator: ", ") } ?? value.string ?? JSONWriter.serialize(value)
                lines.append("    " + key.padded(24) + shown)
            }
        }
        lines.append("")
        lines.append("Layers")
        let summary = LayerSummary(tensors: tensors)
        for entry in summary.entries {
            switch entry {
            case .tensor(let t):
                lines.append("  " + row(name: t.name, t, indent: 0))
            case .group(let g):
                let times = g.indices.count > 1 ? " (\(g.indices.count)×)" : ""
                let each = g.indices.count > 1 ? " each" : ""
                lines.append("  \(g.label)\(times): \(g.members.count) tensor\(g.members.count == 1 ? "" : "s")\(each)")
                for m in g.members { lines.append("    " + row(name: m.name, m, indent: 2)) }
            }
        }
        if showTensors || !stats.isEmpty {
            lines.append("")
            lines.append("Tensors")
            let width = min(60, tensors.map(\.name.count).max() ?? 0)
            let typeWidth = max(8, tensors.map(\.typeName.count).max() ?? 0)
            var header = "  " + "name".padded(width) + "  " + "dtype".padded(typeWidth) + " " + "shape".padded(18) + " " + "bytes".padded(12) + (files.count > 1 ? " file:offset" : " offset")
            if !stats.isEmpty { header += "        min        max       mean        std  nan  inf" }
            lines.append(header)
            for t in tensors {
                var line = "  " + t.name.padded(width) + "  " + t.typeName.padded(typeWidth) + " "
                    + t.shape.description.padded(18) + " " + (t.dtype == .unknown ? "?" : String(t.byteCount)).padded(12) + " " + (t.fileOffset.map { files.count > 1 ? "\(t.fileIndex + 1):\($0)" : String($0) } ?? "-")
                if let s = stats[t.name] {
                    line = line.padded(line.count + 1)
                    for v in [s.min, s.max, s.mean, s.std] { line += " " + (v.map(compact) ?? "-").leftPadded(10) }
                    line += " " + String(s.nanCount).leftPadded(4) + " " + String(s.infCount).leftPadded(4)
                }
                lines.append(line)
            }
        }
        return lines.joined(separator: "\n")
    }

    private func row(name: String, _ t: TensorInfo, indent: Int) -> String {
        let width = tensors.contains { $0.dtype.isQuantized || $0.dtype == .unknown } ? 22 : 8
        return name.padded(48 - indent) + " " + (t.dtype == .unknown ? t.typeName : Self.dtypeLabel(t.dtype)).padded(width) + " " + t.shape.description
    }

    /// `q4_1 (5 bits/weight)` for block types, the short name otherwise.
    static func dtypeLabel(_ dtype: DType) -> String {
        guard dtype.isQuantized else { return dtype.shortName }
        return "\(dtype.shortName) (\(compact(QuantBlocks.bitsPerWeight(dtype))) bits/weight)"
    }

    /// A metadata value on one line; arrays as `[49152 strings] "a", "b", …`.
    static func summary(_ value: MetadataValue) -> String {
        guard case .array(let items) = value else { return value.description }
        let kind: String
        switch items.first {
        case .string?: kind = "strings"
        case .int?, .uint?: kind = "integers"
        case .float?: kind = "floats"
        case .bool?: kind = "booleans"
        case .array?: kind = "arrays"
        case nil: return "[]"
        }
        let head = items.prefix(5).map { item -> String in
            if case .string(let s) = item { return JSONWriter.quote(s) }
            return item.description
        }
        return "[\(grouped(items.count)) \(kind)] " + head.joined(separator: ", ") + (items.count > 5 ? ", …" : "")
    }

    // MARK: JSON

    func json() -> JSONValue {
        var root = JSONObject()
        root.set("path", .string(path))
        root.set("format", .string(format))
        root.set("files", .array(files.map { ["path": .string($0.path), "size": .integer($0.size)] }))
        root.set("tensorCount", .integer(tensors.count))
        root.set("totalElements", .integer(totalElements))
        root.set("totalBytes", .integer(totalBytes))
        var dtypes = JSONObject()
        for row in byDType {
            dtypes.set(row.dtype.shortName, ["tensors": .integer(row.tensors), "elements": .integer(row.elements), "bytes": .integer(row.bytes)])
        }
        root.set("dtypes", .object(dtypes))
        var meta = JSONObject()
        for (k, v) in metadata.entries { meta.set(k, Self.json(v)) }
        root.set("metadata", .object(meta))
        if let config { root.set("config", .object(config)) }
        root.set("layers", .array(LayerSummary(tensors: tensors).entries.map(Self.json)))
        root.set("tensors", .array(tensors.map { t in
            var o = Self.tensorJSON(t)
            if let s = stats[t.name] { o.set("stats", Self.json(s)) }
            return .object(o)
        }))
        return .object(root)
    }

    static func tensorJSON(_ t: TensorInfo) -> JSONObject {
        var o = JSONObject()
        o.set("name", .string(t.name))
        o.set("dtype", .string(t.typeName))
        o.set("shape", .array(t.shape.dims.map { .integer($0) }))
        o.set("elements", .integer(t.elementCount))
        o.set("bytes", .integer(t.byteCount))
        if let offset = t.fileOffset { o.set("offset", .integer(offset)) }
        if t.fileIndex > 0 { o.set("file", .integer(t.fileIndex)) }
        return o
    }

    static func json(_ entry: LayerSummary.Entry) -> JSONValue {
        switch entry {
        case .tensor(let t): return .object(tensorJSON(t))
        case .group(let g):
            return [
                "group": .string(g.label), "prefix": .string(g.prefix), "indices": .array(g.indices.map { .integer($0) }),
                "tensors": .array(g.members.map { .object(tensorJSON($0)) }),
            ]
        }
    }

    static func json(_ s: TensorStats) -> JSONValue {
        func number(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
        return [
            "min": number(s.min), "max": number(s.max), "mean": number(s.mean), "std": number(s.std),
            "nan": .integer(s.nanCount), "inf": .integer(s.infCount), "zeros": .integer(s.zeroCount),
        ]
    }

    static func json(_ v: MetadataValue) -> JSONValue {
        switch v {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        case .uint(let u): return .uint(u)
        case .float(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .array(let a): return .array(a.map(json))
        }
    }
}

/// `1 tensor`, `2 tensors`, `1,024 elements`.
func plural(_ n: Int, _ noun: String) -> String {
    "\(grouped(n)) \(noun)\(n == 1 ? "" : "s")"
}

extension String {
    /// Right-justified in `width` columns.
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Size of a file in bytes (calls `stat`); 0 when it cannot be read.
func fileSize(_ path: String) -> Int {
    var info = stat()
    guard unsafe stat(path, &info) == 0 else { return 0 }
    return Int(info.st_size)
}
