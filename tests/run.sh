#!/bin/bash
# run.sh: runs every test and ends with one line "N passed, N failed, N skipped".
#
#   unit tests         $BUILD/tests/unit/test_*: cmocka programs; each test
#                      case counts once (read from cmocka's TAP output)
#   integration tests  tests/integration/*.sh and appliances/*/tests/integration/*.sh: exit 0 passes, 77 skips (the
#                      last line printed says why), anything else fails; each
#                      is killed after $TEST_TIMEOUT seconds (default 600), or
#                      its own "# test-timeout: SECONDS" line when longer
#
# Environment: BUILD (default build), TESTS (globs separated by '|' or spaces
# to run a subset, e.g. TESTS='*shm*|*rpc*'), TEST_TIMEOUT. Logs go to
# $BUILD/test-logs/.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export BUILD=${BUILD:-build}
export TOP=$top
timeout_s=${TEST_TIMEOUT:-600}
IFS='| ' read -r -a patterns <<<"${TESTS:-*}"
wanted() { # NAME: does it match one of the patterns?
	local p
	for p in "${patterns[@]}"; do
		# shellcheck disable=SC2254
		case $1 in $p) return 0 ;; esac
	done
	return 1
}
logs=$BUILD/test-logs
mkdir -p "$logs"

passed=0 failed=0 skipped=0
failures=()

note() { printf '%-6s %s\n' "$1" "$2"; }

run_unit() { # BINARY
	local bin=$1 name log rc
	name=$(basename "$bin")
	log=$logs/$name.log
	CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "$timeout_s" "$bin" >"$log" 2>&1
	rc=$?
	local ok nok skip
	ok=$(grep -c '^ok ' "$log")
	# cmocka reports a skipped case as "not ok N # SKIP".
	skip=$(grep -c '^not ok .*# SKIP' "$log")
	nok=$(( $(grep -c '^not ok ' "$log") - skip ))
	passed=$((passed + ok))
	failed=$((failed + nok))
	skipped=$((skipped + skip))
	grep '^not ok ' "$log" | grep -v '# SKIP' | while read -r line; do note FAIL "$name: ${line#not ok }"; done
	grep '^not ok .*# SKIP' "$log" | while read -r line; do note SKIP "$name: ${line#not ok }"; done
	if [ "$nok" -gt 0 ]; then failures+=("$name"); fi
	# A crash or timeout that cmocka could not report still fails.
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$name")
		note FAIL "$name: exited with status $rc (see $log)"
		tail -n 20 "$log" | sed 's/^/       /'
	elif [ "$nok" -gt 0 ]; then
		grep -v '^ok ' "$log" | tail -n 30 | sed 's/^/       /'
	else
		note PASS "$name ($ok cases)"
	fi
}

run_integration() { # SCRIPT
	local script=$1 name log rc start limit=$timeout_s own
	name=$(basename "$script" .sh)
	log=$logs/$name.log
	# A script that builds something big the first time (a kernel) says
	# how long it may take in a "# test-timeout: SECONDS" line.
	own=$(sed -n 's/^# test-timeout: \([0-9][0-9]*\)$/\1/p' "$script" | head -n 1)
	[ -n "$own" ] && [ "$own" -gt "$limit" ] && limit=$own
	start=$(date +%s)
	timeout -k 10 "$limit" bash "$script" >"$log" 2>&1 </dev/null
	rc=$?
	local took=$(( $(date +%s) - start ))
	case $rc in
	0) passed=$((passed + 1)); note PASS "$name (${took}s)" ;;
	77) skipped=$((skipped + 1)); note SKIP "$name: $(tail -n 1 "$log")" ;;
	*)
		failed=$((failed + 1)); failures+=("$name")
		[ $rc -eq 124 ] && note FAIL "$name: timed out after ${limit}s" || note FAIL "$name: exit $rc (${took}s)"
		tail -n 40 "$log" | sed 's/^/       /'
		;;
	esac
}

for bin in "$BUILD"/tests/unit/test_*; do
	[ -x "$bin" ] || continue
	wanted "$(basename "$bin")" && run_unit "$bin"
done
for script in tests/integration/*.sh appliances/*/tests/integration/*.sh; do
	[ -f "$script" ] || continue
	wanted "$(basename "$script" .sh)" && run_integration "$script"
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logs)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
