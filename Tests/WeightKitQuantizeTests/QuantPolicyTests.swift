import Testing
import WeightKitCore
import WeightKitQuantize

@Suite("Quantization policy")
struct QuantPolicyTests {
    func info(_ name: String, _ dims: [Int], _ dtype: DType = .float32) -> TensorInfo {
        TensorInfo(name: name, dtype: dtype, shape: Shape(dims), byteCount: Shape(dims).byteCount(of: dtype)!)
    }

    @Test("2-D weights with whole-block rows are quantized; norms, biases and odd rows are kept")
    func defaults() {
        let p = QuantPolicy(scheme: .q4_0)
        #expect(p.target(for: info("model.layers.0.self_attn.q_proj.weight", [64, 64])) == .q4_0)
        #expect(p.target(for: info("model.layers.0.input_layernorm.weight", [64])) == .float32)
        #expect(p.target(for: info("model.layers.0.self_attn.q_proj.bias", [64])) == .float32)
        #expect(p.target(for: info("odd", [64, 33])) == .float32)
        #expect(p.target(for: info("ids", [64, 64], .int32)) == .int32)
        #expect(p.target(for: info("blk.0.attn_q.weight", [64, 64], .float16)) == .q4_0)
    }

    @Test("IQ4_XS (super-blocks of 256): rows that are not whole super-blocks fall back to IQ4_NL, as llama-quantize's tensor_type_fallback")
    func superBlockFallback() {
        let p = QuantPolicy(scheme: .iq4_xs)
        #expect(p.target(for: info("blk.0.ffn_down.weight", [576, 1536])) == .iq4_XS)
        #expect(p.target(for: info("blk.0.attn_q.weight", [576, 576])) == .iq4_NL)
        #expect(p.target(for: info("blk.0.attn_k.weight", [64, 96])) == .iq4_NL)
        #expect(p.target(for: info("odd", [64, 33])) == .float32)
    }

    @Test("--keep globs and --embeddings choose what stays in float")
    func keepAndEmbeddings() {
        let p = QuantPolicy(scheme: .q4_1, keep: ["*.mlp.down_proj.*", "blk.?.ffn_up.weight"], embeddings: .f16)
        #expect(p.target(for: info("model.layers.3.mlp.down_proj.weight", [64, 64])) == .float32)
        #expect(p.target(for: info("blk.7.ffn_up.weight", [64, 64])) == .float32)
        #expect(p.target(for: info("blk.17.ffn_up.weight", [64, 64])) == .q4_1)
        #expect(p.target(for: info("model.embed_tokens.weight", [96, 64])) == .float16)
        #expect(QuantPolicy(scheme: .q4_0).target(for: info("token_embd.weight", [96, 64])) == .q8_0)
        #expect(QuantPolicy(scheme: .q4_0, embeddings: .keep).target(for: info("lm_head.weight", [96, 64])) == .float32)
    }

    @Test("position and token-type tables stay float, as llama-quantize keeps position_embd and token_types")
    func positionTables() {
        let p = QuantPolicy(scheme: .q4_0)
        for name in ["position_embd.weight", "token_types.weight", "embeddings.position_embeddings.weight",
                     "bert.embeddings.token_type_embeddings.weight", "wpe.weight", "transformer.wpe.weight"] {
            #expect(p.target(for: info(name, [64, 64])) == .float32, "\(name)")
        }
        #expect(p.target(for: info("embeddings.word_embeddings.weight", [64, 64])) == .q8_0, "BERT's token embedding follows --embeddings")
    }

    @Test("glob matching")
    func glob() {
        #expect(QuantPolicy.glob("*", matches: "anything.at.all"))
        #expect(QuantPolicy.glob("a*c", matches: "abbbc"))
        #expect(!QuantPolicy.glob("a*c", matches: "abbbd"))
        #expect(QuantPolicy.glob("a?c", matches: "abc"))
        #expect(!QuantPolicy.glob("a?c", matches: "ac"))
    }
}
