import Testing
import WeightKitCore
import WeightKitGraph
import WeightKitTestSupport

/// config.json from a stranger: negative or zero sizes, wrong types, heads that do not divide,
/// each a `GraphError(.invalidConfig)`, never a crash.
@Suite("Hostile config.json")
struct HostileConfigTests {
    static let base: JSONObject = {
        let text = String(decoding: (try? readBytes(fixture("models/llama/config.json"))) ?? [], as: UTF8.self)
        return (try? JSON.parse(text))?.object ?? JSONObject()
    }()

    static func config(_ key: String, _ value: JSONValue) -> JSONObject {
        var object = base
        object.set(key, value)
        return object
    }

    @Test("the fixture's config is accepted (so each failure below is the edit's)")
    func baseline() throws {
        #expect(try ArchitectureConfig(huggingFace: Self.base).hiddenSize == 64)
    }

    @Test("invalid values are refused as invalidConfig", arguments: [
        ("hidden_size", JSONValue.integer(-64)),
        ("hidden_size", .integer(0)),
        ("num_attention_heads", .integer(0)),
        ("num_attention_heads", .string("8")),
        ("hidden_size", .double(1e300)),
        ("num_key_value_heads", .integer(3)),
        ("vocab_size", .integer(-1)),
        ("num_hidden_layers", .integer(1 << 60)),  // once a per-layer table of that size (fuzzer)
        ("num_hidden_layers", .integer(65_537)),
    ])
    func invalid(_ key: String, _ value: JSONValue) {
        do {
            let config = try ArchitectureConfig(huggingFace: Self.config(key, value))
            Issue.record("\(key) = \(value) accepted: \(config)")
        } catch {
            #expect(error.kind == .invalidConfig, "\(key) = \(value): \(error)")
        }
    }
}
