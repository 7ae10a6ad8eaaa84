#!/usr/bin/env python3
"""Times Hugging Face `tokenizers` encoding TEXT line by line, single thread.

    TOKENIZERS_PARALLELISM=false python3 Benchmarks/tokenizer/bench_tokenizers.py tokenizer.json TEXT
"""
import os
import sys
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
from tokenizers import Tokenizer  # noqa: E402

tok = Tokenizer.from_file(sys.argv[1])
tok.no_truncation()
tok.no_padding()
text = open(sys.argv[2], encoding="utf-8").read()
lines = text.split("\n")
start = time.perf_counter()
count = 0
for line in lines:
    count += len(tok.encode(line).ids)
seconds = time.perf_counter() - start
mb = len(text.encode()) / 1e6
print(f"{count} tokens in {len(lines)} lines")
print(f"encoded {mb:.2f} MB in {seconds:.2f} s: {mb / seconds:.2f} MB/s", file=sys.stderr)
