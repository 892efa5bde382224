/*
 * echo_rtt - round-trip times of Echo calls (tests/proto/echo.proto) at an
 * address, for benchmarks that run where bench_vrpc cannot (a Xen domU, for
 * tests/bench/bench_xen.sh):
 *
 *   echo_rtt ADDR CALLS
 *   echo_rtt --bulk ADDR CALLS
 *
 * Makes CALLS/10 calls to warm up, then CALLS timed ones, each carrying the
 * 61 bytes of payload bench_vrpc uses (a 64-byte request), and prints
 * "ECHO-RTT p50 P50_US p99 P99_US calls CALLS". With --bulk each call
 * asks for a reply of 512 KiB instead (a frame holds at most 1 MiB), and it prints "ECHO-BULK MBPS MB/s
 * calls CALLS" (bytes received over the timed calls' wall time). Exit 1
 * when a call fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vrpc.h"
#include "tests/proto/echo.pb-c.h"

enum { M_ECHO = 0 };
#define PAYLOAD 61
#define BULK (512u << 10)

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

int main(int argc, char **argv)
{
	struct vrpc_client_opts o = { .connect_timeout_ms = 10000 };
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	static uint8_t data[PAYLOAD];
	struct vrpc_client *cli;
	bool bulk = argc == 4 && !strcmp(argv[1], "--bulk");
	double *s, t_start = 0;
	long n;

	if (bulk) {
		argv++;
		argc--;
	}
	if (argc != 3 || (n = atol(argv[2])) < 10 || n > 1000000) {
		fprintf(stderr, "usage: echo_rtt [--bulk] ADDR CALLS (10 to 1000000)\n");
		return 2;
	}
	cli = vrpc_client_open(argv[1], &vrpc__test__echo__descriptor, &o);
	s = calloc((size_t)n, sizeof(*s));
	if (!cli || !s) {
		fprintf(stderr, "echo_rtt: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	req.data.data = data;
	req.data.len = sizeof(data);
	if (bulk) {
		req.data.len = 0;
		req.reply_bytes = BULK;
	}
	for (long i = -n / 10; i < n; i++) {
		ProtobufCMessage *reply;
		char *msg = NULL;
		double t0 = now_us();
		int st;

		if (i == 0)
			t_start = t0;
		st = vrpc_client_call(cli, M_ECHO, &req.base, &reply, 30000, &msg);

		if (st != VRPC_OK) {
			fprintf(stderr, "echo_rtt: call %ld: %s: %s\n", i, vrpc_status_name(st),
				msg ? msg : "");
			return 1;
		}
		if (i >= 0)
			s[i] = now_us() - t0;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	vrpc_client_close(cli);
	if (bulk) {
		printf("ECHO-BULK %.1f MB/s calls %ld\n", (double)n * BULK / (now_us() - t_start), n);
		free(s);
		return 0;
	}
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	printf("ECHO-RTT p50 %.1f p99 %.1f calls %ld\n", s[n / 2], s[n * 99 / 100], n);
	free(s);
	return 0;
}
