import WeightKitCore

/// A per-tensor SHA-256 manifest (`validate --hash` writes one, `--check` verifies one), like
/// llama.cpp's `gguf-hash`: one line per tensor, `<64 hex digits>  <tensor name>`, in file order.
/// The hash covers the tensor's bytes as the reader presents them (inflated for deflated npz and
/// pack members), so a manifest proves the data, not the container.
public struct TensorManifest: Sendable, Hashable {
    /// (name, hex digest) in order.
    public private(set) var entries: [(name: String, sha256: String)] = []

    /// An empty manifest.
    public init() {}

    /// Adds a line.
    public mutating func append(name: String, sha256: String) { entries.append((name, sha256)) }

    /// The manifest text, one `HEX  NAME` line per tensor.
    public var text: String { entries.map { "\($0.sha256)  \($0.name)\n" }.joined() }

    /// Parses manifest text; blank lines and `#` comments are skipped.
    ///
    /// - Throws: `.invalidHeader` naming the line that is not `HEX  NAME` (or repeats a name).
    public init(parsing text: String, path: String? = nil) throws(FormatError) {
        var seen = Set<String>()
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            let hex = line.prefix(64)
            let rest = line.dropFirst(64)
            guard hex.count == 64, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
                  rest.hasPrefix("  "), rest.count > 2 else {
                throw FormatError(.invalidHeader, "manifest line \(number + 1) is not \"<64 lowercase hex>  <tensor name>\"", path: path)
            }
            let name = String(rest.dropFirst(2))
            guard seen.insert(name).inserted else {
                throw FormatError(.duplicateName, "manifest line \(number + 1) repeats tensor \"\(name)\"", path: path, tensorName: name)
            }
            entries.append((name, String(hex)))
        }
    }

    /// Findings for every tensor whose hash differs, is missing from the file or is not in the manifest.
    public func compare(with actual: TensorManifest) -> [ValidationFinding] {
        var found: [String: String] = [:]
        for entry in actual.entries { found[entry.name] = entry.sha256 }
        var out: [ValidationFinding] = []
        var listed = Set<String>()
        for entry in entries {
            listed.insert(entry.name)
            guard let hash = found[entry.name] else {
                out.append(ValidationFinding(.error, .manifest, "listed in the manifest but not in the file", tensorName: entry.name))
                continue
            }
            if hash != entry.sha256 {
                out.append(ValidationFinding(
                    .error, .manifest, "SHA-256 \(hash) differs from the manifest's \(entry.sha256)", tensorName: entry.name))
            }
        }
        for entry in actual.entries where !listed.contains(entry.name) {
            out.append(ValidationFinding(.error, .manifest, "in the file but not in the manifest", tensorName: entry.name))
        }
        return out
    }

    /// Equal when the same names have the same hashes in the same order.
    public static func == (a: TensorManifest, b: TensorManifest) -> Bool {
        a.entries.map(\.name) == b.entries.map(\.name) && a.entries.map(\.sha256) == b.entries.map(\.sha256)
    }

    /// Hashes the lines.
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}
