/* bench_vrpc.c - libvrpc's speed against baselines measured in the same run:
 * round-trip time over shm and unix against a raw socketpair ping-pong,
 * calls per second with 1 and 64 in flight, and bulk bandwidth over shm
 * against memcpy of buffers larger than the last-level cache; and the round
 * trip and calls in flight again on a busy machine (a CPU hog on every CPU,
 * the baseline under the same hogs). Every figure
 * is the median of BENCH_RUNS interleaved runs (bench_stats.h); --json FILE
 * appends one JSON object per figure (name, value, min, max, runs, unit,
 * baseline, ratio: the median of the runs' value / baseline). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "server_thread.h"

enum { M_ECHO = 0 };
#define RTT_SAMPLES 20000
#define PAYLOAD 61 /* data bytes: the packed request is 64 bytes with its tag */

/* memcpy's baseline: two buffers of this size defeat the last-level cache,
 * as a bulk payload would. This machine's cores (a cloud AMD EPYC) report
 * an L3 of 508 MiB, the whole package's; one core reaches its own CCD's
 * share (tens of MiB): copies of 16 MiB run at 21.6 GB/s, of 64 MiB at
 * 17.6, of 256 MiB at 13.8, of 1 GiB at 16.4, against 43 GB/s for 1 MiB. */
#define MEMCPY_MIB 256

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ---- baseline: 64 bytes back and forth over a socketpair, no RPC ---- */

static void *pong(void *arg)
{
	int fd = *(int *)arg;
	char buf[64];

	while (recv(fd, buf, sizeof(buf), MSG_WAITALL) == sizeof(buf))
		if (send(fd, buf, sizeof(buf), 0) != sizeof(buf))
			break;
	return NULL;
}

