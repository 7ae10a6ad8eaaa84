import Foundation
import Testing
import WeightKitTestSupport

/// `weightkit convert` and `inspect` between GGUF and Hugging Face folders, checked with gguf-py,
/// safetensors and tokenizers; plus the real SmolLM2 GGUF when `WEIGHTKIT_SMOLLM2_GGUF` is set.
@Suite("GGUF ↔ Hugging Face conversion")
struct GGUFConvertTests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    /// Python that checks an HF folder against a GGUF: every tensor equals gguf.quants.dequantize
    /// of its GGUF counterpart, Q/K reverse-permuted with transformers' own function.
    static let checkFolder = """
        import sys, json, numpy as np, gguf
        from safetensors.numpy import load_file
        g = gguf.GGUFReader(sys.argv[1]); folder = sys.argv[2]
        st = load_file(folder + "/model.safetensors")
        cfg = json.load(open(folder + "/config.json"))
        def reverse_permute_weights(weights, n_head, num_kv_heads=None):
            # transformers integrations/ggml.py
            if num_kv_heads is not None and n_head != num_kv_heads:
                n_head = num_kv_heads
            dim = weights.shape[0] // n_head // 2
            w = weights.reshape(n_head, dim, 2, *weights.shape[1:])
            return w.swapaxes(2, 1).reshape(weights.shape)
        tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg["num_hidden_layers"])
        hf_of = {}
        for name in st:
            hf_of[tmap.get_name(name, try_suffixes=(".weight", ".bias"))] = name
        n = 0
        for t in g.tensors:
            x = gguf.quants.dequantize(t.data, t.tensor_type).reshape([int(d) for d in reversed(t.shape)])
            if ".attn_q." in t.name: x = reverse_permute_weights(x, cfg["num_attention_heads"])
            if ".attn_k." in t.name: x = reverse_permute_weights(x, cfg["num_attention_heads"], cfg["num_key_value_heads"])
            y = st[hf_of[t.name]]
            assert y.dtype == np.float32, (t.name, y.dtype)
            assert np.array_equal(x, y), t.name
            n += 1
        assert n == len(st), (n, len(st))
        print(n)
        """

    @Test("GGUF → HF folder: names, un-permuted Q/K and dequantized values equal gguf-py's")
    func ggufToFolder() throws {
        let folder = TemporaryFolder()
        let out = folder.file("hf") + "/"
        let result = try run(weightkitBinary, ["convert", Self.tiny, out])
        #expect(result.status == 0, "\(result.stderr)")
        let checked = try python(Self.checkFolder, [Self.tiny, out])
        #expect(checked.trimmingCharacters(in: .whitespacesAndNewlines) == "21")
        let config = try python("""
            import sys, json
            c = json.load(open(sys.argv[1] + "/config.json"))
            print(c["model_type"], c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"],
                  c["intermediate_size"], c["vocab_size"], c["max_position_embeddings"], c["rms_norm_eps"], c["rope_theta"], c["tie_word_embeddings"])
            """, [out])
        #expect(config == "llama 64 2 4 2 96 32 128 1e-05 10000 False\n")
    }

    @Test("the tokenizer.json written from GGUF loads in HF tokenizers and applies the merges")
    func tokenizerLoads() throws {
        let folder = TemporaryFolder()
        let out = folder.file("hf") + "/"
        #expect(try run(weightkitBinary, ["convert", Self.tiny, out]).status == 0)
        let tokens = try python("""
            import sys, json
            from tokenizers import Tokenizer
            t = Tokenizer.from_file(sys.argv[1] + "/tokenizer.json")
            e = t.encode("hello world<|im_end|>")
            print(" ".join(e.tokens), e.ids[-1])
            tc = json.load(open(sys.argv[1] + "/tokenizer_config.json"))
            print(tc["bos_token"], tc["eos_token"], tc["add_bos_token"], "im_start" in tc["chat_template"])
            """, [out])
        #expect(tokens == "hello Ġworld <|im_end|> 2\n<|im_start|> <|im_end|> False True\n")
    }

    @Test("HF folder → GGUF: gguf-py reads llama.cpp's permuted Q/K, hyperparameters and tokenizer keys")
    func folderToGGUF() throws {
        let folder = TemporaryFolder()
        let hf = folder.file("hf") + "/"
        #expect(try run(weightkitBinary, ["convert", Self.tiny, hf]).status == 0)
        let back = folder.file("back.gguf")
        let result = try run(weightkitBinary, ["convert", hf, back])
        #expect(result.status == 0, "\(result.stderr)")
        // Back in GGUF layout, every tensor equals the original's dequantized values.
        let checked = try python("""
            import sys, numpy as np, gguf
            a, b = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
            ta = {t.name: t for t in a.tensors}
            for t in b.tensors:
                s = ta[t.name]
                assert list(t.shape) == list(s.shape), t.name
                assert np.array_equal(gguf.quants.dequantize(t.data, t.tensor_type), gguf.quants.dequantize(s.data, s.tensor_type)), t.name
            assert len(b.tensors) == len(a.tensors)
            for k in ["general.architecture", "llama.block_count", "llama.context_length", "llama.embedding_length",
                      "llama.feed_forward_length", "llama.attention.head_count", "llama.attention.head_count_kv",
                      "llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon", "llama.vocab_size",
                      "llama.rope.dimension_count", "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                      "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                      "tokenizer.ggml.add_bos_token", "tokenizer.chat_template"]:
                fa, fb = a.fields[k], b.fields[k]
                assert fa.types == fb.types, (k, fa.types, fb.types)
                assert fa.contents() == fb.contents(), k
            print(len(b.tensors), b.fields["GGUF.version"].contents(), b.alignment)
            """, [Self.tiny, back])
        #expect(checked == "21 3 32\n")
    }

    @Test("--dtype f16 writes 2-D weights as f16 and keeps norms f32")
    func folderToGGUFHalf() throws {
        let folder = TemporaryFolder()
        let hf = folder.file("hf") + "/"
        #expect(try run(weightkitBinary, ["convert", Self.tiny, hf]).status == 0)
        let half = folder.file("half.gguf")
        #expect(try run(weightkitBinary, ["convert", hf, half, "--dtype", "f16"]).status == 0)
        let types = try python("""
            import sys, gguf
            from collections import Counter
            r = gguf.GGUFReader(sys.argv[1])
            print(sorted(Counter(t.tensor_type.name for t in r.tensors).items()), r.fields["general.file_type"].contents())
            """, [half])
        #expect(types == "[('F16', 16), ('F32', 5)] 1\n")
    }

    @Test("GGUF → GGUF dequantizes block types GGUF output cannot hold and keeps metadata types")
    func ggufToGGUF() throws {
        let folder = TemporaryFolder()
        let out = folder.file("copy.gguf")
        let source = fixture("gguf/all_types.gguf")
        let result = try run(weightkitBinary, ["convert", source, out])
        #expect(result.status == 0, "\(result.stderr)")
        let checked = try python("""
            import sys, numpy as np, gguf
            a, b = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
            ta = {t.name: t for t in a.tensors}
            types = []
            for t in b.tensors:
                s = ta[t.name]
                assert np.array_equal(gguf.quants.dequantize(t.data, t.tensor_type).reshape(-1),
                                      gguf.quants.dequantize(s.data, s.tensor_type).reshape(-1)), t.name
                types.append(t.tensor_type.name)
            assert b.fields["test.u64"].types == a.fields["test.u64"].types
            print(" ".join(types))
            """, [source, out])
        #expect(checked == "F32 F32 F16 BF16 Q8_0 Q4_0 Q4_1 F32 F32 F32 F32\n")
    }

    @Test("inspect summarises GGUF arrays, shows the chat template once and bits per weight")
    func inspectTiny() throws {
        let result = try run(weightkitBinary, ["inspect", Self.tiny])
        #expect(result.status == 0)
        #expect(result.stdout.contains("tokenizer.ggml.tokens = [32 strings] \"<|endoftext|>\", \"<|im_start|>\""))
        #expect(result.stdout.contains("q4_1 (5 bits/weight)"))
        #expect(result.stdout.contains("q8_0 (8.5 bits/weight)"))
        #expect(result.stdout.components(separatedBy: "<|im_start|>{{ m['role'] }}").count == 2)
    }

    @Test(
        "real SmolLM2-135M Q4_1: inspect shows 272 tensors and llama hyperparameters; converted weights equal gguf-py's",
        .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
    func smolLM2() throws {
        let path = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"]!
        let inspect = try run(weightkitBinary, ["inspect", path])
        #expect(inspect.status == 0)
        for line in [
            "tensors     272", "q4_1 (5 bits/weight): 210 tensors", "q8_0 (8.5 bits/weight): 1 tensor,", "f32: 61 tensors",
            "llama.block_count = 30", "llama.embedding_length = 576", "llama.attention.head_count = 9",
            "llama.attention.head_count_kv = 3", "llama.vocab_size = 49152", "tokenizer.ggml.tokens = [49,152 strings]",
        ] {
            #expect(inspect.stdout.contains(line), "\(line)")
        }
        let folder = TemporaryFolder()
        let out = folder.file("hf") + "/"
        let convert = try run(weightkitBinary, ["convert", path, out])
        #expect(convert.status == 0, "\(convert.stderr)")
        let checked = try python(Self.checkFolder, [path, out])
        #expect(checked.trimmingCharacters(in: .whitespacesAndNewlines) == "272")
        // Against transformers' own GGUF loading, recorded once by transformers_reference.py.
        let compared = try python("""
            import sys, json, hashlib, numpy as np
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
            ref = json.load(open(sys.argv[1]))
            st = load_file(sys.argv[2] + "/model.safetensors")
            for name, t in st.items():
                r = ref["tensors"][name]
                assert list(t.shape) == r["shape"], name
                assert hashlib.sha256(np.ascontiguousarray(t).astype("<f4").tobytes()).hexdigest() == r["sha256"], name
            tied = ref["tensors"]["lm_head.weight"]["sha256"] == ref["tensors"]["model.embed_tokens.weight"]["sha256"]
            assert tied and json.load(open(sys.argv[2] + "/config.json"))["tie_word_embeddings"]
            tok = Tokenizer.from_file(sys.argv[2] + "/tokenizer.json")
            for text, ids in ref["token_ids"].items():
                assert tok.encode(text, add_special_tokens=False).ids == ids, (text, tok.encode(text).ids, ids)
            print(len(st), len(ref["token_ids"]))
            """, [fixture("gguf/smollm2_transformers.json"), out])
        #expect(compared == "272 5\n")
    }
}
