#!/usr/bin/env bash
# Bits per weight vs perplexity and vs KL divergence to the f32 model, for every type and mix
# `weightkit quantize` writes, without and with an importance matrix (issue 20, item 5).
#
#   Benchmarks/quant_quality.sh                      # all files; prints the markdown table
#   Benchmarks/quant_quality.sh --only q4_k_m,q8_0   # some rows (names as in the table, imatrix rows too)
#   Benchmarks/quant_quality.sh --table              # only print the table from the results so far
#
# Input: SmolLM2-135M's f32 GGUF and llama-imatrix's importance matrix for it (the Jargon File
# excerpt, -c 128 --chunks 8), both made by make_kquant_models in scripts/lib/deps.sh, in
# ~/.cache/weightkit/kquant-models (MODELS=… overrides). Each file is made from the f32 GGUF by the
# release build's `weightkit quantize` (F16 and BF16 by `weightkit convert --dtype`), then
#
#   weightkit perplexity FILE --text fixtures/text/jargon-file-4.4.7-excerpt.txt \
#       --context 256 --limit 2048 --reference smollm2-f32.gguf --json
#
# scores it (2,047 tokens, stride 128, the settings of the perplexity table in docs/BENCHMARKS.md)
# and measures, over the same tokens, KL(P_f32 || P_file) and the top-1 agreement. Bits per weight
# is llama.cpp's "BPW": Σ tensor bytes × 8 / Σ tensor elements, over every tensor in the file
# (norms and the token embedding included; SmolLM2 ties its output to the embedding).
# The f32 row is scored without a reference (its KL is 0 and its top-1 agreement 100 % by
# definition). Q2_K_S is made with the importance matrix only (llama-quantize requires one for it).
# Files, quantize reports and per-file JSON go to OUT (default /tmp/quant-quality); a file already scored is kept.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WK=${WEIGHTKIT_BIN:-$ROOT/.build/release/weightkit}
MODELS=${MODELS:-$HOME/.cache/weightkit/kquant-models}
F32=$MODELS/smollm2-f32.gguf
IMATRIX=$MODELS/smollm2.imatrix.gguf
TEXT=$ROOT/fixtures/text/jargon-file-4.4.7-excerpt.txt
OUT=${OUT:-/tmp/quant-quality}
# One thread by default: on a shared machine two threads wait for each other at every product.
THREADS=${THREADS:-1}
# WeightKit's own block policies (q8_0 embedding; `--imatrix` takes a llama-quantize mix only),
# float casts, then llama-quantize's mixes, each also with the importance matrix.
PLAIN="f16 bf16 q8_0 q4_0 q4_1 iq4_nl"
MIXES="q6_k q5_k_m q5_k_s q5_1 q5_0 q4_k_m q4_k_s q3_k_l q3_k_m q3_k_s q2_k q2_k_s"

ONLY="" TABLE_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) ONLY=",$2,"; shift 2 ;;
    --table) TABLE_ONLY=1; shift ;;
    *) echo "usage: $0 [--only a,b] [--table]" >&2; exit 64 ;;
  esac
done
[ -f "$F32" ] && [ -f "$IMATRIX" ] || { echo "missing $F32 or $IMATRIX (make_kquant_models in scripts/lib/deps.sh)" >&2; exit 66; }
[ -x "$WK" ] || { echo "missing $WK (swift build -c release --product weightkit)" >&2; exit 66; }
mkdir -p "$OUT"

score() {  # name file [--reference F32]
  local name=$1 file=$2; shift 2
  [ -s "$OUT/$name.json" ] && return 0
  echo "== $name: perplexity and KL" >&2
  "$WK" perplexity "$file" --text "$TEXT" --context 256 --limit 2048 "$@" --threads "$THREADS" --json -q > "$OUT/$name.json.tmp"
  mv "$OUT/$name.json.tmp" "$OUT/$name.json"
}

