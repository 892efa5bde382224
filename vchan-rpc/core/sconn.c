/* sconn.c - one server connection: its epoll registration, its send queue,
 * HELLO, the frames a client may send, and every way it can end. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "calls.h"
#include "server.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

/* ---- epoll registration ---- */

void sconn_update_events(struct sconn *sc)
{
	uint32_t want = 0;
	short ev;

	if (sc->dead)
		return;
	ev = transport_poll_events(sc->c.t, conn_queued(&sc->c) > 0);
	/* A paused connection waits for room to write, not for more requests;
	 * a transport with one event for both (shm) keeps it. */
	if (sc->paused && (ev & POLLOUT))
		ev &= ~POLLIN;
	if (ev & POLLIN)
		want |= EPOLLIN;
	if (ev & POLLOUT)
		want |= EPOLLOUT;
	if (!ev)
		sc->retry_at = vrpc_now_ms() + VRPC_TRANSPORT_RETRY_MS;
	if (want == sc->events)
		return;
	if (!want) {
		epoll_ctl(sc->srv->epfd, EPOLL_CTL_DEL, sc->c.t->fd, NULL);
	} else {
		struct epoll_event e = { .events = want, .data.ptr = sc };

		if (epoll_ctl(sc->srv->epfd, sc->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
			      sc->c.t->fd, &e) < 0)
			vrpc_debug("epoll_ctl: %s", strerror(errno));
	}
	sc->events = want;
}

/* ---- connections ---- */

void sconn_kill(struct sconn *sc, int err)
{
	struct vrpc_server *srv = sc->srv;

	if (sc->dead)
		return;
	vrpc_debug("connection closed: %s", strerror(err < 0 ? -err : err));
	if (sc->events)
		epoll_ctl(srv->epfd, EPOLL_CTL_DEL, sc->c.t->fd, NULL);
	server_orphan_calls(sc);
	conn_fini(&sc->c);
	sc->dead = true;
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		srv->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	srv->n_conns--;
	/* Events of this batch may still point here: free after process(). */
	sc->next = srv->zombies;
	srv->zombies = sc;
}

/* An attached endpoint (serial) outlives its peers: forget the session and
 * wait for the next HELLO. @p keep_input: the HELLO that ends the old
 * session is being read, and what follows it belongs to the new one. */
static void sconn_reset_session(struct sconn *sc, bool keep_input)
{
	server_orphan_calls(sc);
	if (keep_input)
		sc->c.wpos = sc->c.wlen = 0; /* replies meant for the old peer */
	else
		conn_reset(&sc->c, true);
	sc->svc = NULL;
	sc->paused = false;
	sc->c.max_frame = sc->srv->opts.max_frame;
	sc->hello_deadline = -1;
}

void sconn_fail(struct sconn *sc, int err)
{
	if (sc->attached)
		sconn_reset_session(sc, false);
	else
		sconn_kill(sc, err);
}

/* Writes what the peer takes, noting when it last took anything. */
int sconn_flush(struct sconn *sc)
{
	size_t before = conn_queued(&sc->c);
	int err = conn_flush(&sc->c);

	if (err >= 0 && conn_queued(&sc->c) < before)
		sc->last_write = vrpc_now_ms();
	return err;
}

/* When a peer that reads nothing of what is queued for it gets dropped, or -1. */
int64_t stall_deadline(const struct sconn *sc)
{
	if (!conn_queued(&sc->c))
		return -1;
	return sc->last_write + sc->srv->opts.stall_timeout_ms;
}

int sconn_send(struct sconn *sc, struct vrpc_hdr *h, const ProtobufCMessage *msg,
	       const void *raw, size_t len)
{
	struct vrpc_server *srv = sc->srv;
	bool was_empty = !conn_queued(&sc->c);
	int err = conn_queue(&sc->c, h, msg, raw, len);

	if (err == -ENOBUFS) {
		/* The peer does not read what we send: it loses its connection
		 * rather than us our memory. */
		sconn_fail(sc, err);
		return err;
	}
	if (err)
		return err;
	if (was_empty) /* the stall clock starts with something to write */
		sc->last_write = vrpc_now_ms();
	if (srv->in_process) {
		if (!sc->dirty) {
			sc->dirty = true;
			sc->dirty_next = srv->dirty;
			srv->dirty = sc;
		}
		return 0;
	}
	err = sconn_flush(sc);
	if (err < 0)
		sconn_fail(sc, err);
	else
		sconn_update_events(sc);
	return 0;
}

void sconn_goaway(struct sconn *sc, int status, const char *fmt, ...)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_GOAWAY,
			      .status = (uint16_t)status };
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	vrpc_debug("goaway: %s", text);
	/* Best effort: queue behind what is pending and write what goes now. */
	if (conn_queue(&sc->c, &h, NULL, text, strlen(text)) == 0)
		conn_flush(&sc->c);
	sconn_fail(sc, -ECONNABORTED);
}

