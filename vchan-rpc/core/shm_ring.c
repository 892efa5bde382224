/*
 * shm_ring.c - the vchan ring protocol (see shm_ring.h): Xen libxenvchan's
 * io.c protocol, rewritten to distrust the peer and to never block.
 *
 * Indices are free-running 32-bit counters; (prod - cons) is the number of
 * bytes in a ring and must never exceed its size. Each index has one writer:
 * the reader owns cons, the writer owns prod. Notify bytes are shared by
 * both sides and changed with atomic read-modify-writes only: a side sets a
 * bit in the peer's byte to ask for a wake-up, the peer clears it when it
 * honours it (and then signals the event channel).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "shm_ring.h"

/* One load or store of a shared field, never split, merged or repeated by
 * the compiler: the peer may change the field at any time. */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* Offsets of the in-page rings, as in Xen's init.c. */
#define SMALL_RING_OFFSET 1024u
_Static_assert(SHM_RING_HINT_OFFSET >= sizeof(struct vchan_interface) &&
		       SHM_RING_HINT_OFFSET + 2 * sizeof(uint32_t) <= SMALL_RING_OFFSET,
	       "the CPU hints sit between the interface and the first ring");
#define LARGE_RING_OFFSET 2048u
#define PAGE_SHIFT 12u

int shm_ring_check_orders(unsigned left_order, unsigned right_order)
{
	if (left_order < SHM_RING_ORDER_MIN || left_order > SHM_RING_ORDER_MAX ||
	    right_order < SHM_RING_ORDER_MIN || right_order > SHM_RING_ORDER_MAX)
		return -EINVAL;
	/* Two in-page rings of the same order would share one slot. */
	if (left_order == right_order && left_order < PAGE_SHIFT)
		return -EINVAL;
	return 0;
}

int vrpc_shm_ring_parse_orders(const char *opt, unsigned *left, unsigned *right)
{
	char *end;
	unsigned long l, r;

	if (strncmp(opt, "?order=", 7))
		return -EINVAL;
	errno = 0;
	l = strtoul(opt + 7, &end, 10);
	r = l;
	if (*end == ',')
		r = strtoul(end + 1, &end, 10);
	if (errno || *end || end == opt + 7 ||
	    shm_ring_check_orders((unsigned)(l > 99 ? 99 : l), (unsigned)(r > 99 ? 99 : r)))
		return -EINVAL;
	*left = (unsigned)l;
	*right = (unsigned)r;
	return 0;
}

static size_t out_of_page(unsigned order)
{
	return order >= PAGE_SHIFT ? (size_t)1 << order : 0;
}

size_t shm_ring_region_size(unsigned left_order, unsigned right_order)
{
	return SHM_RING_PAGE + out_of_page(left_order) + out_of_page(right_order);
}

/* Where the ring of @p order lives; rings past the page are laid out in
 * order of calls (left first), *next being the next free offset. */
static uint8_t *ring_buf(uint8_t *base, unsigned order, size_t *next)
{
	uint8_t *p;

	if (order == 10)
		return base + SMALL_RING_OFFSET;
	if (order == 11)
		return base + LARGE_RING_OFFSET;
	p = base + *next;
	*next += (size_t)1 << order;
	return p;
}

static void dir_init(struct shm_ring_dir *d, struct ring_shared *idx, uint8_t *buf,
		     unsigned order)
{
	d->idx = idx;
	d->buf = buf;
	d->order = order;
	d->size = 1u << order;
}

