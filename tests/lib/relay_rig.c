/* relay_rig.c - see relay_rig.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "relay_rig.h"
#include "server.h"
#include "sock.h"

static void on_stop(void *ud, int fd, short revents)
{
	vrpc_loop_quit(ud);
}

static void *run(void *arg)
{
	vrpc_loop_run(((struct runner *)arg)->loop);
	return NULL;
}

int runner_start(struct runner *rn)
{
	int err;

	rn->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rn->stop_fd < 0)
		return -errno;
	err = vrpc_loop_add_fd(rn->loop, rn->stop_fd, POLLIN, on_stop, rn->loop);
	if (!err)
		err = -pthread_create(&rn->thread, NULL, run, rn);
	return err;
}

void runner_stop(struct runner *rn)
{
	uint64_t one = 1;

	if (write(rn->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(rn->thread, NULL);
	vrpc_loop_del_fd(rn->loop, rn->stop_fd);
	close(rn->stop_fd);
}

/* Each connection to the stand-in chardev socket is the host's broker. */
static void appliance_accept(void *ud, int fd, short revents)
{
	struct appliance *a = ud;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct vrpc_transport *t;

	if (cfd < 0)
		return;
	t = sock_transport_new(&vrpc_transport_unix, cfd);
	if (t)
		server_adopt(a->srv, t, true, true);
	else
		close(cfd);
}

int appliance_start(struct appliance *a, const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int err;

	memset(a, 0, sizeof(*a));
	snprintf(a->path, sizeof(a->path), "%s/appliance.sock", dir);
	snprintf(a->direct, sizeof(a->direct), "unix:%s/direct.sock", dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
	unlink(a->path);
	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->lfd < 0 || bind(a->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(a->lfd, 4) < 0)
		return -errno;
	a->rn.loop = vrpc_loop_new();
	a->srv = vrpc_server_new(NULL);
	if (!a->rn.loop || !a->srv)
		return -ENOMEM;
	echo_service_init(&a->echo, a->rn.loop);
	err = vrpc_server_add_service(a->srv, &a->echo.base.base, echo_streaming);
	if (!err)
		err = vrpc_server_listen(a->srv, a->direct);
	if (!err)
		err = vrpc_loop_add_server(a->rn.loop, a->srv);
	if (!err)
		err = vrpc_loop_add_fd(a->rn.loop, a->lfd, POLLIN, appliance_accept, a);
	if (!err)
		err = runner_start(&a->rn);
	return err;
}

void appliance_stop(struct appliance *a)
{
	runner_stop(&a->rn);
	vrpc_server_free(a->srv);
	echo_service_fini(&a->echo);
	vrpc_loop_free(a->rn.loop);
	close(a->lfd);
	unlink(a->path);
	unlink(a->direct + 5);
}
