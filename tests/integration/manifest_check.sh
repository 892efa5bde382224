#!/bin/bash
# manifest_check.sh - `vapp manifest check` against expected-output files:
#   tests/manifest/bad/NN-what.yaml   one mistake each; NN-what.expected is
#                                     the exact standard error, exit status 1
#   tests/manifest/good/NAME.yaml     NAME.expected is the exact --print
#                                     output, exit status 0, nothing on stderr;
#                                     NAME.args holds extra arguments (-D ...)
#   examples/hello/manifest.yaml      the hello appliance, ${BUILD} given
# Run from the top of the tree with relative paths, so that no expected file
# depends on where the tree is checked out. Every difference is printed.
# TEST_UPDATE=1 rewrites the expected files (then read the diff before
# committing them).
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
vapp=$BUILD/bin/vapp
[ -x "$vapp" ] || { echo "FAIL: build $vapp first (make)"; exit 1; }
out=$(mktemp -d /tmp/vapp-manifest.XXXXXX)
trap 'rm -rf "$out"' EXIT
failed=0 checked=0

# compare EXPECTED ACTUAL WHAT
compare() {
	checked=$((checked + 1))
	if [ "${TEST_UPDATE:-0}" = 1 ]; then
		cp "$2" "$1"
	elif ! diff -u "$1" "$2"; then
		echo "FAIL: $3 differs from $1 (diff above: - expected, + actual)"
		failed=$((failed + 1))
	fi
}

n_bad=0
for f in tests/manifest/bad/*.yaml; do
	n_bad=$((n_bad + 1))
	timeout 10 "$vapp" manifest check "$f" >"$out/stdout" 2>"$out/stderr"
	rc=$?
	if [ $rc -ne 1 ]; then
		echo "FAIL: $f: exit status $rc, expected 1"
		failed=$((failed + 1))
	fi
	[ -s "$out/stdout" ] && { echo "FAIL: $f: printed on stdout"; failed=$((failed + 1)); }
	compare "${f%.yaml}.expected" "$out/stderr" "$f"
done
if [ $n_bad -lt 20 ]; then
	echo "FAIL: only $n_bad bad manifests in tests/manifest/bad (at least 20 wanted)"
	failed=$((failed + 1))
fi

# check_good FILE EXPECTED [ARGS...]
check_good() {
	local f=$1 expected=$2
	shift 2
	timeout 10 "$vapp" manifest check --print "$@" "$f" >"$out/stdout" 2>"$out/stderr"
	rc=$?
	if [ $rc -ne 0 ] || [ -s "$out/stderr" ]; then
		echo "FAIL: $f: exit status $rc, expected 0; stderr:"
		cat "$out/stderr"
		failed=$((failed + 1))
	fi
	# The build folder differs between builds (build, build/san).
	sed -i "s|\"$BUILD/|\"\${BUILD}/|g" "$out/stdout"
	compare "$expected" "$out/stdout" "$f"
}

n_good=0
for f in tests/manifest/good/*.yaml; do
	n_good=$((n_good + 1))
	args=()
	[ -f "${f%.yaml}.args" ] && read -r -a args <"${f%.yaml}.args"
	check_good "$f" "${f%.yaml}.expected" "${args[@]}"
done
check_good examples/hello/manifest.yaml tests/manifest/hello.expected -D "BUILD=$BUILD"

# All files at once: the status is 1 if any is bad, and each is reported.
timeout 10 "$vapp" manifest check tests/manifest/good/minimal.yaml tests/manifest/bad/08-memory-zero.yaml \
	tests/manifest/bad/11-vcpus-zero.yaml 2>"$out/stderr"
rc=$?
lines=$(wc -l <"$out/stderr")
if [ $rc -ne 1 ] || [ "$lines" -ne 2 ]; then
	echo "FAIL: several files: exit status $rc (want 1), $lines lines (want 2)"
	failed=$((failed + 1))
fi
# Usage errors are status 2; --help is status 0 and names every option.
timeout 10 "$vapp" manifest check >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: no FILE is not a usage error"; failed=$((failed + 1)); }
timeout 10 "$vapp" manifest check -D novalue tests/manifest/good/minimal.yaml >/dev/null 2>&1
[ $? -eq 2 ] || { echo "FAIL: -D without = is not a usage error"; failed=$((failed + 1)); }
help=$(timeout 10 "$vapp" manifest --help) || { echo "FAIL: --help"; failed=$((failed + 1)); }
for word in --define --print "Exit status" Example; do
	grep -q -- "$word" <<<"$help" || { echo "FAIL: --help lacks $word"; failed=$((failed + 1)); }
done

echo "$n_bad bad and $((n_good + 1)) good manifests, $checked outputs compared, $failed failures"
[ $failed -eq 0 ]
