/* bench_vrpc.c - libvrpc's speed against baselines measured in the same run:
 * round-trip time over shm and unix against a raw socketpair ping-pong,
 * calls per second with 1 and 64 in flight, and bulk bandwidth over shm
 * against memcpy. Prints a table; --json FILE appends one JSON object per
 * figure (name, value, unit, baseline, ratio = value / baseline). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_thread.h"

enum { M_ECHO = 0 };
#define RTT_SAMPLES 20000
#define PAYLOAD 61 /* data bytes: the packed request is 64 bytes with its tag */

static FILE *json;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double value, const char *unit, double baseline)
{
	double ratio = baseline > 0 ? value / baseline : 0;

	printf("%-26s %12.2f %-6s baseline %12.2f  ratio %6.3f\n", name, value, unit, baseline,
	       ratio);
	if (json)
		fprintf(json,
			"{\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\",\"baseline\":%.3f,\"ratio\":%.4f}\n",
			name, value, unit, baseline, ratio);
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
		double t0 = now_us();

		if (send(sv[0], buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(sv[0], buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
			exit(1);
		if (i >= 0)
			s[i] = now_us() - t0;
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
		double t0 = now_us();

		if (vrpc_client_call(cli, M_ECHO, &req.base, &reply, 5000, NULL) != VRPC_OK)
			exit(1);
		if (i >= 0)
			s[i] = now_us() - t0;
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
	double t0 = now_us();

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
	return total / ((now_us() - t0) / 1e6);
}

static double memcpy_MBps(void)
{
	size_t len = 1u << 20;
	char *a = malloc(len), *b = malloc(len);
	double t0, secs;
	int n = 2000;

	memset(a, 1, len);
	memset(b, 2, len);
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		memcpy(i & 1 ? a : b, i & 1 ? b : a, len);
		__asm__ volatile("" ::: "memory"); /* keep every copy */
	}
	secs = (now_us() - t0) / 1e6;
	free(a);
	free(b);
	return n * (len / 1048576.0) / secs;
}

/* The benchmark as one script: each figure and the ratio it is read against
 * in the order they are printed (long by design; each step is a helper). */
int main(int argc, char **argv)
{
	struct vrpc_server_opts opts = { .max_frame = 2u << 20 };
	struct server_thread shm, unx, big;
	char dir[] = "/tmp/vrpc-bench-XXXXXX", addr[128];
	Vrpc__Test__EchoRequest small = VRPC__TEST__ECHO_REQUEST__INIT;
	Vrpc__Test__EchoRequest bulk = VRPC__TEST__ECHO_REQUEST__INIT;
	static uint8_t data[PAYLOAD];
	double raw50, raw99, shm50, shm99, unx50, unx99, raw_rate, mb, mcpy;
	long bulk_calls = 600;

	if (argc == 3 && !strcmp(argv[1], "--json")) {
		json = fopen(argv[2], "a");
		if (!json) {
			perror(argv[2]);
			return 1;
		}
	} else if (argc != 1) {
		fprintf(stderr, "Usage: bench_vrpc [--json FILE]\n");
		return 2;
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

	raw_pingpong(&raw50, &raw99);
	rpc_rtt(shm.addr, &shm50, &shm99);
	rpc_rtt(unx.addr, &unx50, &unx99);
	raw_rate = 1e6 / raw50;
	printf("%-26s %12s %-6s\n", "figure", "value", "unit");
	report("rtt_shm_p50_us", shm50, "us", raw50);
	report("rtt_shm_p99_us", shm99, "us", raw99);
	report("rtt_unix_p50_us", unx50, "us", raw50);
	report("rtt_unix_p99_us", unx99, "us", raw99);

	small.data.data = data;
	small.data.len = sizeof(data);
	report("calls_per_s_inflight_1", pipelined(shm.addr, &small, 1, 50000), "1/s", raw_rate);
	report("calls_per_s_inflight_64", pipelined(shm.addr, &small, 64, 300000), "1/s", raw_rate);

	/* 1 MiB requests, a 1-byte reply each: bandwidth into the server. */
	bulk.data.len = 1u << 20;
	bulk.data.data = calloc(1, bulk.data.len);
	bulk.reply_bytes = 1;
	mcpy = memcpy_MBps();
	{
		double t0 = now_us();

		pipelined(shm.addr, &bulk, 4, bulk_calls);
		mb = bulk_calls * 1.0 / ((now_us() - t0) / 1e6);
		report("bulk_shm_64k_ring_MBps", mb, "MB/s", mcpy);
		t0 = now_us();
		pipelined(big.addr, &bulk, 4, bulk_calls);
		mb = bulk_calls * 1.0 / ((now_us() - t0) / 1e6);
	}
	report("bulk_shm_MBps", mb, "MB/s", mcpy);
	free(bulk.data.data);

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