static void raw_pingpong(double *p50, double *p99)
{
	static double s[RTT_SAMPLES];
	char buf[64] = { 0 };
	pthread_t t;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pthread_create(&t, NULL, pong, &sv[1]))
		exit(1);
	for (int i = -1000; i < RTT_SAMPLES; i++) {
		double t0 = bench_now_us();

		if (send(sv[0], buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(sv[0], buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
			exit(1);
		if (i >= 0)
			s[i] = bench_now_us() - t0;
	}
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	qsort(s, RTT_SAMPLES, sizeof(double), cmp_double);
	*p50 = s[RTT_SAMPLES / 2];
	*p99 = s[RTT_SAMPLES * 99 / 100];
}

/* ---- RPC ---- */

static struct vrpc_client *connect_echo(const char *addr)
{
	struct vrpc_client_opts o = { .max_frame = 2u << 20 };
	struct vrpc_client *cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, &o);

	if (!cli) {
		fprintf(stderr, "bench: %s: %s\n", addr, strerror(errno));
		exit(1);
	}
	return cli;
}

static void rpc_rtt(const char *addr, double *p50, double *p99)
{
	static double s[RTT_SAMPLES];
	static uint8_t data[PAYLOAD];
	struct vrpc_client *cli = connect_echo(addr);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	req.data.data = data;
	req.data.len = sizeof(data);
	for (int i = -1000; i < RTT_SAMPLES; i++) {
		ProtobufCMessage *reply;
		double t0 = bench_now_us();

		if (vrpc_client_call(cli, M_ECHO, &req.base, &reply, 5000, NULL) != VRPC_OK)
			exit(1);
		if (i >= 0)
			s[i] = bench_now_us() - t0;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	vrpc_client_close(cli);
	qsort(s, RTT_SAMPLES, sizeof(double), cmp_double);
	*p50 = s[RTT_SAMPLES / 2];
	*p99 = s[RTT_SAMPLES * 99 / 100];
}

struct pipeline {
	struct vrpc_client *cli;
	Vrpc__Test__EchoRequest *req;
	long started, done, total;
	int failed;
};

static void pipeline_done(void *ud, const ProtobufCMessage *msg, bool done, int status,
			  const char *message)
{
	struct pipeline *p = ud;

	if (!done)
		return;
	p->done++;
	if (status != VRPC_OK)
		p->failed++;
	if (p->started < p->total) {
		p->started++;
		if (vrpc_client_call_async(p->cli, M_ECHO, &p->req->base, 10000, pipeline_done, p) < 0)
			p->failed++;
	}
}

/* Keeps @p inflight calls of @p req going until @p total are done.
 * @return calls per second. */
static double pipelined(const char *addr, Vrpc__Test__EchoRequest *req, int inflight, long total)
{
	struct pipeline p = { .cli = connect_echo(addr), .req = req, .total = total };
	double t0 = bench_now_us();

	for (int i = 0; i < inflight && p.started < total; i++) {
		p.started++;
		vrpc_client_call_async(p.cli, M_ECHO, &req->base, 10000, pipeline_done, &p);
	}
	while (p.done < total && !p.failed)
		if (vrpc_client_wait(p.cli, 5000) < 0)
			break;
	if (p.failed || p.done < total) {
		fprintf(stderr, "bench: %ld of %ld calls failed\n", total - p.done + p.failed, total);
		exit(1);
	}
	vrpc_client_close(p.cli);
	return total / ((bench_now_us() - t0) / 1e6);
}

static double memcpy_MBps(void)
{
	static char *a, *b; /* made once: their page faults are not memcpy's */
	size_t len = (size_t)MEMCPY_MIB << 20;
	double t0, secs;
	int n = 4;

	if (!a) {
		a = malloc(len);
		b = malloc(len);
		if (!a || !b)
			exit(1);
		memset(a, 1, len);
		memset(b, 2, len);
	}
	t0 = bench_now_us();
	for (int i = 0; i < n; i++) {
		memcpy(i & 1 ? a : b, i & 1 ? b : a, len);
		__asm__ volatile("" ::: "memory"); /* keep every copy */
	}
	secs = (bench_now_us() - t0) / 1e6;
	return n * (double)MEMCPY_MIB / secs;
}

/* MB/s of 1 MiB requests (a 1-byte reply each) into the server at @p addr. */
static double bulk_MBps(const char *addr, Vrpc__Test__EchoRequest *bulk, long calls)
{
	double t0 = bench_now_us();

	pipelined(addr, bulk, 4, calls);
	return calls * 1.0 / ((bench_now_us() - t0) / 1e6);
}

enum { F_RTT_SHM50, F_RTT_SHM99, F_RTT_UNIX50, F_RTT_UNIX99, F_CALLS1, F_CALLS64, F_BULK64K,
       F_BULK, F_BUSY_RTT50, F_BUSY_RTT99, F_BUSY_CALLS64, F_N };

/* --only WORD: only the figures whose name holds WORD are measured. */
static const char *only;

static bool want(const struct bench_fig *f)
{
	return !only || strstr(f->name, only);
}

/* The round trip's p50 and p99 over @p addr, right after the socketpair's,
 * when --only wants either. */
static void rtt_figs(struct bench_fig *f50, struct bench_fig *f99, const char *addr)
{
	double raw50, raw99, p50, p99;

	if (!want(f50) && !want(f99))
		return;
	raw_pingpong(&raw50, &raw99);
	rpc_rtt(addr, &p50, &p99);
	bench_add(f50, p50, raw50);
	bench_add(f99, p99, raw99);
}

/* Small calls per second over @p addr with @p inflight in flight, against
 * the socketpair's round trips per second measured right before. */
static void calls_fig(struct bench_fig *f, const char *addr, int inflight, long total)
{
	static uint8_t data[PAYLOAD];
	Vrpc__Test__EchoRequest small = VRPC__TEST__ECHO_REQUEST__INIT;
	double raw50, raw99;

	if (!want(f))
		return;
	small.data.data = data;
	small.data.len = sizeof(data);
	raw_pingpong(&raw50, &raw99);
	bench_add(f, pipelined(addr, &small, inflight, total), 1e6 / raw50);
}

/* ---- a busy machine: one thread that never sleeps per CPU ---- */

static volatile int hogs_stop;

static void *hog(void *arg)
{
	while (!hogs_stop)
		;
	return NULL;
}

static int hogs_start(pthread_t *t, int max)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > max)
		n = max;
	hogs_stop = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, hog, NULL))
			exit(1);
	return (int)n;
}

