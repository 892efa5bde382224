/*
 * test_port.c - tests only: a virtio-serial port (the test manifest's
 * vapp.fp-reader; the production manifest has none) that carries what
 * libfprint's virtual readers read from their socket, from the host into
 * the appliance. vapp-fpd runs this only with --test-reader or
 * --test-image-reader, which also put it in test mode.
 *
 * Lines (virtual_device): each line read from the port is one command
 * ("SCAN alice", "RETRY 1"), passed to the virtual reader's socket on a
 * connection of its own, as the virtual reader wants them, and the next
 * only once the reader has closed that connection (it takes one at a time
 * and drops an older one still open: commands would be lost). That wait
 * blocks the loop for as long as the reader takes to read a line.
 *
 * Images (virtual_image): the port carries the reader's own records, two
 * native ints (width and height, or a negative command and its argument)
 * then width x height grey bytes. virtual_image reads them on one
 * connection, but an image that comes while no scan is awaited is lost
 * (libfprint drops it), so each record waits here until the reader asks
 * for a finger (reader_finger_wanted()), one record per asking. A header
 * the reader would refuse (over 5000 pixels a side) ends the port's
 * session: the host's next connection starts clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vrpc.h"
#include "fpd.h"

#define REOPEN_MS 500
#define WAIT_MS 2000
#define FEED_MS 20
#define MAX_SIDE 5000
#define MAX_RECORDS 16

struct record {
	unsigned char *p;
	size_t len;
};

struct test_port {
	struct vrpc_loop *loop;
	enum test_port_kind kind;
	char path[256], sock[108];
	int fd;
	char line[256];
	size_t len;
	/* images: the record being read, those read, the reader's connection */
	struct record cur;
	size_t want;
	struct record queue[MAX_RECORDS];
	int n_queued;
	int out;
	unsigned last_ask;
};

static void port_open(void *ud);

static int connect_reader(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		close(s);
		return -1;
	}
	return s;
}

static void send_command(struct test_port *tp)
{
	int s = connect_reader(tp->sock);
	struct pollfd p = { .fd = s, .events = POLLIN };
	char reply[256];

	if (s < 0 || vapp_write_all(s, tp->line, tp->len)) {
		fprintf(stderr, "vapp-fpd: test reader: \"%.*s\" not passed on: %s\n", (int)tp->len,
			tp->line, strerror(errno));
	} else {
		shutdown(s, SHUT_WR);
		/* Until the reader closes it (a LIST's answer is dropped). */
		while (poll(&p, 1, WAIT_MS) == 1 && read(s, reply, sizeof(reply)) > 0)
			;
	}
	if (s >= 0)
		close(s);
}

static void close_and_retry(struct test_port *tp)
{
	vrpc_loop_del_fd(tp->loop, tp->fd);
	close(tp->fd);
	tp->fd = -1;
	tp->len = 0;
	free(tp->cur.p);
	tp->cur = (struct record){ 0 };
	vrpc_loop_add_timer(tp->loop, REOPEN_MS, port_open, tp);
}

/* Gives the oldest record to the reader once it asks for a finger anew. */
static void feed(void *ud)
{
	struct test_port *tp = ud;
	unsigned ask = reader_finger_wanted();

	if (tp->n_queued && ask && ask != tp->last_ask) {
		struct record r = tp->queue[0];

		if (tp->out < 0)
			tp->out = connect_reader(tp->sock);
		if (tp->out < 0 || vapp_write_all(tp->out, r.p, r.len)) {
			fprintf(stderr, "vapp-fpd: test reader: an image not passed on: %s\n",
				strerror(errno));
			if (tp->out >= 0)
				close(tp->out);
			tp->out = -1;
		}
		tp->last_ask = ask;
		free(r.p);
		memmove(tp->queue, tp->queue + 1, (size_t)--tp->n_queued * sizeof(r));
	}
	if (tp->n_queued)
		vrpc_loop_add_timer(tp->loop, FEED_MS, feed, tp);
}

/* Cuts records out of what the port gave. @return 0, or -1 when the
 * header is one the reader would refuse. */
static int take_images(struct test_port *tp, const unsigned char *buf, size_t n)
{
	while (n) {
		size_t k;

		if (!tp->cur.p) {
			tp->cur.p = malloc(2 * sizeof(int));
			if (!tp->cur.p)
				return -1;
			tp->cur.len = 0;
			tp->want = 2 * sizeof(int);
		}
		k = tp->want - tp->cur.len < n ? tp->want - tp->cur.len : n;
		memcpy(tp->cur.p + tp->cur.len, buf, k);
		tp->cur.len += k;
		buf += k;
		n -= k;
		if (tp->cur.len < tp->want)
			continue;
		if (tp->want == 2 * sizeof(int)) {
			int hdr[2];

			memcpy(hdr, tp->cur.p, sizeof(hdr));
			if (hdr[0] > MAX_SIDE || hdr[1] > MAX_SIDE || (hdr[0] >= 0) != (hdr[1] >= 0)) {
				fprintf(stderr, "vapp-fpd: test reader: a %dx%d image refused\n", hdr[0],
					hdr[1]);
				return -1;
			}
			if (hdr[0] > 0) {
				unsigned char *p = realloc(tp->cur.p, tp->want + (size_t)hdr[0] * hdr[1]);

				if (!p)
					return -1;
				tp->cur.p = p;
				tp->want += (size_t)hdr[0] * hdr[1];
				continue;
			}
		}
		if (tp->n_queued == MAX_RECORDS) {
			fprintf(stderr, "vapp-fpd: test reader: %d images wait already: one dropped\n",
				MAX_RECORDS);
			free(tp->cur.p);
		} else {
			if (!tp->n_queued)
				vrpc_loop_add_timer(tp->loop, FEED_MS, feed, tp);
			tp->queue[tp->n_queued++] = tp->cur;
		}
		tp->cur = (struct record){ 0 };
	}
	return 0;
}

static void on_port(void *ud, int fd, short revents)
{
	struct test_port *tp = ud;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close_and_retry(tp); /* the host side went away */
		return;
	}
	if (tp->kind == TEST_PORT_IMAGES) {
		if (take_images(tp, (unsigned char *)buf, (size_t)n))
			close_and_retry(tp);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (tp->len)
				send_command(tp);
			tp->len = 0;
		} else if (tp->len < sizeof(tp->line)) {
			tp->line[tp->len++] = buf[i];
		}
	}
	(void)revents;
}

static void port_open(void *ud)
{
	struct test_port *tp = ud;

	tp->fd = open(tp->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (tp->fd < 0 || vrpc_loop_add_fd(tp->loop, tp->fd, POLLIN, on_port, tp) < 0) {
		if (tp->fd >= 0)
			close(tp->fd);
		tp->fd = -1;
		vrpc_loop_add_timer(tp->loop, REOPEN_MS, port_open, tp);
	}
}

int fpd_test_port_start(struct vrpc_loop *loop, const char *port, const char *sock,
			enum test_port_kind kind)
{
	static struct test_port tp;

	tp.loop = loop;
	tp.kind = kind;
	tp.fd = -1;
	tp.out = -1;
	snprintf(tp.path, sizeof(tp.path), "%s", port);
	snprintf(tp.sock, sizeof(tp.sock), "%s", sock);
	port_open(&tp);
	return 0;
}
