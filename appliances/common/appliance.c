/*
 * appliance.c - what every appliance daemon does the same way (appliance.h).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vrpc.h"
#include "appliance.h"

int appliance_addr_add(struct appliance_addrs *a, int c, const char *addr)
{
	int *n = c == 'a' ? &a->n_attach : &a->n_listen;

	if (*n == APPLIANCE_MAX_ADDRS)
		return -1;
	(c == 'a' ? a->attach : a->listen)[(*n)++] = addr;
	return 0;
}

int appliance_addrs_open(const char *prog, struct vrpc_server *srv,
			 const struct appliance_addrs *a)
{
	int err = 0;

	for (int i = 0; !err && i < a->n_attach; i++)
		if ((err = vrpc_server_attach(srv, a->attach[i])))
			fprintf(stderr, "%s: cannot serve %s: %s\n", prog, a->attach[i], strerror(-err));
	for (int i = 0; !err && i < a->n_listen; i++)
		if ((err = vrpc_server_listen(srv, a->listen[i])))
			fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, a->listen[i],
				strerror(-err));
	return err;
}

static void on_signal(void *ud, int fd, short revents)
{
	struct signalfd_siginfo si;

	(void)revents;
	while (read(fd, &si, sizeof(si)) == sizeof(si))
		vrpc_loop_quit(ud);
}

int appliance_quit_on_signals(struct vrpc_loop *loop)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (vrpc_loop_add_fd(loop, fd, POLLIN, on_signal, loop) < 0) {
		close(fd);
		return -EIO;
	}
	return 0;
}

void appliance_caller(void *data, char *out, size_t len)
{
	const struct vrpc_peer *p = vrpc_call_peer(vrpc_call_of(data));

	if (p && p->kind == VRPC_PEER_LABEL)
		snprintf(out, len, "%s", p->label);
	else if (p)
		vrpc_peer_format(p, out, len);
	else
		snprintf(out, len, "unknown");
}
