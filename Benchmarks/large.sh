#!/usr/bin/env bash
# Conversion, quantization and load at the sizes people run: WeightKit against llama.cpp's tools,
# same machine, same run, interleaved, with `cp` of the same input as the floor the machine's page
# cache sets for writing that many bytes.
#
#   Benchmarks/large.sh                  # 1b (TinyLlama-1.1B's shape, 2.3 GB bf16) and 3b (6.2 GB)
#   Benchmarks/large.sh --sizes 1b --repetitions 3
#   Benchmarks/large.sh --no-load        # conversion and quantization only
#
# For each size: the random-weight bf16 folder (Benchmarks/large_models.py, made once under
# ~/.cache/weightkit/large), then, each command timed with its peak anonymous memory and peak
# resident set (Benchmarks/peak_anon.py):
#   cp of the folder's shards                      (the write floor)
#   weightkit convert FOLDER → f16 GGUF, → f16 safetensors, → .wkp   (1b also → f32 GGUF)
#   weightkit quantize f16 GGUF → q8_0 / q4_0 / q4_1 (1b also q4_k_m), against llama-quantize on the same
#   input (tensors compared: they must be identical; for q8_0/q4_0/q4_1 llama-quantize --pure with
#   q8_0 embedding and output, what our default --embeddings q8_0 writes)
#   load to first token: `weightkit bench` (its load time) and llama-simple -n 1 (its load time)
# Decode and prefill of the same files: Benchmarks/runtime.sh --files NAME=PATH,... (printed at
# the end). The 2-thread read bandwidth is measured before and after.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}"
SIZES=1b,3b REPETITIONS=2 THREADS=2 LOAD=1
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES="$2"; shift 2 ;;
        --repetitions) REPETITIONS="$2"; shift 2 ;;
        --no-load) LOAD=0; shift ;;
        -h|--help) usage 0 ;;
        *) echo "large.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done
log() { echo "large.sh: $*" >&2; }

LLAMA=$(LLAMA_CPP_ISA=native "$ROOT/Benchmarks/llama-cpp/build.sh" | tail -n 1)
BANDWIDTH="$CACHE/bin/bandwidth"
mkdir -p "$CACHE/bin"
[ -x "$BANDWIDTH" ] || cc -O2 -mavx2 -pthread "$ROOT/Benchmarks/bandwidth/bandwidth.c" -o "$BANDWIDTH"
(cd "$ROOT" && swift build -c release --product weightkit 2>&1 | grep -E 'error|Build' | tail -n 2 >&2)
WK="$(cd "$ROOT" && swift build -c release --show-bin-path)/weightkit"
OUT="${TMPDIR:-/tmp}/weightkit-large"
mkdir -p "$OUT"

# time NAME CMD...: one line "NAME: seconds, peak RssAnon, peak RSS" (after removing outputs).
timed() {
    local name="$1"; shift
    printf '%-40s %s\n' "$name" "$(python3 "$ROOT/Benchmarks/peak_anon.py" "$@")"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), weightkit $(git -C "$ROOT" rev-parse --short HEAD)"
