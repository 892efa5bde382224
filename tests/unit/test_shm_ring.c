/*
 * test_shm_ring.c - the vchan ring protocol (shm_ring.c) on a malloc'd
 * region: both sides in one process, the test playing the hostile peer by
 * writing into the shared page.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shm_ring.h"

struct pair {
	uint8_t *mem;
	size_t len;
	struct shm_ring srv, cli;
};

static struct pair *pair_new(unsigned left, unsigned right)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->len = shm_ring_region_size(left, right);
	p->mem = malloc(p->len);
	assert_non_null(p->mem);
	memset(p->mem, 0xa5, p->len); /* the server must not rely on zeroes */
	assert_int_equal(shm_ring_init_server(&p->srv, p->mem, p->len, left, right), 0);
	assert_int_equal(shm_ring_attach_client(&p->cli, p->mem, p->len), 0);
	return p;
}

static void pair_free(struct pair *p)
{
	free(p->mem);
	free(p);
}

static struct vchan_interface *page(struct pair *p)
{
	return (struct vchan_interface *)p->mem;
}

/* Byte i of a test stream. */
static uint8_t pat(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

/* Pushes @p total bytes from w to r in chunks of @p wchunk / @p rchunk,
 * checking every byte and that a full ring says -EAGAIN. */
static void stream(struct shm_ring *w, struct shm_ring *r, uint64_t total,
		   size_t wchunk, size_t rchunk)
{
	uint8_t *buf = malloc(wchunk > rchunk ? wchunk : rchunk);
	uint64_t wpos = 0, rpos = 0;
	bool kick;

	assert_non_null(buf);
	while (rpos < total) {
		size_t n = wchunk;
		ssize_t got;

		if (n > total - wpos)
			n = (size_t)(total - wpos);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(wpos + i);
		got = n ? shm_ring_write(w, buf, n, &kick) : -EAGAIN;
		if (got > 0) {
			assert_true((size_t)got <= n);
			wpos += (uint64_t)got;
		} else {
			assert_int_equal(got, -EAGAIN);
		}
		/* Read only when the ring is full (or all is written), so
		 * writes do hit a full ring. */
		if (got == -EAGAIN || wpos == total) {
			got = shm_ring_read(r, buf, rchunk, &kick);
			assert_true(got > 0);
			for (ssize_t i = 0; i < got; i++)
				assert_int_equal(buf[i], pat(rpos + (uint64_t)i));
			rpos += (uint64_t)got;
		}
	}
	assert_int_equal(shm_ring_read(r, buf, rchunk, &kick), -EAGAIN);
	free(buf);
}

static void test_orders(void **state)
{
	assert_int_equal(shm_ring_check_orders(16, 16), 0);
	assert_int_equal(shm_ring_check_orders(10, 11), 0);
	assert_int_equal(shm_ring_check_orders(20, 10), 0);
	assert_int_equal(shm_ring_check_orders(9, 16), -EINVAL);
	assert_int_equal(shm_ring_check_orders(16, 21), -EINVAL);
	assert_int_equal(shm_ring_check_orders(10, 10), -EINVAL);
	assert_int_equal(shm_ring_check_orders(11, 11), -EINVAL);
	assert_int_equal(shm_ring_region_size(10, 11), 4096);
	assert_int_equal(shm_ring_region_size(12, 10), 4096 + 4096);
	assert_int_equal(shm_ring_region_size(16, 20), 4096 + 65536 + (1 << 20));
}

/* The layout is Xen's: small rings inside the page, larger ones after it. */
static void test_layout(void **state)
{
	struct pair *p = pair_new(10, 11);

	assert_ptr_equal(p->srv.rd.buf, p->mem + 1024);
	assert_ptr_equal(p->srv.wr.buf, p->mem + 2048);
	assert_ptr_equal(p->cli.wr.buf, p->mem + 1024);
	assert_ptr_equal(p->cli.rd.buf, p->mem + 2048);
	assert_int_equal(page(p)->left_order, 10);
	assert_int_equal(page(p)->right_order, 11);
	pair_free(p);

	p = pair_new(13, 12);
	assert_ptr_equal(p->srv.rd.buf, p->mem + 4096);
	assert_ptr_equal(p->srv.wr.buf, p->mem + 4096 + 8192);
	assert_ptr_equal(p->cli.rd.buf, p->mem + 4096 + 8192);
	pair_free(p);
}

/* Every order: fill, drain, wrap with odd chunk sizes so that the wrap
 * point falls everywhere, both ways. */
static void test_wrap_every_order(void **state)
{
	for (unsigned order = 10; order <= 20; order++) {
		unsigned other = order == 10 ? 11 : 10;
		struct pair *p = pair_new(order, other);
		uint64_t size = 1u << order;

		stream(&p->cli, &p->srv, 3 * size + 17, 997, 1361);
		stream(&p->cli, &p->srv, size, size, size);
		stream(&p->srv, &p->cli, 3 * (1u << other) + 5, 333, 129);
		pair_free(p);

		p = pair_new(other, order);
		stream(&p->srv, &p->cli, 3 * size + 17, 1361, 997);
		pair_free(p);
	}
}

/* Sets the left ring's indices (both sides' views) to @p v. */
static void set_left_index(struct pair *p, uint32_t v)
{
	page(p)->left.prod = page(p)->left.cons = v;
	p->cli.wr.mine = p->cli.wr.seen = v;
	p->srv.rd.mine = p->srv.rd.seen = v;
}

/* Free-running 32-bit indices wrap without a hiccup. */
static void test_index_wrap(void **state)
{
	struct pair *p = pair_new(12, 12);

	set_left_index(p, UINT32_MAX - 100);
	stream(&p->cli, &p->srv, 20000, 3000, 700);
	assert_true(p->cli.wr.mine < 20000);
	pair_free(p);
}

static void test_partial(void **state)
{
	struct pair *p = pair_new(10, 11);
	uint8_t big[4096], out[4096];
	bool kick;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = pat(i);
	/* 1024-byte ring: a 4096-byte write is short. */
	assert_int_equal(shm_ring_write(&p->cli, big, sizeof(big), &kick), 1024);
	assert_int_equal(shm_ring_write(&p->cli, big, 1, &kick), -EAGAIN);
	assert_int_equal(shm_ring_data_ready(&p->srv), 1024);
	assert_int_equal(shm_ring_read(&p->srv, out, 100, &kick), 100);
	assert_memory_equal(out, big, 100);
	assert_int_equal(shm_ring_space(&p->cli), 100);
	assert_int_equal(shm_ring_write(&p->cli, big + 1024, 500, &kick), 100);
	assert_int_equal(shm_ring_read(&p->srv, out, sizeof(out), &kick), 1024);
	assert_memory_equal(out, big + 100, 1024);
	assert_int_equal(shm_ring_write(&p->cli, big, 0, &kick), 0);
	pair_free(p);
}

/* Held bytes: in the ring, counted against its space, unseen by the peer
 * and signalling nothing until published; wrapping like any write. */
static void test_hold(void **state)
{
	struct pair *p = pair_new(10, 11);
	struct vchan_interface *v = page(p);
	uint8_t big[1024], out[1024];
	bool kick;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = pat(i);
	/* Move the indices so that the held bytes wrap around the end. */
	assert_int_equal(shm_ring_write(&p->cli, big, 700, &kick), 700);
	assert_int_equal(shm_ring_read(&p->srv, out, 700, &kick), 700);
	assert_int_equal(vrpc_shm_ring_hold(&p->cli, big, 300), 300);
	assert_int_equal(vrpc_shm_ring_hold(&p->cli, big + 300, 600), 600);
	assert_int_equal(shm_ring_space(&p->cli), 1024 - 900);
	assert_int_equal(shm_ring_data_ready(&p->srv), 0);
	assert_int_equal(v->left.prod, 700);
	/* The ring holds 1024: a hold past that is short, then -EAGAIN. */
	assert_int_equal(vrpc_shm_ring_hold(&p->cli, big + 900, 500), 124);
	assert_int_equal(vrpc_shm_ring_hold(&p->cli, big, 1), -EAGAIN);
	/* The server waits for data: publishing signals it, once. */
	assert_int_equal(shm_ring_read(&p->srv, out, 1, &kick), -EAGAIN);
	vrpc_shm_ring_publish(&p->cli, &kick);
	assert_true(kick);
	vrpc_shm_ring_publish(&p->cli, &kick);
	assert_false(kick);
	assert_int_equal(shm_ring_read(&p->srv, out, sizeof(out), &kick), 1024);
	assert_memory_equal(out, big, 1024);
	/* A write publishes what was held before it, in order. */
	assert_int_equal(vrpc_shm_ring_hold(&p->cli, "ab", 2), 2);
	assert_int_equal(shm_ring_write(&p->cli, "cd", 2, &kick), 2);
	assert_int_equal(shm_ring_read(&p->srv, out, sizeof(out), &kick), 4);
	assert_memory_equal(out, "abcd", 4);
	pair_free(p);
}

static void test_notify(void **state)
{
	struct pair *p = pair_new(10, 11);
	struct vchan_interface *v = page(p);
	uint8_t buf[2048];
	bool kick;

	/* Each side starts out asking to hear of the other's writes. */
	assert_int_equal(v->cli_notify, VCHAN_NOTIFY_WRITE);
	assert_int_equal(v->srv_notify, VCHAN_NOTIFY_WRITE);

	/* The server asked: the client's first write signals, and only it. */
	assert_int_equal(shm_ring_write(&p->cli, "ab", 2, &kick), 2);
	assert_true(kick);
	assert_int_equal(v->cli_notify, 0);
	assert_int_equal(shm_ring_write(&p->cli, "cd", 2, &kick), 2);
	assert_false(kick);

	/* The client is not waiting for space: reading signals nothing. */
	assert_int_equal(shm_ring_read(&p->srv, buf, 1, &kick), 1);
	assert_false(kick);
	assert_int_equal(shm_ring_read(&p->srv, buf, sizeof(buf), &kick), 3);
	assert_false(kick);

	/* The server drained it and waits: it asks again, and is woken. */
	assert_int_equal(shm_ring_read(&p->srv, buf, sizeof(buf), &kick), -EAGAIN);
	assert_int_equal(v->cli_notify, VCHAN_NOTIFY_WRITE);
	assert_int_equal(shm_ring_write(&p->cli, "e", 1, &kick), 1);
	assert_true(kick);
	assert_int_equal(v->cli_notify, 0);

	/* The client fills the ring and waits for space: the server's next
	 * read signals it, the one after does not. */
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(shm_ring_write(&p->cli, buf, 1023, &kick), 1023);
	assert_false(kick);
	assert_int_equal(shm_ring_write(&p->cli, buf, 1, &kick), -EAGAIN);
	assert_int_equal(v->cli_notify, 0);
	assert_int_equal(v->srv_notify & VCHAN_NOTIFY_READ, VCHAN_NOTIFY_READ);
	assert_int_equal(shm_ring_read(&p->srv, buf, 10, &kick), 10);
	assert_true(kick);
	assert_int_equal(v->srv_notify & VCHAN_NOTIFY_READ, 0);
	assert_int_equal(shm_ring_read(&p->srv, buf, 10, &kick), 10);
	assert_false(kick);

	/* Server to client, the same way round. */
	assert_int_equal(shm_ring_write(&p->srv, "hi", 2, &kick), 2);
	assert_true(kick); /* the client asked at attach */
	assert_int_equal(shm_ring_write(&p->srv, "!", 1, &kick), 1);
	assert_false(kick);
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), 3);
	assert_false(kick);
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), -EAGAIN);
	assert_int_equal(v->srv_notify & VCHAN_NOTIFY_WRITE, VCHAN_NOTIFY_WRITE);
	pair_free(p);
}

