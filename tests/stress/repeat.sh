#!/bin/bash
# repeat.sh TEST [N]: runs one integration test N times in a row (default
# 200) with no retry, and prints how many passed; the logs of the failures
# are kept in $BUILD/stress/. Not part of `make test`: it is how a flake is
# counted (a boot test must pass every one of its runs).
#   tests/stress/repeat.sh serial_guest 200
set -u
cd "$(dirname "$0")/../.."
name=${1:?usage: repeat.sh TEST [N]}
n=${2:-200}
export BUILD=${BUILD:-build}
script=$(ls tests/integration/"$name".sh appliances/*/tests/integration/"$name".sh 2>/dev/null | head -1)
[ -n "$script" ] || { echo "repeat.sh: no integration test $name" >&2; exit 2; }
mkdir -p "$BUILD/stress"
pass=0 fail=0
for i in $(seq "$n"); do
	t0=$(date +%s)
	if TOP=$PWD timeout -k 10 600 bash "$script" >"$BUILD/stress/$name.$i.log" 2>&1; then
		pass=$((pass + 1))
		rm -f "$BUILD/stress/$name.$i.log"
	else
		fail=$((fail + 1))
		echo "run $i: FAIL ($(tail -n 1 "$BUILD/stress/$name.$i.log"))"
	fi
	echo "run $i/$n: $(( $(date +%s) - t0 )) s, $pass passed, $fail failed"
done
echo "$name: $pass passed, $fail failed in $n runs"
[ "$fail" -eq 0 ]
