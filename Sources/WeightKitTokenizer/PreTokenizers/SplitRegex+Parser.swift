/// Reads a Split pattern into `SplitRegex.Node`s; every construct outside the supported subset
/// is an `.unsupported` error that quotes the pattern and says what was found where.
struct SplitRegexParser {
    private let source: String
    private let p: [Unicode.Scalar]
    private var i = 0
    /// Inside `(?i: )`.
    private var caseInsensitive = false
    /// Group nesting, capped so a hostile pattern cannot exhaust the stack.
    private var depth = 0
    private static let maxDepth = 64
    /// The longest pattern read, in scalars. The longest real one known, DeepSeek LLM's letter
    /// class, has about 600; matching recurses once per sequence item, so length bounds depth.
    static let maxLength = 4096

    init(_ source: String) {
        self.source = source
        p = Array(source.unicodeScalars)
    }

    mutating func parse() throws(TokenizerError) -> SplitRegex.Node {
        guard p.count <= Self.maxLength else {
            throw TokenizerError(.limitExceeded, "Split regex of \(p.count) scalars exceeds the limit of \(Self.maxLength)")
        }
        let node = try alternation()
        if i < p.count { throw unsupported("unbalanced \")\"") }
        return node
    }

    private func unsupported(_ what: String) -> TokenizerError {
        TokenizerError(.unsupported, "unsupported Split regex \(source): \(what) at scalar \(i)")
    }

    private var next: Unicode.Scalar? { i < p.count ? p[i] : nil }

    // MARK: Structure

