/*
 * test_port.c - tests only: a virtio-serial port (the test manifest's
 * vapp.fp-reader; the production manifest has none) that carries the
 * commands of libfprint's virtual reader from the host into the appliance.
 * Each line read from the port is one command ("SCAN alice", "RETRY 1"),
 * passed to the virtual reader's socket on a connection of its own, as the
 * virtual reader wants them, and the next only once the reader has closed
 * that connection (it takes one at a time and drops an older one still
 * open: commands would be lost). That wait blocks the loop for as long as
 * the reader takes to read a line: tests only. vapp-fpd runs this only with
 * --test-reader, which also puts it in test mode.
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

struct test_port {
	struct vrpc_loop *loop;
	char path[256], sock[108];
	int fd;
	char line[256];
	size_t len;
};

static void port_open(void *ud);

static void send_command(struct test_port *tp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	struct pollfd p = { .fd = s, .events = POLLIN };
	char reply[256];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tp->sock);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    vapp_write_all(s, tp->line, tp->len)) {
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
	vrpc_loop_add_timer(tp->loop, REOPEN_MS, port_open, tp);
}

static void on_port(void *ud, int fd, short revents)
{
	struct test_port *tp = ud;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close_and_retry(tp); /* the host side went away */
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

int fpd_test_port_start(struct vrpc_loop *loop, const char *port, const char *sock)
{
	static struct test_port tp;

	tp.loop = loop;
	tp.fd = -1;
	snprintf(tp.path, sizeof(tp.path), "%s", port);
	snprintf(tp.sock, sizeof(tp.sock), "%s", sock);
	port_open(&tp);
	return 0;
}
