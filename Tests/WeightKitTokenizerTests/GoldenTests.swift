import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

/// Reads a committed JSON fixture.
func fixtureJSON(_ relative: String) throws -> JSONValue {
    let bytes = try readBytes(fixture(relative))
    return try JSON.parse(String(decoding: bytes, as: UTF8.self))
}

/// The golden corpus (fixtures/tokenizer/corpus.json).
func goldenCorpus() throws -> [String] {
    try #require(fixtureJSON("tokenizer/corpus.json").array).map { try #require($0.string) }
}

/// Expected ids and decoded text, as `tokenizers` produced them.
func goldenExpected(_ name: String) throws -> (ids: [[Int]], decoded: [String]) {
    let root = try #require(fixtureJSON("tokenizer/expected/\(name).json").object)
    let ids = try #require(root["ids"]?.array).map { try #require($0.array).map { try #require($0.int) } }
    let decoded = try #require(root["decoded"]?.array).map { try #require($0.string) }
    return (ids, decoded)
}

/// Compares `tokenizer` against the expected file on every corpus string; reports the first
/// few differences readably.
func checkGolden(_ tokenizer: some Tokenizer, expected name: String) throws {
    let corpus = try goldenCorpus()
    let expected = try goldenExpected(name)
    #expect(corpus.count >= 300)
    try #require(expected.ids.count == corpus.count)
    var idFailures = 0, decodeFailures = 0
    for (i, text) in corpus.enumerated() {
        let ids = tokenizer.encode(text)
        if ids != expected.ids[i] {
            idFailures += 1
            if idFailures <= 5 {
                Issue.record("\(name) #\(i) \(text.debugDescription.prefix(120)): got \(ids.prefix(40)) expected \(expected.ids[i].prefix(40))")
            }
        }
        let decoded = tokenizer.decode(expected.ids[i])
        if decoded != expected.decoded[i] {
            decodeFailures += 1
            if decodeFailures <= 5 {
                Issue.record("\(name) #\(i) decode: got \(decoded.debugDescription.prefix(120)) expected \(expected.decoded[i].debugDescription.prefix(120))")
            }
        }
    }
    #expect(idFailures == 0, "\(idFailures) of \(corpus.count) strings encode differently")
    #expect(decodeFailures == 0, "\(decodeFailures) of \(corpus.count) id lists decode differently")
}

@Suite("Tokenizer golden ids against Hugging Face tokenizers")
struct GoldenTests {
    @Test("tokenizer.json fixtures encode and decode every corpus string exactly as tokenizers does",
          arguments: ["smollm2", "minilm", "sp_bpe", "sp_metaspace", "llama3", "unigram", "unigram_unk", "precompiled", "wordlevel"])
    func golden(name: String) throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/\(name)/tokenizer.json"))
        try checkGolden(tokenizer, expected: name)
    }
}

@Suite("Precompiled (SentencePiece charsmap) normalizer against tokenizers")
struct PrecompiledNormalizerTests {
    @Test("nfkc's precompiled charsmap normalizes the corpus and compatibility-heavy strings as tokenizers does")
    func normalizesAsTokenizers() throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/precompiled/tokenizer.json"))
        let normalizer = try #require(tokenizer.normalizer)
        let root = try #require(fixtureJSON("tokenizer/expected/precompiled_normalized.json").object)
        let texts = try #require(root["texts"]?.array).map { try #require($0.string) }
        let expected = try #require(root["normalized"]?.array).map { try #require($0.string) }
        try #require(texts.count == expected.count && texts.count > 390)
        var failures = 0
        for (text, want) in zip(texts, expected) {
            let got = String(String.UnicodeScalarView(normalizer.normalize(Array(text.unicodeScalars))))
            if got != want {
                failures += 1
                if failures <= 5 { Issue.record("\(text.debugDescription): got \(got.debugDescription), tokenizers \(want.debugDescription)") }
            }
        }
        #expect(failures == 0)
        #expect(zip(texts, expected).filter { $0 != $1 }.count > 50, "the strings exercise the rules")
    }

    @Test("a charsmap that is not base64 or whose trie overruns is refused naming the field")
    func malformed() throws {
        for map in ["not base64!", "AAAA", "/////w=="] {
            let json = #"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "\#(map)"}, "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}"#
            let error = #expect(throws: TokenizerError.self) { try TokenizerJSON.parse(json) }
            #expect(error?.field == "normalizer.precompiled_charsmap", "\(map): \(String(describing: error))")
        }
    }
}

@Suite("NFKC and NFKD normalizers against tokenizers")
struct CompatibilityNormalizerTests {
    @Test("NFKC and NFKD give tokenizers' text on the corpus and compatibility-heavy strings", arguments: ["NFKC", "NFKD"])
    func normalizesAsTokenizers(form: String) throws {
        let tokenizer = try TokenizerJSON.parse(#"{"normalizer": {"type": "\#(form)"}, "model": {"type": "WordLevel", "vocab": {"<unk>": 0}, "unk_token": "<unk>"}}"#)
        let normalizer = try #require(tokenizer.normalizer)
        let root = try #require(fixtureJSON("tokenizer/expected/nfk_normalized.json").object)
        let texts = try #require(root["texts"]?.array).map { try #require($0.string) }
        let expected = try #require(root[form.lowercased()]?.array).map { try #require($0.string) }
        try #require(texts.count == expected.count && texts.count > 390)
        var failures = 0
        for (text, want) in zip(texts, expected) {
            let got = String(String.UnicodeScalarView(normalizer.normalize(Array(text.unicodeScalars))))
            // Compared scalar by scalar: Swift's == on String is canonical equivalence.
            if Array(got.unicodeScalars) != Array(want.unicodeScalars) {
                failures += 1
                if failures <= 5 { Issue.record("\(text.debugDescription): got \(got.unicodeScalars.map { String($0.value, radix: 16) }), tokenizers \(want.unicodeScalars.map { String($0.value, radix: 16) })") }
            }
        }
        #expect(failures == 0)
        #expect(zip(texts, expected).filter { Array($0.unicodeScalars) != Array($1.unicodeScalars) }.count > 20, "the strings exercise the mappings")
    }
}
