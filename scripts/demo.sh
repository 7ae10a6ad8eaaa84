#!/usr/bin/env bash
# The main job on a default input: build WeightKit (release), then show what it does on the
# bundled tiny Llama-shaped model folder (fixtures/tiny-llama): inspect it, convert it to f16,
# inspect the result with statistics. Pass another file or folder to use it instead.
# Installs missing system packages (apt, when root) first.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ensure_system_packages

input="${1:-fixtures/tiny-llama}"
echo "== building weightkit (release)" >&2
swift build -c release --product weightkit 2>&1 | tail -n 1 >&2
wk=.build/release/weightkit
out=$(mktemp -d "${TMPDIR:-/tmp}/weightkit-demo-XXXXXX")
trap 'rm -rf "$out"' EXIT

echo; echo "== weightkit inspect $input"
"$wk" inspect "$input"
echo; echo "== weightkit convert $input $out/model-f16/ --dtype f16"
"$wk" convert "$input" "$out/model-f16/" --dtype f16
echo; echo "== weightkit inspect $out/model-f16 --stats"
"$wk" inspect "$out/model-f16" --stats | sed -n '1,12p;/^Tensors/,$p' | head -n 30