    private mutating func alternation() throws(TokenizerError) -> SplitRegex.Node {
        var branches = [try sequence()]
        while next == "|" {
            i += 1
            branches.append(try sequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func sequence() throws(TokenizerError) -> SplitRegex.Node {
        var items: [SplitRegex.Node] = []
        while let c = next, c != "|", c != ")" {
            let (atom, quantifiable) = try self.atom()
            items.append(try quantified(atom, quantifiable: quantifiable))
        }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func atom() throws(TokenizerError) -> (SplitRegex.Node, quantifiable: Bool) {
        let c = p[i]
        i += 1
        switch c {
        case "(": return try group()
        case "[":
            if caseInsensitive { throw unsupported("a character class inside (?i: )") }
            return (.set(try characterClass()), true)
        case ".": return (.set(ScalarSet(items: [.range(0x0A...0x0A)], negated: true)), true)
        case "^": return (.lineStart, false)
        case "$": return (.lineEnd, false)
        case "\\": return (try escape(inClass: false), true)
        case "?", "*", "+", "{": throw unsupported("a quantifier with nothing to repeat")
        default: return (.literal(c, caseInsensitive: caseInsensitive), true)
        }
    }

    private mutating func group() throws(TokenizerError) -> (SplitRegex.Node, quantifiable: Bool) {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw unsupported("groups nested deeper than \(Self.maxDepth)") }
        var lookahead: Bool? = nil
        let saved = caseInsensitive
        if next == "?" {
            let rest = String(String.UnicodeScalarView(p[(i + 1)...].prefix(2)))
            if rest.hasPrefix(":") {
                i += 2
            } else if rest == "i:" {
                i += 3
                caseInsensitive = true
            } else if rest.hasPrefix("=") || rest.hasPrefix("!") {
                lookahead = rest.hasPrefix("!")
                i += 2
            } else {
                throw unsupported("the group (?\(rest)")
            }
        }
        let body = try alternation()
        caseInsensitive = saved
        guard next == ")" else { throw unsupported("an unclosed group") }
        i += 1
        if let negated = lookahead { return (.lookahead(body, negated: negated), false) }
        return (body, true)
    }

    private mutating func quantified(_ atom: SplitRegex.Node, quantifiable: Bool) throws(TokenizerError) -> SplitRegex.Node {
        guard let c = next else { return atom }
        var bounds: (Int, Int?)
        switch c {
        case "?": bounds = (0, 1)
        case "*": bounds = (0, nil)
        case "+": bounds = (1, nil)
        case "{": bounds = try interval()
        default: return atom
        }
        if c != "{" { i += 1 }
        if !quantifiable { throw unsupported("a quantifier on an anchor or lookahead") }
        if let n = next, n == "?" || n == "+" || n == "*" || n == "{" {
            throw unsupported("a lazy, possessive or repeated quantifier")
        }
        if let max = bounds.1, max < bounds.0 { throw unsupported("the interval {\(bounds.0),\(max)}") }
        // Repetitions run as loops, one scalar per iteration, so no input can make matching
        // recurse deeply or backtrack exponentially; only `?` may hold anything else.
        guard SplitRegex.matchesOneScalar(atom) || (bounds.0 == 0 && bounds.1 == 1) else {
            throw unsupported("a repeated group that can match other than exactly one scalar")
        }
        return .repeated(atom, min: bounds.0, max: bounds.1)
    }

    /// `{m}`, `{m,}`, `{m,n}` or `{,n}` at `i` (which holds `{`).
    private mutating func interval() throws(TokenizerError) -> (Int, Int?) {
        var j = i + 1
        func number() -> Int? {
            var value: Int? = nil
            while j < p.count, p[j].isASCII, let d = Int(String(p[j])) {
                value = min((value ?? 0) * 10 + d, 100_000)
                j += 1
            }
            return value
        }
        let low = number()
        var high = low
        if j < p.count && p[j] == "," {
            j += 1
            high = number()
        } else if low == nil {
            throw unsupported("a \"{\" that is not an interval")
        }
        guard j < p.count && p[j] == "}" else { throw unsupported("a \"{\" that is not an interval") }
        i = j + 1
        return (low ?? 0, high)
    }

    // MARK: Escapes and classes

    /// The scalar set or literal a `\` escape names (`i` is past the backslash).
    private mutating func escape(inClass: Bool) throws(TokenizerError) -> SplitRegex.Node {
        guard let c = next else { throw unsupported("a trailing backslash") }
        i += 1
        switch c {
        case "s", "S": return .set(ScalarSet(items: [.whitespace(negated: false)], negated: c == "S"))
        case "d", "D":
            return .set(ScalarSet(items: [.categories(CharacterClass.categoryMask(named: "Nd")!, negated: false)], negated: c == "D"))
        case "p", "P":
            guard next == "{", let close = p[i...].firstIndex(of: "}") else { throw unsupported("\\\(c) without {name}") }
            var name = String(String.UnicodeScalarView(p[(i + 1)..<close]))
            var negated = c == "P"
            if name.hasPrefix("^") {
                name.removeFirst()
                negated.toggle()
            }
            guard let mask = CharacterClass.categoryMask(named: name) else { throw unsupported("the property \\\(c){\(name)}") }
            i = close + 1
            return .set(ScalarSet(items: [.categories(mask, negated: false)], negated: negated))
        case "r": return .literal("\r", caseInsensitive: false)
        case "n": return .literal("\n", caseInsensitive: false)
        case "t": return .literal("\t", caseInsensitive: false)
        case "f": return .literal("\u{0C}", caseInsensitive: false)
        case "v": return .literal("\u{0B}", caseInsensitive: false)
        case "u", "x": return .literal(try hexScalar(c), caseInsensitive: caseInsensitive)
        default:
            // An escaped punctuation or symbol stands for itself; letters and digits are other
            // escapes (\w, \b, \A, \1, …) this matcher does not have.
            guard c.isASCII, !CharacterClass.isLetterOrNumber(c) else { throw unsupported("the escape \\\(c)") }
            return .literal(c, caseInsensitive: caseInsensitive)
        }
    }

    /// `\uHHHH`, `\xHH` or `\x{H…}` (`i` is past the letter).
    private mutating func hexScalar(_ letter: Unicode.Scalar) throws(TokenizerError) -> Unicode.Scalar {
        var digits: [Unicode.Scalar]
        if letter == "x" && next == "{" {
            guard let close = p[i...].firstIndex(of: "}") else { throw unsupported("an unclosed \\x{") }
            digits = Array(p[(i + 1)..<close])
            i = close + 1
        } else {
            let count = letter == "u" ? 4 : 2
            guard i + count <= p.count else { throw unsupported("a short \\\(letter) escape") }
            digits = Array(p[i..<(i + count)])
            i += count
        }
        guard digits.count <= 8, let v = UInt32(String(String.UnicodeScalarView(digits)), radix: 16),
            let scalar = Unicode.Scalar(v)
        else { throw unsupported("the escape \\\(letter)\(String(String.UnicodeScalarView(digits)))") }
        return scalar
    }

    /// A bracketed class (`i` is past `[`): items, ranges between single scalars, `^` to negate.
    private mutating func characterClass() throws(TokenizerError) -> ScalarSet {
        var negated = false
        if next == "^" {
            negated = true
            i += 1
        }
        var items: [ScalarSet.Item] = []
        var first = true
        while true {
            guard let c = next else { throw unsupported("an unclosed character class") }
            if c == "]" && !first { break }
            if c == "[" || (c == "&" && i + 1 < p.count && p[i + 1] == "&") || c == "]" {
                throw unsupported("a nested class, intersection or empty class")
            }
            first = false
            let low: Unicode.Scalar
            i += 1
            if c == "\\" {
                let saved = caseInsensitive
                caseInsensitive = false
                let node = try escape(inClass: true)
                caseInsensitive = saved
                switch node {
                case .set(let set):
                    items.append(contentsOf: set.negated ? Self.negatedItems(set.items) : set.items)
                    continue
                case .literal(let scalar, _): low = scalar
                default: throw unsupported("an escape in a class")
                }
            } else {
                low = c
            }
            // A range `a-b`; a `-` before `]` is a literal.
            if next == "-", i + 1 < p.count, p[i + 1] != "]" {
                i += 1
                var high = p[i]
                i += 1
                if high == "\\" {
                    guard case .literal(let scalar, _) = try escape(inClass: true) else { throw unsupported("a class as a range end") }
                    high = scalar
                } else if high == "[" {
                    throw unsupported("a nested class")
                }
                guard low.value <= high.value else { throw unsupported("the empty range \(low)-\(high)") }
                items.append(.range(low.value...high.value))
            } else {
                items.append(.range(low.value...low.value))
            }
        }
        i += 1
        return ScalarSet(items: items, negated: negated)
    }

    /// `\S` or `\P{…}` inside a class: the single item, negated.
    private static func negatedItems(_ items: [ScalarSet.Item]) -> [ScalarSet.Item] {
        items.map { item in
            switch item {
            case .whitespace(let n): return .whitespace(negated: !n)
            case .categories(let mask, let n): return .categories(mask, negated: !n)
            case .range: return item
            }
        }
    }
}
