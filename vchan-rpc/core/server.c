/* server.c - the RPC server: services, listeners, one epoll fd, rounds of work
 * and timers. Each connection is an sconn (sconn.c). */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "calls.h"
#include "chan.h"
#include "server.h"

#define DEFAULT_MAX_INFLIGHT 4096
#define DEFAULT_MAX_SEND_QUEUE (8u << 20)
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 5000
#define DEFAULT_STALL_TIMEOUT_MS 30000

void vrpc_debug(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0)
		enabled = getenv("VRPC_DEBUG") != NULL;
	if (!enabled)
		return;
	va_start(ap, fmt);
	fputs("vrpc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A direct channel's connection: its peer is the one vappd named, and it
 * may HELLO only the services granted. */
static int take_grant(struct sconn *sc, const struct listener_entry *le)
{
	struct vrpc_peer *peer = &sc->c.t->peer;

	sc->services = malloc(le->services_len);
	if (!sc->services)
		return -ENOMEM;
	memcpy(sc->services, le->services, le->services_len);
	memset(peer, 0, sizeof(*peer));
	peer->kind = VRPC_PEER_LABEL;
	snprintf(peer->label, sizeof(peer->label), "%s", le->label);
	return 0;
}

static void accept_all(struct vrpc_server *srv, const struct listener_entry *le)
{
	struct vrpc_listener *l = le->l;

	for (;;) {
		struct vrpc_transport *t;
		int err = l->ops->accept(l, &t);

		if (err == -EAGAIN)
			return;
		if (err) {
			vrpc_debug("accept: %s", strerror(-err));
			return;
		}
		if (srv->n_conns >= srv->opts.max_connections) {
			struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_GOAWAY,
					      .status = VRPC_RESOURCE_EXHAUSTED };
			uint8_t frame[VRPC_HDR_SIZE + 32];
			const char *text = "too many connections";

			h.length = (uint32_t)strlen(text);
			wire_encode_header(&h, frame);
			memcpy(frame + VRPC_HDR_SIZE, text, h.length);
			t->ops->write(t, frame, VRPC_HDR_SIZE + h.length);
			transport_close(t);
			continue;
		}
		if (server_adopt(srv, t, false, le->host_channel) == 0 && le->services &&
		    take_grant(srv->conns, le) < 0)
			sconn_kill(srv->conns, -ENOMEM);
	}
}

/* Handshake deadlines, stalled readers and absent serial peers, checked
 * once per process(). */
static void run_timers(struct vrpc_server *srv)
{
	int64_t now = vrpc_now_ms();

	for (struct sconn *sc = srv->conns, *next; sc; sc = next) {
		next = sc->next;
		int64_t stall = stall_deadline(sc);

		if (sc->hello_deadline >= 0 && now >= sc->hello_deadline)
			sconn_kill(sc, -ETIMEDOUT);
		else if (stall >= 0 && now >= stall)
			sconn_fail(sc, -ETIMEDOUT); /* reads none of its replies */
		else if (sc->retry_at >= 0 && now >= sc->retry_at) {
			sc->retry_at = -1;
			sconn_ready(sc);
		}
	}
}

/* Ends a round of work: one write per connection for everything the round
 * produced, then the connections that died in it are freed. */
static void end_round(struct vrpc_server *srv)
{
	srv->in_process = false;
	while (srv->dirty) {
		struct sconn *sc = srv->dirty;
		int err;

		srv->dirty = sc->dirty_next;
		sc->dirty = false;
		if (sc->dead)
			continue;
		err = sconn_flush(sc);
		if (err < 0)
			sconn_fail(sc, err);
		else if (sc->paused)
			sconn_ready(sc); /* room again: take the waiting requests */
		else
			sconn_update_events(sc);
	}
	while (srv->zombies) {
		struct sconn *sc = srv->zombies;

		srv->zombies = sc->next;
		free(sc->calls);
		free(sc->services);
		free(sc);
	}
}

