/// Hand-written scanners for the split regexes byte-level BPE tokenizers use, matching
/// Oniguruma's leftmost, first-alternative-wins semantics (what `tokenizers` runs).
///
/// Each of these patterns matches at every position (letters, numbers, whitespace and
/// "anything else" each have an alternative), so a scanner only has to say where the match that
/// starts at `i` ends.
enum SplitPattern: Sendable, Equatable {
    /// GPT-2's: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Llama 3's (`maxDigits` 3) and Qwen2's (`maxDigits` 1):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
    /// with `marks`, Qwen3.5's, where combining marks go with letters (`[\p{L}\p{M}]+`, and
    /// `\p{M}` out of the punctuation run's class).
    case llama3(maxDigits: Int, marks: Bool = false)

    /// The regex source strings these scanners implement, as tokenizer.json spells them.
    static let known: [String: SplitPattern] = [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 3),
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 1),
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3(maxDigits: 1, marks: true),
    ]

    /// The end of the match that starts at `i` (always > `i` for `i < s.count`).
    func matchEnd(_ s: [Unicode.Scalar], at i: Int) -> Int {
        switch self {
        case .gpt2: return Self.gpt2End(s, i)
        case .llama3(let maxDigits, let marks): return Self.llama3End(s, i, maxDigits: maxDigits, marks: marks)
        }
    }

    /// Calls `body` with each match range in order.
    func forEachMatch(_ s: [Unicode.Scalar], _ body: (Range<Int>) -> Void) {
        var i = 0
        while i < s.count {
            let end = matchEnd(s, at: i)
            body(i..<end)
            i = end
        }
    }

    // MARK: GPT-2

    private static func gpt2End(_ s: [Unicode.Scalar], _ i: Int) -> Int {
        let n = s.count
        let c = s[i]
        if c == "'", let end = contraction(s, i, caseInsensitive: false) { return end }
        var j = i
        if c == " " { j += 1 }
        if j < n {
            let d = s[j]
            if CharacterClass.isLetter(d) { return run(s, from: j + 1, CharacterClass.isLetter) }
            if CharacterClass.isNumber(d) { return run(s, from: j + 1, CharacterClass.isNumber) }
            if !CharacterClass.isWhitespace(d) { return run(s, from: j + 1, isOther) }
        }
        return whitespaceEnd(s, i)
    }

    // MARK: Llama 3 / Qwen2

    private static func llama3End(_ s: [Unicode.Scalar], _ i: Int, maxDigits: Int, marks: Bool) -> Int {
        let n = s.count
        let c = s[i]
        if c == "'", let end = contraction(s, i, caseInsensitive: true) { return end }
        // [^\r\n\p{L}\p{N}]?\p{L}+ (with marks: [\p{L}\p{M}]+; a leading mark is then either
        // the optional scalar or the run's first, and the match ends at the run's end either way)
        if isWord(c, marks: marks) { return run(s, from: i + 1) { isWord($0, marks: marks) } }
        if c != "\r" && c != "\n" && !CharacterClass.isNumber(c), i + 1 < n, isWord(s[i + 1], marks: marks) {
            return run(s, from: i + 2) { isWord($0, marks: marks) }
        }
        // \p{N}{1,3}
        if CharacterClass.isNumber(c) {
            var j = i + 1
            while j < n && j - i < maxDigits && CharacterClass.isNumber(s[j]) { j += 1 }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*' (with marks: [^\s\p{L}\p{M}\p{N}])
        var j = i
        if c == " " { j += 1 }
        if j < n && isPunctuationRun(s[j], marks: marks) {
            j = run(s, from: j + 1) { isPunctuationRun($0, marks: marks) }
            while j < n && (s[j] == "\r" || s[j] == "\n") { j += 1 }
            return j
        }
        // \s*[\r\n]+ : whitespace up to and including the run's last line break.
        let end = run(s, from: i, CharacterClass.isWhitespace)
        var k = end
        while k > i && s[k - 1] != "\r" && s[k - 1] != "\n" { k -= 1 }
        if k > i { return k }
        return whitespaceEnd(s, i)
    }

    /// `\p{L}`, or `[\p{L}\p{M}]` with `marks`.
    @inline(__always) private static func isWord(_ c: Unicode.Scalar, marks: Bool) -> Bool {
        CharacterClass.isLetter(c) || (marks && CharacterClass.isMark(c))
    }

    /// `[^\s\p{L}\p{N}]`, or `[^\s\p{L}\p{M}\p{N}]` with `marks`.
    @inline(__always) private static func isPunctuationRun(_ c: Unicode.Scalar, marks: Bool) -> Bool {
        isOther(c) && !(marks && CharacterClass.isMark(c))
    }

    // MARK: Shared pieces

    /// `\s+(?!\S)|\s+` at `i`, where `s[i]` is whitespace.
    private static func whitespaceEnd(_ s: [Unicode.Scalar], _ i: Int) -> Int {
        let end = run(s, from: i, CharacterClass.isWhitespace)
        // Followed by a non-space: give the last space back so it can lead the next word,
        // unless that would leave nothing (then `\s+` takes the single space).
        if end < s.count && end - i > 1 { return end - 1 }
        return max(end, i + 1)
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `i` (which holds `'`).
    private static func contraction(_ s: [Unicode.Scalar], _ i: Int, caseInsensitive: Bool) -> Int? {
        let n = s.count
        func at(_ k: Int) -> UInt32? {
            guard k < n else { return nil }
            let v = s[k].value
            return caseInsensitive && v >= 65 && v <= 90 ? v + 32 : v
        }
        guard let a = at(i + 1) else { return nil }
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return i + 2  // s t m d
        case 0x72, 0x76: return at(i + 2) == 0x65 ? i + 3 : nil  // re ve
        case 0x6C: return at(i + 2) == 0x6C ? i + 3 : nil  // ll
        default: return nil
        }
    }

    /// `[^\s\p{L}\p{N}]`.
    @inline(__always) private static func isOther(_ c: Unicode.Scalar) -> Bool {
        !CharacterClass.isWhitespace(c) && !CharacterClass.isLetterOrNumber(c)
    }

    /// The end of the run of scalars satisfying `test` from `j`.
    @inline(__always) private static func run(_ s: [Unicode.Scalar], from j: Int, _ test: (Unicode.Scalar) -> Bool) -> Int {
        var k = j
        while k < s.count && test(s[k]) { k += 1 }
        return k
    }
}
