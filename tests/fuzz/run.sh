#!/bin/bash
# run.sh FUZZER...: runs each libFuzzer target briefly over a copy of its seed
# corpus (tests/fuzz/corpus/NAME/ or appliances/*/tests/fuzz/corpus/NAME/); new inputs stay in $BUILD/fuzz-corpus.
# FUZZ_SECONDS (default 20) per target. Fails if any target finds a crash.
set -u
BUILD=${BUILD:-build/fuzz}
secs=${FUZZ_SECONDS:-20}
failed=0 passed=0
for fuzzer in "$@"; do
	name=$(basename "$fuzzer")
	corpus=$BUILD/fuzz-corpus/$name
	mkdir -p "$corpus" "$BUILD/fuzz-artifacts"
	for seeds in tests/fuzz/corpus/"$name" appliances/*/tests/fuzz/corpus/"$name"; do
		[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null
	done
	if "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$BUILD/fuzz-artifacts/$name-" "$corpus" \
		>"$BUILD/fuzz-$name.log" 2>&1; then
		passed=$((passed + 1))
		echo "PASS   $name: $(grep -o '#[0-9]*.*DONE.*' "$BUILD/fuzz-$name.log" | tail -1)"
	else
		failed=$((failed + 1))
		echo "FAIL   $name (log: $BUILD/fuzz-$name.log)"
		tail -n 30 "$BUILD/fuzz-$name.log"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
