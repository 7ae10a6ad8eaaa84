# Writes a random-weight Llama-architecture Hugging Face folder at the sizes people run, in bf16
# safetensors shards as transformers saves them (with model.safetensors.index.json), a config.json
# and SmolLM2's tokenizer (fixtures/tokenizer/smollm2): the large models of the runtime and
# conversion benchmarks. Weights are N(0, 0.02²) as transformers initialises Llama, norms 1, so
# the activations stay finite through every layer.
#
#   1b: TinyLlama-1.1B's shape — hidden 2048, 22 layers, 32 heads, 4 KV heads, MLP 5632 (2.3 GB)
#   3b: Llama-3.2-3B's shape without rope scaling — hidden 3072, 28 layers, 24 heads, 8 KV heads,
#       MLP 8192 (6.4 GB)
# Both with SmolLM2's 49152-token vocabulary and untied embeddings.
#
# Usage: python3 Benchmarks/large_models.py {1b|3b} OUT_DIR   (needs numpy; no torch)
import json, os, shutil, struct, sys
import numpy as np

SHAPES = {
    "1b": dict(hidden=2048, layers=22, heads=32, kv_heads=4, mlp=5632),
    "3b": dict(hidden=3072, layers=28, heads=24, kv_heads=8, mlp=8192),
}
VOCAB = 49152
SHARD_BYTES = 1 << 30


def tensors(s):
    """(name, shape, is_norm) in the order transformers writes them."""
    h, d = s["hidden"], s["hidden"] // s["heads"]
    yield "model.embed_tokens.weight", (VOCAB, h), False
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (h,), True
        yield p + "mlp.down_proj.weight", (h, s["mlp"]), False
        yield p + "mlp.gate_proj.weight", (s["mlp"], h), False
        yield p + "mlp.up_proj.weight", (s["mlp"], h), False
        yield p + "post_attention_layernorm.weight", (h,), True
        yield p + "self_attn.k_proj.weight", (s["kv_heads"] * d, h), False
        yield p + "self_attn.o_proj.weight", (h, s["heads"] * d), False
        yield p + "self_attn.q_proj.weight", (s["heads"] * d, h), False
        yield p + "self_attn.v_proj.weight", (s["kv_heads"] * d, h), False
    yield "model.norm.weight", (h,), True
    yield "lm_head.weight", (VOCAB, h), False


def bf16(rng, shape, is_norm):
    """bf16 bits (round to nearest even) of N(0, 0.02²) values, or of ones for a norm."""
    if is_norm:
        return np.full(shape, 0x3F80, dtype=np.uint16)
    out = np.empty(shape, dtype=np.uint16).reshape(-1)
    flat = out.size
    for start in range(0, flat, 1 << 24):
        x = rng.standard_normal(min(1 << 24, flat - start), dtype=np.float32) * np.float32(0.02)
        bits = x.view(np.uint32)
        bits = bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))
        out[start:start + x.size] = (bits >> np.uint32(16)).astype(np.uint16)
    return out.reshape(shape)


def write_shard(path, items):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, array in items:
        header[name] = {"dtype": "BF16", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, array in items:
            f.write(array.tobytes())


def main():
    size, out = sys.argv[1], sys.argv[2]
    s = SHAPES[size]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    shapes = list(tensors(s))
    total = sum(2 * int(np.prod(shape)) for _, shape, _ in shapes)
    shard_count = -(-total // SHARD_BYTES)
    names, shard, shard_bytes, index = [], [], 0, {}
    number = 1

    def flush():
        nonlocal shard, shard_bytes, number
        file = f"model-{number:05d}-of-{shard_count:05d}.safetensors"
        write_shard(os.path.join(out, file), shard)
        for name, _ in shard:
            index[name] = file
        shard, shard_bytes, number = [], 0, number + 1

    for name, shape, is_norm in shapes:
        array = bf16(rng, shape, is_norm)
        if shard and shard_bytes + array.nbytes > SHARD_BYTES and number < shard_count:
            flush()
        shard.append((name, array))
        shard_bytes += array.nbytes
    flush()
    if number - 1 != shard_count:  # fewer shards than planned: rename to the real count
        for i in range(1, number):
            old = os.path.join(out, f"model-{i:05d}-of-{shard_count:05d}.safetensors")
            os.rename(old, os.path.join(out, f"model-{i:05d}-of-{number - 1:05d}.safetensors"))
        index = {k: v.replace(f"-of-{shard_count:05d}", f"-of-{number - 1:05d}") for k, v in index.items()}
    json.dump({"metadata": {"total_size": total}, "weight_map": index}, open(os.path.join(out, "model.safetensors.index.json"), "w"), indent=2)
    json.dump({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s["hidden"],
        "intermediate_size": s["mlp"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
        "num_key_value_heads": s["kv_heads"], "vocab_size": VOCAB, "max_position_embeddings": 2048,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu", "tie_word_embeddings": False,
        "attention_bias": False, "mlp_bias": False, "torch_dtype": "bfloat16", "bos_token_id": 1, "eos_token_id": 2,
    }, open(os.path.join(out, "config.json"), "w"), indent=2)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copy(os.path.join(root, "fixtures/tokenizer/smollm2/tokenizer.json"), out)
    print(f"{out}: {size}, {total / 1e9:.2f} GB of bf16 in {number - 1} shards")


if __name__ == "__main__":
    main()
