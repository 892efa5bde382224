/*
 * handshake.c - the asking side of HELLO, shared by the client and the
 * relay's upstreams (see conn.h, vrpc_conn_hello()).
 *
 * Over a virtio-serial channel the HELLO is said again every
 * VRPC_HELLO_RESEND_MS until it is answered: the port may hand it to the
 * guest together with the tail of the previous host's session, and a first
 * HELLO goes unanswered now and then (measured: about one connection in
 * twenty). Saying it again is safe: a server takes a HELLO in the middle of
 * a session as a new session, nothing of the asker's is in flight yet, and
 * the answers to the repeats are skipped by its frame handler later.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "calls.h"
#include "conn.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

static int queue_hello(struct vrpc_conn *c, const char *service)
{
	Vrpc__V1__Hello hello = VRPC__V1__HELLO__INIT;
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO };

	hello.version_min = VRPC_VERSION_MIN;
	hello.version_max = VRPC_VERSION;
	hello.max_frame = c->max_frame;
	hello.service = (char *)service;
	return conn_queue(c, &h, &hello.base, NULL, 0);
}

int vrpc_conn_hello(struct vrpc_conn *c, const char *service, int timeout_ms, conn_frame_fn fn,
	       void *ud)
{
	int64_t now = vrpc_now_ms(), deadline = now + timeout_ms;
	int64_t resend = now + VRPC_HELLO_RESEND_MS;
	bool serial = !strcmp(c->t->ops->scheme, "serial");
	int err = queue_hello(c, service);

	while (!err) {
		int left = ms_until(deadline, now = vrpc_now_ms());

		if (serial && now >= resend) {
			resend = now + VRPC_HELLO_RESEND_MS;
			if ((err = queue_hello(c, service)) < 0)
				break;
		}
		err = conn_flush(c);
		if (err < 0)
			break;
		err = conn_receive(c, fn, ud);
		if (err)
			break;
		if (left == 0)
			return -ETIMEDOUT;
		if (serial && left > ms_until(resend, now) + 1)
			left = ms_until(resend, now) + 1;
		err = transport_wait(c->t, conn_queued(c) > 0, left);
		err = err < 0 ? err : 0;
	}
	if (err != 1)
		return err;
	/* The answer's frame handler stopped the reading before it would
	 * block, so a transport whose peer signals only when asked (shm) has
	 * not asked: ask now, or whoever polls next sleeps past the replies. */
	vrpc_transport_arm(c->t, conn_queued(c) > 0);
	return 0;
}
