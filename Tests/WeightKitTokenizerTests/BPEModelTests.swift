import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

@Suite("BPE model")
struct BPEModelTests {
    @Test("The heap merge and the scanning merge agree on every word of the corpus, long or short")
    func heapMatchesScan() throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/smollm2/tokenizer.json"))
        let model = try #require(tokenizer.model as? BPEModel)
        let pre = try #require(tokenizer.preTokenizer)
        var words = 0
        for text in try goldenCorpus() + [String(repeating: "ab", count: 500), String(repeating: "😀 x", count: 100)] {
            var pieces: [Piece] = []
            pre.split(Piece(scalars: Array(text.unicodeScalars), startsText: true), into: &pieces)
            for p in pieces {
                let initial = model.initialSymbols(p.scalars)
                var scanned = initial, heaped = initial
                model.mergeByScanning(&scanned)
                model.mergeWithHeap(&heaped)
                #expect(scanned == heaped, "\(String(String.UnicodeScalarView(p.scalars)).prefix(60))")
                words += 1
            }
        }
        #expect(words > 3000)
    }

    @Test("Byte fallback spells unknown characters as <0xNN> tokens; without it they become a fused unk")
    func byteFallbackAndUnk() throws {
        let withFallback = try TokenizerJSON.load(path: fixture("tokenizer/sp_bpe/tokenizer.json"))
        let ids = withFallback.encode("𝄞", addSpecialTokens: false)  // U+1D11E, F0 9D 84 9E
        #expect(ids.compactMap { withFallback.token(for: $0) }.suffix(4) == ["<0xF0>", "<0x9D>", "<0x84>", "<0x9E>"])
        let vocab = #"{"<unk>": 0, "a": 1, "b": 2, "ab": 3}"#
        let json = #"{"model": {"type": "BPE", "vocab": \#(vocab), "merges": [["a", "b"]], "unk_token": "<unk>", "fuse_unk": true}}"#
        let fused = try TokenizerJSON.parse(json)
        #expect(fused.encode("abxyab") == [3, 0, 3])
        let unfused = try TokenizerJSON.parse(json.replacingOccurrences(of: "\"fuse_unk\": true", with: "\"fuse_unk\": false"))
        #expect(unfused.encode("abxyab") == [3, 0, 0, 3])
    }
}
