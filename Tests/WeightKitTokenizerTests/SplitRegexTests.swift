import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

/// The Split regex matcher against `tokenizers`' `Split.pre_tokenize_str`
/// (fixtures/tokenizer/split_regex, made by its generate.py).
@Suite("Split regex matcher against tokenizers")
struct SplitRegexTests {
    static let fixture: JSONObject = (try? fixtureJSON("tokenizer/split_regex/cases.json").object) ?? JSONObject()

    static func pieces(_ split: (Piece, inout [Piece]) -> Void, _ text: String) -> [String] {
        var out: [Piece] = []
        split(Piece(scalars: Array(text.unicodeScalars), startsText: true), &out)
        return out.map { String(String.UnicodeScalarView($0.scalars)) }
    }

    @Test("Every pattern, behavior and inversion splits every text as tokenizers does")
    func fixtureCases() throws {
        let texts = try #require(Self.fixture["texts"]?.array).map { try #require($0.string) }
        let cases = try #require(Self.fixture["cases"]?.array)
        #expect(cases.count >= 90 && texts.count >= 25)
        var failures = 0
        for value in cases {
            let c = try #require(value.object)
            let pattern = try #require(c["pattern"]?.string)
            let behaviorName = try #require(c["behavior"]?.string)
            let behavior = try #require(SplitBehavior(rawValue: behaviorName))
            let invert = try #require(c["invert"]?.bool as Bool?)
            let regex = try SplitRegex(pattern)
            let expected = try #require(c["splits"]?.array)
            for (i, text) in texts.enumerated() {
                let want = try #require(expected[i].array).map { try #require($0.string) }
                let got = Self.pieces({ piece, out in
                    var matches: [Range<Int>] = []
                    regex.forEachMatch(piece.scalars) { matches.append($0) }
                    behavior.apply(piece, matches: matches, invert: invert, into: &out)
                }, text)
                if !got.elementsEqual(want, by: { $0.unicodeScalars.elementsEqual($1.unicodeScalars) }) {
                    failures += 1
                    if failures <= 5 {
                        Issue.record("\(pattern.prefix(60)) \(behavior) invert \(invert) on \(text.debugDescription.prefix(60)): got \(got.prefix(10)) expected \(want.prefix(10))")
                    }
                }
            }
        }
        #expect(failures == 0)
    }

    @Test("The regex matcher and the hand-written scanners agree on the golden corpus", arguments: [
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#,
        GGUFPreTokenizer.llama3Regex, GGUFPreTokenizer.qwen2Regex, GGUFPreTokenizer.qwen35Regex,
    ])
    func scannersAgree(pattern: String) throws {
        let scanner = try #require(SplitPattern.known[pattern])
        let regex = try SplitRegex(pattern)
        let texts = try #require(Self.fixture["texts"]?.array).map { try #require($0.string) }
        for text in try goldenCorpus() + texts + ["é \u{0301}x a\u{0301}\u{0302} .\u{0301}. 1\u{0301} \u{0301}\u{0301}!", "'\u{0301}s x'ſ"] {
            let s = Array(text.unicodeScalars)
            var a: [Range<Int>] = [], b: [Range<Int>] = []
            scanner.forEachMatch(s) { a.append($0) }
            regex.forEachMatch(s) { b.append($0) }
            #expect(a == b, "\(text.debugDescription.prefix(80))")
        }
    }

    @Test("A Split stage in tokenizer.json runs a regex without a scanner through the matcher")
    func throughTokenizerJSON() throws {
        let config: JSONValue = ["type": "Split", "pattern": ["Regex": #"\s+$"#], "behavior": "Isolated", "invert": false]
        let stage = try #require(try makePreTokenizer(config, path: "pre_tokenizer"))
        #expect(Self.pieces(stage.split, "a  \nb  ") == ["a", "  ", "\nb", "  "])
    }

    @Test("A construct outside the subset is refused, naming the pattern", arguments: [
        #"(?<=a)b"#, #"a*?"#, #"a++"#, #"a{2}?"#, #"\w+"#, #"\bx"#, #"(a)\1"#, #"(?i)a"#, #"(?x: a)"#, #"[[:alpha:]]"#,
        #"[a&&b]"#, #"[z-a]"#, #"(?i:[a-z])"#, #"\p{Han}"#, #"(a"#, #"a)"#, #"*a"#, #"a{3,1}"#, #"[abc"#, #"\"#, #"$+"#,
        #"(?!a)*"#, #"(?:ab)+"#, #"(?:a+)+"#, #"(a|bc){2}"#,
    ])
    func refused(pattern: String) {
        #expect {
            try SplitRegex(pattern)
        } throws: { error in
            let e = error as? TokenizerError
            return e?.kind == .unsupported && e?.description.contains(pattern) == true
        }
    }

    @Test("A pattern longer than the cap is refused")
    func tooLong() {
        #expect {
            try SplitRegex(String(repeating: "a", count: SplitRegexParser.maxLength + 1))
        } throws: { error in (error as? TokenizerError)?.kind == .limitExceeded }
    }

    @Test("Repetitions are loops: a long input neither recurses deeply nor backtracks for long")
    func longInput() throws {
        let regex = try SplitRegex(#"((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\s+$"#)
        let text = Array((String(repeating: "A", count: 200_000) + String(repeating: "b", count: 200_000) + String(repeating: " ", count: 2000) + "\n").unicodeScalars)
        var matches: [Range<Int>] = []
        regex.forEachMatch(text) { matches.append($0) }
        #expect(matches == [0..<400_000, 400_000..<402_001])
    }

    @Test("Matching details: leftmost-first alternation, greedy give-back, case folding, line anchors")
    func details() throws {
        func matches(_ pattern: String, _ text: String) throws -> [String] {
            let regex = try SplitRegex(pattern)
            let s = Array(text.unicodeScalars)
            var out: [String] = []
            regex.forEachMatch(s) { out.append(String(String.UnicodeScalarView(s[$0]))) }
            return out
        }
        #expect(try matches("a|ab", "abab") == ["a", "a"])
        #expect(try matches(#"\s+(?!\S)|\s+"#, "a   b") == ["  ", " "])
        #expect(try matches(#"(?i:'s|'ll)"#, "'ſ 'S 'LL 's") == ["'ſ", "'S", "'LL", "'s"])
        #expect(try matches(#"\s+$"#, "a \nb  ") == [" ", "  "])
        #expect(try matches("^a", "a\nab a") == ["a", "a"])
        #expect(try matches("x*", "axxb") == ["", "xx", ""])
        #expect(try matches(#"\p{N}{1,3}"#, "12345") == ["123", "45"])
    }
}
