/// A backtracking matcher for the regular expressions tokenizer.json `Split` stages use, with
/// the semantics of Oniguruma as Hugging Face `tokenizers` runs it: leftmost match, the first
/// alternative that lets the rest match wins, greedy quantifiers that give back one scalar at a
/// time.
///
/// The subset: literals, `.` (any scalar but `\n`), classes with ranges and negation,
/// `\s \S \d \D \p{…} \P{…}` (general categories), groups `( )`, `(?: )`, `(?i: )` (around
/// literals, compared by simple case folding; a class inside is refused), lookahead `(?= )` and
/// `(?! )`, anchors `^`/`$` (at line starts and ends, as Oniguruma's Ruby syntax has them),
/// alternation, and the greedy quantifiers `? * + {m} {m,} {m,n}` on what matches exactly one
/// scalar (`?` on anything). Anything else (lazy or possessive quantifiers, repeated groups of
/// other widths, lookbehind, backreferences, `\w`, `\b`, nested classes…) is refused when the
/// pattern is read, naming the pattern, so a tokenizer that needs it is never run on a guess;
/// and no input can make matching recurse deeply or backtrack exponentially.
struct SplitRegex: Sendable {
    /// The pattern as tokenizer.json spells it.
    let source: String
    let root: Node
    /// Sets and literals one of which the first scalar of every match is in; nil when a match
    /// can be empty or starts with a lookahead. Lets the search skip positions cheaply.
    private let firstScalars: [Node]?

    indirect enum Node: Sendable {
        /// One scalar from a set.
        case set(ScalarSet)
        /// One scalar equal to this one (after simple case folding when `caseInsensitive`).
        case literal(Unicode.Scalar, caseInsensitive: Bool)
        case sequence([Node])
        case alternation([Node])
        /// Greedy repetition, `max` nil for unbounded.
        case repeated(Node, min: Int, max: Int?)
        case lookahead(Node, negated: Bool)
        /// `^`: at the start or after `\n`.
        case lineStart
        /// `$`: at the end or before `\n`.
        case lineEnd
    }

    init(_ source: String) throws(TokenizerError) {
        self.source = source
        var parser = SplitRegexParser(source)
        root = try parser.parse()
        firstScalars = Self.nullable(root) ? nil : Self.first(root)
    }

    /// The end of the match that starts exactly at `i`, or nil.
    func matchEnd(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        var end: Int?
        _ = Self.match(root, s, i) { j in
            end = j
            return true
        }
        return end
    }

    /// Calls `body` with each match, left to right, as `tokenizers`' `find_iter` yields them: the
    /// leftmost match from where the last one ended; an empty match right at the end of the
    /// previous match is skipped by one scalar.
    func forEachMatch(_ s: [Unicode.Scalar], _ body: (Range<Int>) -> Void) {
        var position = 0
        var lastMatchEnd: Int? = nil
        while position <= s.count {
            var found: Range<Int>? = nil
            for start in position...s.count {
                if let first = firstScalars {
                    guard start < s.count, first.contains(where: { Self.match($0, s, start) { _ in true } }) else { continue }
                }
                if let end = matchEnd(s, at: start) {
                    found = start..<end
                    break
                }
            }
            guard let m = found else { return }
            if m.isEmpty && lastMatchEnd == m.upperBound {
                position = m.upperBound + 1
                continue
            }
            body(m)
            position = m.upperBound
            lastMatchEnd = m.upperBound
        }
    }

    // MARK: Analysis

    /// Whether every match of `node` consumes exactly one scalar (sets, literals, alternations of
    /// them, one of them with lookaheads or anchors around it), so repeating it is a loop.
    static func matchesOneScalar(_ node: Node) -> Bool {
        switch node {
        case .set, .literal: return true
        case .alternation(let nodes): return nodes.allSatisfy(matchesOneScalar)
        case .sequence(let nodes):
            let consuming = nodes.filter { !isZeroWidth($0) }
            return consuming.count == 1 && matchesOneScalar(consuming[0])
        case .repeated(let body, let min, let max): return min == 1 && max == 1 && matchesOneScalar(body)
        case .lookahead, .lineStart, .lineEnd: return false
        }
    }

    private static func isZeroWidth(_ node: Node) -> Bool {
        switch node {
        case .lookahead, .lineStart, .lineEnd: return true
        default: return false
        }
    }

    /// Whether `node` can match without consuming a scalar.
    private static func nullable(_ node: Node) -> Bool {
        switch node {
        case .set, .literal: return false
        case .sequence(let nodes): return nodes.allSatisfy(nullable)
        case .alternation(let nodes): return nodes.contains(where: nullable)
        case .repeated(let body, let min, _): return min == 0 || nullable(body)
        case .lookahead, .lineStart, .lineEnd: return true
        }
    }

    /// The sets and literals a non-empty match of `node` can start with (a superset), or nil
    /// when that is not known (a lookahead).
    private static func first(_ node: Node) -> [Node]? {
        switch node {
        case .set, .literal: return [node]
        case .sequence(let nodes):
            var out: [Node] = []
            for n in nodes {
                if case .lookahead = n { return nil }
                guard let f = first(n) else { return nil }
                out += f
                if !nullable(n) { break }
            }
            return out
        case .alternation(let nodes):
            var out: [Node] = []
            for n in nodes {
                guard let f = first(n) else { return nil }
                out += f
            }
            return out
        case .repeated(let body, _, _): return first(body)
        case .lookahead: return nil
        case .lineStart, .lineEnd: return []
        }
    }

