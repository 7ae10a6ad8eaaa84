import WeightKitCore

/// Where a token came from in the text it was encoded from: `start..<end` in Unicode scalar
/// indices (Python's character indices), as Hugging Face tokenizers' `Encoding.offsets` gives
/// them; `(0, 0)` for special tokens the post-processor adds and for padding.
public struct TokenOffsets: Sendable, Hashable {
    public var start: Int
    public var end: Int

    /// An offset pair.
    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// `(0, 0)`: a token that no text produced.
    public static let none = TokenOffsets(start: 0, end: 0)
}

/// Normalized text with, for each scalar, the range of original scalars it stands for: the
/// alignments of tokenizers' `NormalizedString`, kept per scalar rather than per byte (every
/// byte of a normalized character carries the same alignment there).
struct AlignedText {
    var scalars: [Unicode.Scalar]
    var origins: [Range<Int>]
    /// Where this text starts in the original: an insertion before any kept character aligns
    /// to `base..<base` (tokenizers' `(0, 0)` in the slice's own coordinates).
    let base: Int

    /// `NormalizedString::transform`: `dest` gives each new character with its change (0:
    /// replaces the next old character and takes its alignment; +1: inserted, aligned as the
    /// last old character consumed; -n: replaces the next old one and removes n after it), after
    /// `initialOffset` old characters were removed.
    mutating func transform(_ dest: [(Unicode.Scalar, Int)], initialOffset: Int = 0) {
        var consumed = initialOffset
        var newScalars: [Unicode.Scalar] = [], newOrigins: [Range<Int>] = []
        newScalars.reserveCapacity(dest.count)
        newOrigins.reserveCapacity(dest.count)
        for (c, change) in dest {
            let origin: Range<Int>
            if change > 0 {
                origin = consumed == 0 ? base..<base : origins[consumed - 1]
            } else {
                origin = origins[consumed]
                consumed += 1 - change
            }
            newScalars.append(c)
            newOrigins.append(origin)
        }
        scalars = newScalars
        origins = newOrigins
    }

    /// Each scalar replaced by `f`'s scalars (all aligned as it), or removed when `f` gives none:
    /// tokenizers' `map`, `filter` and the one-to-many `to_lowercase` transforms.
    mutating func mapEach(_ f: (Unicode.Scalar) -> [Unicode.Scalar]) {
        var newScalars: [Unicode.Scalar] = [], newOrigins: [Range<Int>] = []
        newScalars.reserveCapacity(scalars.count)
        newOrigins.reserveCapacity(scalars.count)
        for (s, o) in zip(scalars, origins) {
            for t in f(s) {
                newScalars.append(t)
                newOrigins.append(o)
            }
        }
        scalars = newScalars
        origins = newOrigins
    }

    /// `NormalizedString::prepend`: the new characters take the first character's alignment.
    mutating func prepend(_ prefix: [Unicode.Scalar]) {
        guard let first = origins.first else { return }
        scalars = prefix + scalars
        origins = [Range<Int>](repeating: first, count: prefix.count) + origins
    }

    /// Unicode decomposition as tokenizers' `unicode-normalization-alignments` yields it: each
    /// character's decomposition (the first scalar replacing it, the rest inserted), then every
    /// run of non-starters stably sorted by combining class, the changes travelling with their
    /// scalars; the result is applied position by position (`transform`).
    mutating func decompose(_ one: ([Unicode.Scalar]) -> [Unicode.Scalar]) {
        var dest: [(Unicode.Scalar, Int)] = []
        dest.reserveCapacity(scalars.count)
        for s in scalars {
            for (k, d) in one([s]).enumerated() { dest.append((d, k == 0 ? 0 : 1)) }
        }
        func ccc(_ s: Unicode.Scalar) -> Int { Int(s.properties.canonicalCombiningClass.rawValue) }
        var i = 0
        while i < dest.count {
            guard ccc(dest[i].0) != 0 else { i += 1; continue }
            var j = i
            while j < dest.count && ccc(dest[j].0) != 0 { j += 1 }
            // Insertion sort: stable, and runs of combining marks are short.
            if j - i > 1 {
                for k in (i + 1)..<j {
                    let item = dest[k]
                    var m = k
                    while m > i && ccc(dest[m - 1].0) > ccc(item.0) {
                        dest[m] = dest[m - 1]
                        m -= 1
                    }
                    dest[m] = item
                }
            }
            i = j
        }
        transform(dest)
    }
}

