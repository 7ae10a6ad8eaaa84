import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

/// Token offsets against Hugging Face tokenizers' `Encoding.offsets` (fixtures/tokenizer/
/// generate_offsets.py → expected/offsets.json): single texts and pairs, with each fixture's
/// post-processor, truncation and padding. Offsets are either exactly tokenizers' or absent with
/// a reason; every fixture here must have them.
@Suite("Token offsets")
struct OffsetsTests {
    @Test("offsets equal tokenizers' or are absent with a reason", arguments: [
        "smollm2", "llama3", "minilm", "added_flags", "unigram", "unigram_unk", "wordlevel", "sp_bpe", "sp_metaspace", "precompiled",
    ])
    func fixtureOffsets(_ name: String) throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/\(name)/tokenizer.json"))
        let cases = try #require(fixtureJSON("tokenizer/expected/offsets.json").object?[name]?.array)
        #expect(cases.count >= (["smollm2", "minilm", "precompiled"].contains(name) ? 170 : 30))
        var available = 0, reasons: Set<String> = []
        for item in cases {
            let c = try #require(item.object)
            let text = try #require(c["text"]?.string), pair = c["pair"]?.string
            let ids = try #require(c["ids"]?.array).map { try #require($0.int) }
            let offsets = try #require(c["offsets"]?.array).map { o -> TokenOffsets in
                let pair = try #require(o.array)
                return TokenOffsets(start: try #require(pair[0].int), end: try #require(pair[1].int))
            }
            let encoding = try tokenizer.encodeAsDeclared(text, pair: pair, pad: c["pad"]?.bool ?? true, offsets: true)
            #expect(encoding.ids == ids, "\(name) \(text.debugDescription) ids")
            if let got = encoding.offsets {
                available += 1
                if got != offsets {
                    let diff = zip(got, offsets).enumerated().first { $0.element.0 != $0.element.1 }
                    Issue.record("\(name) \(text.debugDescription) \(pair ?? ""): first difference at \(diff.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "count \(got.count) vs \(offsets.count)")")
                }
            } else {
                reasons.insert(try #require(encoding.offsetsUnavailable))
            }
        }
        #expect(available == cases.count, "\(name): \(reasons)")
    }

    @Test("each normalizer's alignments, in front of SmolLM2's byte-level BPE: equal to tokenizers'")
    func normalizers() throws {
        var root = try #require(fixtureJSON("tokenizer/smollm2/tokenizer.json").object)
        let variants = try #require(fixtureJSON("tokenizer/expected/offsets.json").object?["normalizers on smollm2"]?.array)
        #expect(variants.count >= 10)
        for variant in variants {
            let v = try #require(variant.object)
            // {"from": fixture}: that fixture's normalizer (the Precompiled charsmap is large).
            let normalizer = try v["from"]?.string.map { try #require(fixtureJSON("tokenizer/\($0)/tokenizer.json").object?["normalizer"]) }
                ?? #require(v["normalizer"])
            root.set("normalizer", normalizer)
            let tokenizer = try TokenizerJSON.parse(.object(root))
            for item in try #require(v["cases"]?.array) {
                let c = try #require(item.object)
                let text = try #require(c["text"]?.string)
                let ids = try #require(c["ids"]?.array).map { try #require($0.int) }
                let offsets = try #require(c["offsets"]?.array).map { o in
                    TokenOffsets(start: try #require(o.array?[0].int), end: try #require(o.array?[1].int))
                }
                let encoding = try tokenizer.encodeAsDeclared(text, offsets: true)
                #expect(encoding.ids == ids, "\(JSONWriter.serialize(normalizer)) \(text.debugDescription) ids")
                #expect(encoding.offsets == offsets, "\(JSONWriter.serialize(normalizer)) \(text.debugDescription): \(encoding.offsetsUnavailable ?? "")")
            }
        }
    }

    @Test("pre-tokenizers (whitespace, punctuation, literal and inverted regex splits, digits, metaspace) and ByteLevel's trim_offsets, swapped into SmolLM2: equal to tokenizers'")
    func stages() throws {
        let original = try #require(fixtureJSON("tokenizer/smollm2/tokenizer.json").object)
        let variants = try #require(fixtureJSON("tokenizer/expected/offsets.json").object?["stages on smollm2"]?.array)
        #expect(variants.count >= 7)
        for variant in variants {
            let v = try #require(variant.object)
            var root = original
            for key in ["pre_tokenizer", "post_processor"] { if let stage = v[key] { root.set(key, stage) } }
            let tokenizer = try TokenizerJSON.parse(.object(root))
            for item in try #require(v["cases"]?.array) {
                let c = try #require(item.object)
                let text = try #require(c["text"]?.string)
                let ids = try #require(c["ids"]?.array).map { try #require($0.int) }
                let offsets = try #require(c["offsets"]?.array).map { o in
                    TokenOffsets(start: try #require(o.array?[0].int), end: try #require(o.array?[1].int))
                }
                let encoding = try tokenizer.encodeAsDeclared(text, offsets: true)
                let what = JSONWriter.serialize(v["pre_tokenizer"] ?? v["post_processor"] ?? .null)
                #expect(encoding.ids == ids, "\(what) \(text.debugDescription) ids")
                #expect(encoding.offsets == offsets, "\(what) \(text.debugDescription): \(encoding.offsetsUnavailable ?? "")")
            }
        }
    }

    @Test("ByteLevel trim_offsets: the post-processor's own setting (SmolLM2's is off; on, the leading space leaves the offsets)")
    func byteLevelTrim() throws {
        let trim = ByteLevelOffsetTrim(addPrefixSpace: false)
        var offsets = [TokenOffsets(start: 0, end: 5), TokenOffsets(start: 5, end: 11)]
        trim.apply(&offsets, tokens: ["Hello", "Ġworld"])
        #expect(offsets == [TokenOffsets(start: 0, end: 5), TokenOffsets(start: 6, end: 11)])
        let parsed = ByteLevelOffsetTrim.of(try JSON.parse(#"{"type":"Sequence","processors":[{"type":"ByteLevel","trim_offsets":true,"add_prefix_space":false}]}"#))
        #expect(parsed?.addPrefixSpace == false)
        #expect(ByteLevelOffsetTrim.of(try JSON.parse(#"{"type":"ByteLevel","trim_offsets":false}"#)) == nil)
    }
}
