import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport

@testable import WeightKitQuantize

/// `QuantMix`'s per-tensor rules against llama-quantize itself: fixtures/quant/mixes/mixes.json
/// holds, for SmolLM2-135M (F32), the tiny families' llama.cpp GGUFs and synthetic models that
/// reach the GQA, 8-expert, 70B, falcon and F16-fallback branches, the type `llama-quantize
/// --dry-run` chose for every tensor under every mix (fixtures/quant/mixes/generate.py).
@Suite("llama-quantize mixes")
struct QuantMixTests {
    /// One model of the fixture.
    struct Model {
        var name: String
        var facts: QuantMixModel
        var tensors: [TensorInfo]
        /// Mix key (`Q4_K_M`, `Q5_0+imatrix`) → types in tensor order, as ggml names them.
        var mixes: [String: [String]]
    }

    static func load() throws -> [Model] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("quant/mixes/mixes.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let models = try #require(root["models"] as? [String: [String: Any]])
        return try models.keys.sorted().map { name in
            let m = models[name]!
            let facts = QuantMixModel(
                architecture: m["architecture"] as! String, layerCount: m["block_count"] as! Int, headCount: m["head_count"] as! Int,
                kvHeadCount: m["head_count_kv"] as! Int, expertCount: m["expert_count"] as! Int)
            let tensors = try (m["tensors"] as! [[Any]]).map { t -> TensorInfo in
                let dims = t[1] as! [Int], dtype = try #require(DType(name: t[2] as! String))
                return TensorInfo(name: t[0] as! String, dtype: dtype, shape: Shape(dims), byteCount: 0)
            }
            return Model(name: name, facts: facts, tensors: tensors, mixes: m["mixes"] as! [String: [String]])
        }
    }

    @Test("every tensor of every fixture model gets llama-quantize's type", arguments: QuantMix.allCases)
    func matchesLlamaQuantize(mix: QuantMix) throws {
        let models = try Self.load()
        #expect(models.count >= 12)
        var compared = 0
        for model in models {
            for imatrix in [false, true] {
                let key = mix.llamaName + (imatrix ? "+imatrix" : "")
                guard let expected = model.mixes[key] else {
                    #expect(imatrix, "\(model.name) has no \(key) in the fixture")
                    continue
                }
                // Q2_K_S refuses to run without an importance matrix; its types do not depend on one.
                let plan = try mix.plan(tensors: model.tensors, model: model.facts, hasImportance: imatrix || mix == .q2_K_S)
                let mismatches = zip(model.tensors, expected).compactMap { t, want -> String? in
                    let got = plan[t.name]!
                    return got.dtype.shortName == want.lowercased() ? nil : "\(t.name): \(got.dtype.shortName) ≠ \(want) (\(got.reason))"
                }
                #expect(mismatches.isEmpty, "\(model.name) \(key): \(mismatches.prefix(5).joined(separator: "\n"))")
                compared += expected.count
            }
        }
        #expect(compared > 1000)
    }

    @Test("the fixture reaches the branches it is meant to: fallbacks, Q6_K output, 8 experts, 70B, F16")
    func fixtureCoversBranches() throws {
        let models = Dictionary(uniqueKeysWithValues: try Self.load().map { ($0.name, $0) })
        func types(_ model: String, _ mix: String) -> [String: String] {
            let m = models[model]!
            return Dictionary(uniqueKeysWithValues: zip(m.tensors.map(\.name), m.mixes[mix]!))
        }
        // SmolLM2: 576 columns, tied embeddings: Q4_K → Q5_0, the tied token_embd → Q6_K → Q8_0.
        #expect(types("smollm2", "Q4_K_M")["blk.0.attn_q.weight"] == "q5_0")
        #expect(types("smollm2", "Q4_K_M")["token_embd.weight"] == "q8_0")
        #expect(types("wide-gqa8", "Q4_K_M")["output.weight"] == "q6_K")
        #expect(types("wide-gqa8", "Q2_K")["blk.5.attn_v.weight"] == "q4_K")
        #expect(types("moe8", "Q4_K_M")["blk.1.attn_v.weight"] == "q8_0")
        #expect(types("moe8", "Q4_K_M")["blk.1.ffn_gate_inp.weight"] == "f32")
        #expect(types("llama70b-shape", "Q3_K_S")["blk.3.attn_v.weight"] == "q5_K")
        #expect(types("odd-width", "Q4_K_M")["output.weight"] == "f16")
        #expect(types("odd-width", "Q4_K_M")["blk.0.attn_q.weight"] == "f16")
        #expect(types("odd-width", "Q4_K_M")["blk.0.ffn_down.weight"] == "q4_K")
    }

