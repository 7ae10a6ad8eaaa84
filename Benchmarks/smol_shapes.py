# Writes a ~540 MB f32 Hugging Face folder with SmolLM2-135M's shapes (random weights), a config.json
# and a ~1.4 MB BPE tokenizer.json: the model of the pack and start-up benchmarks.
# Usage: python3 Benchmarks/smol_shapes.py OUT_DIR   (needs numpy and safetensors)
import json, sys, numpy as np
from safetensors.numpy import save_file
out, rng = sys.argv[1], np.random.default_rng(0)
dim, hid, layers, vocab, kv = 576, 1536, 30, 49152, 192
t = {"model.embed_tokens.weight": rng.standard_normal((vocab, dim), dtype=np.float32), "model.norm.weight": np.ones(dim, np.float32)}
for i in range(layers):
    p = f"model.layers.{i}."
    for n, s in [("self_attn.q_proj", (dim, dim)), ("self_attn.k_proj", (kv, dim)), ("self_attn.v_proj", (kv, dim)),
                 ("self_attn.o_proj", (dim, dim)), ("mlp.gate_proj", (hid, dim)), ("mlp.up_proj", (hid, dim)), ("mlp.down_proj", (dim, hid))]:
        t[p + n + ".weight"] = rng.standard_normal(s, dtype=np.float32)
    t[p + "input_layernorm.weight"] = np.ones(dim, np.float32)
    t[p + "post_attention_layernorm.weight"] = np.ones(dim, np.float32)
save_file(t, out + "/model.safetensors", metadata={"format": "pt"})
json.dump({"model_type": "llama", "hidden_size": dim, "num_hidden_layers": layers, "vocab_size": vocab}, open(out + "/config.json", "w"))
json.dump({"model": {"type": "BPE", "vocab": {f"t{i}": i for i in range(vocab)}, "merges": [f"t{i} x" for i in range(vocab)]}},
          open(out + "/tokenizer.json", "w"))
