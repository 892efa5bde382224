/*
 * serial_echo_client - the host side of tests/integration/serial_guest.sh:
 * connects to an Echo server, makes calls, goes away and comes back, ROUNDS
 * times, and checks every answer.
 *
 *   serial_echo_client ADDR ROUNDS CALLS PEER
 *
 * Each round opens a new client (a new session on the same port), makes
 * CALLS Echo calls whose texts name the round and the call, asks WhoAmI
 * (the server must see PEER, the port's label), and leaves a Sleep call in
 * flight as it closes: the server must drop that call with the session, not
 * answer it into the next one. Exit 0 when every answer was right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vrpc.h"
#include "tests/proto/echo.pb-c.h"

enum { M_ECHO, M_COUNT, M_SLEEP, M_FAIL, M_WHOAMI };

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int call(struct vrpc_client *cli, unsigned method, const char *text,
		uint32_t delay_ms, Vrpc__Test__EchoReply **reply)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	char *msg = NULL;
	int st;

	req.text = (char *)text;
	req.delay_ms = delay_ms;
	st = vrpc_client_call(cli, method, &req.base, (ProtobufCMessage **)reply, 10000, &msg);
	if (st != VRPC_OK)
		fprintf(stderr, "call %u \"%s\": %s %s\n", method, text, vrpc_status_name(st),
			msg ? msg : "");
	free(msg);
	return st;
}

static void ignore_reply(void *ud, const ProtobufCMessage *msg, bool done, int status,
			 const char *message)
{
}

static int round_trip(const char *addr, int round, int calls, const char *peer)
{
	const struct vrpc_client_opts opts = { .connect_timeout_ms = 10000 };
	Vrpc__Test__EchoRequest sleep_req = VRPC__TEST__ECHO_REQUEST__INIT;
	Vrpc__Test__EchoReply *reply;
	struct vrpc_client *cli;
	long t0 = now_ms();
	char text[64], want[80];
	int bad = 0;

	cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, &opts);
	if (!cli && errno == ETIMEDOUT) {
		/* Seen about once in ten runs after the guest noticed the host
		 * leave: the first HELLO of the host's return goes unanswered
		 * (cause not found yet). A second connection is answered, as
		 * vappd's ready check, which retries, relies on. */
		printf("round %d: first HELLO unanswered, connecting again\n", round);
		cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, &opts);
	}
	if (!cli) {
		fprintf(stderr, "round %d: open %s: %s\n", round, addr, strerror(errno));
		return 1;
	}
	printf("round %d: connected in %ld ms\n", round, now_ms() - t0);
	t0 = now_ms();
	for (int i = 0; i < calls && !bad; i++) {
		snprintf(text, sizeof(text), "round %d call %d", round, i);
		if (call(cli, M_ECHO, text, 0, &reply) != VRPC_OK)
			return vrpc_client_close(cli), 1;
		if (!reply->text || strcmp(reply->text, text)) {
			fprintf(stderr, "round %d: sent \"%s\", got \"%s\"\n", round, text,
				reply->text ? reply->text : "(null)");
			bad = 1;
		}
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	printf("round %d: %d calls in %ld ms\n", round, calls, now_ms() - t0);
	if (!bad && call(cli, M_WHOAMI, "", 0, &reply) == VRPC_OK) {
		snprintf(want, sizeof(want), "label:%s", peer);
		if (!reply->peer || strcmp(reply->peer, want)) {
			fprintf(stderr, "round %d: server saw peer \"%s\", not \"%s\"\n", round,
				reply->peer ? reply->peer : "(null)", want);
			bad = 1;
		}
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	} else {
		bad = 1;
	}
	/* Go away with a call in flight; its answer must not reach the next round. */
	snprintf(text, sizeof(text), "round %d left behind", round);
	sleep_req.text = text;
	sleep_req.delay_ms = 200;
	if (vrpc_client_call_async(cli, M_SLEEP, &sleep_req.base, 0, ignore_reply, NULL) <= 0) {
		fprintf(stderr, "round %d: Sleep call not started\n", round);
		bad = 1;
	}
	vrpc_client_process(cli); /* push it out */
	vrpc_client_close(cli);
	return bad;
}

int main(int argc, char **argv)
{
	int rounds, calls;

	if (argc != 5) {
		fprintf(stderr, "usage: %s ADDR ROUNDS CALLS PEER\n", argv[0]);
		return 2;
	}
	rounds = atoi(argv[2]);
	calls = atoi(argv[3]);
	for (int r = 1; r <= rounds; r++)
		if (round_trip(argv[1], r, calls, argv[4]))
			return 1;
	printf("all %d rounds answered\n", rounds);
	return 0;
}
