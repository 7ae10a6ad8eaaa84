import Testing
import WeightKitTestSupport

@testable import WeightKit

/// `QuantizationPlan` under a mix with an importance matrix: each quantized tensor carries its
/// entry's values, and a Hugging Face expert matrix its own expert's slice of the stacked entry.
@Suite("Quantization plan: mix and importance")
struct QuantMixPlanTests {
    static let imatrix = fixture("quant/imatrix/mixtral.imatrix.gguf")

    @Test("GGUF input: stacked experts get the whole [experts × columns] entry")
    func ggufExperts() throws {
        let importance = try ImportanceMatrix.read(path: Self.imatrix)
        let plan = try QuantizationPlan.make(
            input: fixture("models/mixtral/llamacpp.gguf"), format: nil, target: .gguf, mix: .q6_K, importance: importance,
            importancePath: Self.imatrix)
        let down = try #require(plan.targets["blk.1.ffn_down_exps.weight"])
        #expect(down.dtype == .q8_0)
        #expect(down.importance == importance.entries["blk.1.ffn_down_exps.weight"]?.values)
        #expect(down.importance?.count == 4 * 32)
        #expect(plan.targets["blk.0.attn_q.weight"]?.importance == importance.entries["blk.0.attn_q.weight"]?.values)
        #expect(plan.metadata["quantize.imatrix.entries_count"] == .uint(UInt64(importance.entries.count)))
    }

    @Test("Hugging Face folder → .wkp: expert e of layer l gets row e of blk.l's stacked entry")
    func folderExperts() throws {
        let importance = try ImportanceMatrix.read(path: Self.imatrix)
        let plan = try QuantizationPlan.make(
            input: fixture("models/mixtral"), format: nil, target: .wkp, mix: .q6_K, importance: importance, importancePath: Self.imatrix)
        let entry = try #require(importance.entries["blk.1.ffn_down_exps.weight"]?.values)
        for e in 0..<4 {
            let t = try #require(plan.targets["model.layers.1.block_sparse_moe.experts.\(e).w2.weight"])
            #expect(t.importance == Array(entry[(e * 32)..<((e + 1) * 32)]))
        }
        #expect(plan.targets["model.layers.0.self_attn.q_proj.weight"]?.importance == importance.entries["blk.0.attn_q.weight"]?.values)
        #expect(plan.targets["model.layers.0.block_sparse_moe.gate.weight"] == nil)
    }

    @Test("entries for tensors the model lacks are a warning; an entry of the wrong size is an error naming the tensor")
    func unusedAndWrongSize() throws {
        let llama3 = fixture("models/llama3/llamacpp.gguf")
        let mixtral = try ImportanceMatrix.read(path: Self.imatrix)
        let plan = try QuantizationPlan.make(input: llama3, format: nil, target: .gguf, mix: .q6_K, importance: mixtral, importancePath: Self.imatrix)
        let unused = try #require(plan.warnings.first { $0.kind == .importanceUnused })
        #expect(unused.names.contains("blk.0.ffn_down_exps.weight"))
        #expect(!unused.names.contains("blk.0.attn_q.weight"))
        let wrong = ImportanceMatrix(format: .gguf, entries: ["blk.1.attn_q.weight": .init(values: [1, 2, 3], matrices: 1)])
        let error = try #require(throws: FormatError.self) {
            try QuantizationPlan.make(input: llama3, format: nil, target: .gguf, mix: .q6_K, importance: wrong, importancePath: nil)
        }
        #expect(error.kind == .sizeMismatch && error.tensorName == "blk.1.attn_q.weight")
    }
}
