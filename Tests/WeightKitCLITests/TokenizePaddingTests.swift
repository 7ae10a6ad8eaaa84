import Foundation
import Testing
import WeightKitTestSupport

/// `tokenize` applies the `truncation` and `padding` a tokenizer.json declares, as Hugging Face
/// tokenizers' `Tokenizer.encode` does: ids and attention mask compared with `tokenizers` itself.
@Suite("weightkit tokenize: declared truncation and padding, against tokenizers")
struct TokenizePaddingTests {
    /// ids and attention mask from `tokenizers` for `text`, one JSON object.
    static let reference = """
        import sys, json
        from tokenizers import Tokenizer
        t = Tokenizer.from_file(sys.argv[1])
        pair = sys.argv[4] if len(sys.argv) > 4 else None
        e = t.encode(sys.argv[2], pair, add_special_tokens=sys.argv[3] == "1")
        print(json.dumps({"ids": e.ids, "mask": e.attention_mask, "types": e.type_ids}))
        """

    static func ours(_ tokenizer: String, _ text: String, _ extra: [String] = []) throws -> (ids: [Int], mask: [Int], types: [Int]) {
        let result = try run(weightkitBinary, ["tokenize", tokenizer, text, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (object["ids"] as? [Int] ?? [], object["attention_mask"] as? [Int] ?? [], object["type_ids"] as? [Int] ?? [])
    }

    static func theirs(_ tokenizer: String, _ text: String, special: Bool = true, pair: String? = nil) throws -> (ids: [Int], mask: [Int], types: [Int]) {
        let out = try python(reference, [tokenizer, text, special ? "1" : "0"] + (pair.map { [$0] } ?? []))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        return (object["ids"] as? [Int] ?? [], object["mask"] as? [Int] ?? [], object["types"] as? [Int] ?? [])
    }

    static let long = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40)

    @Test("all-MiniLM-L6-v2 pads to 128 and cuts at 128, as tokenizers' encode does", arguments: ["Hello, world!", long, ""])
    func minilm(_ text: String) throws {
        let tokenizer = fixture("tokenizer/minilm/tokenizer.json")
        let ours = try Self.ours(tokenizer, text), theirs = try Self.theirs(tokenizer, text)
        #expect(ours.ids == theirs.ids)
        #expect(ours.mask == theirs.mask)
        #expect(ours.ids.count == 128)
        let bare = try Self.ours(tokenizer, text, ["--no-special"]), bareTheirs = try Self.theirs(tokenizer, text, special: false)
        #expect(bare.ids == bareTheirs.ids && bare.mask == bareTheirs.mask)
    }

    @Test("left padding to a multiple, left truncation, and the flags that leave them out")
    func leftSide() throws {
        let dir = TemporaryFolder()
        let path = dir.file("tokenizer.json")
        _ = try python("""
            import sys
            from tokenizers import Tokenizer
            t = Tokenizer.from_file(sys.argv[1])
            t.enable_padding(direction="left", pad_id=3, pad_token="[PAD]", pad_to_multiple_of=8)
            t.enable_truncation(max_length=10, direction="left")
            t.save(sys.argv[2])
            """, [fixture("tokenizer/minilm/tokenizer.json"), path])
        for text in ["Hello", "one two three four five six seven eight nine ten eleven twelve", "a b c"] {
            let ours = try Self.ours(path, text), theirs = try Self.theirs(path, text)
            #expect(ours.ids == theirs.ids, "\(text)")
            #expect(ours.mask == theirs.mask, "\(text)")
        }
        // Without either step: the plain encoding (no cut, no pad ids).
        let text = "one two three four five six seven eight nine ten eleven twelve"
        let plain = try Self.ours(path, text, ["--no-padding", "--no-truncation"])
        #expect(plain.ids.count == 14 && !plain.ids.contains(3) && plain.mask.allSatisfy { $0 == 1 })
        let cut = try Self.ours(path, text, ["--no-padding"])
        #expect(cut.ids.count == 10 && cut.ids.first == 101 && cut.ids.last == 102)
    }

    /// Pairs through every kind of pair joining: TemplateProcessing with type ids (MiniLM, Llama 3
    /// style), BertProcessing and RobertaProcessing (rebuilt by tokenizers from MiniLM's), no
    /// post-processor (SmolLM2's ByteLevel: concatenated, B type 1); truncation LongestFirst with
    /// both or one text long, and OnlySecond.
    @Test("pairs: ids, type ids and mask equal tokenizers' encode(text, pair)")
    func pairs() throws {
        let dir = TemporaryFolder()
        let minilm = fixture("tokenizer/minilm/tokenizer.json")
        let bert = dir.file("bert.json"), roberta = dir.file("roberta.json"), onlySecond = dir.file("only_second.json")
        _ = try python("""
            import sys
            from tokenizers import Tokenizer, processors
            t = Tokenizer.from_file(sys.argv[1])
            t.post_processor = processors.BertProcessing(("[SEP]", 102), ("[CLS]", 101)); t.save(sys.argv[2])
            t.post_processor = processors.RobertaProcessing(("[SEP]", 102), ("[CLS]", 101)); t.save(sys.argv[3])
            t = Tokenizer.from_file(sys.argv[1]); t.enable_truncation(max_length=12, strategy="only_second"); t.no_padding(); t.save(sys.argv[4])
            """, [minilm, bert, roberta, onlySecond])
        let short = "How are you?"
        let cases: [(String, String, String)] = [
            (minilm, "Hello world", short), (minilm, Self.long, short), (minilm, short, Self.long), (minilm, Self.long, Self.long + " again"),
            (fixture("tokenizer/llama3/tokenizer.json"), "Hello world", short),
            (fixture("tokenizer/smollm2/tokenizer.json"), "Hello world", short),
            (bert, "Hello world", short), (roberta, "Hello world", short), (onlySecond, "Hello", Self.long),
        ]
        for (tokenizer, a, b) in cases {
            let ours = try Self.ours(tokenizer, a, ["--pair", b]), theirs = try Self.theirs(tokenizer, a, pair: b)
            let name = (tokenizer as NSString).lastPathComponent + " " + String(a.prefix(12)) + "|" + String(b.prefix(12))
            #expect(ours.ids == theirs.ids, "\(name)")
            #expect(ours.types == theirs.types, "\(name)")
            #expect(ours.mask == theirs.mask, "\(name)")
        }
        // OnlySecond cannot cut a first text longer than the budget: a clear error, as tokenizers errs.
        let refused = try run(weightkitBinary, ["tokenize", onlySecond, Self.long, "--pair", "x"])
        #expect(refused.status == 65 && refused.stderr.contains("OnlySecond"), "\(refused.stderr)")
    }

    @Test("a padding strategy tokenizers does not have is refused naming the field")
    func refusesUnknownStrategy() throws {
        let dir = TemporaryFolder()
        let source = try String(contentsOfFile: fixture("tokenizer/minilm/tokenizer.json"), encoding: .utf8)
        var json = try #require(try JSONSerialization.jsonObject(with: Data(source.utf8)) as? [String: Any])
        json["padding"] = ["strategy": ["Longest": 4], "direction": "Right", "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"]
        let path = dir.file("tokenizer.json")
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        let result = try run(weightkitBinary, ["tokenize", path, "x"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("padding.strategy"), "\(result.stderr)")
    }
}
