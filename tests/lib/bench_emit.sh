# bench_emit.sh - a benchmark script's figure, as the C benchmarks give
# theirs: a line for people, and one JSON object a line appended to $json
# (the --json FILE of tests/bench/run.sh) when it is set.
#
#   bench_emit NAME VALUES UNIT [BASELINES]
#
# VALUES is one figure or the figures of several runs ("812 790 845"); the
# figure is their median, with min, max and runs beside it. BASELINES, when
# given, is the baseline's figure or figures from the same runs: with as
# many as VALUES, each run's ratio is its value over its own baseline and the
# ratio is their median (a noisy moment hits both sides of one run); else
# the ratio of the medians.
bench_emit() {
	local line
	line=$(awk -v name="$1" -v vals="$2" -v unit="$3" -v bases="${4:-}" '
	function median(a, n,    i, j, t, b) {
		for (i = 1; i <= n; i++) b[i] = a[i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && b[j - 1] > b[j]; j--) { t = b[j]; b[j] = b[j - 1]; b[j - 1] = t }
		return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
	}
	# %d is 32 bits in mawk: whole numbers as %.0f
	function num(x) { return x == int(x) ? sprintf("%.0f", x) : sprintf("%.3f", x) }
	BEGIN {
		n = split(vals, v, " ")
		if (n == 0) { print "bench_emit: " name ": no value" > "/dev/stderr"; exit 1 }
		lo = hi = v[1]
		for (i = 2; i <= n; i++) { if (v[i] < lo) lo = v[i]; if (v[i] > hi) hi = v[i] }
		med = median(v, n)
		nb = split(bases, b, " ")
		human = sprintf("%-28s %12s %s [%s..%s] (%d run%s)", name, num(med), unit,
				num(lo), num(hi), n, n == 1 ? "" : "s")
		extra = ",\"baseline\":null,\"ratio\":null"
		if (nb > 0) {
			base = median(b, nb)
			if (nb == n) {
				for (i = 1; i <= n; i++) r[i] = b[i] > 0 ? v[i] / b[i] : 0
				ratio = median(r, n)
			} else {
				ratio = base > 0 ? med / base : 0
			}
			human = human sprintf("   baseline %s %s   ratio %.3f", num(base), unit, ratio)
			extra = sprintf(",\"baseline\":%s,\"ratio\":%.4f", num(base), ratio)
		}
		printf "%s\t{\"name\":\"%s\",\"value\":%s,\"min\":%s,\"max\":%s,\"runs\":%d,\"unit\":\"%s\"%s}\n",
			human, name, num(med), num(lo), num(hi), n, unit, extra
	}') || return 1
	printf '%s\n' "${line%%	*}"
	[ -n "${json:-}" ] && printf '%s\n' "${line#*	}" >>"$json"
	return 0
}