    // MARK: Matching

    /// Whether `node` matches at `i` with a continuation `k` that accepts where it ends.
    private static func match(_ node: Node, _ s: [Unicode.Scalar], _ i: Int, _ k: (Int) -> Bool) -> Bool {
        switch node {
        case .set(let set):
            return i < s.count && set.contains(s[i]) && k(i + 1)
        case .literal(let c, let caseInsensitive):
            return i < s.count && literalMatches(c, s[i], caseInsensitive: caseInsensitive) && k(i + 1)
        case .sequence(let nodes):
            return sequence(nodes, 0, s, i, k)
        case .alternation(let nodes):
            for n in nodes where match(n, s, i, k) { return true }
            return false
        case .repeated(let body, let min, let max):
            // One scalar per iteration: take the longest run, then give back one at a time.
            let limit = Swift.min(max ?? Int.max, s.count - i)
            var run = 0
            switch body {
            case .set(let set):
                while run < limit && set.contains(s[i + run]) { run += 1 }
            case .literal(let c, let caseInsensitive):
                while run < limit && literalMatches(c, s[i + run], caseInsensitive: caseInsensitive) { run += 1 }
            default:
                guard matchesOneScalar(body) else { return repeated(body, min: min, max: max, count: 0, s, i, k) }
                while run < limit && match(body, s, i + run, { _ in true }) { run += 1 }
            }
            guard run >= min else { return false }
            for j in stride(from: run, through: min, by: -1) where k(i + j) { return true }
            return false
        case .lookahead(let body, let negated):
            let found = match(body, s, i) { _ in true }
            return found != negated && k(i)
        case .lineStart:
            return (i == 0 || s[i - 1] == "\n") && k(i)
        case .lineEnd:
            return (i == s.count || s[i] == "\n") && k(i)
        }
    }

    private static func sequence(_ nodes: [Node], _ index: Int, _ s: [Unicode.Scalar], _ i: Int, _ k: (Int) -> Bool) -> Bool {
        if index == nodes.count { return k(i) }
        return match(nodes[index], s, i) { j in sequence(nodes, index + 1, s, j, k) }
    }

    /// Greedy repetition of a general body (the parser allows only `?` of one): one more
    /// iteration first (only if it consumed something, once `min` is reached, so an empty loop
    /// ends), then stop here.
    private static func repeated(
        _ body: Node, min: Int, max: Int?, count: Int, _ s: [Unicode.Scalar], _ i: Int, _ k: (Int) -> Bool
    ) -> Bool {
        if max == nil || count < max! {
            let more = match(body, s, i) { j in
                (j != i || count < min) && repeated(body, min: min, max: max, count: count + 1, s, j, k)
            }
            if more { return true }
        }
        return count >= min && k(i)
    }

    @inline(__always) private static func literalMatches(_ c: Unicode.Scalar, _ x: Unicode.Scalar, caseInsensitive: Bool) -> Bool {
        x == c || (caseInsensitive && caseFold(x) == caseFold(c))
    }

    /// Simple case folding as far as single scalars go: the lowercase of the uppercase, so
    /// `ſ` (long s) folds with `s` and the Kelvin sign with `k`, as in Oniguruma.
    static func caseFold(_ c: Unicode.Scalar) -> Unicode.Scalar {
        if c.value < 128 { return c.value >= 65 && c.value <= 90 ? Unicode.Scalar(UInt8(c.value + 32)) : c }
        let upper = c.properties.uppercaseMapping.unicodeScalars
        let base = upper.count == 1 ? upper.first! : c
        let lower = base.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? lower.first! : c
    }
}

/// A set of scalars: a bracketed class or one of `\s \d \p{…}` and their negations.
struct ScalarSet: Sendable {
    enum Item: Sendable {
        case range(ClosedRange<UInt32>)
        /// `\s` (White_Space), or `\S` when negated.
        case whitespace(negated: Bool)
        /// General categories as a bit mask (see `CharacterClass.categoryBit`), or outside them.
        case categories(UInt32, negated: Bool)
    }

    let items: [Item]
    let negated: Bool
    /// Membership of the 128 ASCII scalars, computed once.
    private let ascii: (UInt64, UInt64)

    init(items: [Item], negated: Bool) {
        self.items = items
        self.negated = negated
        var lo: UInt64 = 0, hi: UInt64 = 0
        for v in 0..<128 where Self.slowContains(items, negated, Unicode.Scalar(UInt8(v))) {
            if v < 64 { lo |= 1 << UInt64(v) } else { hi |= 1 << UInt64(v - 64) }
        }
        ascii = (lo, hi)
    }

    @inline(__always) func contains(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 64 { return ascii.0 & (1 << UInt64(v)) != 0 }
        if v < 128 { return ascii.1 & (1 << UInt64(v - 64)) != 0 }
        return Self.slowContains(items, negated, c)
    }

    private static func slowContains(_ items: [Item], _ negated: Bool, _ c: Unicode.Scalar) -> Bool {
        var found = false
        for item in items {
            switch item {
            case .range(let r): found = r.contains(c.value)
            case .whitespace(let n): found = CharacterClass.isWhitespace(c) != n
            case .categories(let mask, let n): found = (CharacterClass.categoryBit(c) & mask != 0) != n
            }
            if found { break }
        }
        return found != negated
    }
}
