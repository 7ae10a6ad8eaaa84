import Foundation
import Testing
import WeightKitCore
import WeightKitGraph
import WeightKitTestSupport

/// The HF ↔ GGUF name table against gguf-py's `TensorNameMap` (recorded in names.json).
@Suite("HF ↔ GGUF weight names")
struct WeightNamesTests {
    static func table() throws -> [String: [String: String]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("gguf/names.json")))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: String]])
    }

    @Test("HF → GGUF names equal gguf-py's TensorNameMap", arguments: [ModelFamily.llama, .qwen2, .gpt2])
    func toGGUF(_ family: ModelFamily) throws {
        let names = try #require(try Self.table()[family.rawValue])
        #expect(names.count > 10)
        for (hf, gguf) in names {
            #expect(WeightNames.ggufName(forHF: hf, family: family)?.name == gguf, "\(hf)")
        }
    }

    @Test("GGUF → HF names invert the table", arguments: [ModelFamily.llama, .qwen2, .gpt2])
    func toHF(_ family: ModelFamily) throws {
        let names = try #require(try Self.table()[family.rawValue])
        for (hf, gguf) in names {
            #expect(WeightNames.hfName(forGGUF: gguf, family: family)?.name == hf, "\(gguf)")
        }
    }

    @Test("layouts: llama permutes Q and K, qwen2 does not, gpt2 transposes Conv1D weights")
    func layouts() {
        #expect(WeightNames.ggufName(forHF: "model.layers.3.self_attn.q_proj.weight", family: .llama)?.layout == .ropeQ)
        #expect(WeightNames.ggufName(forHF: "model.layers.3.self_attn.k_proj.weight", family: .llama)?.layout == .ropeK)
        #expect(WeightNames.ggufName(forHF: "model.layers.3.self_attn.v_proj.weight", family: .llama)?.layout == .same)
        #expect(WeightNames.ggufName(forHF: "model.layers.3.self_attn.q_proj.weight", family: .qwen2)?.layout == .same)
        #expect(WeightNames.ggufName(forHF: "transformer.h.0.attn.c_attn.weight", family: .gpt2)?.name == "blk.0.attn_qkv.weight")
        #expect(WeightNames.ggufName(forHF: "h.0.attn.c_attn.weight", family: .gpt2)?.layout == .transposed)
        #expect(WeightNames.ggufName(forHF: "h.0.attn.c_attn.bias", family: .gpt2)?.layout == .same)
        #expect(WeightNames.ggufName(forHF: "model.layers.x.self_attn.q_proj.weight", family: .llama) == nil)
        #expect(WeightNames.hfName(forGGUF: "blk..attn_q.weight", family: .llama) == nil)
    }
}

