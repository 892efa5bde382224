/* loop.c - a small epoll loop for appliances: fds, one-shot timers, servers. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "calls.h"
#include "conn.h"
#include "server.h"
#include "transport.h"
#include "vrpc.h"

struct loop_fd {
	int fd;
	vrpc_fd_fn fn;
	void *ud;
	struct loop_fd *next;
};

struct loop_timer {
	int id;
	int64_t at;
	vrpc_timer_fn fn;
	void *ud;
	struct loop_timer *next; /* sorted by at */
};

struct loop_server {
	struct vrpc_server *srv;
	struct loop_server *next;
};

struct vrpc_loop {
	int epfd;
	bool quit;
	int next_timer_id;
	struct loop_fd *fds;
	struct loop_timer *timers;
	struct loop_server *servers;
	struct spin_ctl spin; /* before sleeping, for the servers' shm peers */
};

struct vrpc_loop *vrpc_loop_new(void)
{
	struct vrpc_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->spin.budget_us = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void vrpc_loop_free(struct vrpc_loop *loop)
{
	if (!loop)
		return;
	while (loop->fds) {
		struct loop_fd *f = loop->fds;

		loop->fds = f->next;
		free(f);
	}
	while (loop->timers) {
		struct loop_timer *t = loop->timers;

		loop->timers = t->next;
		free(t);
	}
	while (loop->servers) {
		struct loop_server *s = loop->servers;

		loop->servers = s->next;
		free(s);
	}
	close(loop->epfd);
	free(loop);
}

int vrpc_loop_add_fd(struct vrpc_loop *loop, int fd, short events, vrpc_fd_fn fn, void *ud)
{
	struct loop_fd *f = calloc(1, sizeof(*f));
	struct epoll_event e = { 0 };

	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->fn = fn;
	f->ud = ud;
	e.events = ((events & POLLIN) ? EPOLLIN : 0) | ((events & POLLOUT) ? EPOLLOUT : 0);
	e.data.ptr = f;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
		free(f);
		return -errno;
	}
	f->next = loop->fds;
	loop->fds = f;
	return 0;
}

int vrpc_loop_del_fd(struct vrpc_loop *loop, int fd)
{
	for (struct loop_fd **p = &loop->fds; *p; p = &(*p)->next) {
		struct loop_fd *f = *p;

		if (f->fd != fd)
			continue;
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		/* Keep the record until the current batch is done: mark it. */
		f->fn = NULL;
		return 0;
	}
	return -ENOENT;
}

int vrpc_loop_add_timer(struct vrpc_loop *loop, int ms, vrpc_timer_fn fn, void *ud)
{
	struct loop_timer *t = calloc(1, sizeof(*t)), **p;

	if (!t)
		return -ENOMEM;
	if (++loop->next_timer_id <= 0)
		loop->next_timer_id = 1;
	t->id = loop->next_timer_id;
	t->at = vrpc_now_ms() + (ms > 0 ? ms : 0);
	t->fn = fn;
	t->ud = ud;
	for (p = &loop->timers; *p && (*p)->at <= t->at; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	return t->id;
}

void vrpc_loop_cancel_timer(struct vrpc_loop *loop, int id)
{
	for (struct loop_timer **p = &loop->timers; *p; p = &(*p)->next) {
		if ((*p)->id == id) {
			struct loop_timer *t = *p;

			*p = t->next;
			free(t);
			return;
		}
	}
}

static void server_ready(void *ud, int fd, short revents)
{
	vrpc_server_process(ud);
}

int vrpc_loop_add_server(struct vrpc_loop *loop, struct vrpc_server *srv)
{
	struct loop_server *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = vrpc_loop_add_fd(loop, vrpc_server_fd(srv), POLLIN, server_ready, srv);
	if (err) {
		free(s);
		return err;
	}
	s->srv = srv;
	s->next = loop->servers;
	loop->servers = s;
	return 0;
}

void vrpc_loop_quit(struct vrpc_loop *loop)
{
	loop->quit = true;
}

static int next_timeout(struct vrpc_loop *loop)
{
	int64_t now = vrpc_now_ms();
	int timeout = loop->timers ? ms_until(loop->timers->at, now) : -1;

	for (struct loop_server *s = loop->servers; s; s = s->next) {
		int t = vrpc_server_next_timeout(s->srv);

		if (t >= 0 && (timeout < 0 || t < timeout))
			timeout = t;
	}
	return timeout;
}

static void run_due_timers(struct vrpc_loop *loop)
{
	int64_t now = vrpc_now_ms();

	while (loop->timers && loop->timers->at <= now && !loop->quit) {
		struct loop_timer *t = loop->timers;

		loop->timers = t->next;
		t->fn(t->ud);
		free(t);
	}
}

static void sweep_deleted_fds(struct vrpc_loop *loop)
{
	for (struct loop_fd **p = &loop->fds; *p;) {
		struct loop_fd *f = *p;

		if (f->fn) {
			p = &f->next;
			continue;
		}
		*p = f->next;
		free(f);
	}
}

/* After work, a shared-memory peer's next request comes sooner than a sleep
 * and a wake-up take: look for it a little before sleeping. */
static bool spin_servers(struct vrpc_loop *loop)
{
	int budget = vrpc_spin_budget(&loop->spin);
	bool found = false;

	for (struct loop_server *s = loop->servers; s && budget > 0 && !found; s = s->next)
		found = server_spin(s->srv, budget);
	if (budget > 0)
		vrpc_spin_result(&loop->spin, found);
	return found;
}

int vrpc_loop_run(struct vrpc_loop *loop)
{
	bool busy = false;

	loop->quit = false;
	while (!loop->quit) {
		struct epoll_event ev[32];
		int timeout = next_timeout(loop), n;

		if (busy && timeout != 0 && spin_servers(loop))
			continue;
		n = epoll_wait(loop->epfd, ev, 32, timeout);
		busy = n > 0;

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n && !loop->quit; i++) {
			struct loop_fd *f = ev[i].data.ptr;
			short re = (short)(((ev[i].events & EPOLLIN) ? POLLIN : 0) |
					   ((ev[i].events & EPOLLOUT) ? POLLOUT : 0) |
					   ((ev[i].events & EPOLLHUP) ? POLLHUP : 0) |
					   ((ev[i].events & EPOLLERR) ? POLLERR : 0));

			if (f->fn)
				f->fn(f->ud, f->fd, re);
		}
		sweep_deleted_fds(loop);
		/* Servers also have timers of their own (handshakes, serial retries). */
		for (struct loop_server *s = loop->servers; s; s = s->next)
			if (vrpc_server_next_timeout(s->srv) == 0)
				vrpc_server_process(s->srv);
		run_due_timers(loop);
	}
	return 0;
}
