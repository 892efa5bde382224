/* server_thread.h - runs an Echo server on its own thread and loop, for tests
 * that play the client (or a hostile peer) on the main thread. */
#ifndef TESTS_SERVER_THREAD_H
#define TESTS_SERVER_THREAD_H

#include <pthread.h>

#include "echo_service.h"

struct server_thread {
	pthread_t thread;
	char dir[64];        /* temporary folder, removed by stop */
	char addr[128];      /* "unix:DIR/sock" unless given */
	struct vrpc_server_opts opts;
	struct echo_service echo;
	struct vrpc_server *srv;
	struct vrpc_loop *loop;
	int stop_fd;         /* eventfd: stop asks the loop to quit */
	int err;
};

/* Starts serving Echo on @p addr (NULL: a unix socket in a fresh temporary
 * folder). @return 0 or -errno. */
int server_thread_start(struct server_thread *st, const char *addr,
			const struct vrpc_server_opts *opts);
void server_thread_stop(struct server_thread *st);

#endif
