/* conn.c - framing over a transport: parse frames in place, queue frames in place. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"

#define RBUF_INITIAL (64u * 1024)

int64_t vrpc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t vrpc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int conn_init(struct vrpc_conn *c, struct vrpc_transport *t, uint32_t max_frame, size_t wmax)
{
	memset(c, 0, sizeof(*c));
	c->rbuf = malloc(RBUF_INITIAL);
	if (!c->rbuf)
		return -ENOMEM;
	c->rcap = RBUF_INITIAL;
	c->t = t;
	c->max_frame = max_frame;
	c->wmax = wmax;
	return 0;
}

void conn_fini(struct vrpc_conn *c)
{
	free(c->rbuf);
	free(c->wbuf);
	transport_close(c->t);
	memset(c, 0, sizeof(*c));
}

void conn_reset(struct vrpc_conn *c, bool resync)
{
	c->rpos = c->rlen = 0;
	c->wpos = c->wlen = 0;
	c->resync = resync;
}

/* Skips to the first well-formed HELLO header. @return true once found. */
static bool hunt_hello(struct vrpc_conn *c)
{
	while (c->rlen - c->rpos >= VRPC_HDR_SIZE) {
		struct vrpc_hdr h;

		if (wire_decode_header(c->rbuf + c->rpos, c->max_frame, &h) == 0 &&
		    h.type == VRPC_T_HELLO) {
			c->resync = false;
			return true;
		}
		c->rpos++;
	}
	return false;
}

/* Makes room for @p need unread bytes in total at the start of rbuf. */
static int rbuf_make_room(struct vrpc_conn *c, size_t need)
{
	size_t unread = c->rlen - c->rpos;

	if (c->rpos) {
		memmove(c->rbuf, c->rbuf + c->rpos, unread);
		c->rpos = 0;
		c->rlen = unread;
	}
	if (need > c->rcap) {
		uint8_t *p = realloc(c->rbuf, need);

		if (!p)
			return -ENOMEM;
		c->rbuf = p;
		c->rcap = need;
	}
	return 0;
}

/* Hands out every complete frame in rbuf. */
static int parse_frames(struct vrpc_conn *c, conn_frame_fn fn, void *ud)
{
	if (c->resync && !hunt_hello(c))
		return 0;
	while (c->rlen - c->rpos >= VRPC_HDR_SIZE) {
		struct vrpc_hdr h;
		int err = wire_decode_header(c->rbuf + c->rpos, c->max_frame, &h);
		size_t total;

		if (err)
			return err;
		/* h.length was checked against max_frame, so this cannot overflow. */
		total = VRPC_HDR_SIZE + (size_t)h.length;
		if (c->rlen - c->rpos < total) {
			if (total > c->rcap - c->rpos)
				return rbuf_make_room(c, total);
			return 0;
		}
		c->rpos += total;
		err = fn(ud, &h, c->rbuf + c->rpos - h.length);
		if (err)
			return err;
	}
	return 0;
}

int conn_receive(struct vrpc_conn *c, conn_frame_fn fn, void *ud)
{
	for (;;) {
		/* Frames already buffered first: a handler may have stopped us. */
		int err = parse_frames(c, fn, ud);
		ssize_t n;

		if (err)
			return err;
		if (c->rpos == c->rlen)
			c->rpos = c->rlen = 0;
		else if (c->rlen == c->rcap && (err = rbuf_make_room(c, c->rcap)))
			return err;
		n = c->t->ops->read(c->t, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == -EAGAIN)
			return 0;
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return (int)n;
		c->rlen += (size_t)n;
	}
}

static int wbuf_reserve(struct vrpc_conn *c, size_t len)
{
	size_t queued = conn_queued(c);
	size_t cap;
	uint8_t *p;

	if (queued + len > c->wmax && queued)
		return -ENOBUFS;
	if (c->wpos && c->wlen + len > c->wcap) {
		memmove(c->wbuf, c->wbuf + c->wpos, queued);
		c->wpos = 0;
		c->wlen = queued;
	}
	if (c->wlen + len <= c->wcap)
		return 0;
	cap = c->wcap ? c->wcap : 4096;
	while (cap < c->wlen + len)
		cap *= 2;
	p = realloc(c->wbuf, cap);
	if (!p)
		return -ENOMEM;
	c->wbuf = p;
	c->wcap = cap;
	return 0;
}