/// Offsets through the normalizers: each supported stage moves the alignments as its tokenizers
/// counterpart does; the others say why they cannot (the encoding then has no offsets).
extension Normalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        "the normalizer \(Self.self) (its alignments are not implemented)"
    }
}

extension SequenceNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        for stage in stages {
            if let why = stage.normalizeAligned(&text) { return why }
        }
        return nil
    }
}

extension BertNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        if cleanText {
            text.mapEach { s in
                if s.value == 0 || s.value == 0xFFFD || CharacterClass.isBertControl(s) { return [] }
                return CharacterClass.isBertWhitespace(s) ? [" "] : [s]
            }
        }
        if handleChineseChars { text.mapEach { CharacterClass.isCJK($0) ? [" ", $0, " "] : [$0] } }
        if stripAccents {
            text.decompose(UnicodeNormalizer.nfd)
            text.mapEach { CharacterClass.isNonspacingMark($0) ? [] : [$0] }
        }
        if lowercase { text.mapEach(LowercaseNormalizer.lowercase) }
        return nil
    }
}

extension LowercaseNormalizer {
    /// One scalar's full lowercase mapping.
    static func lowercase(_ s: Unicode.Scalar) -> [Unicode.Scalar] {
        LowercaseNormalizer().normalize([s])
    }

    func normalizeAligned(_ text: inout AlignedText) -> String? {
        text.mapEach(Self.lowercase)
        return nil
    }
}

extension UnicodeNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        switch form {
        case .nfd:
            text.decompose(Self.nfd)
            return nil
        case .nfc:
            // Below U+00C0 nothing decomposes or composes: every character stays, aligned as it was.
            guard text.scalars.allSatisfy({ $0.value < 0xC0 }) else {
                return "NFC normalization of text with characters from U+00C0 on (its alignments are not implemented)"
            }
            return nil
        }
    }
}

extension CompatibilityNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        guard compose else {
            text.decompose { CompatibilityNormalizer(compose: false).normalize($0) }
            return nil
        }
        // Below U+00A0 nothing has a compatibility or canonical mapping.
        guard text.scalars.allSatisfy({ $0.value < 0xA0 }) else {
            return "NFKC normalization of text with characters from U+00A0 on (its alignments are not implemented)"
        }
        return nil
    }
}

extension StripAccentsNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        text.mapEach { normalize([$0]) }
        return nil
    }
}

extension StripNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        var lo = 0, hi = text.scalars.count
        if left { while lo < hi && CharacterClass.isWhitespace(text.scalars[lo]) { lo += 1 } }
        if right { while hi > lo && CharacterClass.isWhitespace(text.scalars[hi - 1]) { hi -= 1 } }
        text.scalars = Array(text.scalars[lo..<hi])
        text.origins = Array(text.origins[lo..<hi])
        return nil
    }
}

extension PrependNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        text.prepend(prefix)
        return nil
    }
}

extension ReplaceNormalizer {
    /// `NormalizedString::replace`: each match removed, the content inserted after it, every
    /// inserted character aligned as the match's last character.
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        guard !pattern.isEmpty else { return nil }
        var scalars: [Unicode.Scalar] = [], origins: [Range<Int>] = []
        var i = 0
        let s = text.scalars
        while i < s.count {
            if i + pattern.count <= s.count, s[i..<(i + pattern.count)].elementsEqual(pattern) {
                let last = text.origins[i + pattern.count - 1]
                scalars += content
                origins += [Range<Int>](repeating: last, count: content.count)
                i += pattern.count
            } else {
                scalars.append(s[i])
                origins.append(text.origins[i])
                i += 1
            }
        }
        text.scalars = scalars
        text.origins = origins
        return nil
    }
}