/* A server may write before the client attaches; it cannot read yet. */
/* Arming before a sleep: the ask is in the peer's byte, and a look after
 * it finds what came meanwhile (the lost wake-up a fresh connection had). */
static void test_arm(void **state)
{
	struct pair *p = pair_new(12, 12);
	struct vchan_interface *v = page(p);
	uint8_t buf[64];
	bool kick;

	/* The server's first ask is in place from set-up; the client's read of
	 * it is honoured, so the client asks nothing now. */
	assert_int_equal(shm_ring_write(&p->srv, "hi", 2, &kick), 2);
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), 2);
	v->srv_notify = 0;
	/* Nothing to read: armed, and told to sleep. */
	assert_int_equal(vrpc_shm_ring_arm(&p->cli, false), 0);
	assert_int_equal(v->srv_notify & VCHAN_NOTIFY_WRITE, VCHAN_NOTIFY_WRITE);
	assert_int_equal(v->srv_notify & VCHAN_NOTIFY_READ, 0);
	/* The server's next write signals, once. */
	assert_int_equal(shm_ring_write(&p->srv, "x", 1, &kick), 1);
	assert_true(kick);
	/* Already something to read: do not sleep. */
	v->srv_notify = 0;
	assert_int_equal(vrpc_shm_ring_arm(&p->cli, false), 1);
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), 1);
	/* Wanting to write: asks for reads too; room means no sleep. */
	assert_int_equal(vrpc_shm_ring_arm(&p->cli, true), 1);
	assert_int_equal(v->srv_notify & VCHAN_NOTIFY_READ, VCHAN_NOTIFY_READ);
	/* A peer gone or a broken page: never sleep on it. */
	v->srv_live = 0;
	assert_int_equal(vrpc_shm_ring_arm(&p->cli, false), 1);
	pair_free(p);
}

