#!/usr/bin/env bash
# Does llama.cpp load and run the GGUF files WeightKit writes? For each file made by
# Benchmarks/runtime.sh (f32, f16, q8_0, q4_0 written by WeightKit; q4_1 the original), prints the
# greedy 8-token continuation of a prompt by llama.cpp's llama-simple and by `weightkit generate`,
# then checks that our Q8_0/Q4_0 files hold the same bytes as llama-quantize's from our F32 file.
#
#   Benchmarks/llama-cpp/generate.sh ["The capital of France is"]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
source "$ROOT/scripts/lib/deps.sh"
ensure_python_packages numpy gguf
PROMPT="${1:-The capital of France is}"
LLAMA_BIN=$("$ROOT/Benchmarks/llama-cpp/build.sh" | tail -n 1)
MODELS=$("$ROOT/Benchmarks/runtime.sh" --models-only | tail -n 1)
WEIGHTKIT="$(cd "$ROOT" && swift build -c release --show-bin-path)/weightkit"

status=0
for name in f32 f16 q8_0 q4_0 q4_1; do
    file="$MODELS/smollm2-$name.gguf"
    if llama=$("$LLAMA_BIN/llama-simple" -m "$file" -n 8 "$PROMPT" 2> "/tmp/llama-simple-$name.log"); then
        llama=${llama#"$PROMPT"}
    else
        llama="FAILED (see /tmp/llama-simple-$name.log)"; status=1
    fi
    ours=$("$WEIGHTKIT" generate "$file" --prompt "$PROMPT" -n 8 --temperature 0 -q)
    printf '%-5s llama.cpp: "%s"\n      WeightKit: "%s"\n' "$name" "${llama//$'\n'/\\n}" "${ours//$'\n'/\\n}"
done

# llama-quantize --pure (every matrix the one type; embeddings q8_0 as our default) vs our files.
tmp=$(mktemp -d)
for name in q8_0 q4_0; do
    "$LLAMA_BIN/llama-quantize" --pure --token-embedding-type q8_0 --output-tensor-type q8_0 \
        "$MODELS/smollm2-f32.gguf" "$tmp/$name.gguf" "${name^^}" > "$tmp/$name.log" 2>&1
    python3 - "$MODELS/smollm2-$name.gguf" "$tmp/$name.gguf" "$name" <<'PY' || status=1
import sys, numpy as np, gguf
ours, theirs = (gguf.GGUFReader(p) for p in sys.argv[1:3])
theirs_by_name = {t.name: t for t in theirs.tensors}
def raw(t): return np.asarray(t.data).view(np.uint8).ravel()
same = [t.name for t in ours.tensors if t.name in theirs_by_name
        and t.tensor_type == theirs_by_name[t.name].tensor_type
        and np.array_equal(raw(t), raw(theirs_by_name[t.name]))]
differ = len(theirs.tensors) - len(same)
print(f"{sys.argv[3]}: {len(same)} of {len(theirs.tensors)} tensors byte-identical to llama-quantize --pure"
      + (f", {differ} differ" if differ else ""))
sys.exit(1 if differ or len(ours.tensors) != len(theirs.tensors) else 0)
PY
done
rm -rf "$tmp"
exit "$status"
