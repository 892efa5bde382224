/* relay_rig.h - pieces the broker's test and benchmark share: a thread
 * running a vrpc_loop, and an Echo appliance served on an attached endpoint
 * the way a virtio-serial port is (a unix listener stands in for QEMU's
 * chardev socket; each connection to it is adopted as attached). */
#ifndef TESTS_RELAY_RIG_H
#define TESTS_RELAY_RIG_H

#include <pthread.h>

#include "echo_service.h"

struct runner {
	pthread_t thread;
	struct vrpc_loop *loop;
	int stop_fd;
};

/* Runs rn->loop on a new thread until runner_stop(). @return 0 or -errno. */
int runner_start(struct runner *rn);
void runner_stop(struct runner *rn);

struct appliance {
	struct runner rn;
	struct vrpc_server *srv;
	struct echo_service echo;
	int lfd;
	char path[108];      /* the attached endpoint: connect to unix:PATH */
	char direct[128];    /* a plain listener on the same server ("unix:...") */
};

/* Serves Echo in @p dir. @return 0 or -errno. */
int appliance_start(struct appliance *a, const char *dir);
void appliance_stop(struct appliance *a);

#endif