/// The Q/K permutation against llama.cpp's converter and transformers' reverse (permute.json).
@Suite("RoPE Q/K permutation")
struct RoPEPermutationTests {
    struct Case {
        var heads: Int, kvHeads: Int, headDim: Int, cols: Int
        var q: [Float], k: [Float]
    }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("gguf/permute.json")))
        let items = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        return items.map {
            Case(
                heads: $0["n_head"] as! Int, kvHeads: $0["n_head_kv"] as! Int, headDim: $0["head_dim"] as! Int,
                cols: $0["cols"] as! Int, q: ($0["q_permuted"] as! [Double]).map(Float.init),
                k: ($0["k_permuted"] as! [Double]).map(Float.init))
        }
    }

    @Test("HF → GGUF equals llama.cpp's permute; GGUF → HF restores the input")
    func bothWays() throws {
        let all = try Self.cases()
        #expect(all.count == 3)
        for c in all {
            for (heads, want) in [(c.heads, c.q), (c.kvHeads, c.k)] {
                let rows = heads * c.headDim
                let input = (0..<rows * c.cols).map(Float.init)
                let forward = try #require(RoPEPermutation.ggufRowOrder(rows: rows, heads: heads))
                let permuted = RoPEPermutation.apply(forward, to: input, cols: c.cols)
                #expect(permuted == want, "heads \(heads) headDim \(c.headDim)")
                let back = try #require(RoPEPermutation.hfRowOrder(rows: rows, heads: heads))
                #expect(RoPEPermutation.apply(back, to: want, cols: c.cols) == input)
            }
        }
    }

    @Test("odd head sizes and uneven heads are refused")
    func refused() {
        #expect(RoPEPermutation.ggufRowOrder(rows: 12, heads: 4) == nil)
        #expect(RoPEPermutation.ggufRowOrder(rows: 10, heads: 3) == nil)
        #expect(RoPEPermutation.ggufRowOrder(rows: 8, heads: 0) == nil)
    }

    @Test("a planned GGUF → HF conversion unpermutes quantized Q rows without decoding them")
    func planOnBlocks() throws {
        var meta = Metadata()
        meta["general.architecture"] = .string("llama")
        meta["llama.attention.head_count"] = .uint(2)
        meta["llama.attention.head_count_kv"] = .uint(1)
        let q = TensorInfo(name: "blk.0.attn_q.weight", dtype: .q8_0, shape: [8, 32], byteCount: 8 * 34)
        let k = TensorInfo(name: "blk.0.attn_k.weight", dtype: .q8_0, shape: [4, 32], byteCount: 4 * 34)
        let plan = try GGUFConversion.toHuggingFace(tensors: [q, k], ggufMetadata: meta, keepBlocks: [.q8_0])
        #expect(plan.entries.map(\.output.name) == ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight"])
        #expect(plan.inputs[0].steps == [.permuteRows(RoPEPermutation.hfRowOrder(rows: 8, heads: 2)!)])
        #expect(plan.inputs[1].steps == [.permuteRows(RoPEPermutation.hfRowOrder(rows: 4, heads: 1)!)])
        #expect(plan.entries[0].output.dtype == .q8_0)
    }
}

extension RoPEPermutationTests {
    @Test("a GPT-2 plan transposes Conv1D weights both ways and keeps biases")
    func gpt2Plan() throws {
        let qkv = TensorInfo(name: "h.0.attn.c_attn.weight", dtype: .float32, shape: [8, 24], byteCount: 8 * 24 * 4)
        let bias = TensorInfo(name: "h.0.attn.c_attn.bias", dtype: .float32, shape: [24], byteCount: 96)
        let mask = TensorInfo(name: "h.0.attn.bias", dtype: .float32, shape: [1, 1, 4, 4], byteCount: 64)
        var config = JSONObject()
        config.set("model_type", "gpt2")
        let toGGUF = try GGUFConversion.toGGUF(tensors: [qkv, bias, mask], hfConfig: config)
        #expect(toGGUF.entries.map(\.output.name) == ["blk.0.attn_qkv.weight", "blk.0.attn_qkv.bias"])
        #expect(toGGUF.entries[0].output.shape == [24, 8])
        #expect(toGGUF.inputs[0].steps == [.dequantize, .transpose])
        #expect(toGGUF.inputs[1].steps.isEmpty)
        #expect(toGGUF.dropped == ["h.0.attn.bias"])
        var meta = Metadata()
        meta["general.architecture"] = .string("gpt2")
        let back = try GGUFConversion.toHuggingFace(tensors: toGGUF.entries.map(\.output), ggufMetadata: meta)
        #expect(back.entries.map(\.output.name) == ["h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias"])
        #expect(back.entries[0].output.shape == [8, 24])
    }

    @Test("an unknown model_type cannot become GGUF")
    func unknownFamily() {
        var config = JSONObject()
        config.set("model_type", "t5")
        let error = #expect(throws: FormatError.self) { try GGUFConversion.toGGUF(tensors: [], hfConfig: config) }
        #expect(error?.kind == .unsupported)
    }
}