const struct service_entry *find_service(struct vrpc_server *srv, const char *name)
{
	for (unsigned i = 0; i < srv->n_services; i++)
		if (!strcmp(srv->services[i].impl->descriptor->name, name))
			return &srv->services[i];
	return NULL;
}

static void hello_refuse(struct sconn *sc, int status, const char *text)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO_ACK,
			      .status = (uint16_t)status };

	vrpc_debug("hello refused: %s", text);
	if (conn_queue(&sc->c, &h, NULL, text, strlen(text)) == 0)
		conn_flush(&sc->c);
	sconn_fail(sc, -EPROTO);
}

/* HELLO_ACK: the agreed version and frame size, the method names (for
 * brokers) and which methods stream. @return 0 or -EPROTO. */
static int send_ack(struct sconn *sc, const struct service_entry *svc, uint32_t version,
		    uint32_t max_frame)
{
	const ProtobufCServiceDescriptor *desc = svc->impl->descriptor;
	Vrpc__V1__Hello ack = VRPC__V1__HELLO__INIT;
	struct vrpc_hdr ah = { .version = VRPC_VERSION, .type = VRPC_T_HELLO_ACK };
	char **methods = calloc(desc->n_methods + 1, sizeof(*methods));
	uint32_t *streaming = calloc(desc->n_methods + 1, sizeof(*streaming));
	int err = -EPROTO;

	ack.version_min = ack.version_max = version;
	ack.max_frame = max_frame;
	ack.service = (char *)desc->name;
	if (!methods || !streaming)
		goto out;
	for (unsigned i = 0; i < desc->n_methods; i++)
		methods[i] = (char *)desc->methods[i].name;
	ack.n_methods = desc->n_methods;
	ack.methods = methods;
	/* The names are a courtesy to brokers: left out if they do not fit. */
	if (protobuf_c_message_get_packed_size(&ack.base) > max_frame)
		ack.n_methods = 0;
	for (unsigned i = 0; i < desc->n_methods; i++)
		if (svc->streaming[i])
			streaming[ack.n_streaming++] = i;
	ack.streaming = streaming;
	err = sconn_send(sc, &ah, &ack.base, NULL, 0) ? -EPROTO : 0;
out:
	free(methods);
	free(streaming);
	return err;
}

/* A direct channel's peer may HELLO the services vappd granted it alone. */
static bool granted(const struct sconn *sc, const struct service_entry *svc)
{
	const char *name = svc->impl->descriptor->name;

	if (!sc->services)
		return true;
	for (const char *p = sc->services; *p; p += strlen(p) + 1)
		if (p[0] != '!' && !strcmp(p, name))
			return true;
	return false;
}

bool vrpc_sconn_method_denied(const struct sconn *sc, const char *service, const char *method)
{
	bool in = false;

	if (!sc->services)
		return false;
	/* "!METHOD" entries follow their service's. */
	for (const char *p = sc->services; *p; p += strlen(p) + 1) {
		if (p[0] != '!')
			in = !strcmp(p, service);
		else if (in && !strcmp(p + 1, method))
			return true;
	}
	return false;
}

static int on_hello(struct sconn *sc, const struct vrpc_hdr *h, const uint8_t *payload)
{
	Vrpc__V1__Hello *hello = vrpc__v1__hello__unpack(NULL, h->length, payload);
	const struct service_entry *svc;
	uint32_t version, max_frame;
	char text[256];

	if (!hello) {
		hello_refuse(sc, VRPC_INVALID_ARGUMENT, "HELLO is not a valid vrpc.v1.Hello");
		return -EPROTO;
	}
	version = hello->version_max < VRPC_VERSION ? hello->version_max : VRPC_VERSION;
	max_frame = hello->max_frame < sc->srv->opts.max_frame ? hello->max_frame :
								 sc->srv->opts.max_frame;
	svc = find_service(sc->srv, hello->service);
	if (version < VRPC_VERSION_MIN || version < hello->version_min) {
		snprintf(text, sizeof(text), "no common protocol version: peer %u..%u, here %u..%u",
			 hello->version_min, hello->version_max, VRPC_VERSION_MIN, VRPC_VERSION);
		hello_refuse(sc, VRPC_UNIMPLEMENTED, text);
	} else if (!svc) {
		snprintf(text, sizeof(text), "no service %.128s here", hello->service);
		hello_refuse(sc, VRPC_NOT_FOUND, text);
	} else if (!granted(sc, svc)) {
		snprintf(text, sizeof(text), "%.128s is not granted on this channel", hello->service);
		hello_refuse(sc, VRPC_PERMISSION_DENIED, text);
		svc = NULL;
	} else if (max_frame < 64) {
		hello_refuse(sc, VRPC_INVALID_ARGUMENT, "maximum frame under 64 bytes");
		svc = NULL;
	}
	vrpc__v1__hello__free_unpacked(hello, NULL);
	if (!svc || sc->dead || send_ack(sc, svc, version, max_frame))
		return -EPROTO;
	sc->svc = svc;
	sc->c.max_frame = max_frame;
	sc->hello_deadline = -1;
	return 0;
}

