import WeightKitCore

/// A piece of text on its way to the model: the scalars, and whether it starts the original text
/// (Metaspace's `prepend_scheme: first` only prefixes that piece).
struct Piece: Sendable {
    var scalars: [Unicode.Scalar]
    var startsText: Bool
    /// For offsets only (`encodeWithOffsets`): where each scalar came from in the original text,
    /// as scalar index ranges; nil on the plain encoding path.
    var origins: [Range<Int>]? = nil

    /// The scalars in `r`, with their origins.
    func slice(_ r: Range<Int>) -> Piece {
        Piece(scalars: Array(scalars[r]), startsText: startsText && r.lowerBound == 0, origins: origins.map { Array($0[r]) })
    }
}

/// The second pipeline stage: splits normalized text into the words the model encodes one by
/// one. Mirrors `tokenizers`' `pre_tokenizers` module.
protocol PreTokenizer: Sendable {
    /// Appends the pieces `piece` splits into to `out`.
    func split(_ piece: Piece, into out: inout [Piece])
}

/// How a split keeps the delimiters it finds (`tokenizers`' `SplitDelimiterBehavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Splits `piece` at `matches` (sorted, non-overlapping ranges), appending the non-empty
    /// pieces; follows `NormalizedString::split` in `tokenizers`.
    func apply(_ piece: Piece, matches: [Range<Int>], invert: Bool = false, into out: inout [Piece]) {
        let s = piece.scalars
        // (range, isMatch) segments covering the whole piece, as `find_matches` yields them.
        var segments: [(range: Range<Int>, isMatch: Bool)] = []
        var last = 0
        for m in matches {
            if m.lowerBound > last { segments.append((last..<m.lowerBound, invert)) }
            segments.append((m, !invert))
            last = m.upperBound
        }
        if last < s.count { segments.append((last..<s.count, invert)) }

        var kept: [(range: Range<Int>, remove: Bool)] = []
        var previousMatch = false
        switch self {
        case .isolated: kept = segments.map { ($0.range, false) }
        case .removed: kept = segments.map { ($0.range, $0.isMatch) }
        case .contiguous, .mergedWithPrevious:
            for seg in segments {
                let merge = self == .contiguous ? seg.isMatch == previousMatch : seg.isMatch && !previousMatch
                if merge, let prev = kept.last {
                    kept[kept.count - 1].range = prev.range.lowerBound..<seg.range.upperBound
                } else {
                    kept.append((seg.range, false))
                }
                previousMatch = seg.isMatch
            }
        case .mergedWithNext:
            for seg in segments.reversed() {
                if seg.isMatch && !previousMatch, let prev = kept.last {
                    kept[kept.count - 1].range = seg.range.lowerBound..<prev.range.upperBound
                } else {
                    kept.append((seg.range, false))
                }
                previousMatch = seg.isMatch
            }
            kept.reverse()
        }
        for (r, remove) in kept where !remove && !r.isEmpty {
            out.append(piece.slice(r))
        }
    }
}

/// Builds the pre-tokenizer a tokenizer.json `pre_tokenizer` object describes (nil for null).
func makePreTokenizer(_ value: JSONValue?, path: String) throws(TokenizerError) -> (any PreTokenizer)? {
    guard let f = try JSONFields(stage: value, path: path) else { return nil }
    switch try f.type() {
    case "Sequence": return SequencePreTokenizer(stages: try f.stages("pretokenizers", makePreTokenizer))
    case "ByteLevel":
        return ByteLevelPreTokenizer(
            addPrefixSpace: try f.bool("add_prefix_space", default: true), useRegex: try f.bool("use_regex", default: true))
    case "Split": return try SplitPreTokenizer(f)
    case "Metaspace": return try MetaspacePreTokenizer(f)
    case "BertPreTokenizer": return BertPreTokenizer()
    case "Digits": return DigitsPreTokenizer(individual: try f.bool("individual_digits", default: false))
    case "WhitespaceSplit": return WhitespaceSplitPreTokenizer()
    case "Punctuation":
        let name = try f.optionalString("behavior") ?? "Isolated"
        guard let behavior = SplitBehavior(rawValue: name) else {
            throw TokenizerError(.unsupported, "unsupported split behavior \"\(name)\"", field: f.field("behavior"))
        }
        return PunctuationPreTokenizer(behavior: behavior)
    case let type:
        throw .unsupportedType("pre-tokenizer", type, field: f.field("type"))
    }
}

