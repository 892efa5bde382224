/*
 * shm_stream.c - the byte stream over a vchan ring, for the shm and ivshmem
 * transports (shm_stream.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "shm_stream.h"

/*
 * Bulk moves through the ring in pieces of a quarter ring: each piece is
 * published (and the peer signalled, if it asked) before the next is
 * copied, so the peer copies one piece out while we copy the next in. One
 * copy of a whole ring would leave the two sides taking turns.
 */
static size_t piece_of(const struct shm_ring_dir *d)
{
	return d->size >= 16384 ? d->size / 4 : d->size;
}

ssize_t vrpc_shm_stream_read(struct vrpc_transport *t, void *buf, size_t len)
{
	struct shm_stream *s = (struct shm_stream *)t;
	size_t piece = piece_of(&s->ring.rd), done = 0;

	while (done < len) {
		size_t want = len - done < piece ? len - done : piece;
		bool kick;
		ssize_t n = shm_ring_read(&s->ring, (uint8_t *)buf + done, want, &kick);

		if (kick)
			s->kick(s);
		if (n <= 0)
			return done ? (ssize_t)done : n;
		done += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	if (done && s->cpu_hints)
		vrpc_shm_ring_note_cpu(&s->ring);
	return (ssize_t)done;
}

static void publish(struct shm_stream *s)
{
	bool kick;

	vrpc_shm_ring_publish(&s->ring, &kick);
	if (kick)
		s->kick(s);
}

ssize_t vrpc_shm_stream_write(struct vrpc_transport *t, const void *buf, size_t len)
{
	struct shm_stream *s = (struct shm_stream *)t;
	size_t piece = piece_of(&s->ring.wr), done = 0;

	if (len == 0)
		return shm_ring_write(&s->ring, buf, 0, NULL);
	while (done < len) {
		/* A piece, less what is held already. */
		size_t room = piece - (s->ring.wr.held < piece ? s->ring.wr.held : 0);
		size_t want = len - done < room ? len - done : room;
		ssize_t n = vrpc_shm_ring_hold(&s->ring, (const uint8_t *)buf + done, want);

		if (n > 0 && (!s->holding || s->ring.wr.held >= piece))
			publish(s);
		if (n <= 0)
			return done ? (ssize_t)done : n;
		done += (size_t)n;
		if ((size_t)n < want)
			break;
	}
	return (ssize_t)done;
}

void vrpc_shm_stream_hold(struct vrpc_transport *t, bool on)
{
	struct shm_stream *s = (struct shm_stream *)t;

	s->holding = on;
	if (!on)
		publish(s);
}

/* Both directions wake us through one fd that only ever reports POLLIN
 * (an eventfd, or an epoll set): never ask for POLLOUT. */
short vrpc_shm_stream_poll_events(struct vrpc_transport *t, int want_write)
{
	(void)t;
	(void)want_write;
	return POLLIN;
}

void vrpc_shm_stream_poll_done(struct vrpc_transport *t)
{
	struct shm_stream *s = (struct shm_stream *)t;
	uint64_t v;

	/* Non-blocking; the count does not matter, read/write look at the
	 * ring. A wake-up with no signal pending came from elsewhere (the shm
	 * set-up socket): look for a dead peer only then, no syscall for it
	 * on the busy path. */
	if (read(s->efd_in, &v, sizeof(v)) < 0 && errno == EAGAIN && s->peer_hung_up &&
	    s->peer_hung_up(s))
		shm_ring_set_peer_gone(&s->ring);
}

/* Kicks itself when there is something to do already, so that whoever
 * polls t->fd (a loop, not only transport_wait()) does not sleep past it. */
int vrpc_shm_stream_arm(struct vrpc_transport *t, int want_write)
{
	struct shm_stream *s = (struct shm_stream *)t;
	uint64_t one = 1;

	if (!vrpc_shm_ring_arm(&s->ring, want_write))
		return 0;
	if (write(s->efd_in, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so t->fd is readable anyway. */
	}
	return 1;
}

/* Data, room to write when we have bytes for it, or a change read() must
 * report; no syscall, no notify armed. */
int vrpc_shm_stream_ready(struct vrpc_transport *t, int want_write)
{
	struct shm_stream *s = (struct shm_stream *)t;

	if (shm_ring_data_ready(&s->ring) != 0 || shm_ring_peer_live(&s->ring) != 1 ||
	    (want_write && shm_ring_space(&s->ring) != 0))
		return 1;
	return s->cpu_hints && vrpc_shm_ring_peer_shares_cpu(&s->ring) ? -1 : 0;
}

size_t vrpc_shm_stream_room(struct vrpc_transport *t)
{
	struct shm_stream *s = (struct shm_stream *)t;
	int space = shm_ring_space(&s->ring);

	return space > 0 ? (size_t)space : 0;
}