int vrpc_server_process(struct vrpc_server *srv)
{
	struct epoll_event ev[64];
	int n;

	do
		n = epoll_wait(srv->epfd, ev, 64, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	srv->in_process = true;
	for (int i = 0; i < n; i++) {
		enum ev_kind *kind = ev[i].data.ptr;

		if (*kind == EV_LISTENER) {
			accept_all(srv, (struct listener_entry *)kind);
		} else if (*kind == EV_DIRECT) {
			vrpc_direct_ready((struct direct_watch *)kind);
		} else {
			struct sconn *sc = (struct sconn *)kind;

			if (!sc->dead)
				sconn_ready(sc);
		}
	}
	run_timers(srv);
	end_round(srv);
	return 0;
}

int server_spin(struct vrpc_server *srv, int max_us)
{
	int64_t end = vrpc_now_us() + max_us;
	int found = 0;

	for (struct sconn *sc = srv->conns; sc && !found; sc = sc->next)
		found = sc->c.t->ops->ready != NULL;
	if (!found || max_us <= 0)
		return 0;
	do {
		srv->in_process = true;
		for (struct sconn *sc = srv->conns, *next; sc; sc = next) {
			int ready = 0;

			next = sc->next;
			if (sc->c.t->ops->ready && !sc->paused)
				ready = sc->c.t->ops->ready(sc->c.t, conn_queued(&sc->c) > 0);
			if (ready > 0) {
				sconn_ready(sc);
				found = 2;
			} else if (ready < 0) {
				found = found < 2 ? -1 : found; /* a peer needs this CPU */
			}
		}
		end_round(srv);
		for (int i = 0; i < 64 && found == 1; i++)
			vrpc_cpu_relax();
	} while (found == 1 && vrpc_now_us() < end);
	return found == 2;
}

int vrpc_server_next_timeout(const struct vrpc_server *srv)
{
	int64_t next = -1;

	for (const struct sconn *sc = srv->conns; sc; sc = sc->next) {
		if (sc->hello_deadline >= 0 && (next < 0 || sc->hello_deadline < next))
			next = sc->hello_deadline;
		if (sc->retry_at >= 0 && (next < 0 || sc->retry_at < next))
			next = sc->retry_at;
		if (stall_deadline(sc) >= 0 && (next < 0 || stall_deadline(sc) < next))
			next = stall_deadline(sc);
	}
	return ms_until(next, vrpc_now_ms());
}

int vrpc_server_fd(const struct vrpc_server *srv)
{
	return srv->epfd;
}

static struct listener_entry *listen_entry(struct vrpc_server *srv, const char *addr,
					   bool host_channel)
{
	struct listener_entry *le = calloc(1, sizeof(*le));
	struct epoll_event e = { .events = EPOLLIN };
	int err;

	if (!le)
		return NULL;
	err = transport_listen(addr, &le->l);
	if (err)
		goto err_le;
	le->kind = EV_LISTENER;
	le->host_channel = host_channel;
	e.data.ptr = le;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, le->l->fd, &e) < 0) {
		err = -errno;
		goto err_listener;
	}
	le->next = srv->listeners;
	srv->listeners = le;
	return le;
err_listener:
	listener_close(le->l);
err_le:
	free(le);
	errno = -err;
	return NULL;
}

struct listener_entry *vrpc_server_listen_granted(struct vrpc_server *srv, const char *addr,
					     const char *label, const char *services, size_t len)
{
	char *copy = malloc(len);
	struct listener_entry *le;

	if (!copy)
		return NULL;
	le = listen_entry(srv, addr, false);
	if (!le) {
		free(copy);
		return NULL;
	}
	memcpy(copy, services, len);
	le->services = copy;
	le->services_len = len;
	snprintf(le->label, sizeof(le->label), "%s", label);
	return le;
}

static void listener_free(struct vrpc_server *srv, struct listener_entry *le)
{
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, le->l->fd, NULL);
	listener_close(le->l);
	free(le->services);
	free(le);
}

/* Its connections go on: each holds its own copy of the grant. */
void vrpc_server_unlisten(struct vrpc_server *srv, struct listener_entry *le)
{
	struct listener_entry **pp;

	for (pp = &srv->listeners; *pp; pp = &(*pp)->next) {
		if (*pp == le) {
			*pp = le->next;
			listener_free(srv, le);
			return;
		}
	}
}

int vrpc_server_listen(struct vrpc_server *srv, const char *addr)
{
	return listen_entry(srv, addr, false) ? 0 : -errno;
}

