#!/usr/bin/env bash
# Tokenizer benchmark: WeightKit (release build) vs Hugging Face `tokenizers` (single thread,
# `encode` per line), same text, same run. Results are documented in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
text="${1:-/tmp/weightkit-bench-text.txt}"
[ -f "$text" ] || python3 Benchmarks/tokenizer/make_text.py "$text" 10
swift build -c release --product weightkit >&2
for name in smollm2 minilm sp_bpe llama3; do
    tok="fixtures/tokenizer/$name/tokenizer.json"
    echo "== $name"
    echo -n "weightkit:  "; .build/release/weightkit tokenize "$tok" --file "$text" 2>&1 | tr '\n' ' '; echo
    echo -n "tokenizers: "; TOKENIZERS_PARALLELISM=false python3 Benchmarks/tokenizer/bench_tokenizers.py "$tok" "$text" 2>&1 | tr '\n' ' '; echo
done
