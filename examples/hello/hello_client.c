/* hello_client.c - the guest side of the hello appliance: calls Greeter
 * through the stubs protoc-c generated. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vrpc.h"
#include "examples/hello/hello.pb-c.h"

static const char usage[] =
	"Usage: hello-client [--watch N | --repeat N] [--timeout MS] ADDR NAME\n"
	"\n"
	"Calls vapp.hello.v1.Greeter at ADDR (unix:PATH, shm:PATH, serial:PATH,\n"
	"tcp:HOST:PORT, ...) and prints the greeting for NAME.\n"
	"\n"
	"  -w, --watch N       call the streamed Watch method for N greetings instead\n"
	"  -n, --repeat N      call SayHello N times, one after the other on one\n"
	"                      connection; print the first greeting, then the\n"
	"                      round-trip times: rtt_p50_us P rtt_p99_us Q calls N\n"
	"  -t, --timeout MS    give up after MS milliseconds (default 5000)\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 on success, 1 when the call failed (its status and message\n"
	"are printed), 2 on a usage error.\n";

struct result {
	struct vrpc_client *cli;
	bool done, quiet;
	int status;
};

static void on_reply(const Vapp__Hello__V1__HelloReply *reply, void *data)
{
	struct result *r = data;
	const char *msg;

	if (reply) {
		if (!r->quiet && reply->caller[0])
			printf("%s (caller %s)\n", reply->greeting, reply->caller);
		else if (!r->quiet)
			printf("%s\n", reply->greeting);
		r->done = r->done || !reply->seq; /* a unary reply ends the call */
		return;
	}
	r->done = true;
	r->status = vrpc_client_status(r->cli, &msg);
	if (r->status != VRPC_OK)
		fprintf(stderr, "hello-client: %s: %s\n", vrpc_status_name(r->status), msg);
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* --repeat: @p n SayHello calls in turn; quiet after the first. */
static int repeat(struct result *r, Vapp__Hello__V1__HelloRequest *req, long n)
{
	long long *us = calloc((size_t)n, sizeof(*us));

	if (!us)
		return 1;
	for (long i = 0; i < n; i++) {
		long long t0 = now_us();

		r->done = false;
		r->quiet = i > 0;
		vapp__hello__v1__greeter__say_hello(vrpc_client_service(r->cli), req, on_reply, r);
		while (!r->done && vrpc_client_wait(r->cli, -1) == 0)
			;
		if (!r->done || r->status != VRPC_OK) {
			free(us);
			return 1;
		}
		us[i] = now_us() - t0;
	}
	qsort(us, (size_t)n, sizeof(*us), cmp_ll);
	fprintf(stderr, "rtt_p50_us %lld rtt_p99_us %lld calls %ld\n", us[n / 2],
		us[n * 99 / 100], n);
	free(us);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "watch", required_argument, NULL, 'w' },
		{ "repeat", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	Vapp__Hello__V1__HelloRequest req = VAPP__HELLO__V1__HELLO_REQUEST__INIT;
	struct vrpc_client_opts copts = { .connect_timeout_ms = 5000 };
	struct result r = { 0 };
	long watch = -1, timeout = 5000, count = 0;
	int c;

	while ((c = getopt_long(argc, argv, "w:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			watch = strtol(optarg, NULL, 10);
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 't':
			timeout = strtol(optarg, NULL, 10);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (argc - optind != 2 || watch < -1 || watch > 1000000 || timeout <= 0 ||
	    timeout > 3600000 || count < 0 || count > 1000000 || (count && watch >= 0)) {
		fputs(usage, stderr);
		return 2;
	}
	copts.connect_timeout_ms = (int)timeout;
	r.cli = vrpc_client_open(argv[optind], &vapp__hello__v1__greeter__descriptor, &copts);
	if (!r.cli) {
		fprintf(stderr, "hello-client: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	vrpc_client_set_timeout(r.cli, (int)timeout);
	req.name = argv[optind + 1];
	if (count) {
		c = repeat(&r, &req, count);
		vrpc_client_close(r.cli);
		return c;
	}
	if (watch >= 0) {
		req.count = (uint32_t)watch;
		vapp__hello__v1__greeter__watch(vrpc_client_service(r.cli), &req, on_reply, &r);
	} else {
		vapp__hello__v1__greeter__say_hello(vrpc_client_service(r.cli), &req, on_reply, &r);
	}
	while (!r.done && vrpc_client_wait(r.cli, -1) == 0)
		;
	vrpc_client_close(r.cli);
	return r.done && r.status == VRPC_OK ? 0 : 1;
}
