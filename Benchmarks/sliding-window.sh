#!/usr/bin/env bash
# What the window-sized cache of sliding-window layers buys: the same model run as described and
# with every layer global, interleaved, one process per run (Benchmarks/SlidingWindow).
#
#   Benchmarks/sliding-window.sh MODEL [PROMPT_TOKENS] [DECODE_TOKENS] [THREADS] [REPETITIONS]
#   Benchmarks/sliding-window.sh ~/.cache/weightkit/bench-families/gemma3-270m-q8_0.gguf 4096 32 2 2
#
# Prints one line per run: layers sliding, KV cache allocated, peak RSS, prefill and decode speed
# (decode after the whole prompt, so each step attends over PROMPT_TOKENS positions).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL=${1:?usage: sliding-window.sh MODEL [PROMPT] [DECODE] [THREADS] [REPETITIONS]}
PROMPT=${2:-4096} DECODE=${3:-32} THREADS=${4:-2} REPS=${5:-2}
PKG="$ROOT/Benchmarks/SlidingWindow"
echo "sliding-window.sh: building (release)" >&2
swift build -c release --package-path "$PKG" 2>&1 | grep -E 'error|Build' | tail -n 3 >&2
BIN="$(swift build -c release --package-path "$PKG" --show-bin-path)/SlidingWindow"
BANDWIDTH="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/bin/bandwidth"
mkdir -p "$(dirname "$BANDWIDTH")"
cc -O2 -mavx2 -pthread "$ROOT/Benchmarks/bandwidth/bandwidth.c" -o "$BANDWIDTH"
for _ in $(seq "$REPS"); do
    echo "bandwidth: $("$BANDWIDTH" 2 20 | tail -n 1)"
    for mode in window global; do
        "$BIN" "$MODEL" "$mode" "$PROMPT" "$DECODE" "$THREADS"
    done
done
