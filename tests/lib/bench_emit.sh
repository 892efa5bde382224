# bench_emit.sh - a benchmark script's figure, as the C benchmarks give
# theirs: a line for people, and one JSON object a line appended to $json
# (the --json FILE of tests/bench/run.sh) when it is set.
#
#   bench_emit NAME VALUE UNIT [BASELINE]   (with a baseline: the ratio too)
bench_emit() {
	local extra=',"baseline":null,"ratio":null'
	if [ -n "${4:-}" ]; then
		extra=$(awk -v v="$2" -v b="$4" 'BEGIN { printf ",\"baseline\":%.3f,\"ratio\":%.4f", b, (b > 0 ? v / b : 0) }')
		printf '%-28s %12s %s   baseline %s %s\n' "$1" "$2" "$3" "$4" "$3"
	else
		printf '%-28s %12s %s\n' "$1" "$2" "$3"
	fi
	[ -n "${json:-}" ] && printf '{"name":"%s","value":%s,"unit":"%s"%s}\n' "$1" "$2" "$3" "$extra" >>"$json"
	return 0
}
