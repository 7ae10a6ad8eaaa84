import Testing
import WeightKitCore
import WeightKitGraph
import WeightKitTestSupport

/// RoPE variants against transformers: each case of fixtures/rope/rope.json (written by
/// fixtures/rope/generate.py through transformers' own config classes and rotary embeddings, after
/// a simulated cached generation) parsed with `RoPEConfig(huggingFace:)`, its frequencies compared.
@Suite("RoPE scaling")
struct RoPEScalingTests {
    /// transformers computes in float32 (theta^(2i/d) with a float32 exponent, dynamic's new base,
    /// llama3's wavelengths, yarn's ramp) and we in Double, so the two differ by float32 rounding:
    /// measured at most 3.3e-7 relative over every case (llama3), hence the 1e-6 bound. Attention
    /// factors are Python doubles in transformers too, compared to 1e-12.
    static let tolerance = 1e-6

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var config: JSONObject
        var headDim: Int
        var layerType: String?
        var sequenceLength: Int
        var inverse: [Double]
        var attentionFactor: Double
        var testDescription: String { name }
    }

    static let fixtureJSON: JSONObject = {
        let text = String(decoding: (try? readBytes(fixture("rope/rope.json"))) ?? [], as: UTF8.self)
        return (try? JSON.parse(text))?.object ?? JSONObject()
    }()

    static let cases: [Case] = (fixtureJSON["cases"]?.array ?? []).compactMap { value in
        guard let o = value.object, let config = o["config"]?.object else { return nil }
        return Case(name: o["name"]?.string ?? "?", config: config, headDim: o["head_dim"]?.int ?? 0,
                    layerType: o["layer_type"]?.string, sequenceLength: o["sequence_length"]?.int ?? 0,
                    inverse: (o["inv_freq"]?.array ?? []).compactMap(\.number),
                    attentionFactor: o["attention_factor"]?.number ?? .nan)
    }

    /// Largest relative difference, element by element.
    static func relativeError(_ ours: [Double], _ reference: [Double]) -> Double {
        zip(ours, reference).map { abs($0 - $1) / max(abs($1), .leastNormalMagnitude) }.max() ?? 0
    }

    @Test("the fixture holds every case generate.py writes")
    func fixtureLoaded() {
        #expect(Self.cases.count == 49)
        #expect(Self.fixtureJSON["frequency_factors"]?.array?.count == 2)
    }

    @Test("inverse frequencies and attention factor match transformers", arguments: cases)
    func matchesTransformers(_ reference: Case) throws {
        let rope = try RoPEConfig(huggingFace: reference.config, headDim: reference.headDim, layerType: reference.layerType)
        let (inverse, attention) = rope.frequencies(sequenceLength: reference.sequenceLength)
        #expect(inverse.count == reference.inverse.count, "\(rope)")
        let error = Self.relativeError(inverse, reference.inverse)
        #expect(error <= Self.tolerance, "relative error \(error): \(rope)")
        #expect(abs(attention - reference.attentionFactor) <= 1e-12 * reference.attentionFactor, "\(attention)")
    }

    @Test("GGUF rope_freqs factors from llama.cpp's converter give transformers' llama3 frequencies")
    func frequencyFactors() throws {
        let entries = Self.fixtureJSON["frequency_factors"]?.array ?? []
        #expect(!entries.isEmpty)
        for entry in entries {
            let o = try #require(entry.object)
            let theta = try #require(o["theta"]?.number)
            let headDim = try #require(o["head_dim"]?.int)
            let factors = (o["factors"]?.array ?? []).compactMap(\.number)
            let expected = (o["inv_freq"]?.array ?? []).compactMap(\.number)
            let rope = RoPEConfig(theta: theta, rotaryDim: headDim, scaling: .frequencyFactors(factors))
            try rope.validate()
            let (inverse, attention) = rope.frequencies(sequenceLength: 1)
            // llama.cpp rounds its factors to float32: the same allowance.
            let error = Self.relativeError(inverse, expected)
            #expect(error <= Self.tolerance, "\(o["name"]?.string ?? ""): relative error \(error)")
            #expect(attention == 1)
        }
    }

    @Test("dynamic NTK extends the context by its factor; the others leave it to the config")
    func extendedContext() throws {
        let dynamic = Self.cases.first { $0.name.hasPrefix("dynamic 2 ") }
        let rope = try RoPEConfig(huggingFace: try #require(dynamic).config, headDim: 16)
        #expect(rope.scaling == .dynamic(factor: 2, originalContext: 64))
        #expect(rope.extendedContext == 128)
        #expect(RoPEConfig(theta: 1e4, rotaryDim: 8, scaling: .linear(factor: 4)).extendedContext == nil)
    }
}

