@_spi(_Unicode) import Swift
import WeightKitCore

/// The first pipeline stage: rewrites the text (lowercase, Unicode normalization, …) before it
/// is split. Mirrors `tokenizers`' `normalizers` module.
protocol Normalizer: Sendable {
    /// The normalized text.
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar]
    /// The normalized text with its alignments to the original (Offsets.swift), or why this
    /// stage cannot give them.
    func normalizeAligned(_ text: inout AlignedText) -> String?
}

/// Builds the normalizer a tokenizer.json `normalizer` object describes (nil for JSON null).
func makeNormalizer(_ value: JSONValue?, path: String) throws(TokenizerError) -> (any Normalizer)? {
    guard let f = try JSONFields(stage: value, path: path) else { return nil }
    switch try f.type() {
    case "Sequence": return SequenceNormalizer(stages: try f.stages("normalizers", makeNormalizer))
    case "BertNormalizer":
        let lowercase = try f.bool("lowercase", default: true)
        let strip: Bool
        if let v = f.value("strip_accents") {
            guard let b = v.bool else { throw .wrongType(f.field("strip_accents"), expected: "a boolean", found: v.typeName) }
            strip = b
        } else {
            strip = lowercase
        }
        return BertNormalizer(
            cleanText: try f.bool("clean_text", default: true),
            handleChineseChars: try f.bool("handle_chinese_chars", default: true),
            stripAccents: strip, lowercase: lowercase)
    case "Lowercase": return LowercaseNormalizer()
    case "NFD": return UnicodeNormalizer(form: .nfd)
    case "NFC": return UnicodeNormalizer(form: .nfc)
    case "NFKD": return CompatibilityNormalizer(compose: false)
    case "NFKC": return CompatibilityNormalizer(compose: true)
    case "StripAccents": return StripAccentsNormalizer()
    case "Precompiled":
        let map = try f.string("precompiled_charsmap")
        guard let bytes = decodeBase64(map) else {
            throw TokenizerError(.invalidValue, "expected base64 text, found \(map.utf8.count) bytes that are not", field: f.field("precompiled_charsmap"))
        }
        // An empty charsmap (some converted files) is tokenizers' identity.
        if bytes.isEmpty { return SequenceNormalizer(stages: []) }
        return try PrecompiledNormalizer(charsmap: bytes, field: f.field("precompiled_charsmap"))
    case "Strip":
        return StripNormalizer(left: try f.bool("strip_left", default: true), right: try f.bool("strip_right", default: true))
    case "Prepend": return PrependNormalizer(prefix: Array(try f.string("prepend").unicodeScalars))
    case "Replace":
        guard case .string(let pattern) = try f.pattern("pattern") else {
            throw TokenizerError(.unsupported, "unsupported Replace normalizer with a regex pattern", field: f.field("pattern"))
        }
        return ReplaceNormalizer(pattern: Array(pattern.unicodeScalars), content: Array(try f.string("content").unicodeScalars))
    case let type:
        throw .unsupportedType("normalizer", type, field: f.field("type"))
    }
}

/// Applies several normalizers in order.
struct SequenceNormalizer: Normalizer {
    let stages: [any Normalizer]
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        stages.reduce(text) { $1.normalize($0) }
    }
}

/// BERT's normalizer: drop control characters and map whitespace to spaces, surround CJK
/// ideographs with spaces, strip accents (NFD, then drop Mn), lowercase.
struct BertNormalizer: Normalizer {
    let cleanText: Bool
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count + 8)
        var asciiOnly = true
        for s in text {
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD || CharacterClass.isBertControl(s) { continue }
                if CharacterClass.isBertWhitespace(s) { out.append(" "); continue }
            }
            if handleChineseChars && CharacterClass.isCJK(s) {
                out.append(" ")
                out.append(s)
                out.append(" ")
                asciiOnly = false
                continue
            }
            if s.value >= 128 { asciiOnly = false }
            out.append(s)
        }
        if stripAccents && !asciiOnly {
            out = UnicodeNormalizer.nfd(out).filter { !CharacterClass.isNonspacingMark($0) }
        }
        if lowercase { out = LowercaseNormalizer().normalize(out) }
        return out
    }
}

/// Full Unicode lowercase mapping per scalar (Rust's `char::to_lowercase`).
struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for s in text {
            if s.value < 128 {
                out.append(s.value >= 65 && s.value <= 90 ? Unicode.Scalar(UInt8(s.value + 32)) : s)
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }
}

/// Canonical Unicode normalization (NFD or NFC) through the standard library's tables.
struct UnicodeNormalizer: Normalizer {
    enum Form { case nfd, nfc }
    let form: Form

    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        form == .nfd ? Self.nfd(text) : Self.nfc(text)
    }

    static func nfd(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if text.allSatisfy({ $0.value < 0xC0 }) { return text }
        var s = String()
        s.unicodeScalars.append(contentsOf: text)
        return Array(s._nfd)
    }

    /// NFD without the ASCII shortcut.
    static func nfdAlways(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var s = String()
        s.unicodeScalars.append(contentsOf: text)
        return Array(s._nfd)
    }

    /// NFC without the shortcut.
    static func nfcAlways(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var s = String()
        s.unicodeScalars.append(contentsOf: text)
        return Array(s._nfc)
    }

    static func nfc(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if text.allSatisfy({ $0.value < 0x300 }) { return text }
        var s = String()
        s.unicodeScalars.append(contentsOf: text)
        return Array(s._nfc)
    }
}

/// Removes combining marks (Mn, Mc, Me); usually after NFD.
struct StripAccentsNormalizer: Normalizer {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.filter { s in
            guard s.value >= 0x300 else { return true }
            switch s.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: return false
            default: return true
            }
        }
    }
}

/// Removes leading and/or trailing whitespace.
struct StripNormalizer: Normalizer {
    let left: Bool
    let right: Bool
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var lo = 0, hi = text.count
        if left { while lo < hi && CharacterClass.isWhitespace(text[lo]) { lo += 1 } }
        if right { while hi > lo && CharacterClass.isWhitespace(text[hi - 1]) { hi -= 1 } }
        return Array(text[lo..<hi])
    }
}

/// Puts `prefix` in front of non-empty text (SentencePiece's `▁`).
struct PrependNormalizer: Normalizer {
    let prefix: [Unicode.Scalar]
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.isEmpty ? text : prefix + text
    }
}

/// Replaces every occurrence of a literal pattern, left to right without overlaps.
struct ReplaceNormalizer: Normalizer {
    let pattern: [Unicode.Scalar]
    let content: [Unicode.Scalar]
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        replaceAll(text, pattern, with: content)
    }
}

/// `text` with each non-overlapping occurrence of `pattern` replaced by `content`.
func replaceAll<T: Equatable>(_ text: [T], _ pattern: [T], with content: [T]) -> [T] {
    guard !pattern.isEmpty, text.count >= pattern.count else { return text }
    var out: [T] = []
    out.reserveCapacity(text.count)
    var i = 0
    let first = pattern[0]
    while i < text.count {
        if text[i] == first, i + pattern.count <= text.count, text[i..<(i + pattern.count)].elementsEqual(pattern) {
            out.append(contentsOf: content)
            i += pattern.count
        } else {
            out.append(text[i])
            i += 1
        }
    }
    return out
}
