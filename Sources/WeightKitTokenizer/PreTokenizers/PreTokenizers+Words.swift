import WeightKitCore

/// SentencePiece's metaspace: spaces become `▁`, a `▁` is prefixed (always, or only to the
/// piece that starts the text), and with `split` the text splits before each `▁`.
struct MetaspacePreTokenizer: PreTokenizer {
    enum PrependScheme: String { case always, first, never }
    let replacement: Unicode.Scalar
    let prependScheme: PrependScheme
    let splitPieces: Bool

    init(_ f: JSONFields) throws(TokenizerError) {
        replacement = try singleScalar(try f.optionalString("replacement") ?? "▁", field: f.field("replacement"))
        if let name = try f.optionalString("prepend_scheme") {
            guard let scheme = PrependScheme(rawValue: name) else {
                throw TokenizerError(.unsupported, "unsupported prepend_scheme \"\(name)\"", field: f.field("prepend_scheme"))
            }
            prependScheme = scheme
        } else {
            prependScheme = try f.bool("add_prefix_space", default: true) ? .always : .never
        }
        splitPieces = try f.bool("split", default: true)
    }

    func split(_ piece: Piece, into out: inout [Piece]) {
        if piece.scalars.isEmpty { return }
        var s = piece.scalars.map { $0 == " " ? replacement : $0 }
        var origins = piece.origins
        let prepend = prependScheme == .always || (prependScheme == .first && piece.startsText)
        if prepend && s.first != replacement {
            s.insert(replacement, at: 0)
            if let first = origins?.first { origins!.insert(first, at: 0) }  // tokenizers' `prepend`: the first character's alignment
        }
        let replaced = Piece(scalars: s, startsText: piece.startsText, origins: origins)
        guard splitPieces else {
            out.append(replaced)
            return
        }
        var matches: [Range<Int>] = []
        for (i, c) in s.enumerated() where c == replacement { matches.append(i..<(i + 1)) }
        SplitBehavior.mergedWithNext.apply(replaced, matches: matches, into: &out)
    }
}

/// BERT's pre-tokenizer: split on whitespace (dropped), then isolate each punctuation character.
struct BertPreTokenizer: PreTokenizer {
    func split(_ piece: Piece, into out: inout [Piece]) {
        let s = piece.scalars
        var start = -1
        func flush(_ end: Int) {
            if start >= 0 {
                out.append(piece.slice(start..<end))
                start = -1
            }
        }
        for (i, c) in s.enumerated() {
            if CharacterClass.isWhitespace(c) {
                flush(i)
            } else if CharacterClass.isBertPunctuation(c) {
                flush(i)
                out.append(piece.slice(i..<(i + 1)))
            } else if start < 0 {
                start = i
            }
        }
        flush(s.count)
    }
}

/// Splits numbers off: each digit alone (`individual_digits`) or runs of digits.
struct DigitsPreTokenizer: PreTokenizer {
    let individual: Bool
    func split(_ piece: Piece, into out: inout [Piece]) {
        if piece.scalars.isEmpty { return }
        let s = piece.scalars
        var matches: [Range<Int>] = []
        var i = 0
        while i < s.count {
            if CharacterClass.isNumber(s[i]) {
                var j = i + 1
                if !individual { while j < s.count && CharacterClass.isNumber(s[j]) { j += 1 } }
                matches.append(i..<j)
                i = j
            } else {
                i += 1
            }
        }
        if matches.isEmpty {
            out.append(piece)
            return
        }
        SplitBehavior.isolated.apply(piece, matches: matches, into: &out)
    }
}

/// Splits on whitespace, dropping it.
struct WhitespaceSplitPreTokenizer: PreTokenizer {
    func split(_ piece: Piece, into out: inout [Piece]) {
        var matches: [Range<Int>] = []
        for (i, c) in piece.scalars.enumerated() where CharacterClass.isWhitespace(c) { matches.append(i..<(i + 1)) }
        SplitBehavior.removed.apply(piece, matches: matches, into: &out)
    }
}

/// Splits off punctuation characters with a delimiter behavior.
struct PunctuationPreTokenizer: PreTokenizer {
    let behavior: SplitBehavior
    func split(_ piece: Piece, into out: inout [Piece]) {
        var matches: [Range<Int>] = []
        for (i, c) in piece.scalars.enumerated() where CharacterClass.isBertPunctuation(c) { matches.append(i..<(i + 1)) }
        behavior.apply(piece, matches: matches, into: &out)
    }
}