/// Configs transformers would compute differently from us, or not at all: each refused with the
/// key and its value in the message.
@Suite("RoPE refusals")
struct RoPERefusalTests {
    static func llama(_ extra: [(String, JSONValue)]) -> JSONObject {
        var object = JSONObject()
        object.set("model_type", .string("llama"))
        object.set("max_position_embeddings", .int(4096))
        for (key, value) in extra { object.set(key, value) }
        return object
    }

    static func scaling(_ pairs: [(String, JSONValue)]) -> JSONValue {
        var object = JSONObject()
        for (key, value) in pairs { object.set(key, value) }
        return .object(object)
    }

    static let shortList = JSONValue.array(Array(repeating: .double(1.0), count: 7))
    static let goodList = JSONValue.array(Array(repeating: .double(1.0), count: 8))

    /// (what, config, head dimension, text the message must contain)
    static let refusals: [(String, JSONObject, Int, [String])] = [
        ("unknown rope_type", llama([("rope_scaling", scaling([("rope_type", .string("mrope")), ("factor", .double(2))]))]), 16,
         ["rope_scaling.rope_type", "mrope"]),
        ("su outside phi3", llama([("rope_scaling", scaling([("type", .string("su")), ("short_factor", goodList), ("long_factor", goodList)]))]), 16,
         ["rope_scaling.type", "\"su\""]),
        ("theta zero", llama([("rope_theta", .double(0))]), 16, ["rope_theta", "0"]),
        ("theta negative in rope_parameters", llama([("rope_parameters", scaling([("rope_type", .string("default")), ("rope_theta", .double(-5))]))]), 16,
         ["rope_theta", "-5"]),
        ("theta a string", llama([("rope_theta", .string("1e4"))]), 16, ["rope_theta", "\"1e4\""]),
        ("linear factor zero", llama([("rope_scaling", scaling([("type", .string("linear")), ("factor", .double(0))]))]), 16,
         ["rope_scaling.factor", "0"]),
        ("dynamic factor below 1", llama([("rope_scaling", scaling([("type", .string("dynamic")), ("factor", .double(0.5))]))]), 16,
         ["rope_scaling.factor", "0.5"]),
        ("yarn factor negative", llama([("rope_scaling", scaling([("type", .string("yarn")), ("factor", .double(-2))]))]), 16,
         ["rope_scaling.factor", "-2"]),
        ("linear without factor", llama([("rope_scaling", scaling([("type", .string("linear"))]))]), 16, ["factor"]),
        ("longrope short list too short", llama([("rope_scaling", scaling([("type", .string("longrope")), ("short_factor", shortList), ("long_factor", goodList)]))]), 16,
         ["rope_scaling.short_factor", "7"]),
        ("longrope long list for partial rotary", llama([("partial_rotary_factor", .double(0.5)), ("rope_scaling", scaling([("type", .string("longrope")), ("short_factor", .array(Array(repeating: .double(1), count: 4))), ("long_factor", goodList)]))]), 16,
         ["rope_scaling.long_factor", "8"]),
        ("partial rotary giving odd dimension", llama([("partial_rotary_factor", .double(0.3125))]), 16, ["partial_rotary_factor", "0.3125", "rotary dimension 5"]),
        ("partial rotary giving an odd count", llama([("partial_rotary_factor", .double(0.3))]), 10, ["partial_rotary_factor", "0.3", "rotary dimension 3"]),
        ("partial rotary giving zero", llama([("partial_rotary_factor", .double(0.01))]), 16, ["partial_rotary_factor", "0.01"]),
        ("rotary_pct zero", { var o = llama([("rotary_pct", .double(0))]); o.set("model_type", .string("gpt_neox")); return o }(), 16, ["rotary_pct", "0"]),
        ("mrope_section with default", llama([("rope_parameters", scaling([("rope_type", .string("default")), ("mrope_section", .array([.int(2), .int(3), .int(3)]))]))]), 16,
         ["rope_parameters.mrope_section", "2"]),
        ("yarn key under linear", llama([("rope_scaling", scaling([("type", .string("linear")), ("factor", .double(2)), ("beta_fast", .int(32))]))]), 16,
         ["rope_scaling.beta_fast", "32"]),
        ("llama3 high not above low", llama([("rope_scaling", scaling([("rope_type", .string("llama3")), ("factor", .double(8)), ("low_freq_factor", .double(4)), ("high_freq_factor", .double(4))]))]), 16,
         ["high_freq_factor", "4"]),
        ("default with a factor", llama([("rope_scaling", scaling([("rope_type", .string("default")), ("factor", .double(4))]))]), 16,
         ["rope_scaling.factor", "4"]),
        ("per-layer-type without a layer type", llama([("rope_parameters", .object({ var o = JSONObject(); o.set("full_attention", scaling([("rope_type", .string("default"))])); return o }()))]), 16,
         ["rope_parameters", "layer type"]),
        ("yarn truncate false per layer type", llama([("rope_parameters", .object({ var o = JSONObject(); o.set("full_attention", scaling([("rope_type", .string("yarn")), ("factor", .double(4)), ("truncate", .bool(false))])); return o }()))]), 16,
         ["rope_parameters.full_attention.truncate", "false"]),
        ("gemma3 without a layer type", { var o = llama([("rope_local_base_freq", .double(10000))]); o.set("model_type", .string("gemma3_text")); return o }(), 16,
         ["gemma3_text", "layer type"]),
        ("dynamic without max_position_embeddings", { var o = JSONObject(); o.set("rope_scaling", scaling([("type", .string("dynamic")), ("factor", .double(2))])); return o }(), 16,
         ["max_position_embeddings"]),
    ]