echo "bandwidth before: $("$BANDWIDTH" 2 20)"
FILES=
for size in ${SIZES//,/ }; do
    folder="$CACHE/large/tiny-$size"
    [ -f "$folder/config.json" ] || python3 "$ROOT/Benchmarks/large_models.py" "$size" "$folder" >&2
    input=$(du -cb "$folder"/*.safetensors | tail -n 1 | cut -f1)
    echo "## $size: $(python3 -c "print(round($input / 1e9, 2))") GB of bf16 safetensors"
    cat "$folder"/*.safetensors > /dev/null  # warm page cache
    for r in $(seq "$REPETITIONS"); do
        rm -rf "$OUT/cp" && mkdir -p "$OUT/cp"
        timed "cp (floor), run $r" cp "$folder"/*.safetensors "$OUT/cp/"
        rm -rf "$OUT/cp"
        rm -f "$OUT/$size-f16.gguf"
        timed "convert → f16 GGUF, run $r" "$WK" convert "$folder/" "$OUT/$size-f16.gguf" --dtype f16 -q
        rm -rf "$OUT/$size-f16-st"
        timed "convert → f16 safetensors, run $r" "$WK" convert "$folder/" "$OUT/$size-f16-st/" --dtype f16 -q
        rm -rf "$OUT/$size-f16-st" "$OUT/$size.wkp"
        timed "convert → .wkp (bf16), run $r" "$WK" convert "$folder/" "$OUT/$size.wkp" -q
        rm -f "$OUT/$size.wkp"
        if [ "$size" = 1b ]; then
            rm -f "$OUT/$size-f32.gguf"
            timed "convert → f32 GGUF, run $r" "$WK" convert "$folder/" "$OUT/$size-f32.gguf" --dtype f32 -q
        fi
        for type in q8_0 q4_0 q4_1 ${size/3b/}; do
            [ "$type" = 1b ] && type=q4_k_m
            rm -f "$OUT/$size-$type.gguf" "$OUT/$size-$type-llama.gguf"
            timed "quantize f16 → $type, run $r" "$WK" quantize "$OUT/$size-f16.gguf" "$OUT/$size-$type.gguf" --type "$type" -q
            # Our q8_0/q4_0/q4_1 keep the embedding and output matrices at Q8_0 (--embeddings'
            # default) and quantize every other matrix: llama-quantize --pure with those two at q8_0.
            same=(--pure --output-tensor-type q8_0 --token-embedding-type q8_0)
            [ "$type" = q4_k_m ] && same=()
            timed "llama-quantize f16 → $type, run $r" "$LLAMA/llama-quantize" "${same[@]}" "$OUT/$size-f16.gguf" "$OUT/$size-$type-llama.gguf" "${type^^}" "$THREADS"
            cmp -s <(python3 "$ROOT/Benchmarks/gguf_tensor_digest.py" "$OUT/$size-$type.gguf") \
                   <(python3 "$ROOT/Benchmarks/gguf_tensor_digest.py" "$OUT/$size-$type-llama.gguf") \
                || echo "  !! $size $type: tensors differ from llama-quantize's"
            rm -f "$OUT/$size-$type-llama.gguf"
        done
    done
    rm -f "$OUT/$size-bf16.gguf"
    "$LLAMA/llama-quantize" "$OUT/$size-f16.gguf" "$OUT/$size-bf16.gguf" BF16 "$THREADS" > /dev/null 2>&1
    [ "$LOAD" = 1 ] || continue
    for type in f16 bf16 q8_0 q4_0 q4_1 ${size/3b/}; do
        [ "$type" = 1b ] && type=f32
        [ -f "$OUT/$size-$type.gguf" ] || continue
        wk_load=$("$WK" bench "$OUT/$size-$type.gguf" --threads "$THREADS" --repetitions 1 --prompt 8 --generate 4 --json \
            | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f s, peak RSS %.0f MiB" % (d["loadSeconds"], d["peakResidentBytes"] / 2**20))')
        llama_out=$(/usr/bin/time -f 'maxrss %M' "$LLAMA/llama-simple" -m "$OUT/$size-$type.gguf" -n 1 "Hello" 2>&1 || true)
        llama_load="$(grep -m1 -o 'load time = *[0-9.]* ms' <<< "$llama_out"), peak RSS $(($(grep -o 'maxrss [0-9]*' <<< "$llama_out" | cut -d' ' -f2) / 1024)) MiB"
        echo "load $size-$type: weightkit ${wk_load}; llama-simple ${llama_load:-?}"
        FILES="${FILES:+$FILES,}$size-$type=$OUT/$size-$type.gguf"
    done
done
echo "bandwidth after: $("$BANDWIDTH" 2 20)"
echo "decode/prefill: Benchmarks/runtime.sh --llama native --repetitions 2 --files $FILES"
