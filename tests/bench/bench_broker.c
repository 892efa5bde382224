/* bench_broker.c - what the broker adds to a call: round-trip time of an
 * Echo call through vrpc_relay (guest -> broker -> appliance, the caller's
 * label attached, policy checked) against the same call made directly to
 * the appliance, in the same run: the median of BENCH_RUNS interleaved
 * runs (bench_stats.h). --json FILE appends the figures. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"
#include "relay_rig.h"
#include "vrpc_relay.h"

#define SAMPLES 20000


static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int allow_all(void *ud, const char *guest, const char *service, const char *method,
		     const char *appliance, char *why, size_t whylen)
{
	return VRPC_OK;
}

static void relay_ready(void *ud, int fd, short revents)
{
	vrpc_relay_process(ud);
}

/* p50 and p99 of a 64-byte Echo through @p addr. */
static void rtt(const char *addr, double *p50, double *p99)
{
	static double s[SAMPLES];
	static uint8_t data[61];
	struct vrpc_client *cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, NULL);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;

	if (!cli) {
		perror(addr);
		exit(1);
	}
	req.data.data = data;
	req.data.len = sizeof(data);
	for (int i = -1000; i < SAMPLES; i++) {
		ProtobufCMessage *reply;
		double t0 = bench_now_us();

		if (vrpc_client_call(cli, 0, &req.base, &reply, 5000, NULL) != VRPC_OK)
			exit(1);
		if (i >= 0)
			s[i] = bench_now_us() - t0;
		protobuf_c_message_free_unpacked(reply, NULL);
	}
	vrpc_client_close(cli);
	qsort(s, SAMPLES, sizeof(double), cmp_double);
	*p50 = s[SAMPLES / 2];
	*p99 = s[SAMPLES * 99 / 100];
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/vrpc-bench-broker-XXXXXX", gate[160], up[160], sock[160];
	struct appliance app;
	struct runner rn = { 0 };
	struct vrpc_relay *relay;
	struct bench_fig p50 = { .name = "rtt_brokered_p50_us", .unit = "us" };
	struct bench_fig p99 = { .name = "rtt_brokered_p99_us", .unit = "us" };
	double d50, d99, b50, b99;
	FILE *json = NULL;

	if (argc == 3 && !strcmp(argv[1], "--json"))
		json = fopen(argv[2], "a");
	else if (argc != 1) {
		fprintf(stderr, "Usage: bench_broker [--json FILE]\n");
		return 2;
	}
	if (!mkdtemp(dir) || appliance_start(&app, dir))
		return 1;
	snprintf(gate, sizeof(gate), "unix:%s/guest.sock", dir);
	snprintf(up, sizeof(up), "unix:%s", app.path);
	relay = vrpc_relay_new(allow_all, NULL, NULL);
	if (!relay || vrpc_relay_listen(relay, gate, "guest") ||
	    vrpc_relay_set_upstream(relay, "vrpc.test.Echo", "echo", up, 2000))
		return 1;
	rn.loop = vrpc_loop_new();
	vrpc_loop_add_fd(rn.loop, vrpc_relay_fd(relay), POLLIN, relay_ready, relay);
	if (runner_start(&rn))
		return 1;

	for (int r = bench_runs(); r > 0; r--) {
		rtt(app.direct, &d50, &d99);
		rtt(gate, &b50, &b99);
		bench_add(&p50, b50, d50);
		bench_add(&p99, b99, d99);
	}
	bench_report(json, &p50);
	bench_report(json, &p99);

	runner_stop(&rn);
	vrpc_loop_free(rn.loop);
	vrpc_relay_free(relay);
	appliance_stop(&app);
	snprintf(sock, sizeof(sock), "%s/guest.sock", dir);
	unlink(sock);
	rmdir(dir);
	if (json)
		fclose(json);
	return 0;
}