static void hogs_end(pthread_t *t, int n)
{
	hogs_stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void busy_run(struct bench_fig *f, const char *shm)
{
	pthread_t t[64];
	int n;

	if (!want(&f[F_BUSY_RTT50]) && !want(&f[F_BUSY_RTT99]) && !want(&f[F_BUSY_CALLS64]))
		return;
	n = hogs_start(t, 64);
	rtt_figs(&f[F_BUSY_RTT50], &f[F_BUSY_RTT99], shm);
	calls_fig(&f[F_BUSY_CALLS64], shm, 64, 300000);
	hogs_end(t, n);
}

/* One run of every figure, each right after its baseline. */
static void one_run(struct bench_fig *f, const char *shm, const char *unx, const char *big)
{
	Vrpc__Test__EchoRequest bulk = VRPC__TEST__ECHO_REQUEST__INIT;
	double mcpy;

	rtt_figs(&f[F_RTT_SHM50], &f[F_RTT_SHM99], shm);
	rtt_figs(&f[F_RTT_UNIX50], &f[F_RTT_UNIX99], unx);
	calls_fig(&f[F_CALLS1], shm, 1, 50000);
	calls_fig(&f[F_CALLS64], shm, 64, 300000);
	bulk.data.len = 1u << 20;
	bulk.data.data = calloc(1, bulk.data.len);
	bulk.reply_bytes = 1;
	if (want(&f[F_BULK64K])) {
		mcpy = memcpy_MBps();
		bench_add(&f[F_BULK64K], bulk_MBps(shm, &bulk, 2000), mcpy);
	}
	if (want(&f[F_BULK])) {
		mcpy = memcpy_MBps();
		bench_add(&f[F_BULK], bulk_MBps(big, &bulk, 2000), mcpy);
	}
	free(bulk.data.data);
	busy_run(f, shm);
}

int main(int argc, char **argv)
{
	struct vrpc_server_opts opts = { .max_frame = 2u << 20 };
	struct server_thread shm, unx, big;
	struct bench_fig f[F_N] = {
		[F_RTT_SHM50] = { .name = "rtt_shm_p50_us", .unit = "us" },
		[F_RTT_SHM99] = { .name = "rtt_shm_p99_us", .unit = "us" },
		[F_RTT_UNIX50] = { .name = "rtt_unix_p50_us", .unit = "us" },
		[F_RTT_UNIX99] = { .name = "rtt_unix_p99_us", .unit = "us" },
		[F_CALLS1] = { .name = "calls_per_s_inflight_1", .unit = "1/s" },
		[F_CALLS64] = { .name = "calls_per_s_inflight_64", .unit = "1/s" },
		[F_BULK64K] = { .name = "bulk_shm_64k_ring_MBps", .unit = "MB/s" },
		[F_BULK] = { .name = "bulk_shm_MBps", .unit = "MB/s" },
		[F_BUSY_RTT50] = { .name = "rtt_shm_busy_p50_us", .unit = "us" },
		[F_BUSY_RTT99] = { .name = "rtt_shm_busy_p99_us", .unit = "us" },
		[F_BUSY_CALLS64] = { .name = "calls_per_s_busy_inflight_64", .unit = "1/s" },
	};
	char dir[] = "/tmp/vrpc-bench-XXXXXX", addr[128];
	FILE *json = NULL;
	int runs = bench_runs();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json = fopen(argv[++i], "a");
			if (!json) {
				perror(argv[i]);
				return 1;
			}
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "Usage: bench_vrpc [--json FILE] [--only WORD]\n"
					"  --json FILE  append each figure to FILE as one JSON object\n"
					"  --only WORD  measure only the figures whose name holds WORD\n"
					"BENCH_RUNS (default 5) sets the number of interleaved runs.\n");
			return !strcmp(argv[i], "--help") ? 0 : 2;
		}
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(addr, sizeof(addr), "shm:%s/shm.sock", dir);
	if (server_thread_start(&shm, addr, &opts))
		return 1;
	snprintf(addr, sizeof(addr), "unix:%s/unix.sock", dir);
	if (server_thread_start(&unx, addr, &opts))
		return 1;
	/* Bulk transfers get 1 MiB rings (order 20), as a bulk service would ask. */
	snprintf(addr, sizeof(addr), "shm:%s/big.sock?order=20", dir);
	if (server_thread_start(&big, addr, &opts))
		return 1;
	snprintf(big.addr, sizeof(big.addr), "shm:%s/big.sock", dir);

	for (int r = 0; r < runs; r++)
		one_run(f, shm.addr, unx.addr, big.addr);
	printf("%-26s %12s %-5s [min..max]  (memcpy baseline on %d MiB buffers)\n", "figure",
	       "median", "unit", MEMCPY_MIB);
	for (int i = 0; i < F_N; i++)
		if (f[i].n)
			bench_report(json, &f[i]);

	server_thread_stop(&shm);
	server_thread_stop(&unx);
	server_thread_stop(&big);
	snprintf(addr, sizeof(addr), "%s/shm.sock", dir);
	unlink(addr);
	snprintf(addr, sizeof(addr), "%s/unix.sock", dir);
	unlink(addr);
	snprintf(addr, sizeof(addr), "%s/big.sock", dir);
	unlink(addr);
	rmdir(dir);
	if (json)
		fclose(json);
	return 0;
}
