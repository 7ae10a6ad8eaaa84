import Testing
import WeightKitCore
import WeightKitGraph

/// GGUF hyperparameters ↔ config.json (the tokenizer keys are WeightKitTokenizer's: GGUFTranslatorTests).
@Suite("GGUF ↔ config.json")
struct GGUFConfigTests {
    /// SmolLM2-135M's metadata as its GGUF stores it.
    static var smolMetadata: Metadata {
        var m = Metadata()
        m["general.architecture"] = .string("llama")
        m["llama.block_count"] = .uint(30)
        m["llama.context_length"] = .uint(8192)
        m["llama.embedding_length"] = .uint(576)
        m["llama.feed_forward_length"] = .uint(1536)
        m["llama.attention.head_count"] = .uint(9)
        m["llama.attention.head_count_kv"] = .uint(3)
        m["llama.rope.freq_base"] = .float(100000)
        m["llama.attention.layer_norm_rms_epsilon"] = .float(Double(Float(1e-5)))
        m["llama.vocab_size"] = .uint(49152)
        m["tokenizer.ggml.bos_token_id"] = .uint(1)
        m["tokenizer.ggml.eos_token_id"] = .uint(2)
        return m
    }

    @Test("GGUF llama metadata becomes the config.json transformers expects")
    func toConfig() throws {
        let config = try GGUFConfig.hfConfig(
            ggufMetadata: Self.smolMetadata, family: .llama, tensorNames: ["token_embd.weight"], vocabularyRows: nil, dtype: .float32)
        #expect(config["model_type"] == "llama")
        #expect(config["architectures"] == ["LlamaForCausalLM"])
        #expect(config["hidden_size"] == 576)
        #expect(config["intermediate_size"] == 1536)
        #expect(config["num_hidden_layers"] == 30)
        #expect(config["num_attention_heads"] == 9)
        #expect(config["num_key_value_heads"] == 3)
        #expect(config["max_position_embeddings"] == 8192)
        #expect(config["vocab_size"] == 49152)
        #expect(config["rms_norm_eps"] == .double(1e-5))
        #expect(config["rope_theta"] == .double(100000))
        #expect(config["tie_word_embeddings"] == true)
        #expect(config["bos_token_id"] == 1)
        #expect(config["torch_dtype"] == "float32")
    }

    @Test("config.json → GGUF metadata → config.json keeps every hyperparameter")
    func roundTrip() throws {
        let config = try GGUFConfig.hfConfig(
            ggufMetadata: Self.smolMetadata, family: .llama, tensorNames: [], vocabularyRows: nil, dtype: .float16)
        #expect(config["torch_dtype"] == "float16")
        let meta = try GGUFConfig.ggufMetadata(hfConfig: config, family: .llama, name: "smol")
        #expect(meta["llama.rope.dimension_count"] == .uint(64))
        // general.file_type depends on the tensors written: the converter adds it (ConverterTests).
        #expect(meta["general.file_type"] == nil)
        for key in ["llama.block_count", "llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
                    "llama.attention.head_count", "llama.attention.head_count_kv", "llama.vocab_size"] {
            #expect(meta[key] == Self.smolMetadata[key], "\(key)")
        }
        #expect(meta["llama.rope.freq_base"] == .float(100000))
        #expect(meta["llama.attention.layer_norm_rms_epsilon"] == .float(1e-5))
    }

    @Test("a config without the required hyperparameters is refused, naming the key")
    func missingKey() {
        var config = JSONObject()
        config.set("model_type", "llama")
        config.set("hidden_size", 64)
        let error = #expect(throws: FormatError.self) {
            try GGUFConfig.ggufMetadata(hfConfig: config, family: .llama, name: nil)
        }
        #expect(error?.message.contains("num_hidden_layers") == true)
    }
}
