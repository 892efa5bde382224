/*
 * transport_ivshmem.c - "ivshmem:DDDD:BB:SS.F[?order=N[,M]]": the vchan ring
 * protocol (shm_ring.c) between two VMs, in the memory of a QEMU
 * ivshmem-doorbell device that the host gave to both of them (under vappd,
 * to the two VMs of one pair: runtime/vappd/ivshmem.h). No host process
 * sees the bytes.
 *
 * The address is the device's PCI address in this VM (ivshmem_dev.h opens
 * it through VFIO). The listening side is the server: it lays the page out
 * (orders from ?order=, else the largest equal pair the memory holds) and
 * accepts one connection at a time; the other side connects. A peer's
 * number is ours with the low bit flipped (vappd numbers the appliance 0
 * and the guest 1). Vector 0 (IVSHMEM_VEC_RING) is the ring's event
 * channel; vector 1 (IVSHMEM_VEC_CONN) says a side attached or left:
 *
 *   server  lays out a fresh page (srv_live 1, cli_live 2), rings CONN
 *   client  waits for such a page, ringing CONN now and then (a knock),
 *           attaches (cli_live 1), rings CONN
 *   server  accepts: a connection until either side sets its live 0
 *   either  closing: live 0, rings RING and CONN
 *   server  a fresh page once its connection is closed and the client has
 *           left too (cli_live 0), or a client knocks: a knocking client
 *           holds the device, which VFIO lets one process open at a time,
 *           so the last client has let go of it, whatever its live says;
 *           and again whenever it finds its fresh page not fresh (a client
 *           that left late, or a hostile one, wrote there)
 *
 * The page is never laid out under a client still attached: it would read
 * its peer's live going up, a lie (-EPROTO), instead of the end of the
 * stream.
 *
 * A VM that dies writes nothing: the host, which holds the memory and both
 * sides' interrupts, sets its live 0 and rings the other (vappd does).
 *
 * Trust: the other VM writes the page whenever it likes. The ring code
 * distrusts every index (-EPROTO, never a hang), the layout is read once
 * and checked against the BAR's size, and a page laid out again under a
 * connection shows its live going up, which is a lie too. The CPU hints
 * mean nothing across two kernels and are not used.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "ivshmem_dev.h"
#include "shm_stream.h"

#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)

/* The device, shared by the listener and its one connection. */
struct ivs_dev {
	struct ivshmem_dev dev;
	unsigned left, right; /* the orders the server lays out */
	struct shm_ring fresh; /* the server's side of the page last laid out */
	int refs;
	bool busy;      /* a connection holds the ring */
	bool listening; /* a listener holds the device */
};

struct ivs_transport {
	struct shm_stream st; /* st.t.fd = st.efd_in: vector RING */
	struct ivs_dev *d;
	bool server;
};

struct ivs_listener {
	struct vrpc_listener l; /* l.fd: vector CONN */
	struct ivs_dev *d;
};

static uint32_t peer_of(const struct ivs_dev *d)
{
	return d->dev.id ^ 1u;
}

static void ivs_dev_put(struct ivs_dev *d)
{
	if (d && --d->refs == 0) {
		vrpc_ivshmem_dev_close(&d->dev);
		free(d);
	}
}

/* DDDD:BB:SS.F[?order=N[,M]] -> the address in @p addr, the orders (0: the
 * largest the memory holds). */
static int ivs_parse(const char *rest, char addr[16], unsigned *left, unsigned *right)
{
	const char *q = strchr(rest, '?');
	size_t n = q ? (size_t)(q - rest) : strlen(rest);

	*left = *right = 0;
	if (n == 0 || n >= 16)
		return -EINVAL;
	memcpy(addr, rest, n);
	addr[n] = '\0';
	return q ? vrpc_shm_ring_parse_orders(q, left, right) : 0;
}

static int ivs_dev_open(const char *rest, struct ivs_dev **out)
{
	struct ivs_dev *d;
	char addr[16];
	unsigned left, right;
	int e = ivs_parse(rest, addr, &left, &right);

	if (e)
		return e;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	e = vrpc_ivshmem_dev_open(&d->dev, addr);
	if (e) {
		free(d);
		return e;
	}
	if (!left)
		for (left = SHM_RING_ORDER_MAX; left > 12 &&
		     shm_ring_region_size(left, left) > d->dev.len; left--)
			;
	right = right ? right : left;
	if (shm_ring_region_size(left, right) > d->dev.len) {
		fprintf(stderr, "vrpc ivshmem: %s: rings of order %u and %u need more than its %zu bytes\n",
			addr, left, right, d->dev.len);
		vrpc_ivshmem_dev_close(&d->dev);
		free(d);
		return -EINVAL;
	}
	d->left = left;
	d->right = right;
	d->refs = 1;
	*out = d;
	return 0;
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was pending. */
	}
}

/* ---- the stream ---- */

static void ivs_kick(struct shm_stream *st)
{
	struct ivs_transport *s = (struct ivs_transport *)st;

	vrpc_ivshmem_dev_ring(&s->d->dev, peer_of(s->d), IVSHMEM_VEC_RING);
}

