#!/bin/bash
# run.sh: runs every benchmark program; each prints its table and appends its
# figures to $BUILD/bench.json (one JSON object per line), made anew here.
set -euo pipefail
BUILD=${BUILD:-build}
out=$BUILD/bench.json
: >"$out"
for bench in "$BUILD"/tests/bench/bench_*; do
	[ -x "$bench" ] || continue
	echo "== $(basename "$bench")"
	"$bench" --json "$out"
done
echo "figures in $out"
