/*
 * xen_ring_liar - a hostile vchan client, for tests/integration/xen_vchan.sh
 * (run in a domU under real Xen): it connects to a vchan server with
 * libxenvchan like any client, then lies in the shared page, setting the
 * producer index of the ring it writes a quarter of 2^32 past what it
 * wrote, notifies the server and watches whether it shuts the vchan.
 * (libxenvchan itself would take such a ring for an empty one for ever.)
 *
 *   xen_ring_liar DOMID PATH SECONDS
 *
 * Prints "LIAR-CONNECTED", then "LIAR-SERVER-CLOSED MS" when the server
 * left within SECONDS, else "LIAR-SERVER-STILL-OPEN". Exit 0 in both
 * cases (the test reads the line), 1 when it could not connect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <libxenvchan.h>
#include <xenevtchn.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct libxenvchan *ctrl;
	long long t0, limit;

	if (argc != 4) {
		fprintf(stderr, "usage: xen_ring_liar DOMID PATH SECONDS\n");
		return 2;
	}
	ctrl = libxenvchan_client_init(NULL, atoi(argv[1]), argv[2]);
	if (!ctrl) {
		perror("xen_ring_liar: libxenvchan_client_init");
		return 1;
	}
	ctrl->blocking = 0;
	printf("LIAR-CONNECTED\n");
	fflush(stdout);
	/* The lie, then the event that tells the server to look. */
	__atomic_store_n(&ctrl->write.shr->prod, ctrl->write.shr->prod + 0x40000000u,
			 __ATOMIC_RELEASE);
	xenevtchn_notify(ctrl->event, ctrl->event_port);
	t0 = now_ms();
	limit = t0 + atoi(argv[3]) * 1000LL;
	while (now_ms() < limit && libxenvchan_is_open(ctrl))
		usleep(20000);
	if (libxenvchan_is_open(ctrl))
		printf("LIAR-SERVER-STILL-OPEN\n");
	else
		printf("LIAR-SERVER-CLOSED %lld\n", now_ms() - t0);
	fflush(stdout);
	libxenvchan_close(ctrl);
	return 0;
}
