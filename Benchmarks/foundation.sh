#!/usr/bin/env bash
# Benchmarks for the foundation issue (inspect and convert of safetensors), release build.
# Writes a 1 GB f32 safetensors file (128 tensors of 1024×2048) under $BENCH_DIR (default /tmp),
# then compares WeightKit with Python safetensors + numpy in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ensure_system_packages
ensure_python_packages numpy safetensors
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
dir=${BENCH_DIR:-/tmp}
big="$dir/weightkit-bench-1g.safetensors"
swift build -c release --product weightkit >/dev/null
wk=.build/release/weightkit
if [ ! -f "$big" ]; then
    python3 - "$big" <<'PY'
import sys, numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
save_file({f"model.layers.{i}.w{j}": rng.standard_normal((1024, 2048), dtype=np.float32)
           for i in range(32) for j in range(4)}, sys.argv[1])
PY
fi
ls -l "$big"
cat "$big" > /dev/null  # warm the page cache for both sides

echo "== inspect (headers only), whole process"
hyperfine -N -w 5 -r 50 "$wk inspect $big" \
    "python3 -c \"from safetensors import safe_open; f = safe_open('$big', 'np'); print(list(f.keys()))\""

echo "== convert f32 -> f16 (wall time, peak anonymous memory; the mapped input is file-backed)"
for i in 1 2 3; do python3 Benchmarks/peak_anon.py $wk convert "$big" "$dir/wk-out-f16.safetensors" --dtype f16 --force; done
echo "-- Python safetensors + numpy"
for i in 1 2 3; do python3 Benchmarks/peak_anon.py python3 -c "
from safetensors.numpy import load_file, save_file
import numpy as np
d = load_file('$big'); save_file({k: v.astype(np.float16) for k, v in d.items()}, '$dir/py-out-f16.safetensors')"; done
python3 -c "
from safetensors.numpy import load_file
a = load_file('$dir/wk-out-f16.safetensors'); b = load_file('$dir/py-out-f16.safetensors')
assert a.keys() == b.keys() and all((a[k].view('u2') == b[k].view('u2')).all() for k in a)
print('outputs identical bit for bit')"
rm -f "$dir/wk-out-f16.safetensors" "$dir/py-out-f16.safetensors"