/* Points r at the region; the orders were checked against its length. */
static void ring_setup(struct shm_ring *r, void *mem, unsigned left_order,
		       unsigned right_order, bool is_server)
{
	struct vchan_interface *shr = mem;
	size_t next = SHM_RING_PAGE;
	uint8_t *left = ring_buf(mem, left_order, &next);
	uint8_t *right = ring_buf(mem, right_order, &next);
	uint32_t *hints;

	memset(r, 0, sizeof(*r));
	r->shr = shr;
	hints = (uint32_t *)((uint8_t *)mem + SHM_RING_HINT_OFFSET);
	r->my_cpu = &hints[is_server ? 0 : 1];
	r->peer_cpu = &hints[is_server ? 1 : 0];
	r->is_server = is_server;
	r->left_order = (uint16_t)left_order;
	r->right_order = (uint16_t)right_order;
	if (is_server) {
		dir_init(&r->rd, &shr->left, left, left_order);
		dir_init(&r->wr, &shr->right, right, right_order);
		r->my_notify = &shr->srv_notify;
		r->peer_notify = &shr->cli_notify;
		r->my_live = &shr->srv_live;
		r->peer_live = &shr->cli_live;
	} else {
		dir_init(&r->wr, &shr->left, left, left_order);
		dir_init(&r->rd, &shr->right, right, right_order);
		r->my_notify = &shr->cli_notify;
		r->peer_notify = &shr->srv_notify;
		r->my_live = &shr->cli_live;
		r->peer_live = &shr->srv_live;
	}
}

int shm_ring_init_server(struct shm_ring *r, void *mem, size_t len,
			 unsigned left_order, unsigned right_order)
{
	struct vchan_interface *shr = mem;

	if (shm_ring_check_orders(left_order, right_order) ||
	    len < shm_ring_region_size(left_order, right_order))
		return -EINVAL;
	memset(mem, 0, SHM_RING_PAGE);
	ring_setup(r, mem, left_order, right_order, true);
	shr->left_order = (uint16_t)left_order;
	shr->right_order = (uint16_t)right_order;
	shr->cli_live = 2; /* not yet connected */
	shr->srv_live = 1;
	/* The server reads first: ask to hear of the client's first write. */
	shr->cli_notify = VCHAN_NOTIFY_WRITE;
	r->peer_live_seen = 2;
	return 0;
}

