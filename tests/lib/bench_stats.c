/* bench_stats.c - medians of interleaved benchmark runs (bench_stats.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_stats.h"

int bench_runs(void)
{
	const char *e = getenv("BENCH_RUNS");
	int n = e ? atoi(e) : 5;

	return n < 1 ? 1 : n > BENCH_MAX_RUNS ? BENCH_MAX_RUNS : n;
}

double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

void bench_add(struct bench_fig *f, double value, double baseline)
{
	if (f->n < BENCH_MAX_RUNS) {
		f->value[f->n] = value;
		f->baseline[f->n] = baseline;
		f->n++;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of @p n values (sorted in place). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_report(FILE *json, const struct bench_fig *f)
{
	double v[BENCH_MAX_RUNS], b[BENCH_MAX_RUNS], r[BENCH_MAX_RUNS], med, base, ratio;
	int n = f->n;

	if (!n)
		return;
	memcpy(v, f->value, sizeof(double) * (size_t)n);
	memcpy(b, f->baseline, sizeof(double) * (size_t)n);
	for (int i = 0; i < n; i++)
		r[i] = f->baseline[i] > 0 ? f->value[i] / f->baseline[i] : 0;
	med = median(v, n);
	base = median(b, n);
	ratio = median(r, n);
	printf("%-26s %12.2f %-5s [%.2f..%.2f]  baseline %12.2f  ratio %6.3f  (%d runs)\n",
	       f->name, med, f->unit, v[0], v[n - 1], base, ratio, n);
	if (json)
		fprintf(json,
			"{\"name\":\"%s\",\"value\":%.3f,\"min\":%.3f,\"max\":%.3f,\"runs\":%d,"
			"\"unit\":\"%s\",\"baseline\":%.3f,\"ratio\":%.4f}\n",
			f->name, med, v[0], v[n - 1], n, f->unit, base, ratio);
}
