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
    ///
    /// Returns false (text unchanged) when `dest` would consume more characters than there are.
    @discardableResult
    mutating func transform(_ dest: [(Unicode.Scalar, Int)], initialOffset: Int = 0) -> Bool {
        var consumed = initialOffset
        var newScalars: [Unicode.Scalar] = [], newOrigins: [Range<Int>] = []
        newScalars.reserveCapacity(dest.count)
        newOrigins.reserveCapacity(dest.count)
        for (c, change) in dest {
            let origin: Range<Int>
            if change > 0 {
                guard consumed <= origins.count else { return false }
                origin = consumed == 0 ? base..<base : origins[consumed - 1]
            } else {
                guard consumed < origins.count else { return false }
                origin = origins[consumed]
                consumed += 1 - change
            }
            newScalars.append(c)
            newOrigins.append(origin)
        }
        scalars = newScalars
        origins = newOrigins
        return true
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

    /// Unicode decomposition as tokenizers' `unicode_normalization_alignments` yields it: each
    /// character's decomposition (the first scalar replacing it, the rest inserted), then every
    /// run of non-starters stably sorted by combining class, the changes travelling with their
    /// scalars; the result is applied position by position (`transform`).
    mutating func decompose(_ one: ([Unicode.Scalar]) -> [Unicode.Scalar]) {
        transform(decomposed(one))
    }

    /// Decomposition, then canonical composition as that crate's `Recompositions` does it: a
    /// scalar composed into the one before takes the change `k + change - 1` (so a base and a mark
    /// that were two characters become one character aligned as the base).
    mutating func recompose(_ one: ([Unicode.Scalar]) -> [Unicode.Scalar]) {
        var out: [(Unicode.Scalar, Int)] = [], buffer: [(Unicode.Scalar, Int)] = []
        var composee: (Unicode.Scalar, Int)? = nil
        var lastClass: Int? = nil
        for (ch, change) in decomposed(one) {
            let cls = Self.combiningClass(ch)
            guard let k = composee else {
                if cls != 0 { out.append((ch, change)) } else { composee = (ch, change) }
                continue
            }
            if let last = lastClass, last >= cls {  // blocked from the composee
                if cls == 0 {
                    out.append(k)
                    out += buffer
                    buffer.removeAll()
                    composee = (ch, change)
                    lastClass = nil
                } else {
                    buffer.append((ch, change))
                    lastClass = cls
                }
                continue
            }
            if let r = Self.compose(k.0, ch) {
                composee = (r, k.1 + change - 1)
                continue
            }
            if lastClass == nil && cls == 0 {
                out.append(k)
                composee = (ch, change)
                continue
            }
            buffer.append((ch, change))
            lastClass = cls
        }
        if let k = composee { out.append(k) }
        transform(out + buffer)
    }

    static func combiningClass(_ s: Unicode.Scalar) -> Int { Int(s.properties.canonicalCombiningClass.rawValue) }

    /// The primary composite of `a` and `b` (Unicode's canonical composition of a pair, Hangul
    /// included), or nil: `a b` composes under NFC to one scalar whose full decomposition is
    /// `a`'s followed by `b`'s (which rules out a composite reached by reordering marks).
    static func compose(_ a: Unicode.Scalar, _ b: Unicode.Scalar) -> Unicode.Scalar? {
        let composed = UnicodeNormalizer.nfcAlways([a, b])
        guard composed.count == 1 else { return nil }
        guard UnicodeNormalizer.nfdAlways(composed) == UnicodeNormalizer.nfdAlways([a]) + UnicodeNormalizer.nfdAlways([b]) else { return nil }
        return composed[0]
    }

    /// Each character's decomposition with its changes, non-starter runs stably sorted by class.
    func decomposed(_ one: ([Unicode.Scalar]) -> [Unicode.Scalar]) -> [(Unicode.Scalar, Int)] {
        var dest: [(Unicode.Scalar, Int)] = []
        dest.reserveCapacity(scalars.count)
        for s in scalars {
            for (k, d) in one([s]).enumerated() { dest.append((d, k == 0 ? 0 : 1)) }
        }
        let ccc = Self.combiningClass
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
        return dest
    }
}

/// Offsets through the normalizers: each stage moves the alignments as its tokenizers
/// counterpart does. A stage without its own version says so (the encoding then has no
/// offsets); every normalizer makeNormalizer builds has one.
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
            text.recompose(Self.nfd)
            return nil
        }
    }
}

extension CompatibilityNormalizer {
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        let decomposeOne = { CompatibilityNormalizer(compose: false).normalize($0) }
        if compose { text.recompose(decomposeOne) } else { text.decompose(decomposeOne) }
        return nil
    }
}

extension PrecompiledNormalizer {
    /// tokenizers' `Precompiled::normalize`: per grapheme cluster (under 6 bytes) or per scalar,
    /// a replacement's scalars replace the old ones (change 0), extra ones are insertions (the
    /// last ones get +1), and fewer ones put the difference on the last entry so far — which
    /// may be an earlier character's, as tokenizers does; applied only when a rule matched.
    func normalizeAligned(_ text: inout AlignedText) -> String? {
        var dest: [(Unicode.Scalar, Int)] = []
        dest.reserveCapacity(text.scalars.count)
        var modified = false
        func replace(_ oldCount: Int, _ replacement: ArraySlice<UInt8>) {
            modified = true
            let new = Array(String(decoding: replacement, as: UTF8.self).unicodeScalars)
            let diff = new.count - oldCount
            dest += new.map { ($0, 0) }
            if diff > 0 {
                for k in (dest.count - diff)..<dest.count { dest[k].1 = 1 }
            } else if diff < 0, !dest.isEmpty {
                dest[dest.count - 1].1 += diff
            }
        }
        var string = String()
        string.unicodeScalars.append(contentsOf: text.scalars)
        var bytes: [UInt8] = []
        for cluster in string {
            bytes.removeAll(keepingCapacity: true)
            for s in cluster.unicodeScalars { appendUTF8(s, to: &bytes) }
            if bytes.count < 6, let replacement = transform(bytes[...]) {
                replace(cluster.unicodeScalars.count, replacement)
                continue
            }
            for s in cluster.unicodeScalars {
                bytes.removeAll(keepingCapacity: true)
                appendUTF8(s, to: &bytes)
                if let replacement = transform(bytes[...]) { replace(1, replacement) } else { dest.append((s, 0)) }
            }
        }
        guard modified else { return nil }
        return text.transform(dest) ? nil : "the Precompiled normalizer's changes do not fit this text"
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
