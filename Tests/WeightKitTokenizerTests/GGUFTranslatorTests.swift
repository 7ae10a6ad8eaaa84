import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

/// The GGUF tokenizer, and the tokenizer read back from the tokenizer.json and
/// tokenizer_config.json files the translator makes of it (written to a folder, as `convert`
/// writes them, and loaded as a Hugging Face folder is).
func ggufAndConverted(_ m: Metadata) throws -> (gguf: PipelineTokenizer, converted: PipelineTokenizer) {
    let gguf = try BPETokenizer.fromGGUFMetadata(m)
    let folder = TemporaryFolder()
    let json = try #require(GGUFTokenizer.tokenizerJSON(ggufMetadata: m))
    let config = GGUFTokenizer.tokenizerConfig(ggufMetadata: m, contextLength: 8192)
    try writeBytes(Array(JSONWriter.serialize(json, indent: 2).utf8), to: folder.file("tokenizer.json"))
    try writeBytes(Array(JSONWriter.serialize(config, indent: 2).utf8), to: folder.file("tokenizer_config.json"))
    return (gguf, try TokenizerJSON.load(path: folder.path))
}

/// Both ways of `m` give the same ids and special tokens on every text, and `expected`'s golden ids.
func checkBothWays(_ m: Metadata, expected: String, texts: [String]? = nil) throws {
    let (gguf, converted) = try ggufAndConverted(m)
    #expect(gguf.bosTokenId == converted.bosTokenId && gguf.eosTokenId == converted.eosTokenId)
    let texts = try texts ?? goldenCorpus()
    var differences = 0
    for text in texts where gguf.encode(text) != converted.encode(text) {
        differences += 1
        if differences <= 5 { Issue.record("\(expected): \(text.debugDescription.prefix(80)): \(gguf.encode(text)) vs \(converted.encode(text))") }
    }
    #expect(differences == 0, "\(differences) of \(texts.count) texts encode differently from the GGUF and from its tokenizer.json")
    try checkGolden(gguf, expected: expected)
}

/// SmolLM2's GGUF vocabulary `m`, both ways, gives `tokenizers`' ids on the extra texts
/// (fixtures/tokenizer/gguf_pre/smollm2_extra.json), among them "ﬁ ligature ½ ①".
func checkSmolLM2Extra(_ m: Metadata) throws {
    let extra = try ggufPreExpected("smollm2_extra")
    let (gguf, converted) = try ggufAndConverted(m)
    for (text, ids) in zip(extra.texts, extra.ids) {
        #expect(gguf.encode(text, addSpecialTokens: false) == ids, "\(text)")
        #expect(converted.encode(text, addSpecialTokens: false) == ids, "\(text)")
    }
    // "½" and "①" are \p{N} (category No): Digits isolates them, so " ½" is "Ġ" + "Â½".
    #expect(gguf.encode("ﬁ ligature ½ ①") == [27141, 13042, 906, 216, 16738, 216, 173, 235, 250])
}

