#!/usr/bin/env bash
# Tokenizer benchmark: WeightKit (release build) vs Hugging Face `tokenizers` (single thread,
# `encode` per line), same text, same run. Results are documented in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
text="${1:-/tmp/weightkit-bench-text.txt}"
[ -f "$text" ] || python3 Benchmarks/tokenizer/make_text.py "$text" 10
swift build -c release --product weightkit >&2
for name in smollm2 minilm sp_bpe llama3 unigram precompiled wordlevel; do
    tok="fixtures/tokenizer/$name/tokenizer.json"
    echo "== $name"
    echo -n "weightkit:  "; .build/release/weightkit tokenize "$tok" --file "$text" 2>&1 | tr '\n' ' '; echo
    echo -n "tokenizers: "; TOKENIZERS_PARALLELISM=false python3 Benchmarks/tokenizer/bench_tokenizers.py "$tok" "$text" 2>&1 | tr '\n' ' '; echo
done

# The GGUF vocabularies of llama.cpp's tokenizer suite whose pre-tokenizers run Split regexes
# without a hand-written scanner (or Gemma 4's whole-text BPE): WeightKit reads the .gguf, and
# `tokenizers` runs the same stages rebuilt by fixtures/tokenizer/gguf_pre/check_llama_vocabs.py.
# No special tokens on either side, so the token totals must be equal.
. scripts/lib/deps.sh
if vocabs=$(fetch_llama_cpp_vocabs); then
    rebuilt=$(mktemp -d)
    python3 fixtures/tokenizer/gguf_pre/check_llama_vocabs.py "$vocabs" --write "$rebuilt" >&2
    for name in mpt command-r falcon qwen35 deepseek-llm deepseek-coder gemma-4; do
        echo "== $name"
        echo -n "weightkit:  "; .build/release/weightkit tokenize "$vocabs/ggml-vocab-$name.gguf" --no-special --file "$text" 2>&1 | tr '\n' ' '; echo
        echo -n "tokenizers: "; TOKENIZERS_PARALLELISM=false python3 Benchmarks/tokenizer/bench_tokenizers.py "$rebuilt/$name/tokenizer.json" "$text" 2>&1 | tr '\n' ' '; echo
    done
    rm -rf "$rebuilt"
fi
