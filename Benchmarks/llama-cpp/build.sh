#!/usr/bin/env bash
# Builds llama.cpp for this CPU from the llama-cpp-python source distribution on PyPI (it vendors
# llama.cpp under vendor/llama.cpp). Idempotent: a second run only prints where the binaries are.
#
#   Benchmarks/llama-cpp/build.sh                                   # the pinned version below
#   LLAMA_CPP_PYTHON_VERSION=latest Benchmarks/llama-cpp/build.sh   # or any version on PyPI
#   LLAMA_CPP_ISA=avx2 Benchmarks/llama-cpp/build.sh                # AVX2/FMA/F16C only, no AVX-512
#
# LLAMA_CPP_ISA=native (the default) compiles with -march=native: every instruction set this CPU
# has. The machines these benchmarks ran on report AVX-512 (F, BW, VL, VNNI, BF16) although the
# project brief describes AVX2-only Zen 3 cores, and WeightKit's kernels use AVX2/FMA/F16C only;
# the avx2 build (in build-avx2) compares like with like.
#
# Prints, on its last line, the folder holding llama-bench, llama-simple, llama-quantize,
# llama-gguf-split, llama-imatrix and llama-perplexity (its --kl-divergence, compared in docs/BENCHMARKS.md).
# The source lands in ~/.cache/weightkit/llama.cpp-src-VERSION, the build in .../build.
set -euo pipefail

CACHE="${WEIGHTKIT_CACHE:-$HOME/.cache/weightkit}"
# 0.3.36 vendors llama.cpp commit 0c1e570 (Oct 2026), the one the benchmarks were measured with.
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
[ "$VERSION" = latest ] && VERSION=""
TARGETS=(llama-bench llama-simple llama-quantize llama-gguf-split llama-imatrix llama-perplexity)  # not llama-cli: it links the whole server
JOBS="${JOBS:-2}"
ISA="${LLAMA_CPP_ISA:-native}"
case "$ISA" in
    native) BUILD_DIR=build; ISA_FLAGS=(-DGGML_NATIVE=ON) ;;
    avx2) BUILD_DIR=build-avx2
          ISA_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
                     -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AVX_VNNI=OFF) ;;
    *) echo "build.sh: LLAMA_CPP_ISA is native or avx2, not $ISA" >&2; exit 2 ;;
esac

log() { echo "build.sh: $*" >&2; }

# cmake (and a C++ compiler) from Debian when missing; apt-get update only if the install needs it.
ensure_tools() {
    local missing=()
    command -v cmake >/dev/null 2>&1 || missing+=(cmake)
    command -v g++ >/dev/null 2>&1 || missing+=(g++)
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || { log "missing ${missing[*]} (run: sudo apt-get install ${missing[*]})"; exit 1; }
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }; } >/dev/null
}

# Downloads the sdist (no wheels: we want the C++ source) and unpacks it once. Sets SRC and VERSION.
fetch_source() {
    if [ -n "$VERSION" ] && [ -f "$CACHE/llama.cpp-src-$VERSION/.complete" ]; then
        SRC="$CACHE/llama.cpp-src-$VERSION"; return 0
    fi
    local tmp; tmp=$(mktemp -d)
    local spec="llama-cpp-python${VERSION:+==$VERSION}"
    log "downloading the $spec source distribution from PyPI"
    # --no-binary only for llama-cpp-python: pip still prepares the sdist's metadata, and with
    # ":all:" it would compile its build requirements (ninja, cmake) from source first.
    python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
        -d "$tmp" "$spec" >&2
    local archive; archive=$(ls "$tmp"/llama_cpp_python-*.tar.gz | head -n 1)
    VERSION=$(basename "$archive" .tar.gz | sed 's/^llama_cpp_python-//')
    SRC="$CACHE/llama.cpp-src-$VERSION"
    rm -rf "$SRC" && mkdir -p "$SRC"
    tar -xzf "$archive" -C "$SRC" --strip-components=1
    rm -rf "$tmp"
    [ -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ] || { log "no vendor/llama.cpp in $archive"; exit 1; }
    touch "$SRC/.complete"
}

built() {
    local t
    for t in "${TARGETS[@]}"; do [ -x "$SRC/$BUILD_DIR/bin/$t" ] || return 1; done
}

ensure_tools
fetch_source
log "llama-cpp-python $VERSION (vendored llama.cpp in $SRC/vendor/llama.cpp), instruction sets: $ISA"
if built; then
    log "already built"
else
    start=$(date +%s)
    # No CURL (no model downloads), no server, no tests/examples beyond the targets asked for below.
    cmake -S "$SRC/vendor/llama.cpp" -B "$SRC/$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
        "${ISA_FLAGS[@]}" -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_EXAMPLES=ON -DLLAMA_BUILD_TOOLS=ON >&2
    cmake --build "$SRC/$BUILD_DIR" --config Release -j "$JOBS" --target "${TARGETS[@]}" >&2
    log "built in $(( $(date +%s) - start )) s"
fi
echo "$SRC/$BUILD_DIR/bin"
