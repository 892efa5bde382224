#!/bin/bash
# policy_check.sh - `vapp policy check` against expected output:
#   tests/policy/bad/NAME.policy    its diagnostics and exit status must be
#                                   exactly NAME.expected
#   tests/policy/good/NAME.policy   must pass silently, also with --strict;
#                                   each line of NAME.queries (CALL SOURCE
#                                   TARGET) is explained, and all of it must
#                                   be exactly NAME.queries.expected
# plus what needs more than one file: a rule shadowed from another file, a
# file that cannot be read, usage errors.
set -u
cd "${TOP:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
vapp=$BUILD/bin/vapp
[ -x "$vapp" ] || { echo "FAIL: build $vapp first (make)"; exit 1; }

tmp=$(mktemp -d /tmp/vapp-policy.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0 checked=0

# expect NAME EXPECTED_FILE ACTUAL_FILE
expect() {
	checked=$((checked + 1))
	if ! diff -u "$2" "$3" >"$tmp/diff"; then
		echo "FAIL: $1"
		cat "$tmp/diff"
		failed=$((failed + 1))
	fi
}

# check ARGS...: vapp policy check's stdout, stderr and status, as .expected files hold them.
check() {
	timeout 20 "$vapp" policy check "$@" 2>&1
	echo "exit $?"
}

n_bad=0
for f in tests/policy/bad/*.policy; do
	n_bad=$((n_bad + 1))
	check "$f" >"$tmp/out"
	expect "$f" "${f%.policy}.expected" "$tmp/out"
done
[ "$n_bad" -ge 12 ] || { echo "FAIL: only $n_bad bad policies"; failed=$((failed + 1)); }

for f in tests/policy/good/*.policy; do
	for strict in "" --strict; do
		# shellcheck disable=SC2086
		check $strict "$f" >"$tmp/out"
		echo "exit 0" >"$tmp/want"
		expect "$f $strict" "$tmp/want" "$tmp/out"
	done
	q=${f%.policy}.queries
	[ -f "$q" ] || continue
	while read -r call src dst; do
		check "$f" --explain "$call" "$src" "$dst"
	done <"$q" >"$tmp/out"
	expect "$q" "$q.expected" "$tmp/out"
done

# The files make one policy: a rule in the second file can be shadowed by
# one in the first, and the warning names the first file.
printf 'vapp.firewall.v1.Firewall.ListRules work-vm firewall allow\n' >"$tmp/b.policy"
check tests/policy/good/firewall.policy "$tmp/b.policy" >"$tmp/out"
cat >"$tmp/want" <<EOF
$tmp/b.policy:1: warning: rule never matches: tests/policy/good/firewall.policy:9 already denies every call it covers
exit 0
EOF
expect "shadowed across files" "$tmp/want" "$tmp/out"
check --strict tests/policy/good/firewall.policy "$tmp/b.policy" | tail -n 1 >"$tmp/out"
echo "exit 1" >"$tmp/want"
expect "--strict fails on a warning" "$tmp/want" "$tmp/out"

# In the other order the same rule decides, and explain says so.
check "$tmp/b.policy" tests/policy/good/firewall.policy --explain \
	vapp.firewall.v1.Firewall.ListRules work-vm firewall | tail -n 2 >"$tmp/out"
printf 'allow, by %s:1 (logged: no)\nexit 0\n' "$tmp/b.policy" >"$tmp/want"
expect "first file first" "$tmp/want" "$tmp/out"

check "$tmp/missing.policy" >"$tmp/out"
printf '%s: cannot read: No such file or directory\nexit 1\n' "$tmp/missing.policy" >"$tmp/want"
expect "missing file" "$tmp/want" "$tmp/out"

# A policy with errors is never used to explain a call.
check tests/policy/bad/crlf.policy --explain vapp.firewall.v1.Firewall.ListRules work-vm firewall \
	>"$tmp/out"
expect "no explain on errors" tests/policy/bad/crlf.expected "$tmp/out"

# Usage errors: exit 2, and no decision printed.
for args in "" "check" "verify x.policy" \
	"check --frobnicate tests/policy/good/empty.policy" \
	"check tests/policy/good/empty.policy --explain vapp.firewall.v1.Firewall work-vm firewall" \
	"check tests/policy/good/empty.policy --explain vapp.firewall.v1.Firewall.ListRules work-vm" \
	"check tests/policy/good/empty.policy --explain vapp.firewall.v1.Firewall.ListRules @anyvm firewall" \
	"check tests/policy/good/empty.policy --explain vapp.firewall.v1.Firewall.ListRules a:b+c firewall"; do
	# shellcheck disable=SC2086
	timeout 20 "$vapp" policy $args >"$tmp/out" 2>&1
	echo "exit $?" >>"$tmp/out"
	checked=$((checked + 1))
	if [ "$(tail -n 1 "$tmp/out")" != "exit 2" ] || grep -q '^allow\|^deny' "$tmp/out"; then
		echo "FAIL: vapp policy $args: expected a usage error"
		cat "$tmp/out"
		failed=$((failed + 1))
	fi
done

echo "$checked checks, $failed failed"
[ "$failed" -eq 0 ]
