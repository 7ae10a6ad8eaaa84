import WeightKitCore

/// A token matched in the raw text before the model runs (`added_tokens` in tokenizer.json).
public struct AddedToken: Sendable, Hashable {
    /// Its id.
    public var id: Int
    /// Its text.
    public var content: String
    /// Special tokens are dropped by `decode(skipSpecialTokens: true)`.
    public var special: Bool
    /// Matches only when not inside a word.
    public var singleWord: Bool
    /// Swallows whitespace on its left.
    public var lstrip: Bool
    /// Swallows whitespace on its right.
    public var rstrip: Bool
    /// Matched in the normalized text rather than the raw text.
    public var normalized: Bool

    /// Creates an added token.
    public init(id: Int, content: String, special: Bool, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false, normalized: Bool? = nil) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// Finds added tokens in text: leftmost match, longest on ties (the Aho-Corasick
/// `LeftmostLongest` search `tokenizers` uses), then applies `single_word`, `lstrip`, `rstrip`.
struct AddedTokenMatcher: Sendable {
    private let tokens: [AddedToken]
    private let patterns: [[Unicode.Scalar]]
    /// First scalar → indices into `tokens`, longest pattern first.
    private let byFirst: [Unicode.Scalar: [Int]]

    init(_ tokens: [AddedToken]) {
        let usable = tokens.filter { !$0.content.isEmpty }
        self.tokens = usable
        let patterns = usable.map { Array($0.content.unicodeScalars) }
        self.patterns = patterns
        var map: [Unicode.Scalar: [Int]] = [:]
        for (i, p) in patterns.enumerated() { map[p[0], default: []].append(i) }
        for (key, list) in map { map[key] = list.sorted { patterns[$0].count > patterns[$1].count } }
        byFirst = map
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Splits `text` into runs of plain text (id nil) and matched tokens.
    func split(_ text: [Unicode.Scalar]) -> [(range: Range<Int>, id: Int?)] {
        if tokens.isEmpty { return [(0..<text.count, nil)] }
        var out: [(Range<Int>, Int?)] = []
        var done = 0  // end of the last emitted piece
        var i = 0
        while i < text.count {
            guard let candidates = byFirst[text[i]], let k = candidates.first(where: { matches(text, at: i, patterns[$0]) }) else {
                i += 1
                continue
            }
            var start = i, stop = i + patterns[k].count
            let token = tokens[k]
            if token.singleWord {
                let before = start == 0 || !CharacterClass.isWordCharacter(text[start - 1])
                let after = stop == text.count || !CharacterClass.isWordCharacter(text[stop])
                if !before || !after {
                    i += 1
                    continue
                }
            }
            if token.lstrip {
                while start > done && CharacterClass.isWhitespace(text[start - 1]) { start -= 1 }
            }
            if token.rstrip {
                while stop < text.count && CharacterClass.isWhitespace(text[stop]) { stop += 1 }
            }
            if start > done { out.append((done..<start, nil)) }
            out.append((start..<stop, token.id))
            done = stop
            i = stop
        }
        if done < text.count { out.append((done..<text.count, nil)) }
        return out
    }

    private func matches(_ text: [Unicode.Scalar], at i: Int, _ p: [Unicode.Scalar]) -> Bool {
        guard i + p.count <= text.count else { return false }
        for j in 0..<p.count where text[i + j] != p[j] { return false }
        return true
    }
}