make_and_score() {  # name, then the command that writes $OUT/$name.gguf
  local name=$1; shift
  case "$ONLY" in "" | *",$name,"*) ;; *) return 0 ;; esac
  [ -s "$OUT/$name.json" ] && return 0
  if [ ! -s "$OUT/$name.gguf" ]; then
    echo "== $name: $*" >&2
    "$@" -q --force > "$OUT/$name.log"
  fi
  score "$name" "$OUT/$name.gguf" --reference "$F32"
}

make_row() {  # one table row by name
  case $1 in
    f32) case "$ONLY" in "" | *",f32,"*) score f32 "$F32" ;; esac ;;  # KL 0 and 100 % by definition
    f16 | bf16) make_and_score "$1" "$WK" convert "$F32" "$OUT/$1.gguf" --dtype "$1" ;;
    q8_0 | q4_0 | q4_1 | iq4_nl) make_and_score "$1" "$WK" quantize "$F32" "$OUT/$1.gguf" --type "$1" ;;
    *-imatrix) make_and_score "$1" "$WK" quantize "$F32" "$OUT/$1.gguf" --type "${1%-imatrix}" --imatrix "$IMATRIX" ;;
    q2_k_s) ;;  # llama-quantize (and so weightkit) refuses Q2_K_S without an importance matrix
    *) make_and_score "$1" "$WK" quantize "$F32" "$OUT/$1.gguf" --type "$1" ;;
  esac
}

if [ $TABLE_ONLY = 0 ]; then
  # The most used files first, so that an interrupted run has the rows that matter most.
  for name in f32 q8_0 q4_k_m q4_k_m-imatrix q6_k q5_k_m q3_k_m q3_k_m-imatrix q2_k q2_k-imatrix q4_0 \
      q5_k_m-imatrix q4_k_s q4_k_s-imatrix q5_0 q5_0-imatrix q5_1 q5_1-imatrix q6_k-imatrix q5_k_s q5_k_s-imatrix \
      q3_k_s q3_k_s-imatrix q3_k_l q3_k_l-imatrix q2_k_s-imatrix q4_1 iq4_nl f16 bf16; do
    make_row "$name"
  done
fi

python3 - "$OUT" "$F32" $PLAIN $MIXES <<'PY'
import json, os, sys
import gguf

out, f32, names = sys.argv[1], sys.argv[2], sys.argv[3:]

def bpw(path):
    r = gguf.GGUFReader(path)
    nbytes = sum(int(t.n_bytes) for t in r.tensors)
    elements = sum(int(t.n_elements) for t in r.tensors)
    return nbytes * 8 / elements

rows = [("f32", f32)] + [(n, f"{out}/{n}.gguf") for n in names[:6]]
for n in names[6:]:
    rows += [(n, f"{out}/{n}.gguf"), (n + "-imatrix", f"{out}/{n}-imatrix.gguf")]
base = json.load(open(f"{out}/f32.json")) if os.path.exists(f"{out}/f32.json") else None
print("| type | imatrix | file MB | bits/weight | perplexity | vs f32 | mean KL (nats) | 99 % KL | same top |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, path in rows:
    j = f"{out}/{name}.json"
    if not (os.path.exists(j) and os.path.exists(path)):
        continue
    r = json.load(open(j))
    ref = r.get("reference") or {"perplexity": r["perplexity"], "meanKL": 0.0, "meanKLUncertainty": 0.0, "kl99": 0.0, "sameTopFraction": 1.0}
    label = name.replace("-imatrix", "").upper()
    im = "yes" if name.endswith("-imatrix") else "—" if name in ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl") else "no"
    delta = "—" if name == "f32" else f"{(r['perplexity'] / ref['perplexity'] - 1) * 100:+.2f} %"
    print(f"| {label} | {im} | {os.path.getsize(path) / 1e6:.1f} | {bpw(path):.3f} | {r['perplexity']:.4f} | {delta} | "
          f"{ref['meanKL']:.5f} ± {ref['meanKLUncertainty']:.5f} | {ref['kl99']:.4f} | {ref['sameTopFraction'] * 100:.2f} % |")
if base:
    print(f"\nf32: perplexity {base['perplexity']:.4f} over {base['scoredTokens']} tokens (context {base['context']}, stride {base['stride']})")
PY
