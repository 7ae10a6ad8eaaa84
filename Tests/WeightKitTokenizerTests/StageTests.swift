import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

/// Pre-tokenizers and normalizers alone, against `pre_tokenize_str` / `normalize_str` on the corpus.
@Suite("Pipeline stages against tokenizers")
struct StageTests {
    static let stages: JSONObject = {
        (try? fixtureJSON("tokenizer/expected/stages.json").object) ?? JSONObject()
    }()

    static var preTokenizerNames: [String] { stages["pre_tokenizers"]?.object?.keys ?? [] }
    static var normalizerNames: [String] { stages["normalizers"]?.object?.keys ?? [] }

    @Test("The stage fixture lists every stage") func fixtureComplete() {
        #expect(Self.preTokenizerNames.count == 16 && Self.normalizerNames.count == 10)
    }

    @Test("Each pre-tokenizer splits every corpus string into the same pieces", arguments: preTokenizerNames)
    func preTokenizer(name: String) throws {
        let entry = try #require(Self.stages["pre_tokenizers"]?.object?[name]?.object)
        let stage = try #require(try makePreTokenizer(entry["config"], path: name))
        let expected = try #require(entry["pieces"]?.array)
        let corpus = try goldenCorpus()
        var failures = 0
        for (i, text) in corpus.enumerated() {
            let want = try #require(expected[i].array).map { try #require($0.string) }
            var pieces: [Piece] = []
            stage.split(Piece(scalars: Array(text.unicodeScalars), startsText: true), into: &pieces)
            let got = pieces.map { String(String.UnicodeScalarView($0.scalars)) }
            if !got.elementsEqual(want, by: { $0.utf8.elementsEqual($1.utf8) }) {
                failures += 1
                if failures <= 3 { Issue.record("\(name) #\(i) \(text.debugDescription.prefix(80)): got \(got.prefix(12)) expected \(want.prefix(12))") }
            }
        }
        #expect(failures == 0)
    }

    @Test("Each normalizer rewrites every corpus string the same way", arguments: normalizerNames)
    func normalizer(name: String) throws {
        let entry = try #require(Self.stages["normalizers"]?.object?[name]?.object)
        let stage = try #require(try makeNormalizer(entry["config"], path: name))
        let expected = try #require(entry["text"]?.array)
        var failures = 0
        for (i, text) in try goldenCorpus().enumerated() {
            let want = try #require(expected[i].string)
            let got = String(String.UnicodeScalarView(stage.normalize(Array(text.unicodeScalars))))
            if !got.utf8.elementsEqual(want.utf8) {
                failures += 1
                if failures <= 3 { Issue.record("\(name) #\(i): got \(got.debugDescription.prefix(80)) expected \(want.debugDescription.prefix(80))") }
            }
        }
        #expect(failures == 0)
    }
}