static int server_frame(void *ud, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct sconn *sc = ud;
	int err = 0;

	if (h->type == VRPC_T_HELLO) {
		/* A serial host that came back without our noticing starts over. */
		if (sc->svc && sc->attached)
			sconn_reset_session(sc, true);
		if (sc->svc) {
			sconn_goaway(sc, VRPC_INVALID_ARGUMENT, "second HELLO");
			return -EPROTO;
		}
		return on_hello(sc, h, payload);
	}
	if (!sc->svc) {
		sconn_goaway(sc, VRPC_INVALID_ARGUMENT, "frame of type %u before HELLO", h->type);
		return -EPROTO;
	}
	switch (h->type) {
	case VRPC_T_REQUEST:
		err = server_on_request(sc, h, payload);
		break;
	case VRPC_T_CANCEL:
		server_on_cancel(sc, h->call_id);
		break;
	case VRPC_T_GOAWAY:
		return -ECONNRESET;
	default:
		sconn_goaway(sc, VRPC_INVALID_ARGUMENT, "a client does not send frames of type %u",
			     h->type);
		return -EPROTO;
	}
	if (err || sc->dead)
		return err ? err : -EPROTO;
	/* Backpressure: stop taking requests while replies pile up unread. */
	if (conn_queued(&sc->c) > sc->srv->opts.max_send_queue / 2) {
		sc->paused = true;
		return 1;
	}
	return 0;
}

/* Reads and dispatches what @p sc has; handles every way it can end. */
void sconn_ready(struct sconn *sc)
{
	int err;

	transport_poll_done(sc->c.t);
	do {
		err = sconn_flush(sc);
		if (err < 0)
			goto fail;
		/* Requests wait (in our buffer or the transport) while replies
		 * pile up; they are taken again once most replies are gone. */
		if (sc->paused && conn_queued(&sc->c) > sc->srv->opts.max_send_queue / 4)
			break;
		sc->paused = false;
		err = conn_receive(&sc->c, server_frame, sc);
		if (sc->dead)
			return;
		if (err == -EMSGSIZE) {
			sconn_goaway(sc, VRPC_RESOURCE_EXHAUSTED,
				     "frame over the maximum of %u bytes", sc->c.max_frame);
			return;
		}
		if (err == -EBADMSG || err == -EPROTONOSUPPORT) {
			sconn_goaway(sc, VRPC_INVALID_ARGUMENT, "malformed frame header (%s)",
				     strerror(-err));
			return;
		}
		if (err < 0)
			goto fail;
	} while (sc->paused);
	sconn_update_events(sc);
	return;
fail:
	/* Only a serial port's peer can come back (-ENOTCONN); a stream that
	 * ended is gone even on an attached endpoint. */
	if (err == -ENOTCONN && sc->attached) {
		vrpc_debug("serial peer went away; waiting for it");
		sconn_fail(sc, err);
	} else {
		sconn_kill(sc, err);
	}
	if (!sc->dead)
		sconn_update_events(sc);
}

int server_adopt(struct vrpc_server *srv, struct vrpc_transport *t, bool attached,
		 bool host_peer)
{
	struct sconn *sc = calloc(1, sizeof(*sc));
	uint32_t slots = 2;
	int err;

	if (!sc) {
		transport_close(t);
		return -ENOMEM;
	}
	while (slots < 2 * srv->opts.max_inflight)
		slots *= 2;
	sc->calls = calloc(slots, sizeof(*sc->calls));
	err = sc->calls ? conn_init(&sc->c, t, srv->opts.max_frame, srv->opts.max_send_queue) :
			  -ENOMEM;
	if (err) {
		transport_close(t);
		free(sc->calls);
		free(sc);
		return err;
	}
	sc->kind = EV_CONN;
	sc->srv = srv;
	sc->mask = slots - 1;
	sc->attached = attached;
	sc->host_peer = host_peer;
	/* A single endpoint may hold bytes from a peer before us. */
	sc->c.resync = attached;
	sc->retry_at = -1;
	sc->hello_deadline = attached ? -1 : vrpc_now_ms() + srv->opts.handshake_timeout_ms;
	sc->next = srv->conns;
	if (sc->next)
		sc->next->prev = sc;
	srv->conns = sc;
	srv->n_conns++;
	sconn_update_events(sc);
	return 0;
}
