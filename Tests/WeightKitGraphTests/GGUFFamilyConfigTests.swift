import Testing
import WeightKitCore
import WeightKitGraph

/// GGUF metadata the families' table does not implement is refused, naming the key and the value;
/// the rest of the mapping is checked against llama.cpp's own files in GGUFFamilyTests.
@Suite("GGUF metadata of the families: refusals")
struct GGUFFamilyConfigTests {
    /// A small valid `{arch}` metadata set.
    static func metadata(_ arch: String) -> Metadata {
        var m = Metadata()
        m["general.architecture"] = .string(arch)
        m["\(arch).block_count"] = .uint(2)
        m["\(arch).context_length"] = .uint(64)
        m["\(arch).embedding_length"] = .uint(64)
        m["\(arch).feed_forward_length"] = .uint(96)
        m["\(arch).attention.head_count"] = .uint(4)
        m["\(arch).attention.head_count_kv"] = .uint(2)
        m["\(arch).attention.layer_norm_rms_epsilon"] = .float(1e-6)
        m["\(arch).vocab_size"] = .uint(256)
        return m
    }

    static func describe(_ m: Metadata, tensors: Set<String> = ["token_embd.weight"]) throws -> ArchitectureConfig {
        try GGUFConfig.architecture(ggufMetadata: m, tensorNames: tensors, vocabularyRows: 256, values: { _ in nil }).1
    }

    static func refusal(_ m: Metadata) -> String {
        do {
            _ = try describe(m)
            return "accepted"
        } catch let error as FormatError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test("a valid set reads, with the layout and norms of a GGUF")
    func reads() throws {
        let llama = try Self.describe(Self.metadata("llama"))
        #expect(llama.family == .llama && llama.ropeLayout == .interleaved && llama.hiddenSize == 64 && llama.kvHeads == 2)
        let gemma = try Self.describe(Self.metadata("gemma2"))
        #expect(gemma.family == .gemma2 && gemma.ropeLayout == .halfSplit && gemma.normWeightOffset == 0)
        #expect(gemma.slidingWindow == 4096 && gemma.layerAttention == [.sliding, .full])  // llama.cpp's gemma2 defaults
        #expect(gemma.effectiveAttentionScale == 1 / Float(16).squareRoot())
    }

    @Test("keys no row reads, unknown scaling types and unimplemented values are refused by name and value", arguments: [
        ("llama", "llama.attention.sliding_window", MetadataValue.uint(8)),
        ("llama", "llama.rope.scaling.type", .string("su")),
        ("llama", "llama.expert_shared_count", .uint(1)),
        ("llama", "llama.attention.value_length", .uint(8)),
        ("phi3", "phi3.attention.sliding_window", .uint(2047)),
        ("gemma2", "gemma2.rope.freq_base_swa", .float(20000)),
        ("qwen3", "qwen3.rope.scaling.attn_factor", .float(2)),
    ])
    func refused(_ arch: String, _ key: String, _ value: MetadataValue) {
        var m = Self.metadata(arch)
        m[key] = value
        let message = Self.refusal(m)
        #expect(message.contains(key) && message.contains(value.description), "\(message)")
    }

    @Test("stablelm: Q/K LayerNorm tensors are refused as transformers' qk_layernorm, which WeightKit does not run")
    func stablelmQKNorm() {
        var m = Self.metadata("stablelm")
        m["stablelm.attention.layer_norm_rms_epsilon"] = nil
        m["stablelm.attention.layer_norm_epsilon"] = .float(1e-5)
        m["stablelm.vocab_size"] = nil
        #expect(throws: GraphError.self) { try Self.describe(m, tensors: ["token_embd.weight", "blk.0.attn_q_norm.weight"]) }
        #expect((try? Self.describe(m)) != nil)
    }
}
