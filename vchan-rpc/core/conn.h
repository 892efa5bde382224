/*
 * conn.h - private: one framed connection over a transport, shared by the
 * client and the server. It owns a receive buffer (frames are parsed in
 * place) and a bounded send queue (frames are packed in place).
 */
#ifndef VRPC_CONN_H
#define VRPC_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "transport.h"
#include "wire.h"

struct vrpc_conn {
	struct vrpc_transport *t;
	uint32_t max_frame;  /* payload limit, both ways (agreed at HELLO) */
	uint8_t *rbuf;       /* received bytes: [rpos, rlen) not yet parsed */
	size_t rpos, rlen, rcap;
	uint8_t *wbuf;       /* queued bytes: [wpos, wlen) not yet written */
	size_t wpos, wlen, wcap;
	size_t wmax;         /* bound on queued bytes */
	bool resync;         /* skip bytes until a HELLO header (see conn_reset) */
};

/* Handed each complete frame; payload is valid only during the call.
 * Returns 0 to go on, non-zero to stop receiving (that value is returned). */
typedef int (*conn_frame_fn)(void *ud, const struct vrpc_hdr *h, const uint8_t *payload);

int conn_init(struct vrpc_conn *c, struct vrpc_transport *t, uint32_t max_frame, size_t wmax);
/* Frees the buffers and closes the transport. */
void conn_fini(struct vrpc_conn *c);
/* Drops everything buffered either way (a serial peer came back). With
 * @p resync, what arrives next is skipped up to the first HELLO header: a
 * single endpoint (serial) may still deliver the tail of an older session. */
void conn_reset(struct vrpc_conn *c, bool resync);

/*
 * Reads until the transport would block, handing each complete frame to @p fn.
 * @return 0 when the transport would block, fn's non-zero value if it
 *         stopped, -ECONNRESET at end of stream, -ENOTCONN when a serial peer
 *         went away, -EMSGSIZE/-EBADMSG/-EPROTONOSUPPORT for a frame that
 *         breaks the protocol (see wire_decode_header), or another -errno.
 */
int conn_receive(struct vrpc_conn *c, conn_frame_fn fn, void *ud);

/*
 * Says HELLO for @p service (the versions this library speaks, c->max_frame)
 * and waits up to @p timeout_ms for @p fn to return 1 on the answer; over
 * virtio-serial the HELLO is said again until then (handshake.c tells why).
 * @return 0 once @p fn returned 1, -ETIMEDOUT, fn's other non-zero value,
 *         or as conn_receive() and conn_flush().
 */
int vrpc_conn_hello(struct vrpc_conn *c, const char *service, int timeout_ms, conn_frame_fn fn,
	       void *ud);

/*
 * Queues one frame: header @p h (its length is filled in) and either the
 * packed @p msg or @p len raw bytes at @p raw.
 * @return 0, -EMSGSIZE if the payload is over max_frame, -ENOBUFS if the
 *         queue would pass its bound (one frame is always accepted into an
 *         empty queue), -ENOMEM.
 */
int conn_queue(struct vrpc_conn *c, struct vrpc_hdr *h, const ProtobufCMessage *msg,
	       const void *raw, size_t len);
/* Queues a frame whose payload is @p a then @p b (a relayed frame with a
 * prefix), each copied once. @return as conn_queue(). */
int conn_queue_raw2(struct vrpc_conn *c, struct vrpc_hdr *h, const void *a, size_t alen,
		    const void *b, size_t blen);
/* Writes what the transport takes. @return 0 when all is written, 1 when
 * bytes remain (wait for POLLOUT), or -errno. */
int conn_flush(struct vrpc_conn *c);

static inline size_t conn_queued(const struct vrpc_conn *c)
{
	return c->wlen - c->wpos;
}

/* Milliseconds and microseconds on a monotonic clock. */
int64_t vrpc_now_ms(void);
int64_t vrpc_now_us(void);

#endif /* VRPC_CONN_H */