/// Applies several pre-tokenizers in order, each to every piece the previous one made.
struct SequencePreTokenizer: PreTokenizer {
    let stages: [any PreTokenizer]
    func split(_ piece: Piece, into out: inout [Piece]) {
        var current = [piece]
        for stage in stages {
            var next: [Piece] = []
            next.reserveCapacity(current.count * 2)
            for p in current { stage.split(p, into: &next) }
            current = next
        }
        out.append(contentsOf: current)
    }
}

/// GPT-2's byte-level pre-tokenizer: optionally prefix a space, split with the GPT-2 regex, then
/// map every UTF-8 byte to its printable stand-in character.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool

    func split(_ piece: Piece, into out: inout [Piece]) {
        if piece.scalars.isEmpty { return }
        var scalars = piece.scalars, origins = piece.origins
        if addPrefixSpace && scalars.first != " " {
            scalars.insert(" ", at: 0)
            if let first = origins?.first { origins!.insert(first, at: 0) }  // tokenizers' `prepend`: the first character's alignment
        }
        guard useRegex else {
            out.append(Piece(scalars: ByteLevelAlphabet.encode(scalars[...]), startsText: piece.startsText,
                             origins: origins.map { Self.byteOrigins(scalars[...], $0[...]) }))
            return
        }
        var first = true
        SplitPattern.gpt2.forEachMatch(scalars) { r in
            out.append(Piece(scalars: ByteLevelAlphabet.encode(scalars[r]), startsText: piece.startsText && first,
                             origins: origins.map { Self.byteOrigins(scalars[r], $0[r]) }))
            first = false
        }
    }
}

extension ByteLevelPreTokenizer {
    /// Each byte character gets the alignment of the character whose UTF-8 byte it stands for.
    static func byteOrigins(_ scalars: ArraySlice<Unicode.Scalar>, _ origins: ArraySlice<Range<Int>>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(scalars.count * 2)
        for (s, o) in zip(scalars, origins) {
            let bytes = s.value < 0x80 ? 1 : s.value < 0x800 ? 2 : s.value < 0x10000 ? 3 : 4
            for _ in 0..<bytes { out.append(o) }
        }
        return out
    }
}

/// A regex or literal split with a delimiter behavior. The byte-level BPE patterns run through
/// their hand-written scanners (`SplitPattern`), any other regex through `SplitRegex`.
struct SplitPreTokenizer: PreTokenizer {
    enum Matcher: Sendable {
        case scanner(SplitPattern)
        case regex(SplitRegex)
        case literal([Unicode.Scalar])
    }
    let matcher: Matcher
    let behavior: SplitBehavior
    let invert: Bool

    /// An isolating split with one of the known regexes.
    init(pattern: SplitPattern) {
        matcher = .scanner(pattern)
        behavior = .isolated
        invert = false
    }

    init(_ f: JSONFields) throws(TokenizerError) {
        switch try f.pattern("pattern") {
        case .regex(let source):
            if let known = SplitPattern.known[source] {
                matcher = .scanner(known)
            } else {
                do {
                    matcher = .regex(try SplitRegex(source))
                } catch {
                    var located = error
                    located.field = f.field("pattern")
                    throw located
                }
            }
        case .string(let text):
            matcher = .literal(Array(text.unicodeScalars))
        }
        let name = try f.string("behavior")
        guard let behavior = SplitBehavior(rawValue: name) else {
            throw TokenizerError(.unsupported, "unsupported split behavior \"\(name)\"", field: f.field("behavior"))
        }
        self.behavior = behavior
        invert = try f.bool("invert", default: false)
    }

    func split(_ piece: Piece, into out: inout [Piece]) {
        let s = piece.scalars
        var matches: [Range<Int>] = []
        switch matcher {
        case .scanner(let regex):
            if behavior == .isolated && !invert {
                regex.forEachMatch(s) { r in out.append(piece.slice(r)) }
                return
            }
            regex.forEachMatch(s) { matches.append($0) }
        case .regex(let regex):
            if s.isEmpty { return }
            regex.forEachMatch(s) { matches.append($0) }
        case .literal(let literal):
            guard !literal.isEmpty else { break }
            var i = 0
            while i + literal.count <= s.count {
                if s[i..<(i + literal.count)].elementsEqual(literal) {
                    matches.append(i..<(i + literal.count))
                    i += literal.count
                } else {
                    i += 1
                }
            }
        }
        behavior.apply(piece, matches: matches, invert: invert, into: &out)
    }
}
