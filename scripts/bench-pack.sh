#!/usr/bin/env bash
# Pack benchmarks (issue 5): packing a ~540 MB f32 model folder (SmolLM2-135M's shapes, random
# weights, with config.json and a ~1.8 MB tokenizer.json), validating every CRC, and opening the
# pack and reaching its first tensor's data (Benchmarks/PackOpen, a program doing only that
# through the library) and `inspect` (which also summarises every tensor and the config).
# Release build; files go to a temporary folder removed at the end.
# Usage: scripts/bench-pack.sh   (needs python3 with numpy and safetensors; hyperfine optional)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >&2
# Start-up measurements use fully static binaries (no dynamic loader, no relocations of the
# Swift runtime: half the start-up time); the throughput ones the ordinary release build.
static=(-c release --static-swift-stdlib -Xswiftc -static-executable)
swift build "${static[@]}" --product weightkit --scratch-path .build-static >&2
swift build "${static[@]}" --package-path Benchmarks/PackOpen --scratch-path .build-packopen-static >&2
W="$PWD/.build/release/weightkit"
S="$PWD/.build-static/release/weightkit"
O="$PWD/.build-packopen-static/release/PackOpen"
work=$(mktemp -d /tmp/weightkit-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/smol"
python3 Benchmarks/smol_shapes.py "$work/smol"
cat "$work/smol/model.safetensors" >/dev/null  # warm the page cache: we measure WeightKit, not the disk
size=$(stat -c %s "$work/smol/model.safetensors")
rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]) / 1e9:.2f} GB/s')" "$size" "$1"; }
best() { # best wall time of 5 runs of "$@"
    local b=999
    for _ in 1 2 3 4 5; do
        local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
        b=$(python3 -c "print(min($b, $e - $s))")
    done
    echo "$b"
}
pack_s=$(best "$W" convert "$work/smol/" "$work/smol.wkp" --force)
echo "pack     $(rate "$pack_s") ($pack_s s for $size bytes)"
"$W" validate "$work/smol.wkp" --no-numerics >/dev/null  # the pack must be sound, or the times mean nothing
crc_s=$(best "$W" validate "$work/smol.wkp" --no-numerics)
echo "validate --no-numerics (every CRC, structure, graph) $(rate "$crc_s") ($crc_s s)"
validate_s=$(best "$W" validate "$work/smol.wkp")
echo "validate (also NaN/Inf/zero/magnitude census) $(rate "$validate_s") ($validate_s s)"
if command -v hyperfine >/dev/null; then
    hyperfine -N --warmup 5 -r 100 "$O $work/smol.wkp" "$S inspect $work/smol.wkp" "$S --version" "$W inspect $work/smol.wkp"
else
    echo "open + first tensor, best of 5: $(best "$O" "$work/smol.wkp") s"
fi