    @Test("use_more_bits picks llama-quantize's layers")
    func useMoreBits() {
        let picked = (0..<32).filter { QuantMixState.useMoreBits($0, 32) }
        // The first and last eighth, and every third layer from n/8 + 2.
        #expect(picked == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31])
    }

    @Test("tensors are visited in llama.cpp's weights_map order: non-layer names first, then by layer")
    func llamaOrder() {
        let names = ["blk.10.attn_v.weight", "output.weight", "blk.2.ffn_down.weight", "blk.2.attn_v.weight", "token_embd.weight"]
        #expect(QuantMix.llamaOrder(names) == [
            "output.weight", "token_embd.weight", "blk.2.attn_v.weight", "blk.2.ffn_down.weight", "blk.10.attn_v.weight",
        ])
    }

    @Test("never-quantized tensors keep their type; 1-D and [n, 1] tensors are not matrices")
    func neverQuantized() {
        #expect(!QuantMix.allowsQuantization(name: "blk.0.attn_norm.weight", dims: [64, 64], architecture: "llama"))
        #expect(!QuantMix.allowsQuantization(name: "blk.0.ffn_gate_inp.weight", dims: [8, 256], architecture: "llama"))
        #expect(!QuantMix.allowsQuantization(name: "position_embd.weight", dims: [512, 256], architecture: "gpt2"))
        #expect(!QuantMix.allowsQuantization(name: "blk.0.attn_q.bias", dims: [1, 256], architecture: "llama"))
        #expect(!QuantMix.allowsQuantization(name: "blk.0.attn_q.weight", dims: [1, 256], architecture: "llama"))
        #expect(QuantMix.allowsQuantization(name: "blk.0.attn_q.weight", dims: [256, 256], architecture: "llama"))
    }

    @Test("Q2_K_S without an importance matrix is refused, naming the tensor")
    func q2KSNeedsImportance() {
        let tensors = [TensorInfo(name: "blk.0.ffn_up.weight", dtype: .float32, shape: [256, 256], byteCount: 0)]
        let model = QuantMixModel(architecture: "llama", layerCount: 1, headCount: 4, kvHeadCount: 4)
        #expect(throws: FormatError.self) { try QuantMix.q2_K_S.plan(tensors: tensors, model: model, hasImportance: false) }
        #expect((try? QuantMix.q2_K_S.plan(tensors: tensors, model: model, hasImportance: true))?["blk.0.ffn_up.weight"]?.dtype == .q2_K)
    }

    @Test("an expert model's ffn tensor without a readable layer is refused, as llama-quantize's layer_info")
    func expertLayerFromName() {
        let model = QuantMixModel(architecture: "llama", layerCount: 2, headCount: 4, kvHeadCount: 4, expertCount: 4)
        let bad = [TensorInfo(name: "ffn_down_exps.weight", dtype: .float32, shape: [4, 256, 256], byteCount: 0)]
        #expect(throws: FormatError.self) { try QuantMix.q4_K_M.plan(tensors: bad, model: model, hasImportance: false) }
        let outside = [TensorInfo(name: "blk.7.ffn_down_exps.weight", dtype: .float32, shape: [4, 256, 256], byteCount: 0)]
        #expect(throws: FormatError.self) { try QuantMix.q4_K_M.plan(tensors: outside, model: model, hasImportance: false) }
    }

    @Test("mix names parse as llama-quantize's (aliases, any case); file types are llama.h's")
    func names() {
        #expect(QuantMix(name: "Q4_K") == .q4_K_M)
        #expect(QuantMix(name: "q5_k_s") == .q5_K_S)
        #expect(QuantMix(name: "q4_0") == nil)
        #expect(QuantMix.q4_K_M.fileType == 15 && QuantMix.q6_K.fileType == 18 && QuantMix.q2_K_S.fileType == 21)
    }
}
