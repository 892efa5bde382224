/* transport.c - the table of transports, found by an address's scheme. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "compat.h"
#include "transport.h"

/* One line per transport; a transport file adds itself here. The Windows
 * build (vchan-rpc/windows/rules.mk) has only the client half's stream
 * transports. */
static const struct vrpc_transport_ops *const transports[] = {
#ifdef _WIN32
	&vrpc_transport_tcp,
	&vrpc_transport_serial,
#else
	&vrpc_transport_unix,
	&vrpc_transport_serial,
	&vrpc_transport_shm,
	&vrpc_transport_tcp,
	&vrpc_transport_vsock,
	&vrpc_transport_hvsock,
	&vrpc_transport_xen,
	&vrpc_transport_ivshmem,
#endif
};

const struct vrpc_transport_ops *transport_find(const char *addr, const char **rest)
{
	const char *colon = addr ? strchr(addr, ':') : NULL;

	if (!colon)
		return NULL;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		const struct vrpc_transport_ops *ops = transports[i];

		if (strlen(ops->scheme) == (size_t)(colon - addr) &&
		    !memcmp(ops->scheme, addr, (size_t)(colon - addr))) {
			*rest = colon + 1;
			return ops;
		}
	}
	return NULL;
}

int transport_connect(const char *addr, int timeout_ms, struct vrpc_transport **out)
{
	const char *rest;
	const struct vrpc_transport_ops *ops = transport_find(addr, &rest);

	if (!ops)
		return -EINVAL;
	if (!ops->connect)
		return -ENOTSUP;
	return ops->connect(rest, timeout_ms, out);
}

int transport_listen(const char *addr, struct vrpc_listener **out)
{
	const char *rest;
	const struct vrpc_transport_ops *ops = transport_find(addr, &rest);

	if (!ops)
		return -EINVAL;
	if (!ops->listen)
		return -ENOTSUP;
	return ops->listen(rest, out);
}

int transport_attach(const char *addr, struct vrpc_transport **out)
{
	const char *rest;
	const struct vrpc_transport_ops *ops = transport_find(addr, &rest);

	if (!ops)
		return -EINVAL;
	if (!ops->attach)
		return -ENOTSUP;
	return ops->attach(rest, out);
}

#ifndef _WIN32
static const struct vrpc_transport_ops *find_scheme(const char *scheme)
{
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (!strcmp(transports[i]->scheme, scheme))
			return transports[i];
	return NULL;
}

int vrpc_transport_from_fd(const char *scheme, int fd, struct vrpc_transport **out)
{
	const struct vrpc_transport_ops *ops = find_scheme(scheme);

	if (!ops || !ops->from_fd) {
		close(fd);
		return ops ? -ENOTSUP : -EINVAL;
	}
	return ops->from_fd(fd, out);
}

int vrpc_transport_listen_fd(const char *scheme, int fd, struct vrpc_listener **out)
{
	const struct vrpc_transport_ops *ops = find_scheme(scheme);

	if (!ops || !ops->listen_fd) {
		close(fd);
		return ops ? -ENOTSUP : -EINVAL;
	}
	return ops->listen_fd(fd, out);
}
#endif

short transport_poll_events(struct vrpc_transport *t, int want_write)
{
	if (t->ops->poll_events)
		return t->ops->poll_events(t, want_write);
	return (short)(POLLIN | (want_write ? POLLOUT : 0));
}

int vrpc_transport_arm(struct vrpc_transport *t, int want_write)
{
	return t->ops->arm ? t->ops->arm(t, want_write) : 0;
}

void transport_poll_done(struct vrpc_transport *t)
{
	if (t->ops->poll_done)
		t->ops->poll_done(t);
}

int vrpc_spin_us(void)
{
	static int us = -1;

	if (us < 0) {
		const char *e = getenv("VRPC_SPIN_US");

		us = e ? atoi(e) : VRPC_SPIN_US_DEFAULT;
		if (us < 0 || us > 10000)
			us = VRPC_SPIN_US_DEFAULT;
	}
	return us;
}

#define SPIN_PROBE_EVERY 64

static int online_cpus(void)
{
	static int n;

	if (!n) {
#ifdef _WIN32
		SYSTEM_INFO si;

		GetSystemInfo(&si);
		n = si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
#else
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		n = c > 0 ? (int)c : 1;
#endif
	}
	return n;
}

int vrpc_spin_budget(struct spin_ctl *s)
{
	int max = vrpc_spin_us();

	if (max <= 0 || online_cpus() < 2)
		return 0;
	if (s->budget_us < 0 || s->budget_us > max)
		s->budget_us = max;
	if (s->budget_us > 0)
		return s->budget_us;
	if (++s->skipped < SPIN_PROBE_EVERY)
		return 0;
	s->skipped = 0;
	return max / 4 > 0 ? max / 4 : 1;
}

void vrpc_spin_result(struct spin_ctl *s, bool found)
{
	if (found)
		s->budget_us = vrpc_spin_us();
	else
		s->budget_us = s->budget_us < 4 ? 0 : s->budget_us / 2;
}

int transport_spin(struct vrpc_transport *t, int want_write, int max_us)
{
	struct timespec now, end;

	if (!t->ops->ready || max_us <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += (long)max_us * 1000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	do {
		for (int i = 0; i < 64; i++) {
			int ready = t->ops->ready(t, want_write);

			if (ready)
				return ready > 0;
			vrpc_cpu_relax();
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	return 0;
}

void transport_close(struct vrpc_transport *t)
{
	if (t)
		t->ops->close(t);
}

void listener_close(struct vrpc_listener *l)
{
	if (l)
		l->ops->close(l);
}

#ifndef _WIN32 /* compat_win.c has the Windows one */
int transport_wait(struct vrpc_transport *t, int want_write, int timeout_ms)
{
	short events = transport_poll_events(t, want_write);
	struct pollfd pfd = { .fd = t->fd, .events = events };
	int n;

	if (!events) {
		/* Peer absent: nothing to poll, look again a little later. */
		if (timeout_ms < 0 || timeout_ms > VRPC_TRANSPORT_RETRY_MS)
			timeout_ms = VRPC_TRANSPORT_RETRY_MS;
		pfd.fd = -1;
	}
	/* Something came between the caller's last look and now: no sleep
	 * (arm() made the fd readable, so the poll returns at once). */
	if (events && vrpc_transport_arm(t, want_write))
		timeout_ms = 0;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (!events)
		return 1; /* time to try read() again */
	if (n > 0)
		transport_poll_done(t);
	return n;
}
#endif
