/*
 * bsctl - one command to a baresip's ctrl_tcp, then wait for an event, as a
 * benchmark's baseline: the SIP stack driven directly, without vapp-voipd.
 *
 *   bsctl PORT COMMAND PARAMS EVENT TIMEOUT_MS
 *
 * Connects to 127.0.0.1:PORT, sends COMMAND with PARAMS, and prints the
 * milliseconds until an event of type EVENT arrives (exit 0; EVENT "-": the
 * command's answer, which must be ok), or exits 1 at TIMEOUT_MS. Uses the
 * daemon's own parser (ctl.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "voip.h"

static const char *want;
static int seen;

uint64_t voip_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int on_msg(void *ud, const char *msg, size_t len)
{
	struct bs_msg m;

	if (bs_parse(msg, len, &m))
		return 0;
	if (m.event ? !strcmp(m.type, want) : !strcmp(want, "-") && !strcmp(m.token, "bsctl"))
		seen = m.event || m.ok ? 1 : -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct ns_reader r = { 0 };
	uint64_t t0, deadline;
	char *cmd, buf[16384];
	size_t len;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: bsctl PORT COMMAND PARAMS EVENT TIMEOUT_MS\n");
		return 2;
	}
	want = argv[4];
	sin.sin_port = htons((uint16_t)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("bsctl: connect");
		return 1;
	}
	cmd = bs_command(argv[2], argv[3], "bsctl", &len);
	t0 = voip_now_ms();
	deadline = t0 + (uint64_t)atoi(argv[5]);
	if (!cmd || send(fd, cmd, len, 0) != (ssize_t)len)
		return 1;
	while (!seen && voip_now_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, (int)(deadline - voip_now_ms())) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0 || ns_feed(&r, buf, (size_t)n, on_msg, NULL))
			break;
	}
	if (seen != 1)
		return 1;
	printf("%llu\n", (unsigned long long)(voip_now_ms() - t0));
	free(cmd);
	ns_reset(&r);
	close(fd);
	return 0;
}
