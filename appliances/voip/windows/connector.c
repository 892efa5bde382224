/*
 * connector.c - vrpc_client_open() on a thread of its own (connector.h):
 * Windows threads and a manual-reset event there, POSIX threads and a
 * pipe elsewhere.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#endif

#include "connector.h"

struct connector {
	char addr[512];
	const ProtobufCServiceDescriptor *svc;
	int timeout_ms;
	struct vrpc_client *cli; /* the thread's, until it signals */
#ifdef _WIN32
	HANDLE thread, done;
#else
	pthread_t thread;
	int fds[2]; /* the thread writes a byte to [1] when it is done */
#endif
};

static void connect_now(struct connector *c)
{
	struct vrpc_client_opts opts = { .connect_timeout_ms = c->timeout_ms };

	c->cli = vrpc_client_open(c->addr, c->svc, &opts);
}

#ifdef _WIN32
static DWORD WINAPI run(void *arg)
{
	struct connector *c = arg;

	connect_now(c);
	SetEvent(c->done);
	return 0;
}

static int start(struct connector *c)
{
	if (!(c->done = CreateEventA(NULL, TRUE, FALSE, NULL)))
		return -ENOMEM;
	if (!(c->thread = CreateThread(NULL, 0, run, c, 0, NULL))) {
		CloseHandle(c->done);
		return -EAGAIN;
	}
	return 0;
}

void *connector_handle(const struct connector *c)
{
	return c->done;
}

bool connector_done(struct connector *c)
{
	return WaitForSingleObject(c->done, 0) == WAIT_OBJECT_0;
}

static void stop(struct connector *c)
{
	WaitForSingleObject(c->thread, INFINITE);
	CloseHandle(c->thread);
	CloseHandle(c->done);
}
#else
static void *run(void *arg)
{
	struct connector *c = arg;
	ssize_t n;

	connect_now(c);
	do
		n = write(c->fds[1], "", 1);
	while (n < 0 && errno == EINTR);
	return NULL;
}

static int start(struct connector *c)
{
	int err;

	if (pipe2(c->fds, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	err = pthread_create(&c->thread, NULL, run, c);
	if (err) {
		close(c->fds[0]);
		close(c->fds[1]);
		return -err;
	}
	return 0;
}

void *connector_handle(const struct connector *c)
{
	return (void *)(intptr_t)c->fds[0];
}

bool connector_done(struct connector *c)
{
	struct pollfd p = { .fd = c->fds[0], .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void stop(struct connector *c)
{
	pthread_join(c->thread, NULL);
	close(c->fds[0]);
	close(c->fds[1]);
}
#endif

struct connector *connector_start(const char *addr, const ProtobufCServiceDescriptor *svc,
				  int timeout_ms)
{
	struct connector *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->svc = svc;
	c->timeout_ms = timeout_ms;
	err = start(c);
	if (err) {
		free(c);
		errno = -err;
		return NULL;
	}
	return c;
}

struct vrpc_client *connector_finish(struct connector *c)
{
	struct vrpc_client *cli;

	stop(c);
	cli = c->cli;
	free(c);
	return cli;
}