int shm_ring_attach_client(struct shm_ring *r, void *mem, size_t len)
{
	struct vchan_interface *shr = mem;
	/* We can't trust the orders in the shared page: read them once, check
	 * them, and use only these copies from now on. */
	uint16_t left_order = READ_ONCE(shr->left_order);
	uint16_t right_order = READ_ONCE(shr->right_order);
	uint32_t prod, cons;
	uint8_t live;

	if (len < SHM_RING_PAGE || shm_ring_check_orders(left_order, right_order) ||
	    len < shm_ring_region_size(left_order, right_order))
		return -EPROTO;
	ring_setup(r, mem, left_order, right_order, false);

	/* Our write ring must be empty: we have written nothing yet. */
	prod = READ_ONCE(r->wr.idx->prod);
	cons = READ_ONCE(r->wr.idx->cons);
	if (prod != cons)
		return -EPROTO;
	r->wr.mine = r->wr.seen = prod;
	/* The server may already have written: its prod is checked against
	 * our cons on the first read. */
	r->rd.mine = r->rd.seen = READ_ONCE(r->rd.idx->cons);
	live = READ_ONCE(shr->srv_live);
	if (live > 1)
		return -EPROTO;
	r->peer_live_seen = live;

	WRITE_ONCE(shr->srv_notify, VCHAN_NOTIFY_WRITE);
	/* The notify request and our indices are in place before the server
	 * can see us live. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	WRITE_ONCE(shr->cli_live, 1);
	return 0;
}

static int ring_fail(struct shm_ring *r)
{
	r->broken = true;
	return -EPROTO;
}

/* Checks what the peer has no business changing: the orders, and the
 * indices that we alone write. */
static int ring_check(struct shm_ring *r)
{
	if (r->broken)
		return -EPROTO;
	if (READ_ONCE(r->shr->left_order) != r->left_order ||
	    READ_ONCE(r->shr->right_order) != r->right_order ||
	    READ_ONCE(r->rd.idx->cons) != r->rd.mine ||
	    READ_ONCE(r->wr.idx->prod) != r->wr.mine)
		return ring_fail(r);
	return 0;
}

int shm_ring_peer_live(struct shm_ring *r)
{
	uint8_t live;

	if (r->broken)
		return -EPROTO;
	if (r->peer_gone)
		return 0;
	/* Live only ever goes down: 2 (not yet connected) -> 1 -> 0. A peer
	 * that comes back to life, or says 3, is lying. */
	live = READ_ONCE(*r->peer_live);
	if (live > r->peer_live_seen)
		return ring_fail(r);
	r->peer_live_seen = live;
	return live != 0;
}

void vrpc_shm_ring_note_cpu(struct shm_ring *r)
{
	int cpu = sched_getcpu(); /* no syscall: glibc reads it from rseq */
	uint32_t said = cpu < 0 ? 0 : (uint32_t)cpu + 1;

	if (said != r->my_cpu_said) {
		r->my_cpu_said = said;
		WRITE_ONCE(*r->my_cpu, said);
	}
}

bool vrpc_shm_ring_peer_shares_cpu(struct shm_ring *r)
{
	uint32_t peer;

	vrpc_shm_ring_note_cpu(r);
	peer = READ_ONCE(*r->peer_cpu);
	return peer != 0 && peer == r->my_cpu_said;
}

void shm_ring_set_peer_gone(struct shm_ring *r)
{
	r->peer_gone = true;
}

/* Bytes ready in the read ring, from one read of the peer's prod. */
static int read_ready(struct shm_ring *r)
{
	uint32_t prod = READ_ONCE(r->rd.idx->prod);
	uint32_t ready = prod - r->rd.mine;
	uint32_t before = r->rd.seen - r->rd.mine;

	/* More than the ring holds, or fewer than the peer already offered
	 * (prod ran backwards): either way the page is garbage. */
	if (ready > r->rd.size || ready < before)
		return ring_fail(r);
	r->rd.seen = prod;
	return (int)ready;
}

/* Free space in the write ring, from one read of the peer's cons. */
static int write_space(struct shm_ring *r)
{
	uint32_t cons = READ_ONCE(r->wr.idx->cons);
	uint32_t used = r->wr.mine - cons;
	uint32_t before = r->wr.mine - r->wr.seen;

	/* cons past our prod, or cons ran backwards. */
	if (used > r->wr.size || used > before)
		return ring_fail(r);
	r->wr.seen = cons;
	return (int)(r->wr.size - used - r->wr.held);
}

int shm_ring_data_ready(struct shm_ring *r)
{
	int err = ring_check(r);

	return err ? err : read_ready(r);
}

int shm_ring_space(struct shm_ring *r)
{
	int err = ring_check(r);

	return err ? err : write_space(r);
}

/* Asks the peer to signal us when it does @p bit. */
static void request_notify(struct shm_ring *r, uint8_t bit)
{
	__atomic_fetch_or(r->peer_notify, bit, __ATOMIC_RELAXED);
	/* Full barrier: the request is visible before we read the peer's
	 * index again. The peer moves its index, then (full barrier) reads
	 * our request: one of us is sure to see the other, so no wake-up is
	 * lost between our last look and going to sleep. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* @return whether the peer asked to hear of @p bit (and clears the ask). */
static bool honour_notify(struct shm_ring *r, uint8_t bit)
{
	/* Full barrier: our index store is visible before we read the peer's
	 * request (the other half of request_notify()'s pairing). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* Not asked: leave the shared byte alone (no cache-line ping-pong). */
	if (!(READ_ONCE(*r->my_notify) & bit))
		return false;
	return (__atomic_fetch_and(r->my_notify, (uint8_t)~bit, __ATOMIC_RELAXED) & bit) != 0;
}

int vrpc_shm_ring_arm(struct shm_ring *r, bool want_write)
{
	int live;

	if (ring_check(r))
		return 1;
	request_notify(r, VCHAN_NOTIFY_WRITE);
	if (want_write)
		request_notify(r, VCHAN_NOTIFY_READ);
	/* After the requests (request_notify's barrier): the peer moved its
	 * index before seeing them, or will signal. */
	live = shm_ring_peer_live(r);
	if (live != 1 || read_ready(r) != 0)
		return 1;
	return want_write && write_space(r) != 0;
}

ssize_t shm_ring_read(struct shm_ring *r, void *buf, size_t len, bool *kick)
{
	struct shm_ring_dir *d = &r->rd;
	uint32_t n, off, first;
	int live, ready, err;

	if (kick)
		*kick = false;
	err = ring_check(r);
	if (err)
		return err;
	live = shm_ring_peer_live(r);
	if (live < 0)
		return live;
	/* Read live before prod: a peer writes its last bytes, then sets
	 * live 0, so seeing 0 here means prod below counts every byte. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	ready = read_ready(r);
	if (ready == 0) {
		if (!live)
			return 0;
		request_notify(r, VCHAN_NOTIFY_WRITE);
		ready = read_ready(r);
		if (ready == 0)
			return -EAGAIN;
	}
	if (ready < 0)
		return ready;
	if (len == 0)
		return 0;
	n = len < (size_t)ready ? (uint32_t)len : (uint32_t)ready;

	/* Read barrier: the data is read after prod, which covers it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	off = d->mine & (d->size - 1);
	first = d->size - off < n ? d->size - off : n;
	memcpy(buf, d->buf + off, first);
	memcpy((uint8_t *)buf + first, d->buf, n - first);
	/* Release: the data is read before cons says the peer may overwrite it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->mine += n;
	WRITE_ONCE(d->idx->cons, d->mine);

	if (honour_notify(r, VCHAN_NOTIFY_READ) && kick)
		*kick = true;
	return n;
}

/* Copies into the ring after the held bytes, and holds them too. */
ssize_t vrpc_shm_ring_hold(struct shm_ring *r, const void *buf, size_t len)
{
	struct shm_ring_dir *d = &r->wr;
	uint32_t n, off, first;
	int live, space, err;

	err = ring_check(r);
	if (err)
		return err;
	live = shm_ring_peer_live(r);
	if (live < 0)
		return live;
	if (!live)
		return -EPIPE;
	if (len == 0)
		return 0;
	space = write_space(r);
	if (space == 0) {
		request_notify(r, VCHAN_NOTIFY_READ);
		space = write_space(r);
		if (space == 0)
			return -EAGAIN;
	}
	if (space < 0)
		return space;
	n = len < (size_t)space ? (uint32_t)len : (uint32_t)space;

	/* Acquire: cons is read before we overwrite the bytes it freed (the
	 * peer read them before publishing cons). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	off = (d->mine + d->held) & (d->size - 1);
	first = d->size - off < n ? d->size - off : n;
	memcpy(d->buf + off, buf, first);
	memcpy(d->buf, (const uint8_t *)buf + first, n - first);
	d->held += n;
	return n;
}

void vrpc_shm_ring_publish(struct shm_ring *r, bool *kick)
{
	struct shm_ring_dir *d = &r->wr;

	if (kick)
		*kick = false;
	if (!d->held || r->broken)
		return;
	/* Write barrier: the data is in place before prod publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->mine += d->held;
	d->held = 0;
	WRITE_ONCE(d->idx->prod, d->mine);
	if (honour_notify(r, VCHAN_NOTIFY_WRITE) && kick)
		*kick = true;
}

ssize_t shm_ring_write(struct shm_ring *r, const void *buf, size_t len, bool *kick)
{
	ssize_t n = vrpc_shm_ring_hold(r, buf, len);

	if (kick)
		*kick = false;
	if (n > 0)
		vrpc_shm_ring_publish(r, kick);
	return n;
}

void shm_ring_close(struct shm_ring *r)
{
	if (!r->shr)
		return;
	/* Release: every index we published is visible before live 0, so a
	 * peer that sees 0 (then reads prod) reads all we wrote. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	WRITE_ONCE(*r->my_live, 0);
	/* Full barrier: live 0 is visible before the caller's signal wakes
	 * the peer, which then re-reads it. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
