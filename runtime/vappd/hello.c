/*
 * hello.c - ready means the appliance's first service answered HELLO.
 *
 * The HELLO can take a whole boot: QEMU accepts the channel socket at once,
 * but the bytes wait in the socket until the daemon opens its port
 * (transport_serial.c). With a broker, the connection that proved it ready
 * is the one the relay adopts (vrpc_relay_upstream_open()): no second
 * connection, nothing that waits on the loop. Opening blocks, so each
 * attempt runs on a thread of its own and hands its result to the loop through a pipe; the
 * loop never waits on a guest. An attempt ends by itself when QEMU goes
 * (the socket closes) or at its deadline; an owner that stops caring
 * abandons it, and the loop frees it when it comes back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vappd.h"
#include "vrpc_relay.h"

struct hello_job {
	struct vappd *d;
	void *owner;
	atomic_bool abandoned;
	char *addr, *path, *service;
	bool for_relay;
	int timeout_ms;
	ProtobufCServiceDescriptor desc;
	/* result: one of the two */
	struct vrpc_client *cli;
	struct vrpc_relay_upstream *up;
	int err;
	uint32_t elapsed_ms;
};

#define ATTEMPT_MS 3000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void job_free(struct hello_job *job)
{
	vrpc_client_close(job->cli);
	vrpc_relay_upstream_free(job->up);
	free(job->addr);
	free(job->path);
	free(job->service);
	free(job);
}

static void *hello_thread(void *arg)
{
	struct hello_job *job = arg;
	int64_t t0 = mono_ms(), deadline = t0 + job->timeout_ms;
	struct stat st;

	job->err = -ETIMEDOUT;
	while (!atomic_load(&job->abandoned)) {
		int64_t left = deadline - mono_ms();
		struct vrpc_client_opts o = { 0 };

		if (left <= 0)
			break;
		/* QEMU makes the socket a moment after it starts. */
		if (job->path && stat(job->path, &st) < 0) {
			usleep(20 * 1000);
			continue;
		}
		/* Attempts of a few seconds, so that an abandoned job leaves
		 * QEMU's socket (one client at a time) soon. A HELLO sent again
		 * on a new connection is what the appliance's server expects
		 * after a host went away (it skips to the latest HELLO). */
		o.connect_timeout_ms = left < ATTEMPT_MS ? (int)left : ATTEMPT_MS;
		if (job->for_relay) {
			job->err = vrpc_relay_upstream_open(job->addr, job->service,
							    o.connect_timeout_ms, &job->up);
		} else {
			job->cli = vrpc_client_open(job->addr, &job->desc, &o);
			job->err = job->cli ? 0 : -errno;
		}
		/* Refused: QEMU is not listening yet; timed out: the daemon is
		 * not up yet. Anything else (EPROTO: QEMU went) is final, but
		 * for a vchan, which fails in more ways until it is served
		 * (the domain's xenstore directory not made yet, ...): the
		 * deadline and the domain's death end those tries. */
		if (!job->err || (job->path && job->err != -ECONNREFUSED && job->err != -ENOENT &&
				  job->err != -ETIMEDOUT))
			break;
		usleep((job->path ? 50 : 200) * 1000);
	}
	job->elapsed_ms = (uint32_t)(mono_ms() - t0);
	if (write(job->d->hello_fd[1], &job, sizeof(job)) != sizeof(job)) {
		/* The pipe holds pointers only, far below its capacity. */
		abort();
	}
	return NULL;
}

struct hello_job *hello_start(struct vappd *d, const char *addr, const char *service,
			      bool for_relay, int timeout_ms, void *owner)
{
	struct hello_job *job = calloc(1, sizeof(*job));
	pthread_attr_t attr;
	pthread_t t;

	if (!job)
		return NULL;
	job->d = d;
	job->owner = owner;
	job->for_relay = for_relay;
	job->timeout_ms = timeout_ms;
	job->addr = strdup(addr);
	job->service = strdup(service);
	/* The socket QEMU makes, for "serial:" + path; none to wait for on
	 * Xen's vchans ("xen:"), whose client fails at once until served. */
	job->path = strncmp(addr, "serial:", 7) ? NULL : strdup(addr + 7);
	if (!job->addr || !job->service || (!job->path && !strncmp(addr, "serial:", 7)))
		goto err_job;
	job->desc.magic = PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC;
	job->desc.name = job->service;
	if (pthread_attr_init(&attr))
		goto err_job;
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Counted on the loop's thread only: started here, back in
	 * hello_on_done() or hello_drain(). */
	d->hello_jobs++;
	if (pthread_create(&t, &attr, hello_thread, job)) {
		d->hello_jobs--;
		pthread_attr_destroy(&attr);
		goto err_job;
	}
	pthread_attr_destroy(&attr);
	return job;
err_job:
	job_free(job);
	return NULL;
}

void hello_abandon(struct hello_job *job)
{
	if (job)
		atomic_store(&job->abandoned, true);
}

void hello_on_done(void *ud, int fd, short revents)
{
	struct hello_job *job;

	while (read(fd, &job, sizeof(job)) == sizeof(job)) {
		job->d->hello_jobs--;
		if (!atomic_load(&job->abandoned)) {
			struct vrpc_client *cli = job->cli;
			struct vrpc_relay_upstream *up = job->up;

			job->cli = NULL;
			job->up = NULL;
			appliance_hello_done(job->owner, cli, up, job->err, job->elapsed_ms);
		}
		job_free(job);
	}
}

void hello_drain(struct vappd *d, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;

	while (d->hello_jobs > 0 && mono_ms() < deadline) {
		struct hello_job *job;

		if (read(d->hello_fd[0], &job, sizeof(job)) == sizeof(job)) {
			d->hello_jobs--;
			job_free(job);
		} else {
			usleep(20 * 1000);
		}
	}
}