/// A `gpt2` GGUF vocabulary holding the llama3 fixture's tokens and merges, split as `pre` names.
func llama3Vocabulary(pre: String) throws -> Metadata {
    let model = try #require(fixtureJSON("tokenizer/llama3/tokenizer.json").object?["model"]?.object)
    let tokens = try tokensByID(try #require(model["vocab"]?.object))
    var m = Metadata()
    m["tokenizer.ggml.model"] = .string("gpt2")
    m["tokenizer.ggml.pre"] = .string(pre)
    m["tokenizer.ggml.tokens"] = .array(tokens.map { .string($0) })
    m["tokenizer.ggml.merges"] = .array(try #require(model["merges"]?.array).map { .string(try #require($0.string)) })
    return m
}

/// Ids `tokenizers` gives for fixtures/tokenizer/gguf_pre/<name>.json's texts.
func ggufPreExpected(_ name: String) throws -> (texts: [String], ids: [[Int]]) {
    let root = try #require(fixtureJSON("tokenizer/gguf_pre/\(name).json").object)
    let texts = try #require(root["texts"]?.array).map { try #require($0.string) }
    let ids = try #require(root["ids"]?.array).map { try #require($0.array).map { try #require($0.int) } }
    return (texts, ids)
}

@Suite("GGUF tokenizer ↔ tokenizer.json: one translator")
struct GGUFTranslatorTests {
    @Test("SmolLM2's GGUF vocabulary: GGUF and converted tokenizer.json agree with tokenizers on the corpus")
    func smollm2() throws {
        let m = try smollm2GGUFMetadata()
        try checkBothWays(m, expected: "smollm2")
        try checkSmolLM2Extra(m)
    }

    @Test("A llama (SentencePiece) GGUF vocabulary: GGUF and converted tokenizer.json agree with tokenizers")
    func sentencePiece() throws {
        let m = metadata(fromJSON: try #require(fixtureJSON("tokenizer/sp_gguf/gguf_metadata.json").object))
        try checkBothWays(m, expected: "sp_gguf")
    }

    @Test("A gemma4 GGUF vocabulary (SentencePiece-style BPE with stored merges): GGUF and converted tokenizer.json agree with tokenizers")
    func gemma4() throws {
        let m = metadata(fromJSON: try #require(fixtureJSON("tokenizer/gemma4/gguf_metadata.json").object))
        try checkBothWays(m, expected: "gemma4_gguf")
        let json = try #require(GGUFTokenizer.tokenizerJSON(ggufMetadata: m)?.object)
        #expect(json["model"]?.object?["byte_fallback"]?.bool == true)
        let config = GGUFTokenizer.tokenizerConfig(ggufMetadata: m, contextLength: nil).object
        #expect(config?["tokenizer_class"]?.string == "PreTrainedTokenizerFast")
    }

    @Test("tokenizer.json stages spelled another way name the same pre-tokenizer")
    func preNamesSpelledOtherwise() throws {
        func named(normalizer: JSONValue, _ stages: [JSONValue]) -> String {
            var json = JSONObject()
            json.set("normalizer", normalizer)
            json.set("pre_tokenizer", ["type": "Sequence", "pretokenizers": .array(stages)])
            json.set("model", ["type": "BPE"])
            return GGUFPreTokenizer.name(tokenizerJSON: json) ?? "(none)"
        }
        func split(_ regex: String) -> JSONValue {
            ["type": "Split", "pattern": ["Regex": .string(regex)], "behavior": "Isolated", "invert": false]
        }
        let byteLevel: JSONValue = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false]
        // DeepSeek LLM with its numbers as a Digits stage and its line breaks as regex escapes.
        var llm = GGUFPreTokenizer.deepseekLLMRegexes.dropLast().map(split)
        llm[0] = split(#"[\r\n]"#)
        #expect(named(normalizer: .null, llm + [["type": "Digits", "individual_digits": false], byteLevel]) == "deepseek-llm")
        // DeepSeek Coder with its digits as a Split.
        let coder = GGUFPreTokenizer.deepseekCoderRegexes.map(split) + [split(#"\p{N}"#), byteLevel]
        #expect(named(normalizer: ["type": "Sequence", "normalizers": []], coder) == "deepseek-coder")
        // Without NFC, GPT-2's ByteLevel and the digit split are gpt-2 and smollm, not mpt and command-r.
        let gpt2Level: JSONValue = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        #expect(named(normalizer: ["type": "NFC"], [gpt2Level]) == "mpt")
        #expect(named(normalizer: .null, [gpt2Level]) == "gpt-2")
        #expect(named(normalizer: ["type": "NFC"], [["type": "Digits", "individual_digits": true], gpt2Level]) == "command-r")
        #expect(named(normalizer: .null, [["type": "Digits", "individual_digits": true], gpt2Level]) == "smollm")
        // Falcon's stages with the Punctuation split isolating instead are not Falcon's.
        #expect(named(normalizer: .null, [
            ["type": "Punctuation", "behavior": "Isolated"], gpt2Level, ["type": "Digits", "individual_digits": false],
            split("[0-9][0-9][0-9]"),
        ]) == "(none)")  // no entry: HF → GGUF refuses it (SentencePieceConvertTests.unknownPreTokenizer)
    }

    @Test("A merge string splits at its first space scalar, even where a combining mark makes the space part of a Character")
    func mergeBeforeCombiningMark() throws {
        let pair = try #require(BPEModel.mergePair(.string("▁ह ै")))
        #expect(pair.0.unicodeScalars.elementsEqual("▁ह".unicodeScalars) && pair.1.unicodeScalars.elementsEqual("\u{0948}".unicodeScalars))
        var m = try llama3Vocabulary(pre: "gpt-2")
        m["tokenizer.ggml.merges"] = .array([.string("a \u{0301}")])
        #expect(throws: Never.self) { try GGUFTokenizer.tokenizerJSON(validating: m) }
    }

    @Test("Each tokenizer.ggml.pre family splits as its reference model's tokenizer.json does",
          arguments: [
            "gpt-2", "llama-bpe", "smaug-bpe", "qwen2", "smollm", "mpt", "command-r", "falcon", "qwen35", "deepseek-llm",
            "deepseek-coder",
          ])
    func preFamily(name: String) throws {
        let expected = try ggufPreExpected(name)
        let (gguf, converted) = try ggufAndConverted(try llama3Vocabulary(pre: name))
        var failures = 0
        for (text, ids) in zip(expected.texts, expected.ids) {
            let a = gguf.encode(text, addSpecialTokens: false), b = converted.encode(text, addSpecialTokens: false)
            if a != ids || b != ids {
                failures += 1
                if failures <= 5 { Issue.record("\(name) \(text.debugDescription.prefix(80)): gguf \(a.prefix(30)) json \(b.prefix(30)) expected \(ids.prefix(30))") }
            }
        }
        #expect(failures == 0, "\(failures) of \(expected.texts.count) texts differ from tokenizers")
    }

    @Test("Every name in the pre-tokenizer table reads back as its family's first name")
    func preNames() throws {
        for entry in GGUFPreTokenizer.all {
            for name in entry.names {
                let json = try #require(GGUFTokenizer.tokenizerJSON(ggufMetadata: try llama3Vocabulary(pre: name))?.object)
                #expect(GGUFPreTokenizer.name(tokenizerJSON: json) == entry.names[0], "\(name)")
            }
        }
        // The llama3 fixture is tokenizers' own Llama-3-shaped tokenizer.json.
        let llama3 = try #require(fixtureJSON("tokenizer/llama3/tokenizer.json").object)
        #expect(GGUFPreTokenizer.name(tokenizerJSON: llama3) == "llama-bpe")
        let smol = try #require(fixtureJSON("tokenizer/smollm2/tokenizer.json").object)
        #expect(GGUFPreTokenizer.name(tokenizerJSON: smol) == "smollm")
    }

    @Test("The llama3 tokenizer.json → GGUF keys → tokenizer gives tokenizers' ids, BOS included")
    func llama3FromTokenizerJSON() throws {
        let json = try #require(fixtureJSON("tokenizer/llama3/tokenizer.json").object)
        var config = JSONObject()
        config.set("bos_token", "<|begin_of_text|>")
        config.set("add_bos_token", true)
        let m = try #require(try GGUFTokenizer.ggufMetadata(tokenizerJSON: json, tokenizerConfig: config, config: nil))
        #expect(m["tokenizer.ggml.pre"] == .string("llama-bpe"))
        try checkBothWays(m, expected: "llama3")
    }

    @Test("GGUF byte-level BPE → tokenizer.json → GGUF keeps tokens, types, merges and special ids")
    func roundTrip() throws {
        var m = Metadata()
        m["tokenizer.ggml.bos_token_id"] = .uint(1)
        m["tokenizer.ggml.eos_token_id"] = .uint(2)
        m["tokenizer.ggml.model"] = .string("gpt2")
        m["tokenizer.ggml.pre"] = .string("smollm")
        m["tokenizer.ggml.tokens"] = .array(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "a", "b", "ab", "Ġ"].map { .string($0) })
        m["tokenizer.ggml.token_type"] = .array([3, 3, 3, 1, 1, 1, 1].map { .int($0) })
        m["tokenizer.ggml.merges"] = .array([.string("a b")])
        m["tokenizer.ggml.add_bos_token"] = .bool(false)
        m["tokenizer.chat_template"] = .string("{{ messages }}")
        let json = try #require(GGUFTokenizer.tokenizerJSON(ggufMetadata: m)?.object)
        #expect(json["added_tokens"]?.array?.count == 3)
        #expect(json["model"]?.object?["vocab"]?.object?["ab"] == 5)
        let tokConfig = try #require(GGUFTokenizer.tokenizerConfig(ggufMetadata: m, contextLength: 8192).object)
        #expect(tokConfig["bos_token"] == "<|im_start|>")
        #expect(tokConfig["chat_template"] == "{{ messages }}")
        let back = try #require(try GGUFTokenizer.ggufMetadata(tokenizerJSON: json, tokenizerConfig: tokConfig, config: nil))
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                    "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                    "tokenizer.ggml.add_bos_token", "tokenizer.chat_template"] {
            #expect(back[key] == m[key], "\(key)")
        }
    }

    @Test("Special-token ids outside the vocabulary are refused, not indexed")
    func badSpecialIds() throws {
        var m = try llama3Vocabulary(pre: "gpt-2")
        m["tokenizer.ggml.bos_token_id"] = .int(-1)
        let error = #expect(throws: TokenizerError.self) { try GGUFTokenizer.tokenizerJSON(validating: m) }
        #expect(error?.field == "tokenizer.ggml.bos_token_id")
        #expect(GGUFTokenizer.tokenizerConfig(ggufMetadata: m, contextLength: nil).object?["bos_token"] == nil)
    }

    @Test("The real SmolLM2 GGUF: GGUF and converted tokenizer.json agree with tokenizers",
          .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
    func realSmolLM2() throws {
        let path = try #require(ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"])
        let m = try realGGUFTokenizerMetadata(path)
        try checkBothWays(m, expected: "smollm2")
        try checkSmolLM2Extra(m)
    }
}