static struct ivs_transport *ivs_new(struct ivs_dev *d, bool server)
{
	struct ivs_transport *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->st.t.ops = &vrpc_transport_ivshmem;
	s->st.t.fd = s->st.efd_in = d->dev.efd[IVSHMEM_VEC_RING];
	s->st.kick = ivs_kick;
	s->st.cpu_hints = false;
	s->d = d;
	s->server = server;
	d->refs++;
	d->busy = true;
	return s;
}

/* A fresh page for the next client (server side). Only the page: what
 * the rings still hold was written by this pair, and a client that knocks
 * again and again (a hostile one) costs a page's clearing each time, not
 * the rings'. */
static void ivs_lay_out(struct ivs_dev *d)
{
	memset(d->dev.mem, 0, SHM_RING_PAGE);
	/* Checked against the memory at open: cannot fail. */
	shm_ring_init_server(&d->fresh, d->dev.mem, d->dev.len, d->left, d->right);
	vrpc_ivshmem_dev_ring(&d->dev, peer_of(d), IVSHMEM_VEC_CONN);
}

static void ivs_close(struct vrpc_transport *t)
{
	struct ivs_transport *s = (struct ivs_transport *)t;

	if (!s)
		return;
	shm_ring_close(&s->st.ring);
	vrpc_ivshmem_dev_ring(&s->d->dev, peer_of(s->d), IVSHMEM_VEC_RING);
	vrpc_ivshmem_dev_ring(&s->d->dev, peer_of(s->d), IVSHMEM_VEC_CONN);
	s->d->busy = false;
	if (s->server && s->d->listening &&
	    READ_ONCE(((struct vchan_interface *)s->d->dev.mem)->cli_live) != 1)
		ivs_lay_out(s->d);
	ivs_dev_put(s->d);
	free(s);
}

/* ---- server side ---- */

static int ivs_accept(struct vrpc_listener *l, struct vrpc_transport **out)
{
	struct ivs_listener *il = (struct ivs_listener *)l;
	struct ivs_dev *d = il->d;
	struct vchan_interface *shr = (struct vchan_interface *)d->dev.mem;
	struct ivs_transport *s;
	uint8_t srv, cli;

	drain(l->fd);
	if (d->busy)
		return -EAGAIN;
	srv = READ_ONCE(shr->srv_live);
	cli = READ_ONCE(shr->cli_live);
	/* Our last connection is over and its client gone (or a new one
	 * knocks); or a client left after the page was laid out again. */
	if (srv != 1 || cli == 0) {
		ivs_lay_out(d);
		return -EAGAIN;
	}
	if (cli != 1)
		return -EAGAIN;
	s = ivs_new(d, true);
	if (!s)
		return -ENOMEM;
	s->st.ring = d->fresh;
	*out = &s->st.t;
	return 0;
}

static void ivs_listener_close(struct vrpc_listener *l)
{
	struct ivs_listener *il = (struct ivs_listener *)l;

	if (!il)
		return;
	il->d->listening = false;
	ivs_dev_put(il->d);
	free(il);
}

static const struct vrpc_listener_ops ivs_listener_ops = {
	.accept = ivs_accept,
	.close = ivs_listener_close,
};

static int ivs_listen(const char *rest, struct vrpc_listener **out)
{
	struct ivs_listener *il = calloc(1, sizeof(*il));
	int e;

	if (!il)
		return -ENOMEM;
	e = ivs_dev_open(rest, &il->d);
	if (e) {
		free(il);
		return e;
	}
	il->l.ops = &ivs_listener_ops;
	il->l.fd = il->d->dev.efd[IVSHMEM_VEC_CONN];
	il->d->listening = true;
	ivs_lay_out(il->d);
	*out = &il->l;
	return 0;
}

/* ---- client side ---- */

static int ivs_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	int64_t deadline = vrpc_now_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
	struct ivs_dev *d;
	struct vchan_interface *shr;
	struct ivs_transport *s;
	int e = ivs_dev_open(rest, &d);

	if (e)
		return e;
	shr = (struct vchan_interface *)d->dev.mem;
	/* A page laid out for a client and not taken yet. The server rings
	 * CONN when it lays one out; knock every 100 ms. */
	while (READ_ONCE(shr->srv_live) != 1 || READ_ONCE(shr->cli_live) != 2) {
		struct pollfd pfd = { .fd = d->dev.efd[IVSHMEM_VEC_CONN], .events = POLLIN };
		int64_t left = deadline - vrpc_now_ms();

		vrpc_ivshmem_dev_ring(&d->dev, peer_of(d), IVSHMEM_VEC_CONN);
		if (left <= 0) {
			ivs_dev_put(d);
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, left > 100 ? 100 : (int)left) > 0)
			drain(pfd.fd);
	}
	s = ivs_new(d, false);
	ivs_dev_put(d); /* the connection holds it now */
	if (!s)
		return -ENOMEM;
	e = shm_ring_attach_client(&s->st.ring, d->dev.mem, d->dev.len);
	if (e) {
		ivs_close(&s->st.t);
		return e;
	}
	vrpc_ivshmem_dev_ring(&d->dev, peer_of(d), IVSHMEM_VEC_CONN);
	*out = &s->st.t;
	return 0;
}

const struct vrpc_transport_ops vrpc_transport_ivshmem = {
	.scheme = "ivshmem",
	.connect = ivs_connect,
	.listen = ivs_listen,
	SHM_STREAM_OPS,
	.close = ivs_close,
};
