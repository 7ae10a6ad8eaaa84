import Testing
import WeightKitCore
import WeightKitTestSupport
import WeightKitTokenizer

/// tokenizer.json from a stranger: ids out of range, merges of unknown tokens, deep nesting,
/// NUL in a key: each a `TokenizerError`, at once, never a crash or a huge allocation.
@Suite("Hostile tokenizer.json")
struct HostileTokenizerTests {
    static let base: JSONObject = {
        let text = String(decoding: (try? readBytes(fixture("models/llama/tokenizer.json"))) ?? [], as: UTF8.self)
        return (try? JSON.parse(text))?.object ?? JSONObject()
    }()

    /// The fixture with `edit` applied to its `model` object.
    static func edited(_ edit: (inout JSONObject) -> Void) -> String {
        var root = base
        var model = root["model"]?.object ?? JSONObject()
        edit(&model)
        root.set("model", .object(model))
        return JSONWriter.serialize(.object(root))
    }

    static func vocab(with id: JSONValue) -> String {
        edited { model in
            var vocab = model["vocab"]?.object ?? JSONObject()
            vocab.set("zzz", id)
            model.set("vocab", .object(vocab))
        }
    }

    @Test("the unedited fixture parses (so each failure below is the edit's)")
    func baseline() throws {
        _ = try TokenizerJSON.parse(Self.edited { _ in })
    }

    @Test("hostile tokenizer.json texts fail with a TokenizerError", arguments: [
        ("id 2^62", vocab(with: .integer(1 << 62))),
        ("negative id", vocab(with: .integer(-5))),
        ("id not an integer", vocab(with: .string("7"))),
        ("merge of unknown tokens", edited { model in
            model.set("merges", .array([.array(["nope", "zzz"])] + (model["merges"]?.array ?? [])))
        }),
        ("10 000-deep nesting", "{\"model\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"),
        ("NUL in a vocab key", "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\\u0000b\":0}}}"),
    ])
    func hostile(_ label: String, _ text: String) throws {
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: TokenizerError.self, "\(label)") { try TokenizerJSON.parse(text) }
        #expect(clock.now - started < .seconds(2), "\(label)")
    }
}
