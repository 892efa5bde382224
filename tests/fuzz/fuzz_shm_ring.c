/*
 * fuzz_shm_ring.c - libFuzzer target for the vchan ring protocol
 * (shm_ring.c): the input is a shared page, ring contents and a sequence of
 * reads, writes and hostile pokes at the page. Nothing may crash, read or
 * write out of bounds (the region is malloc'd to its exact size, for ASan),
 * or break the contract of shm_ring.h (checked with abort()).
 *
 * Input:
 *   byte 0      bit 0: our role (0 server, 1 client); bits 1..: unused
 *   bytes 1, 2  orders the region is allocated for (mod 11, + 10)
 *   bytes 3..26 client role: the vchan_interface header the server wrote
 *   then ops, one opcode byte and its arguments each (see below); ring
 *   contents come from the input bytes left over after the ops' arguments
 *   are taken, written by the POKE_DATA op.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm_ring.h"

#define MAX_IO (1u << 20)

static uint8_t iobuf[MAX_IO + 1];

struct input {
	const uint8_t *p;
	size_t n;
};

static int take(struct input *in, void *out, size_t len)
{
	if (in->n < len)
		return -1;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return 0;
}

static unsigned take_order(struct input *in)
{
	uint8_t b = 0;

	take(in, &b, 1);
	return 10 + b % 11;
}

enum op {
	OP_READ,      /* u16 len, u8 shift */
	OP_WRITE,     /* u16 len, u8 shift */
	OP_POKE8,     /* u8 offset in the header, u8 value */
	OP_POKE32,    /* u8 index (left.cons, left.prod, right.cons, right.prod), u32 */
	OP_PEER_MOVE, /* u8 which, u16 by: a well-behaved peer moves its index */
	OP_POKE_DATA, /* u32 offset, u8 len, bytes: anywhere in the region */
	OP_LOOK,      /* data_ready, space, peer_live */
	OP_GONE,
	OP_CLOSE,
	OP_HOLD,      /* u16 len, u8 shift: written, not yet published */
	OP_PUBLISH,
	OP_COUNT,
};

static size_t io_len(struct input *in)
{
	uint16_t len = 0;
	uint8_t shift = 0;
	size_t n;

	take(in, &len, 2);
	take(in, &shift, 1);
	n = (size_t)len << (shift % 5);
	return n > MAX_IO ? MAX_IO : n;
}

static void check_rc(struct shm_ring *r, ssize_t n, size_t len, bool *broken)
{
	if (*broken && n != -EPROTO)
		abort(); /* -EPROTO is for good */
	if (n == -EPROTO)
		*broken = true;
	else if (n < 0 && n != -EAGAIN && n != -EPIPE)
		abort();
	else if (n > 0 && ((size_t)n > len || (size_t)n > r->rd.size + r->wr.size))
		abort();
}

/* The "available" calls: bounded by the rings, and -EPROTO for good. */
static void look(struct shm_ring *r, bool *broken)
{
	int v[3] = { shm_ring_data_ready(r), shm_ring_space(r), shm_ring_peer_live(r) };

	if (v[0] > (int)r->rd.size || v[1] > (int)r->wr.size || v[2] > 1)
		abort();
	for (int i = 0; i < 3; i++) {
		if (*broken && v[i] != -EPROTO)
			abort();
		if (v[i] == -EPROTO)
			*broken = true;
		else if (v[i] < 0)
			abort();
	}
}

static void peer_move(struct shm_ring *r, struct input *in)
{
	uint8_t which = 0;
	uint16_t by = 0;
	struct ring_shared *idx;

	take(in, &which, 1);
	take(in, &by, 2);
	/* The peer's indices: prod of our read ring, cons of our write ring. */
	idx = which & 1 ? r->wr.idx : r->rd.idx;
	if (which & 1)
		__atomic_store_n(&idx->cons, idx->cons + by, __ATOMIC_RELAXED);
	else
		__atomic_store_n(&idx->prod, idx->prod + by, __ATOMIC_RELAXED);
}

/* The fuzzer's interpreter: one case per operation byte, a table. */
static void run_ops(struct shm_ring *r, uint8_t *mem, size_t mem_len, struct input *in)
{
	bool broken = false, kick;
	int steps = 0;

	while (in->n > 0 && steps++ < 4096) {
		uint8_t op = 0, off = 0, val = 0, dlen = 0;
		uint32_t v32 = 0;
		ssize_t n;
		size_t len;

		take(in, &op, 1);
		switch (op % OP_COUNT) {
		case OP_READ:
			len = io_len(in);
			n = shm_ring_read(r, iobuf, len, &kick);
			check_rc(r, n, len, &broken);
			break;
		case OP_WRITE:
			len = io_len(in);
			n = shm_ring_write(r, iobuf, len, &kick);
			check_rc(r, n, len, &broken);
			if (n == 0 && len > 0)
				abort(); /* write never says 0 for a non-empty buffer */
			break;
		case OP_POKE8:
			take(in, &off, 1);
			take(in, &val, 1);
			mem[off % sizeof(struct vchan_interface)] = val;
			break;
		case OP_POKE32: {
			struct vchan_interface *v = (struct vchan_interface *)mem;
			uint32_t *f[] = { &v->left.cons, &v->left.prod, &v->right.cons, &v->right.prod };

			take(in, &off, 1);
			take(in, &v32, 4);
			*f[off % 4] = v32;
			break;
		}
		case OP_PEER_MOVE:
			peer_move(r, in);
			break;
		case OP_POKE_DATA:
			take(in, &v32, 4);
			take(in, &dlen, 1);
			if (dlen > in->n)
				dlen = (uint8_t)in->n;
			if (dlen) {
				size_t at = v32 % mem_len;

				if (dlen > mem_len - at)
					dlen = (uint8_t)(mem_len - at);
				take(in, mem + at, dlen);
			}
			break;
		case OP_LOOK:
			look(r, &broken);
			break;
		case OP_GONE:
			shm_ring_set_peer_gone(r);
			break;
		case OP_CLOSE:
			shm_ring_close(r);
			break;
		case OP_HOLD:
			len = io_len(in);
			n = vrpc_shm_ring_hold(r, iobuf, len);
			check_rc(r, n, len, &broken);
			if (r->wr.held > r->wr.size)
				abort(); /* never more held than the ring holds */
			break;
		case OP_PUBLISH:
			vrpc_shm_ring_publish(r, &kick);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct shm_ring r;
	unsigned left, right;
	uint8_t role = 0;
	uint8_t *mem;
	size_t len;

	take(&in, &role, 1);
	left = take_order(&in);
	right = take_order(&in);
	if (shm_ring_check_orders(left, right))
		left = left == 10 ? 11 : 10;
	len = shm_ring_region_size(left, right);
	mem = malloc(len);
	if (!mem)
		return 0;
	memset(mem, 0, len);
	if (role & 1) {
		/* A server's page, as hostile as the input makes it. */
		size_t hdr = sizeof(struct vchan_interface);

		if (in.n < hdr || take(&in, mem, hdr) ||
		    shm_ring_attach_client(&r, mem, len)) {
			free(mem);
			return 0;
		}
	} else if (shm_ring_init_server(&r, mem, len, left, right)) {
		abort(); /* valid orders and the exact size: must succeed */
	}
	run_ops(&r, mem, len, &in);
	free(mem);
	return 0;
}
