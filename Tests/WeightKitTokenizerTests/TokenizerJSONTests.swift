import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

@Suite("tokenizer.json reading")
struct TokenizerJSONTests {
    @Test("Added tokens honour lstrip, rstrip, single_word and normalized exactly as tokenizers does")
    func addedTokenFlags() throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/added_flags/tokenizer.json"))
        let root = try #require(fixtureJSON("tokenizer/added_flags/expected.json").object)
        let texts = try #require(root["texts"]?.array).map { try #require($0.string) }
        let ids = try #require(root["ids"]?.array).map { try #require($0.array).map { try #require($0.int) } }
        let decoded = try #require(root["decoded"]?.array).map { try #require($0.string) }
        for (i, text) in texts.enumerated() {
            #expect(tokenizer.encode(text) == ids[i], "\(text.debugDescription)")
            #expect(tokenizer.decode(ids[i]) == decoded[i], "\(text.debugDescription)")
        }
    }

    @Test("A folder with tokenizer.json loads, and specials are skipped or kept on decode")
    func folderAndSpecials() throws {
        let tokenizer = try TokenizerJSON.load(path: fixture("tokenizer/minilm"))
        let ids = tokenizer.encode("Hello, world!")
        #expect(ids == [101, 7592, 1010, 2088, 999, 102])
        #expect(tokenizer.encode("Hello, world!", addSpecialTokens: false) == [7592, 1010, 2088, 999])
        #expect(tokenizer.decode(ids) == "hello, world!")
        #expect(tokenizer.decode(ids, skipSpecialTokens: false) == "[CLS] hello, world! [SEP]")
        #expect(tokenizer.isSpecial(101) && !tokenizer.isSpecial(7592))
        #expect(tokenizer.token(for: 7592) == "hello" && tokenizer.id(for: "[SEP]") == 102)
    }

    @Test("tokenizer_config.json supplies BOS/EOS and add_bos_token/add_eos_token")
    func tokenizerConfig() throws {
        let folder = TemporaryFolder()
        try writeBytes(try readBytes(fixture("tokenizer/sp_bpe/tokenizer.json")), to: folder.file("tokenizer.json"))
        try writeBytes(Array(#"{"bos_token": "<s>", "eos_token": {"content": "</s>"}, "add_bos_token": false, "add_eos_token": true}"#.utf8), to: folder.file("tokenizer_config.json"))
        let tokenizer = try TokenizerJSON.load(path: folder.path)
        #expect(tokenizer.bosTokenId == 1 && tokenizer.eosTokenId == 2)
        let ids = tokenizer.encode("Hello")
        #expect(ids.first != 1 && ids.last == 2)
    }

    @Test("JSON keys that differ only by Unicode normalization stay distinct")
    func exactKeys() throws {
        let value = try JSON.parse(#"{"é": 1, "e\u0301": 2}"#)
        let object = try #require(value.object)
        #expect(object.count == 2 && object["é"] == .int(1) && object["e\u{301}"] == .int(2))
    }

    /// A minimal BPE tokenizer.json with `patch` applied to its top level.
    static func minimal(_ patch: String = "") -> String {
        let model = #""model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#
        return "{" + [model, patch].filter { !$0.isEmpty }.joined(separator: ", ") + "}"
    }

    @Test("Malformed or unsupported tokenizer.json is a TokenizerError naming the stage or field",
          arguments: [
            (minimal(#""normalizer": {"type": "Precompiled", "precompiled_charsmap": "!!"}"#), TokenizerError.Kind.invalidValue, "precompiled_charsmap"),
            (minimal(#""normalizer": {"type": "NFKQ"}"#), .unsupported, "NFKQ"),
            (minimal(#""pre_tokenizer": {"type": "UnicodeScripts"}"#), .unsupported, "UnicodeScripts"),
            (minimal(#""pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(?<=a)\\w+"}, "behavior": "Isolated", "invert": false}"#), .unsupported, "(?<=a)\\w+"),
            (minimal(#""decoder": {"type": "CTC"}"#), .unsupported, "CTC"),
            (minimal(#""post_processor": {"type": "Mystery"}"#), .unsupported, "Mystery"),
            (#"{"model": {"type": "Unigram", "vocab": [["a", -1.0]]}}"#, .invalidValue, "model.unk_id"),
            (#"{"model": {"type": "Unigram", "unk_id": 0, "vocab": [["a", "high"]]}}"#, .invalidValue, "model.vocab[0]"),
            (#"{"model": {"type": "Unigram", "unk_id": 3, "vocab": [["a", -1.0]]}}"#, .invalidValue, "model.unk_id"),
            (#"{"model": {"type": "WordLevel", "vocab": {"a": 0}, "unk_token": "<unk>"}}"#, .invalidValue, "<unk>"),
            (minimal(#""padding": {"strategy": {"Longest": 3}}"#), .unsupported, "padding.strategy"),
            (minimal(#""truncation": {"max_length": 8, "direction": "Middle"}"#), .unsupported, "truncation.direction"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#, .invalidValue, "model.merges[0]"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}"#, .invalidValue, "makes"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}}"#, .invalidValue, "model.merges[0]"),
            (#"{"model": {"type": "BPE", "vocab": {"a": "zero"}, "merges": []}}"#, .invalidValue, "model.vocab"),
            (#"{"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}}"#, .invalidValue, "model.vocab"),
            (#"{"model": {"type": "BPE", "vocab": [], "merges": []}}"#, .invalidJSON, "model.vocab"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}}"#, .invalidValue, "unk_token"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "dropout": 0.1}}"#, .unsupported, "dropout"),
            (#"{"model": {"type": "WordPiece", "vocab": {"a": 0}}}"#, .invalidValue, "[UNK]"),
            (#"{"normalizer": null}"#, .missingField, "model"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": [{"id": 5}]}"#, .missingField, "added_tokens[0].content"),
            (#"{"model": "#, .invalidJSON, "JSON"),
            (#"[1, 2]"#, .invalidJSON, "object"),
          ])
    func malformed(text: String, kind: TokenizerError.Kind, mentions: String) throws {
        let error = #expect(throws: TokenizerError.self) { try TokenizerJSON.parse(text) }
        #expect(error?.kind == kind, "\(String(describing: error))")
        #expect(error?.description.contains(mentions) == true, "\(String(describing: error)) should mention \(mentions)")
    }

    @Test("A missing file is cannotOpen with the path")
    func missingFile() {
        let error = #expect(throws: TokenizerError.self) { try TokenizerJSON.load(path: "/nonexistent/tokenizer.json") }
        #expect(error?.kind == .cannotOpen && error?.path == "/nonexistent/tokenizer.json")
    }
}
