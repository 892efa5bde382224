/* bench_stats.h - one figure of a benchmark over several interleaved runs:
 * each run measures the baseline and the subject back to back, so a noisy
 * moment hits both, and the figure is the median run, with the min and max
 * beside it. BENCH_RUNS in the environment sets the number of runs
 * (default 5, 1..50). */
#ifndef TESTS_BENCH_STATS_H
#define TESTS_BENCH_STATS_H

#include <stdio.h>

#define BENCH_MAX_RUNS 50

struct bench_fig {
	const char *name, *unit;
	double value[BENCH_MAX_RUNS], baseline[BENCH_MAX_RUNS];
	int n;
};

/* The number of runs to make. */
int bench_runs(void);
/* Adds one run's subject and baseline to @p f. */
void bench_add(struct bench_fig *f, double value, double baseline);
/* Prints the figure (median, min, max of the value; median baseline; the
 * median of the runs' ratios) and, with @p json, appends it as one object:
 * name, value, min, max, runs, unit, baseline, ratio. */
void bench_report(FILE *json, const struct bench_fig *f);
/* Monotonic microseconds. */
double bench_now_us(void);

#endif
