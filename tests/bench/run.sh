#!/bin/bash
# run.sh: runs every benchmark, the programs ($BUILD/tests/bench/bench_*,
# from tests/bench/bench_*.c) and the scripts (tests/bench/bench_*.sh and
# appliances/*/tests/bench/bench_*.sh, for
# what needs VMs); each prints its table and appends its figures to
# $BUILD/bench.json (one JSON object per line), made anew here.
set -euo pipefail
BUILD=${BUILD:-build}
out=$BUILD/bench.json
: >"$out"
for bench in "$BUILD"/tests/bench/bench_*; do
	[ -x "$bench" ] || continue
	echo "== $(basename "$bench")"
	"$bench" --json "$out"
done
for bench in tests/bench/bench_*.sh appliances/*/tests/bench/bench_*.sh; do
	[ -f "$bench" ] || continue
	echo "== $(basename "$bench" .sh)"
	BUILD=$BUILD bash "$bench" --json "$out"
done
echo "figures in $out"
