#!/usr/bin/env bash
# Fuzz one WeightKit reader with libFuzzer + AddressSanitizer.
#
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags]
#   TARGET: safetensors npy npy-header npz gguf pack tokenizer config   (or "all")
#
# Builds Fuzz/WeightKitFuzz (added to Package.swift only when WEIGHTKIT_FUZZ=1) in its own
# scratch folder (.build/fuzz), so ordinary `swift build` / `swift test` never see it. Seeds come
# from fixtures/ plus the committed regression inputs in fixtures/fuzz/TARGET/; the growing
# corpus lives in .build/fuzz-corpus/TARGET and crashers are written to .build/fuzz-artifacts/TARGET/.
# Exits non-zero when libFuzzer finds a crash, hang (-timeout) or OOM (-rss_limit_mb), or when
# the harness does not build, so CI (.ci/run: `all 20`) fails on any finding.
# A crasher is fixed, then committed to fixtures/fuzz/TARGET/ (and a test) so it stays fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
target="${1:?usage: scripts/fuzz.sh TARGET SECONDS}"
seconds="${2:-60}"
shift 2 || true

targets=(safetensors npy npy-header npz gguf pack tokenizer config)
if [[ "$target" == all ]]; then
    for t in "${targets[@]}"; do bash "$0" "$t" "$seconds" "$@"; done
    exit 0
fi

seeds() {
    case "$1" in
        safetensors) ls fixtures/safetensors/*.safetensors fixtures/safetensors/malformed/*.safetensors fixtures/models/*/model.safetensors ;;
        npy|npy-header) find fixtures/numpy -name '*.npy' ;;
        npz) find fixtures/numpy -name '*.npz' ;;
        gguf) ls fixtures/gguf/*.gguf ;;
        pack) ls fixtures/pack/*.wkp ;;
        tokenizer) ls fixtures/tokenizer/{added_flags,llama3,sp_bpe,sp_metaspace}/tokenizer.json fixtures/models/llama/tokenizer.json ;;
        config) ls fixtures/models/*/config.json fixtures/tiny-llama/config.json ;;
        *) echo "unknown fuzz target '$1'; expected one of: ${targets[*]} all" >&2; exit 64 ;;
    esac
}

# The harness and every reader instrumented; lld because gold trips over the two mains
# (SwiftPM renames ours, libFuzzer's archive brings its own: either one runs the same callback).
# A failed build stops here (never fuzz a stale binary): CI relies on the exit status.
mkdir -p .build
log=.build/fuzz-build.log
if ! WEIGHTKIT_FUZZ=1 swift build --scratch-path .build/fuzz -c debug --product weightkit-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld -Xlinker --allow-multiple-definition >"$log" 2>&1; then
    grep -E 'error' "$log" >&2 || tail -20 "$log" >&2
    echo "fuzz harness did not build (log: $log)" >&2
    exit 1
fi
grep -E '^Build' "$log" >&2 || true
binary=.build/fuzz/debug/weightkit-fuzz

corpus=".build/fuzz-corpus/$target"
artifacts=".build/fuzz-artifacts/$target/"
mkdir -p "$corpus" "$artifacts" "fixtures/fuzz/$target"
# Seeds are named by their path: several are called tokenizer.json or config.json.
for seed in $(seeds "$target"); do cp -n "$seed" "$corpus/${seed//\//_}" 2>/dev/null || true; done

# -rss_limit_mb: a reader must stay bounded; -timeout: no input may take seconds (a hang).
# SWIFT_BACKTRACE=enable=no: the Swift backtracer reading the stack trips ASan and hides the real trap.
WEIGHTKIT_FUZZ_TARGET="$target" SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$binary" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$artifacts" -print_final_stats=1 "$@" \
    "$corpus" "fixtures/fuzz/$target"
