/* server_thread.c - see server_thread.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server_thread.h"

static void on_stop(void *ud, int fd, short revents)
{
	vrpc_loop_quit(ud);
}

static void *run(void *arg)
{
	struct server_thread *st = arg;

	vrpc_loop_run(st->loop);
	return NULL;
}

int server_thread_start(struct server_thread *st, const char *addr,
			const struct vrpc_server_opts *opts)
{
	int err;

	memset(st, 0, sizeof(*st));
	if (opts)
		st->opts = *opts;
	if (addr) {
		snprintf(st->addr, sizeof(st->addr), "%s", addr);
	} else {
		snprintf(st->dir, sizeof(st->dir), "/tmp/vrpc-test-XXXXXX");
		if (!mkdtemp(st->dir))
			return -errno;
		snprintf(st->addr, sizeof(st->addr), "unix:%s/sock", st->dir);
	}
	st->loop = vrpc_loop_new();
	st->srv = vrpc_server_new(&st->opts);
	st->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!st->loop || !st->srv || st->stop_fd < 0)
		return -ENOMEM;
	echo_service_init(&st->echo, st->loop);
	err = vrpc_server_add_service(st->srv, &st->echo.base.base, echo_streaming);
	if (!err)
		err = vrpc_server_listen(st->srv, st->addr);
	if (!err)
		err = vrpc_loop_add_server(st->loop, st->srv);
	if (!err)
		err = vrpc_loop_add_fd(st->loop, st->stop_fd, POLLIN, on_stop, st->loop);
	if (!err)
		err = -pthread_create(&st->thread, NULL, run, st);
	st->err = err;
	return err;
}

void server_thread_stop(struct server_thread *st)
{
	uint64_t one = 1;
	char path[128];

	if (!st->err && write(st->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(st->thread, NULL);
	vrpc_server_free(st->srv);
	echo_service_fini(&st->echo);
	vrpc_loop_free(st->loop);
	if (st->stop_fd >= 0)
		close(st->stop_fd);
	if (st->dir[0]) {
		snprintf(path, sizeof(path), "%s/sock", st->dir);
		unlink(path);
		rmdir(st->dir);
	}
}