static void test_before_attach(void **state)
{
	uint8_t *mem = malloc(shm_ring_region_size(16, 16));
	struct shm_ring srv, cli;
	char buf[16];
	bool kick;

	assert_non_null(mem);
	assert_int_equal(shm_ring_init_server(&srv, mem, shm_ring_region_size(16, 16), 16, 16), 0);
	assert_int_equal(shm_ring_read(&srv, buf, sizeof(buf), &kick), -EAGAIN);
	assert_int_equal(shm_ring_write(&srv, "early", 5, &kick), 5);
	assert_false(kick);
	assert_int_equal(shm_ring_attach_client(&cli, mem, shm_ring_region_size(16, 16)), 0);
	assert_int_equal(((struct vchan_interface *)mem)->cli_live, 1);
	assert_int_equal(shm_ring_read(&cli, buf, sizeof(buf), &kick), 5);
	assert_memory_equal(buf, "early", 5);
	free(mem);
}

static void test_eof(void **state)
{
	struct pair *p = pair_new(12, 13);
	char buf[16];
	bool kick;

	assert_int_equal(shm_ring_write(&p->cli, "bye", 3, &kick), 3);
	shm_ring_close(&p->cli);
	assert_int_equal(page(p)->cli_live, 0);
	/* Data written before the close is still read, then EOF, for good. */
	assert_int_equal(shm_ring_peer_live(&p->srv), 0);
	assert_int_equal(shm_ring_read(&p->srv, buf, sizeof(buf), &kick), 3);
	assert_int_equal(shm_ring_read(&p->srv, buf, sizeof(buf), &kick), 0);
	assert_int_equal(shm_ring_read(&p->srv, buf, sizeof(buf), &kick), 0);
	assert_int_equal(shm_ring_write(&p->srv, "x", 1, &kick), -EPIPE);
	pair_free(p);

	/* A peer known dead by other means (socket hang-up). */
	p = pair_new(12, 13);
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), -EAGAIN);
	shm_ring_set_peer_gone(&p->cli);
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), 0);
	assert_int_equal(shm_ring_write(&p->cli, "x", 1, &kick), -EPIPE);
	pair_free(p);
}

