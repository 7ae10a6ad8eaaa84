"""Random-weight models for the family benchmarks (`Benchmarks/runtime.sh --files ...`), made by
transformers and converted by llama.cpp's own converter, so both runtimes read the same GGUF.

  qwen3-moe: Qwen3-MoE, 8 layers, hidden 512, 16 experts of width 512, top-4 — 4 of 16 experts
             active per token; 8 × 16 × 3 × 512 × 512 expert weights (~100 M parameters).
  qwen3-dense: the same model with one dense MLP of width 4 × 512 per layer in place of the experts
             (the active experts' size), for "MoE costs what its active experts cost".

Not committed (hundreds of MB); written to ~/.cache/weightkit/bench-families/. Needs torch,
transformers and llama.cpp's source (Benchmarks/llama-cpp/build.sh).
"""
import os, subprocess, sys
import torch
from transformers import Qwen3Config, Qwen3ForCausalLM, Qwen3MoeConfig, Qwen3MoeForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.expanduser(os.environ.get("WEIGHTKIT_CACHE", "~/.cache/weightkit")) + "/bench-families"
sys.path.insert(0, os.path.join(HERE, "../../fixtures/models"))
from generate import byte_tokenizer  # noqa: E402

COMMON = dict(vocab_size=256, hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=4,
              head_dim=64, max_position_embeddings=1024, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2,
              tie_word_embeddings=False)

def save(model, name):
    folder = os.path.join(OUT, name)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.05)
    model.save_pretrained(folder, safe_serialization=True)
    byte_tokenizer().save(os.path.join(folder, "tokenizer.json"))
    # Without it transformers picks Qwen's tokenizer class, which adds special tokens past the
    # 256-token vocabulary (as in fixtures/models).
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        f.write('{"tokenizer_class": "PreTrainedTokenizerFast"}\n')
    convert = os.path.join(HERE, "../../fixtures/models/convert_llamacpp.py")
    subprocess.run([sys.executable, convert, "--one", folder], check=True)  # writes folder/llamacpp.gguf
    print(os.path.join(folder, "llamacpp.gguf"))

def main():
    torch.manual_seed(0)
    save(Qwen3MoeForCausalLM(Qwen3MoeConfig(**COMMON, num_experts=16, num_experts_per_tok=4, norm_topk_prob=True,
                                             moe_intermediate_size=512, intermediate_size=2048, decoder_sparse_step=1)).eval(), "qwen3-moe")
    save(Qwen3ForCausalLM(Qwen3Config(**COMMON, intermediate_size=2048)).eval(), "qwen3-dense")

if __name__ == "__main__":
    main()