/*
 * Packing straight into the transport, for those whose write() is a copy
 * into shared memory (ops->room): protobuf-c hands a bytes field to the
 * appender as the caller's own pointer, so a payload goes from the caller's
 * buffer into the ring in one copy, not two (pack into wbuf, wbuf into the
 * ring). Small pieces are gathered first (one ring write per field would
 * cost more than the copy saved). Only a frame the ring has room for goes
 * this way: one that must wait for the peer to read is better packed
 * whole into wbuf first, then streamed while the peer reads (a frame half
 * in the ring would leave the peer idle while we copy the rest aside).
 * Should the ring still refuse bytes (a broken peer), the rest is spilled
 * into wbuf, where room for the whole frame was reserved, and conn_flush()
 * says what went wrong.
 */
#define DIRECT_STAGE 2048u

struct direct_pack {
	ProtobufCBuffer base;
	struct vrpc_conn *c;
	size_t staged;
	bool spilled;
	uint8_t stage[DIRECT_STAGE];
};

/* Writes @p len bytes to the transport while it takes them; the rest go to
 * wbuf, and so does all that follows. */
static void direct_out(struct direct_pack *d, const uint8_t *data, size_t len)
{
	struct vrpc_conn *c = d->c;

	while (!d->spilled && len) {
		ssize_t n = c->t->ops->write(c->t, data, len);

		if (n <= 0) {
			d->spilled = true; /* full, or broken: conn_flush() will say */
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	memcpy(c->wbuf + c->wlen, data, len);
	c->wlen += len;
}

static void direct_drain(struct direct_pack *d)
{
	direct_out(d, d->stage, d->staged);
	d->staged = 0;
}

static void direct_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct direct_pack *d = (struct direct_pack *)b;

	if (d->staged + len <= DIRECT_STAGE) {
		memcpy(d->stage + d->staged, data, len);
		d->staged += len;
		return;
	}
	direct_drain(d);
	if (len < DIRECT_STAGE) {
		memcpy(d->stage, data, len);
		d->staged = len;
	} else {
		direct_out(d, data, len);
	}
}

int conn_queue(struct vrpc_conn *c, struct vrpc_hdr *h, const ProtobufCMessage *msg,
	       const void *raw, size_t len)
{
	int err;

	if (msg)
		len = protobuf_c_message_get_packed_size(msg);
	/* The peer refuses frames over the agreed maximum: never send one. */
	if (len > c->max_frame)
		return -EMSGSIZE;
	err = wbuf_reserve(c, VRPC_HDR_SIZE + len);
	if (err)
		return err;
	h->length = (uint32_t)len;
	if (c->t->ops->room && conn_queued(c) == 0 &&
	    c->t->ops->room(c->t) >= VRPC_HDR_SIZE + len) {
		struct direct_pack d = { .base.append = direct_append, .c = c };

		c->wpos = c->wlen = 0;
		wire_encode_header(h, d.stage);
		d.staged = VRPC_HDR_SIZE;
		c->t->ops->hold(c->t, true);
		if (msg)
			protobuf_c_message_pack_to_buffer(msg, &d.base);
		else
			direct_append(&d.base, len, raw);
		direct_drain(&d);
		c->t->ops->hold(c->t, false);
		return 0;
	}
	wire_encode_header(h, c->wbuf + c->wlen);
	if (msg)
		protobuf_c_message_pack(msg, c->wbuf + c->wlen + VRPC_HDR_SIZE);
	else if (len)
		memcpy(c->wbuf + c->wlen + VRPC_HDR_SIZE, raw, len);
	c->wlen += VRPC_HDR_SIZE + len;
	return 0;
}

int conn_queue_raw2(struct vrpc_conn *c, struct vrpc_hdr *h, const void *a, size_t alen,
		    const void *b, size_t blen)
{
	int err;

	if (alen + blen > c->max_frame)
		return -EMSGSIZE;
	err = wbuf_reserve(c, VRPC_HDR_SIZE + alen + blen);
	if (err)
		return err;
	h->length = (uint32_t)(alen + blen);
	wire_encode_header(h, c->wbuf + c->wlen);
	c->wlen += VRPC_HDR_SIZE;
	if (alen)
		memcpy(c->wbuf + c->wlen, a, alen);
	c->wlen += alen;
	if (blen)
		memcpy(c->wbuf + c->wlen, b, blen);
	c->wlen += blen;
	return 0;
}

int conn_flush(struct vrpc_conn *c)
{
	while (c->wpos < c->wlen) {
		ssize_t n = c->t->ops->write(c->t, c->wbuf + c->wpos, c->wlen - c->wpos);

		if (n == -EAGAIN)
			return 1;
		if (n < 0)
			return (int)n;
		c->wpos += (size_t)n;
	}
	c->wpos = c->wlen = 0;
	return 0;
}