/* Every corruption a hostile peer can write gives -EPROTO, for good. */
enum corruption {
	PROD_PAST_RING,
	PROD_BACKWARDS,
	PROD_WAY_BACK,
	CONS_PAST_PROD,
	CONS_BACKWARDS,
	MY_CONS_MOVED,
	MY_PROD_MOVED,
	LIVE_REVIVED,
	LIVE_GARBAGE,
	LIVE_UNCONNECTED,
	LEFT_ORDER,
	RIGHT_ORDER,
	N_CORRUPTIONS,
};

/* Corrupts what the server sees. */
static void corrupt(struct pair *p, enum corruption c)
{
	struct vchan_interface *v = page(p);
	char buf[64] = { 0 };
	bool kick;

	/* Some traffic first, so indices are not all zero. */
	assert_int_equal(shm_ring_write(&p->cli, buf, 40, &kick), 40);
	assert_int_equal(shm_ring_read(&p->srv, buf, 30, &kick), 30);
	assert_int_equal(shm_ring_write(&p->srv, buf, 50, &kick), 50);
	assert_int_equal(shm_ring_read(&p->cli, buf, 20, &kick), 20);
	/* The server looks, so that it knows the indices as they are now: a
	 * move backwards that it never saw forwards is not detectable. */
	assert_int_equal(shm_ring_data_ready(&p->srv), 10);
	assert_int_equal(shm_ring_space(&p->srv), (1 << 13) - 30);
	switch (c) {
	case PROD_PAST_RING: v->left.prod = v->left.cons + (1u << 12) + 1; break;
	case PROD_BACKWARDS: v->left.prod -= 5; break;
	case PROD_WAY_BACK: v->left.prod = v->left.cons - 1; break;
	case CONS_PAST_PROD: v->right.cons = v->right.prod + 1; break;
	case CONS_BACKWARDS: v->right.cons -= 1; break;
	case MY_CONS_MOVED: v->left.cons += 1; break;
	case MY_PROD_MOVED: v->right.prod -= 1; break;
	case LIVE_REVIVED:
		v->cli_live = 0;
		assert_int_equal(shm_ring_peer_live(&p->srv), 0);
		v->cli_live = 1;
		break;
	case LIVE_GARBAGE: v->cli_live = 7; break;
	case LIVE_UNCONNECTED: v->cli_live = 2; break;
	case LEFT_ORDER: v->left_order = 13; break;
	case RIGHT_ORDER: v->right_order = 12; break;
	default: fail();
	}
}

