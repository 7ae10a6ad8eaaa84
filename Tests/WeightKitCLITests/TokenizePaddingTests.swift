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
        e = t.encode(sys.argv[2], add_special_tokens=sys.argv[3] == "1")
        print(json.dumps({"ids": e.ids, "mask": e.attention_mask}))
        """

    static func ours(_ tokenizer: String, _ text: String, _ extra: [String] = []) throws -> (ids: [Int], mask: [Int]) {
        let result = try run(weightkitBinary, ["tokenize", tokenizer, text, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (object["ids"] as? [Int] ?? [], object["attention_mask"] as? [Int] ?? [])
    }

    static func theirs(_ tokenizer: String, _ text: String, special: Bool = true) throws -> (ids: [Int], mask: [Int]) {
        let out = try python(reference, [tokenizer, text, special ? "1" : "0"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        return (object["ids"] as? [Int] ?? [], object["mask"] as? [Int] ?? [])
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
