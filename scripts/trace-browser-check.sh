#!/usr/bin/env bash
# Renders a `weightkit trace --html` page in headless Chromium and checks it: every section drew
# its elements and no script error reached the console. Installs Debian's chromium when missing.
#   scripts/trace-browser-check.sh MODEL "PROMPT" [SCREENSHOT.png]
set -euo pipefail
model=${1:?usage: trace-browser-check.sh MODEL PROMPT [SCREENSHOT.png]}
prompt=${2:?prompt}
shot=${3:-}
if ! command -v chromium >/dev/null; then apt-get install -y chromium >/dev/null; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
weightkit=${WEIGHTKIT:-.build/debug/weightkit}
"$weightkit" trace "$model" --prompt "$prompt" --html "$work/trace.html" >/dev/null
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars)
chromium "${flags[@]}" --enable-logging=stderr --v=0 --dump-dom "file://$work/trace.html" >"$work/dom.html" 2>"$work/console.txt" || true
fail=0
if grep -q "Uncaught" "$work/console.txt"; then echo "script error:"; grep "Uncaught" "$work/console.txt"; fail=1; fi
check() {  # check NAME PATTERN MINIMUM
    local n; n=$(grep -o "$2" "$work/dom.html" | wc -l || true)  # no match is a count of 0, not an exit
    if [ "$n" -lt "$3" ]; then echo "FAIL $1: $n × $2 (want ≥ $3)"; fail=1; else echo "ok   $1: $n × $2"; fi
}
check "tokens table" '<td><span class="piece">' 1
check "attention heatmaps" '<canvas' 1
check "norms chart" '<polyline' 3
grep -q "4 · Pooling" "$work/dom.html" || check "next-token bars" 'class="bar"' 1  # an encoder shows its pooled embedding instead
grep -q "4 · Pooling" "$work/dom.html" || check "logit lens rows" '<tr' 4
if [ -n "$shot" ]; then
    chromium "${flags[@]}" --screenshot="$shot" --window-size=1200,1900 "file://$work/trace.html" 2>/dev/null
    echo "screenshot: $shot"
fi
exit $fail