static void test_corruption(void **state)
{
	for (int c = 0; c < N_CORRUPTIONS; c++) {
		for (int op = 0; op < 3; op++) {
			struct pair *p = pair_new(12, 13);
			char buf[64] = { 0 };
			bool kick;
			ssize_t n;

			corrupt(p, (enum corruption)c);
			if (op == 0)
				n = shm_ring_read(&p->srv, buf, sizeof(buf), &kick);
			else if (op == 1)
				n = shm_ring_write(&p->srv, buf, sizeof(buf), &kick);
			else
				n = shm_ring_data_ready(&p->srv) < 0 ? -EPROTO :
				    shm_ring_space(&p->srv);
			/* A read of a ring whose prod is fine but whose write
			 * cons is bad, say, may succeed once: what matters
			 * is that the next look at the bad index fails. */
			if (n != -EPROTO) {
				n = shm_ring_read(&p->srv, buf, sizeof(buf), &kick);
				if (n != -EPROTO)
					n = shm_ring_write(&p->srv, buf, sizeof(buf), &kick);
			}
			if (n != -EPROTO)
				fail_msg("corruption %d op %d: %zd", c, op, n);
			/* Sticky. */
			assert_int_equal(shm_ring_read(&p->srv, buf, sizeof(buf), &kick), -EPROTO);
			assert_int_equal(shm_ring_write(&p->srv, buf, 1, &kick), -EPROTO);
			pair_free(p);
		}
	}
}

/* The client side too: a hostile server's page. */
static void test_client_corruption(void **state)
{
	struct pair *p = pair_new(12, 13);
	char buf[64] = { 0 };
	bool kick;

	page(p)->srv_live = 2; /* a server is never "not yet connected" */
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), -EPROTO);
	pair_free(p);

	p = pair_new(12, 13);
	page(p)->right.prod = page(p)->right.cons + (1u << 13) + 1;
	assert_int_equal(shm_ring_read(&p->cli, buf, sizeof(buf), &kick), -EPROTO);
	pair_free(p);

	p = pair_new(12, 13);
	assert_int_equal(shm_ring_write(&p->cli, buf, 10, &kick), 10);
	page(p)->left.cons += 11;
	assert_int_equal(shm_ring_write(&p->cli, buf, 10, &kick), -EPROTO);
	pair_free(p);
}

/* A page that does not describe a valid layout is refused at attach. */
static void test_attach_refuses(void **state)
{
	static const uint16_t bad[][2] = {
		{ 9, 16 }, { 16, 21 }, { 10, 10 }, { 11, 11 }, { 0, 0 }, { 0xffff, 12 },
	};
	size_t len = shm_ring_region_size(16, 16);
	uint8_t *mem = malloc(len);
	struct vchan_interface *v = (struct vchan_interface *)mem;
	struct shm_ring srv, cli;

	assert_non_null(mem);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(shm_ring_init_server(&srv, mem, len, 16, 16), 0);
		v->left_order = bad[i][0];
		v->right_order = bad[i][1];
		assert_int_equal(shm_ring_attach_client(&cli, mem, len), -EPROTO);
	}
	/* Valid orders, but larger than the region. */
	assert_int_equal(shm_ring_init_server(&srv, mem, len, 16, 16), 0);
	v->right_order = 17;
	assert_int_equal(shm_ring_attach_client(&cli, mem, len), -EPROTO);
	/* Our write ring not empty at attach. */
	assert_int_equal(shm_ring_init_server(&srv, mem, len, 16, 16), 0);
	v->left.prod = 5;
	assert_int_equal(shm_ring_attach_client(&cli, mem, len), -EPROTO);
	/* A region smaller than a page. */
	assert_int_equal(shm_ring_attach_client(&cli, mem, 100), -EPROTO);
	assert_int_equal(shm_ring_init_server(&srv, mem, 4096, 16, 16), -EINVAL);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_orders),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_wrap_every_order),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_arm),
		cmocka_unit_test(test_before_attach),
		cmocka_unit_test(test_eof),
		cmocka_unit_test(test_corruption),
		cmocka_unit_test(test_client_corruption),
		cmocka_unit_test(test_attach_refuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