int vrpc_server_attach(struct vrpc_server *srv, const char *addr)
{
	struct vrpc_transport *t;
	char real[128];
	bool listen;
	int err;

	if (addr && !strncmp(addr, CHAN_SCHEME, strlen(CHAN_SCHEME))) {
		err = vrpc_chan_resolve(addr + strlen(CHAN_SCHEME), real, sizeof(real), &listen);
		if (err)
			return err;
		if (listen) {
			if (!listen_entry(srv, real, true))
				return -errno;
			return vrpc_chan_watch_direct(srv, addr + strlen(CHAN_SCHEME));
		}
		/* Under QEMU the direct peers come through devices of their own
		 * (ivshmem), beside the port, which serves all the same when
		 * they cannot be followed (a kernel without inotify). */
		err = vrpc_chan_watch_direct(srv, addr + strlen(CHAN_SCHEME));
		if (err)
			fprintf(stderr, "vrpc: %s: direct channels not served: %s\n", addr,
				strerror(-err));
		addr = real;
	}
	err = transport_attach(addr, &t);
	if (err == -ENOTSUP)
		err = transport_connect(addr, srv->opts.handshake_timeout_ms, &t);
	if (err)
		return err;
	return server_adopt(srv, t, true, true);
}

int vrpc_server_add_service(struct vrpc_server *srv, ProtobufCService *impl,
			    const char *const *streaming)
{
	const ProtobufCServiceDescriptor *desc = impl->descriptor;
	struct service_entry *v, *e;

	if (find_service(srv, desc->name))
		return -EEXIST;
	v = realloc(srv->services, (srv->n_services + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	srv->services = v;
	e = &v[srv->n_services];
	e->impl = impl;
	e->streaming = calloc(desc->n_methods ? desc->n_methods : 1, sizeof(bool));
	if (!e->streaming)
		return -ENOMEM;
	for (; streaming && *streaming; streaming++) {
		int idx = -1;

		for (unsigned m = 0; m < desc->n_methods; m++)
			if (!strcmp(desc->methods[m].name, *streaming))
				idx = (int)m;
		if (idx < 0) {
			free(e->streaming);
			return -ENOENT;
		}
		e->streaming[idx] = true;
	}
	srv->n_services++;
	return 0;
}

struct vrpc_server *vrpc_server_new(const struct vrpc_server_opts *opts)
{
	struct vrpc_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	if (opts)
		srv->opts = *opts;
	if (!srv->opts.max_frame)
		srv->opts.max_frame = VRPC_DEFAULT_MAX_FRAME;
	if (srv->opts.max_frame > VRPC_MAX_FRAME_LIMIT)
		srv->opts.max_frame = VRPC_MAX_FRAME_LIMIT;
	if (!srv->opts.max_inflight)
		srv->opts.max_inflight = DEFAULT_MAX_INFLIGHT;
	if (!srv->opts.max_send_queue)
		srv->opts.max_send_queue = DEFAULT_MAX_SEND_QUEUE;
	if (!srv->opts.max_connections)
		srv->opts.max_connections = DEFAULT_MAX_CONNECTIONS;
	if (!srv->opts.handshake_timeout_ms)
		srv->opts.handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
	if (!srv->opts.stall_timeout_ms)
		srv->opts.stall_timeout_ms = DEFAULT_STALL_TIMEOUT_MS;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0) {
		free(srv);
		return NULL;
	}
	return srv;
}

void vrpc_server_free(struct vrpc_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		sconn_kill(srv->conns, 0);
	while (srv->zombies) {
		struct sconn *sc = srv->zombies;

		srv->zombies = sc->next;
		free(sc->calls);
		free(sc->services);
		free(sc);
	}
	/* Calls whose handlers never answered. */
	while (srv->calls)
		server_free_call(srv->calls);
	vrpc_direct_free_all(srv);
	while (srv->listeners) {
		struct listener_entry *le = srv->listeners;

		srv->listeners = le->next;
		listener_free(srv, le);
	}
	for (unsigned i = 0; i < srv->n_services; i++)
		free(srv->services[i].streaming);
	free(srv->services);
	close(srv->epfd);
	free(srv);
}