    /// The cases that read one layer type's dictionary.
    static let layerTypes = ["yarn truncate false per layer type": "full_attention"]

    @Test("each bad value is refused as invalidConfig, naming the key and its value",
          arguments: refusals.indices)
    func refused(_ index: Int) {
        let (what, json, headDim, needles) = Self.refusals[index]
        do {
            let rope = try RoPEConfig(huggingFace: json, headDim: headDim, layerType: Self.layerTypes[what], path: "config.json")
            Issue.record("\(what): accepted as \(rope)")
        } catch {
            #expect(error.kind == .invalidConfig, "\(what)")
            #expect(error.path == "config.json")
            for needle in needles {
                #expect(error.message.contains(needle), "\(what): \"\(needle)\" not in \(error.message)")
            }
        }
    }

    @Test("an unknown layer type is refused")
    func unknownLayerType() {
        #expect(throws: GraphError.self) {
            try RoPEConfig(huggingFace: Self.llama([]), headDim: 16, layerType: "chunked_attention")
        }
    }

    @Test("validate refuses hand-built configs frequencies cannot use")
    func validateHandBuilt() {
        let bad: [RoPEConfig] = [
            RoPEConfig(theta: .infinity, rotaryDim: 8),
            RoPEConfig(theta: 1e4, rotaryDim: 7),
            RoPEConfig(theta: 1e4, rotaryDim: 8, scaling: .frequencyFactors([1, 1, 1])),
            RoPEConfig(theta: 1e4, rotaryDim: 8, scaling: .frequencyFactors([1, 1, 0, 1])),
            RoPEConfig(theta: 1e4, rotaryDim: 2, scaling: .dynamic(factor: 2, originalContext: 64)),
        ]
        for rope in bad {
            #expect(throws: GraphError.self, "\(rope)") { try rope.validate() }
        }
    }
}
