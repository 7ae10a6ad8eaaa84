import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

@Suite("Streaming detokenizer")
struct StreamingDetokenizerTests {
    @Test("Streaming the reference ids one at a time spells the reference decode, with no partial characters",
          arguments: ["smollm2", "minilm", "sp_bpe", "sp_metaspace", "llama3"])
    func streamsCorpus(name: String) throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/\(name)/tokenizer.json"))
        let expected = try goldenExpected(name)
        var failures = 0
        for (i, ids) in expected.ids.enumerated() {
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            var chunks: [String] = []
            for id in ids { chunks.append(stream.append(id)) }
            chunks.append(stream.finish())
            let whole = chunks.joined()
            let reference = expected.decoded[i]
            // A chunk never holds half a character: no U+FFFD unless the reference has one.
            let partial = !reference.unicodeScalars.contains("\u{FFFD}") && chunks.contains { $0.unicodeScalars.contains("\u{FFFD}") }
            if whole != reference || partial {
                failures += 1
                if failures <= 3 { Issue.record("\(name) #\(i): streamed \(whole.debugDescription) expected \(reference.debugDescription)") }
            }
        }
        #expect(failures == 0)
    }

    @Test("A 4-byte emoji split over byte tokens is held back until complete")
    func holdsIncompleteUTF8() throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/sp_bpe/tokenizer.json"))
        // "😀" = F0 9F 98 80, as byte-fallback tokens <0xF0> <0x9F> <0x98> <0x80>.
        let ids = try [0xF0, 0x9F, 0x98, 0x80].map { try #require(tokenizer.id(for: BPEModel.byteToken(UInt8($0)))) }
        let hello = try #require(tokenizer.id(for: "▁Hello"))
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(stream.append(hello) == "Hello")
        #expect(stream.append(ids[0]) == "")
        #expect(stream.append(ids[1]) == "")
        #expect(stream.append(ids[2]) == "")
        #expect(stream.append(ids[3]) == "😀")
        // SentencePiece's leading space: a later "▁Hello" prints " Hello", not "Hello".
        #expect(stream.append(hello) == " Hello")
        #expect(stream.finish() == "")
    }
}
