import WeightKitCore

/// SentencePiece's precompiled normalization rules (`Precompiled` in tokenizer.json: T5, ALBERT,
/// XLM-R, mBART), run as Hugging Face tokenizers runs them: the charsmap is a darts-clone
/// double-array trie over UTF-8 bytes whose values index NUL-terminated replacement strings.
/// Text is taken a grapheme cluster at a time; a cluster under 6 bytes whose bytes start with a
/// rule is replaced whole by the shortest rule's replacement, else each of its scalars is
/// replaced by its own rule or kept.
struct PrecompiledNormalizer: Normalizer {
    /// The trie's 32-bit units.
    let units: [UInt32]
    /// The replacement strings, NUL-terminated, as bytes.
    let normalized: [UInt8]
    /// Each ASCII scalar's replacement (nil: kept), looked up once.
    private var ascii: [[Unicode.Scalar]?] = []

    /// Parses the decoded `precompiled_charsmap`: u32 trie size in bytes, the trie, the strings.
    init(charsmap bytes: [UInt8], field: String) throws(TokenizerError) {
        guard bytes.count >= 4 else {
            throw TokenizerError(.invalidValue, "expected a 4-byte trie size, found \(bytes.count) bytes", field: field)
        }
        let size = Int(UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24)
        guard size % 4 == 0, size <= bytes.count - 4, size >= 4 else {
            throw TokenizerError(.invalidValue, "trie of \(size) bytes does not fit the \(bytes.count - 4) bytes after its size (or is not whole 32-bit units)", field: field)
        }
        var units = [UInt32](repeating: 0, count: size / 4)
        for i in 0..<units.count {
            let o = 4 + 4 * i
            units[i] = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
        }
        self.units = units
        normalized = Array(bytes[(4 + size)...])
        ascii = (0..<128).map { b in transform([UInt8(b)][...]).map { Array(String(decoding: $0, as: UTF8.self).unicodeScalars) } }
    }

    @inline(__always) private static func offset(_ unit: UInt32) -> Int { Int((unit >> 10) << ((unit & (1 << 9)) >> 6)) }

    /// The value of the shortest trie key that prefixes `key` (darts-clone `commonPrefixSearch`'s
    /// first result), nil when none does or the trie is malformed.
    func firstPrefixValue(_ key: ArraySlice<UInt8>) -> Int? {
        guard !units.isEmpty else { return nil }
        var node = Self.offset(units[0])
        for c in key {
            if c == 0 { break }
            node ^= Int(c)
            guard node >= 0, node < units.count else { return nil }
            let unit = units[node]
            guard unit & ((1 << 31) | 0xFF) == UInt32(c) else { return nil }
            node ^= Self.offset(unit)
            guard node >= 0, node < units.count else { return nil }
            if (unit >> 8) & 1 == 1 { return Int(units[node] & ((1 << 31) - 1)) }
        }
        return nil
    }

    /// The replacement for `bytes`, when a rule starts them.
    func transform(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard let start = firstPrefixValue(bytes), start < normalized.count else { return nil }
        var end = start
        while end < normalized.count && normalized[end] != 0 { end += 1 }
        return normalized[start..<end]
    }


    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        let n = text.count
        var i = 0
        while i < n {
            // An ASCII scalar followed by another ASCII scalar (or the end), CR LF aside, is a
            // grapheme cluster of its own: the common case, without segmenting.
            let v = text[i].value
            if v < 128, i + 1 == n || (text[i + 1].value < 128 && !(v == 13 && text[i + 1].value == 10)) {
                if let r = ascii[Int(v)] { out.append(contentsOf: r) } else { out.append(text[i]) }
                i += 1
                continue
            }
            // Otherwise segment up to a sure boundary: before an ASCII scalar that follows an
            // ASCII scalar other than CR (no cluster spans that).
            var k = i + 1
            while k < n && !(text[k].value < 128 && text[k - 1].value < 128 && text[k - 1].value != 13) { k += 1 }
            normalizeClusters(text[i..<k], into: &out)
            i = k
        }
        return out
    }

    /// tokenizers' rule on each grapheme cluster of `text`.
    private func normalizeClusters(_ text: ArraySlice<Unicode.Scalar>, into out: inout [Unicode.Scalar]) {
        var string = String()
        string.unicodeScalars.append(contentsOf: text)
        var bytes: [UInt8] = []
        func append(_ replacement: ArraySlice<UInt8>) {
            out.append(contentsOf: String(decoding: replacement, as: UTF8.self).unicodeScalars)
        }
        for cluster in string {
            bytes.removeAll(keepingCapacity: true)
            for s in cluster.unicodeScalars { appendUTF8(s, to: &bytes) }
            if bytes.count < 6, let replacement = transform(bytes[...]) {
                append(replacement)
                continue
            }
            for s in cluster.unicodeScalars {
                bytes.removeAll(keepingCapacity: true)
                appendUTF8(s, to: &bytes)
                if let replacement = transform(bytes[...]) { append(replacement) } else { out.append(s) }
            }
        }
    }
}

/// Standard base64 (RFC 4648, `=` padding, no line breaks), as tokenizer.json stores the charsmap.
func decodeBase64(_ text: String) -> [UInt8]? {
    var table = [Int8](repeating: -1, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = Int8(i) }
    let chars = Array(text.utf8)
    guard chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 4 * 3)
    var i = 0
    while i < chars.count {
        var quad: [Int] = []
        var pad = 0
        for j in 0..<4 {
            let c = chars[i + j]
            if c == UInt8(ascii: "=") && i + 4 == chars.count && j >= 2 { pad += 1; quad.append(0); continue }
            guard pad == 0, table[Int(c)] >= 0 else { return nil }
            quad.append(Int(table[Int(c)]))
        }
        let v = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3]
        out.append(UInt8(v >> 16 & 0xFF))
        if pad < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
        if pad < 1 { out.append(UInt8(v & 0xFF)) }
        i += 4
    }
    return out
}

/// Compatibility decomposition (the K in NFKD and NFKC): each scalar with a compatibility
/// mapping replaced by its full NFKD (CompatibilityTable.swift), then the standard library's
/// canonical normalization over the whole text (decomposition and reordering for NFKD,
/// composition too for NFKC).
enum CompatibilityDecomposition {
    /// The packed table, parsed on first use.
    static let table: [UInt32: [Unicode.Scalar]] = {
        var table: [UInt32: [Unicode.Scalar]] = [:]
        table.reserveCapacity(4096)
        for entry in packed.split(separator: ";") {
            let parts = entry.split(separator: ":")
            guard parts.count == 2, let key = UInt32(parts[0], radix: 16) else { continue }
            table[key] = parts[1].split(separator: ",").compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
        }
        return table
    }()

    /// `text` with every compatibility mapping applied (not yet reordered).
    static func mapped(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0xA0 }) else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for s in text {
            if s.value >= 0xA0, let d = table[s.value] { out.append(contentsOf: d) } else { out.append(s) }
        }
        return out
    }
}

/// NFKD or NFKC.
struct CompatibilityNormalizer: Normalizer {
    let compose: Bool
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let mapped = CompatibilityDecomposition.mapped(text)
        return compose ? UnicodeNormalizer.nfc(mapped) : UnicodeNormalizer.nfd(mapped)
    }
}
