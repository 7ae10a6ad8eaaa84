#!/usr/bin/env bash
# Start-up of the `weightkit` command: `--version` and `inspect` of a 538 MB f32 safetensors file
# (SmolLM2-135M's shapes, Benchmarks/smol_shapes.py), whole process, for the ordinary release build
# (Swift runtime as shared libraries, .build/release) and the fully static one that README and
# scripts/demo.sh build (.build-static/release). Release builds; the file is read once first so
# the page cache holds it. Results in docs/BENCHMARKS.md ("Start-up").
# Usage: bash Benchmarks/startup.sh   (needs hyperfine, python3 with numpy and safetensors)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
swift build -c release --product weightkit >&2
swift build -c release --product weightkit --static-swift-stdlib -Xswiftc -static-executable --scratch-path .build-static >&2
dynamic="$PWD/.build/release/weightkit"
static="$PWD/.build-static/release/weightkit"
work=$(mktemp -d /tmp/weightkit-startup-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 Benchmarks/smol_shapes.py "$work"
file="$work/model.safetensors"
cat "$file" >/dev/null
hyperfine -N --warmup 10 -r 200 /bin/true \
    "$static --version" "$dynamic --version" "$static inspect $file" "$dynamic inspect $file"
