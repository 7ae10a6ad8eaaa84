import Foundation
import Testing
import WeightKitCore
import WeightKitGraph
import WeightKitTestSupport

/// Each family's config.json keys that change the computation: read into the description as
/// transformers reads them, and a value WeightKit does not implement (or out of range) refused at
/// load with an error naming the key and the value.
@Suite("Family configs: described exactly, refused exactly")
struct FamilyConfigTests {
    static func config(_ family: String, _ edits: [(String, JSONValue)] = []) throws -> JSONObject {
        let text = String(decoding: try readBytes(fixture("models/\(family)/config.json")), as: UTF8.self)
        var object = try #require(try JSON.parse(text).object)
        for (key, value) in edits { object.set(key, value) }
        return object
    }

    @Test("the description of each family is what its modeling file computes")
    func descriptions() throws {
        let gemma2 = try ArchitectureConfig(huggingFace: Self.config("gemma2"))
        #expect(gemma2.normWeightOffset == 1 && gemma2.postNorm && gemma2.preNorm && gemma2.activation == .geluTanh)
        #expect(gemma2.attentionSoftCap == 50 && gemma2.finalLogitSoftCap == 30 && gemma2.embeddingScale == Float(64).squareRoot())
        #expect(gemma2.effectiveAttentionScale == 1 / Float(24).squareRoot())
        #expect(gemma2.layerAttention == [.sliding, .full, .sliding] && gemma2.slidingWindow == 6)
        let gemma3 = try ArchitectureConfig(huggingFace: Self.config("gemma3"))
        #expect(gemma3.qkNorm == .perHead && gemma3.rope?.theta == 1_000_000 && gemma3.slidingRope?.theta == 10_000)
        #expect(gemma3.rope(layer: 0)?.theta == 10_000 && gemma3.rope(layer: 2)?.theta == 1_000_000)
        let olmo2 = try ArchitectureConfig(huggingFace: Self.config("olmo2"))
        #expect(!olmo2.preNorm && olmo2.postNorm && olmo2.qkNorm == .whole)
        let neox = try ArchitectureConfig(huggingFace: Self.config("gpt-neox"))
        #expect(neox.parallelResidual && neox.norm == .layer && neox.normBias && !neox.gatedMLP && neox.activation == .gelu)
        #expect(neox.rope?.rotaryDim == 4 && neox.attentionBias && neox.mlpBias)
        let stablelm = try ArchitectureConfig(huggingFace: Self.config("stablelm"))
        #expect(stablelm.rope?.rotaryDim == 4 && stablelm.attentionBias && !stablelm.attentionOutputBias)
        let granite = try ArchitectureConfig(huggingFace: Self.config("granite"))
        #expect(granite.embeddingScale == 12 && granite.residualScale == 0.22 && granite.attentionScale == 0.05 && granite.logitScale == 1 / 8)
        let moe = try #require(try ArchitectureConfig(huggingFace: Self.config("qwen3-moe")).moe)
        #expect(moe.experts == 4 && moe.topK == 2 && moe.normalizeTopK && moe.intermediateSize == 32 && moe.sparseLayers == [true, true])
        let dense = try #require(try ArchitectureConfig(huggingFace: Self.config("qwen3-moe", [("mlp_only_layers", [1]), ("norm_topk_prob", false)])).moe)
        #expect(dense.sparseLayers == [true, false] && !dense.normalizeTopK)
        let mistral = try ArchitectureConfig(huggingFace: Self.config("mistral"))
        #expect(mistral.layerAttention == [.sliding, .sliding] && mistral.slidingWindow == 6)
        #expect(mistral.attentionStart(layer: 0, position: 10) == 5 && mistral.attentionStart(layer: 0, position: 3) == 0)
        let dynamic = try ArchitectureConfig(huggingFace: Self.config("llama-dynamic"))
        #expect(dynamic.contextLength == 64, "dynamic NTK runs past max_position_embeddings by its factor")
    }

    @Test("a value that changes the result and is not implemented is refused, naming key and value", arguments: [
        ("llama", "hidden_act", JSONValue.string("relu2")),
        ("gemma2", "hidden_activation", .string("gelu_fancy")),
        ("stablelm", "qk_layernorm", .bool(true)),
        ("gpt2", "scale_attn_by_inverse_layer_idx", .bool(true)),
        ("gemma3", "layer_types", .array([.string("sliding_attention"), .string("chunked_attention"), .string("full_attention")])),
        ("gemma2", "layer_types", .array([.string("sliding_attention")])),
        ("phi3", "attention_bias", .bool(true)),
        ("llama", "rope_parameters", ["rope_type": "mrope", "rope_theta": 10000.0] as JSONValue),
    ])
    func refused(_ family: String, _ key: String, _ value: JSONValue) throws {
        let error = try #require(throws: GraphError.self) { try ArchitectureConfig(huggingFace: Self.config(family, [(key, value)])) }
        #expect(error.kind == .invalidConfig && error.message.contains(key), "\(error)")
    }

    @Test("values out of range are refused", arguments: [
        ("llama", "rms_norm_eps", JSONValue.double(-1e-5)),
        ("llama", "rope_parameters", ["rope_type": "default", "rope_theta": 0.0] as JSONValue),
        ("mistral", "sliding_window", .integer(0)),
        ("mistral", "sliding_window", .integer(-4)),
        ("qwen3-moe", "num_experts_per_tok", .integer(5)),
        ("qwen3-moe", "num_experts_per_tok", .integer(0)),
        ("llama", "num_key_value_heads", .integer(3)),
        ("gemma2", "attn_logit_softcapping", .double(-1)),
        ("granite", "logits_scaling", .double(0)),
        ("gpt-neox", "num_attention_heads", .integer(5)),
    ])
    func outOfRange(_ family: String, _ key: String, _ value: JSONValue) throws {
        let error = try #require(throws: GraphError.self) { try ArchitectureConfig(huggingFace: Self.config(family, [(key, value)])) }
        #expect(error.kind == .invalidConfig, "\(family) \(key): \(error)")
    }

    @Test("an unknown model_type names itself and the families that run")
    func unknown() throws {
        let error = try #require(throws: GraphError.self) { try ArchitectureConfig(huggingFace: Self.config("llama", [("model_type", "mamba")])) }
        #expect(error.kind == .unknownArchitecture && error.message.contains("\"mamba\"") && error.message.contains("gemma3_text"))
    }

    @Test("rope_theta 0 is refused in the transformers 4 spelling too")
    func thetaZeroV4() throws {
        let config = try Self.config("llama", [("rope_parameters", .null), ("rope_theta", .double(0))])
        let error = try #require(throws: GraphError.self) { try ArchitectureConfig(huggingFace: config) }
        #expect(error.kind == .invalidConfig && error.message.contains("rope_theta"), "\(error)")
    }
}
