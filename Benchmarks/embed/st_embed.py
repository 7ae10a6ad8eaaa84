"""sentence-transformers' side of Benchmarks/embed.sh: embeds every line of FILE with MODEL on
the CPU with THREADS torch threads, prints texts/s (model load excluded, tokenization included)."""
import sys, time
import torch
from sentence_transformers import SentenceTransformer

model_dir, path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
texts = [l for l in open(path, encoding="utf-8").read().split("\n") if l]
model = SentenceTransformer(model_dir, device="cpu")
model.encode(texts[:32])  # warm-up
start = time.perf_counter()
model.encode(texts, batch_size=32)
elapsed = time.perf_counter() - start
print(f"{len(texts) / elapsed:.1f}")
