/* client.c - the RPC client: HELLO, calls in flight, deadlines, protoc-c stubs. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "compat.h"
#include "conn.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_MAX_INFLIGHT 4096
/* Longest error text kept from a peer; the rest is cut. */
#define MESSAGE_MAX 512

struct pending {
	uint32_t id; /* 0: the slot is free */
	unsigned method;
	int64_t deadline; /* -1: none */
	vrpc_reply_fn fn;
	void *ud;
	ProtobufCClosure closure; /* stub calls: closure instead of fn */
	void *closure_data;
	ProtobufCMessage **keep; /* blocking calls take the reply */
};

struct vrpc_client {
	ProtobufCService service; /* handed to protoc-c stubs */
	const ProtobufCServiceDescriptor *desc;
	struct vrpc_conn c;
	struct pending *slots;
	uint32_t mask;
	uint32_t next_id;
	unsigned inflight, max_inflight;
	struct deadline_heap deadlines;
	int stub_timeout_ms;
	int dead;           /* -errno once the connection is lost */
	bool in_process;    /* defer flushing to the end of process() */
	int cur_status;     /* status of the call whose closure is running */
	bool *streaming;    /* per method: answers with a stream (HELLO_ACK) */
	struct spin_ctl spin;
	char cur_message[MESSAGE_MAX];
};

static struct vrpc_client *of_service(ProtobufCService *s)
{
	return (struct vrpc_client *)((char *)s - offsetof(struct vrpc_client, service));
}

/* Copies a peer's error text, cut to size and with control bytes replaced,
 * so that printing it can neither overflow nor drive a terminal. */
static void copy_message(char *dst, const uint8_t *src, size_t len)
{
	if (len > MESSAGE_MAX - 1)
		len = MESSAGE_MAX - 1;
	for (size_t i = 0; i < len; i++)
		dst[i] = (src[i] < 0x20 || src[i] == 0x7f) ? '?' : (char)src[i];
	dst[len] = '\0';
}

static struct pending *lookup(struct vrpc_client *cli, uint32_t id)
{
	struct pending *p = &cli->slots[id & cli->mask];

	return (id && p->id == id) ? p : NULL;
}

/* Completes call @p p: frees its slot, then tells its owner. */
static void finish(struct vrpc_client *cli, struct pending *p, ProtobufCMessage *msg,
		   int status, const char *message)
{
	struct pending done = *p;

	memset(p, 0, sizeof(*p));
	cli->inflight--;
	if (done.keep && msg) {
		*done.keep = msg;
		msg = NULL;
	}
	if (done.closure) {
		cli->cur_status = status;
		snprintf(cli->cur_message, sizeof(cli->cur_message), "%s", message ? message : "");
		done.closure(msg, done.closure_data);
	} else if (done.fn) {
		done.fn(done.ud, msg, true, status, message);
	}
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

static void fail_all(struct vrpc_client *cli, int status, const char *message)
{
	for (uint32_t i = 0; i <= cli->mask && cli->inflight; i++)
		if (cli->slots[i].id)
			finish(cli, &cli->slots[i], NULL, status, message);
}

static void lose_connection(struct vrpc_client *cli, int err)
{
	char msg[128];

	if (cli->dead)
		return;
	cli->dead = err ? err : -ECONNRESET;
	snprintf(msg, sizeof(msg), "connection lost: %s", strerror(-cli->dead));
	fail_all(cli, VRPC_UNAVAILABLE, msg);
}

static int on_reply(struct vrpc_client *cli, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct pending *p = lookup(cli, h->call_id);
	const ProtobufCMessageDescriptor *out;
	ProtobufCMessage *msg = NULL;
	char text[MESSAGE_MAX];

	/* A reply to a call we already gave up on (deadline, cancel). */
	if (!p)
		return 0;
	out = cli->desc->methods[p->method].output;
	if (h->type == VRPC_T_REPLY && h->status != VRPC_OK) {
		copy_message(text, payload, h->length);
		finish(cli, p, NULL, h->status, text);
		return 0;
	}
	if (h->type == VRPC_T_REPLY && (h->flags & VRPC_F_STREAM_END)) {
		finish(cli, p, NULL, VRPC_OK, NULL);
		return 0;
	}
	msg = protobuf_c_message_unpack(out, NULL, h->length, payload);
	if (!msg) {
		snprintf(text, sizeof(text), "reply is not a valid %s", out->name);
		finish(cli, p, NULL, VRPC_INTERNAL, text);
		return 0;
	}
	if (h->type == VRPC_T_REPLY) {
		finish(cli, p, msg, VRPC_OK, NULL);
		return 0;
	}
	/* A unary method answers once: its callback must not run per item. */
	if (!cli->streaming || !cli->streaming[p->method]) {
		protobuf_c_message_free_unpacked(msg, NULL);
		snprintf(text, sizeof(text), "a stream item answers %s, which is not streaming",
			 cli->desc->methods[p->method].name);
		finish(cli, p, NULL, VRPC_INTERNAL, text);
		return 0;
	}
	/* One item of a stream; the call stays in flight. */
	if (p->closure) {
		cli->cur_status = VRPC_OK;
		cli->cur_message[0] = '\0';
		p->closure(msg, p->closure_data);
	} else if (p->fn) {
		p->fn(p->ud, msg, false, VRPC_OK, NULL);
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}

static int client_frame(void *ud, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct vrpc_client *cli = ud;
	char text[MESSAGE_MAX];

	switch (h->type) {
	case VRPC_T_REPLY:
	case VRPC_T_STREAM_ITEM:
		return on_reply(cli, h, payload);
	case VRPC_T_GOAWAY:
		copy_message(text, payload, h->length);
		fail_all(cli, h->status ? h->status : VRPC_UNAVAILABLE, text);
		return -ECONNABORTED;
	case VRPC_T_HELLO_ACK:
		/* The answer to a HELLO said again (vrpc_conn_hello()), or to one an
		 * earlier host left unread in a serial port: it carries no call. */
		return 0;
	default:
		/* Only a server speaks to us; anything else is a broken peer. */
		return -EBADMSG;
	}
}

static void expire(struct vrpc_client *cli)
{
	int64_t now = vrpc_now_ms();
	struct deadline d;

	while (heap_pop_due(&cli->deadlines, now, &d)) {
		struct pending *p = lookup(cli, d.id);
		struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_CANCEL, .call_id = d.id };

		if (!p || p->deadline != d.at)
			continue;
		/* Tell the server to stop working on it; best effort. */
		conn_queue(&cli->c, &h, NULL, NULL, 0);
		finish(cli, p, NULL, VRPC_DEADLINE_EXCEEDED, "deadline exceeded");
	}
}

static int flush(struct vrpc_client *cli)
{
	int err = conn_flush(&cli->c);

	if (err < 0)
		lose_connection(cli, err);
	return err < 0 ? err : 0;
}

int vrpc_client_process(struct vrpc_client *cli)
{
	int err;

	if (cli->dead)
		return cli->dead;
	cli->in_process = true;
	transport_poll_done(cli->c.t);
	err = conn_receive(&cli->c, client_frame, cli);
	if (err < 0) {
		lose_connection(cli, err);
	} else {
		expire(cli);
		flush(cli);
	}
	cli->in_process = false;
	return cli->dead;
}

int vrpc_client_wait(struct vrpc_client *cli, int timeout_ms)
{
	int next = vrpc_client_next_timeout(cli);
	int err;

	if (cli->dead)
		return cli->dead;
	if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
		timeout_ms = next;
	if (timeout_ms != 0 && cli->inflight && cli->c.t->ops->ready) {
		int budget = vrpc_spin_budget(&cli->spin);
		bool found = budget > 0 &&
			     transport_spin(cli->c.t, conn_queued(&cli->c) > 0, budget);

		if (budget > 0)
			vrpc_spin_result(&cli->spin, found);
		if (found)
			return vrpc_client_process(cli);
	}
	err = transport_wait(cli->c.t, conn_queued(&cli->c) > 0, timeout_ms);
	if (err < 0) {
		lose_connection(cli, err);
		return err;
	}
	return vrpc_client_process(cli);
}

static uint32_t alloc_id(struct vrpc_client *cli)
{
	/* inflight < slots, so a free slot exists; ids never repeat while in
	 * flight because a busy slot's id is skipped. */
	for (;;) {
		uint32_t id = cli->next_id++;

		if (id && !cli->slots[id & cli->mask].id)
			return id;
	}
}

static int64_t start_call(struct vrpc_client *cli, unsigned method, const ProtobufCMessage *req,
			  int timeout_ms, struct pending *proto)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_REQUEST };
	struct pending *p;
	uint32_t id;
	int err;

	if (cli->dead)
		return -ENOTCONN;
	if (method >= cli->desc->n_methods || !req ||
	    req->descriptor != cli->desc->methods[method].input)
		return -EINVAL;
	if (cli->inflight >= cli->max_inflight)
		return -EAGAIN;
	id = alloc_id(cli);
	h.call_id = id;
	h.method = (uint16_t)method;
	h.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
	err = conn_queue(&cli->c, &h, req, NULL, 0);
	if (err)
		return err;
	p = &cli->slots[id & cli->mask];
	*p = *proto;
	p->id = id;
	p->method = method;
	p->deadline = timeout_ms > 0 ? vrpc_now_ms() + timeout_ms : -1;
	if (p->deadline >= 0 && heap_push(&cli->deadlines, p->deadline, id) < 0)
		p->deadline = -1; /* out of memory: the call runs without a deadline */
	cli->inflight++;
	if (!cli->in_process)
		flush(cli);
	return id;
}

int64_t vrpc_client_call_async(struct vrpc_client *cli, unsigned method,
			       const ProtobufCMessage *req, int timeout_ms,
			       vrpc_reply_fn fn, void *ud)
{
	struct pending p = { .fn = fn, .ud = ud };

	return start_call(cli, method, req, timeout_ms, &p);
}

int vrpc_client_cancel(struct vrpc_client *cli, int64_t id)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_CANCEL };
	struct pending *p;

	if (id <= 0 || id > UINT32_MAX || !(p = lookup(cli, (uint32_t)id)))
		return -ENOENT;
	h.call_id = (uint32_t)id;
	conn_queue(&cli->c, &h, NULL, NULL, 0);
	finish(cli, p, NULL, VRPC_CANCELLED, "cancelled by the caller");
	if (!cli->in_process)
		flush(cli);
	return 0;
}

struct blocking {
	bool done;
	int status;
	char *message;
};

static void blocking_done(void *ud, const ProtobufCMessage *msg, bool done, int status,
			  const char *message)
{
	struct blocking *b = ud;

	if (!done)
		return;
	b->done = true;
	b->status = status;
	if (message && *message)
		b->message = strdup(message);
}

int vrpc_client_call(struct vrpc_client *cli, unsigned method, const ProtobufCMessage *req,
		     ProtobufCMessage **reply, int timeout_ms, char **message)
{
	struct blocking b = { 0 };
	struct pending p = { .fn = blocking_done, .ud = &b, .keep = reply };
	int64_t id;

	*reply = NULL;
	if (message)
		*message = NULL;
	id = start_call(cli, method, req, timeout_ms, &p);
	if (id < 0) {
		b.status = id == -EINVAL ? VRPC_INVALID_ARGUMENT :
			   id == -ENOTCONN ? VRPC_UNAVAILABLE : VRPC_RESOURCE_EXHAUSTED;
		b.message = strdup(strerror((int)-id));
	}
	while (id > 0 && !b.done)
		vrpc_client_wait(cli, -1);
	if (message)
		*message = b.message;
	else
		free(b.message);
	return b.status;
}

static void stub_invoke(ProtobufCService *service, unsigned method, const ProtobufCMessage *input,
			ProtobufCClosure closure, void *closure_data)
{
	struct vrpc_client *cli = of_service(service);
	struct pending p = { .closure = closure, .closure_data = closure_data };
	int64_t id = start_call(cli, method, input, cli->stub_timeout_ms, &p);

	if (id < 0) {
		cli->cur_status = id == -EINVAL ? VRPC_INVALID_ARGUMENT :
				  id == -ENOTCONN ? VRPC_UNAVAILABLE : VRPC_RESOURCE_EXHAUSTED;
		snprintf(cli->cur_message, sizeof(cli->cur_message), "%s", strerror((int)-id));
		closure(NULL, closure_data);
	}
}

static void stub_destroy(ProtobufCService *service)
{
	(void)service; /* the client owns the service; vrpc_client_close frees it */
}

ProtobufCService *vrpc_client_service(struct vrpc_client *cli)
{
	return &cli->service;
}

int vrpc_client_status(const struct vrpc_client *cli, const char **message)
{
	if (message)
		*message = cli->cur_message;
	return cli->cur_status;
}

void vrpc_client_set_timeout(struct vrpc_client *cli, int timeout_ms)
{
	cli->stub_timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
}

int vrpc_client_fd(const struct vrpc_client *cli)
{
	return cli->c.t->fd;
}

short vrpc_client_events(const struct vrpc_client *cli)
{
	return transport_poll_events(cli->c.t, conn_queued(&cli->c) > 0);
}

#ifdef _WIN32
int vrpc_client_handles(struct vrpc_client *cli, void **handles, int max)
{
	struct win_transport *w = (struct win_transport *)cli->c.t;
	short events = vrpc_client_events(cli);
	HANDLE h[WIN_MAX_HANDLES];
	int n;

	if (cli->dead)
		return cli->dead;
	if (max < WIN_MAX_HANDLES)
		return -EINVAL;
	/* A peer absent (no events): nothing to wait on (see vrpc.h). */
	n = events ? w->handles(w, events, h) : 0;
	for (int i = 0; i < n; i++)
		handles[i] = h[i];
	return n;
}
#endif

int vrpc_client_next_timeout(const struct vrpc_client *cli)
{
	return ms_until(heap_next(&cli->deadlines), vrpc_now_ms());
}

unsigned vrpc_client_inflight(const struct vrpc_client *cli)
{
	return cli->inflight;
}

/* ---- HELLO ---- */

struct hello_wait {
	struct vrpc_client *cli;
	int result; /* 1: agreed */
};

static int hello_frame(void *ud, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct hello_wait *w = ud;
	Vrpc__V1__Hello *ack;

	if (h->type == VRPC_T_GOAWAY || (h->type == VRPC_T_HELLO_ACK && h->status != VRPC_OK)) {
		switch (h->status) {
		case VRPC_NOT_FOUND: return -ENOENT;           /* no such service there */
		case VRPC_UNAVAILABLE: return -ECONNREFUSED;   /* not now, maybe later */
		case VRPC_PERMISSION_DENIED: return -EACCES;
		default: return -EPROTO;
		}
	}
	if (h->type != VRPC_T_HELLO_ACK)
		return -EPROTO;
	ack = vrpc__v1__hello__unpack(NULL, h->length, payload);
	if (!ack)
		return -EPROTO;
	/* The server must choose within our range and not raise our maximum. */
	if (ack->version_min < VRPC_VERSION_MIN || ack->version_min > VRPC_VERSION ||
	    ack->max_frame == 0 || ack->max_frame > w->cli->c.max_frame ||
	    strcmp(ack->service, w->cli->desc->name)) {
		vrpc__v1__hello__free_unpacked(ack, NULL);
		return -EPROTO;
	}
	w->cli->c.max_frame = ack->max_frame;
	w->cli->streaming = calloc(w->cli->desc->n_methods + 1, sizeof(bool));
	/* An index past our methods names none we can call: nothing to mark
	 * (a client that only says HELLO has a descriptor without methods). */
	for (size_t i = 0; w->cli->streaming && i < ack->n_streaming; i++)
		if (ack->streaming[i] < w->cli->desc->n_methods)
			w->cli->streaming[ack->streaming[i]] = true;
	vrpc__v1__hello__free_unpacked(ack, NULL);
	return w->cli->streaming ? 1 : -ENOMEM;
}

/* The answers to a HELLO said again are skipped by client_frame(). */
static int handshake(struct vrpc_client *cli, int timeout_ms)
{
	struct hello_wait w = { .cli = cli };
	int err = vrpc_conn_hello(&cli->c, cli->desc->name, timeout_ms, hello_frame, &w);

	return err == -ECONNRESET ? -EPROTO : err;
}

/* The options with their defaults and bounds in place. */
static void opts_defaults(struct vrpc_client_opts *o)
{
	if (!o->connect_timeout_ms)
		o->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (!o->max_frame)
		o->max_frame = VRPC_DEFAULT_MAX_FRAME;
	if (o->max_frame > VRPC_MAX_FRAME_LIMIT)
		o->max_frame = VRPC_MAX_FRAME_LIMIT;
	if (!o->max_inflight)
		o->max_inflight = DEFAULT_MAX_INFLIGHT;
	if (o->max_inflight > (1u << 20))
		o->max_inflight = 1u << 20;
}

struct vrpc_client *vrpc_client_open(const char *addr, const ProtobufCServiceDescriptor *service,
				     const struct vrpc_client_opts *opts)
{
	struct vrpc_client_opts o = opts ? *opts : (struct vrpc_client_opts){ 0 };
	struct vrpc_transport *t;
	struct vrpc_client *cli;
	uint32_t slots = 2;
	int err;

	if (!service || (o.max_frame && o.max_frame < 64)) {
		errno = EINVAL;
		return NULL;
	}
	opts_defaults(&o);
	while (slots < 2 * o.max_inflight)
		slots *= 2;

	cli = calloc(1, sizeof(*cli));
	if (!cli)
		return NULL;
	cli->slots = calloc(slots, sizeof(*cli->slots));
	if (!cli->slots) {
		err = -ENOMEM;
		goto err_cli;
	}
	cli->mask = slots - 1;
	cli->spin.budget_us = -1;
	cli->next_id = 1;
	cli->max_inflight = o.max_inflight;
	cli->desc = service;
	cli->service.descriptor = service;
	cli->service.invoke = stub_invoke;
	cli->service.destroy = stub_destroy;
	err = transport_connect(addr, o.connect_timeout_ms, &t);
	if (err)
		goto err_slots;
	err = conn_init(&cli->c, t, o.max_frame, (size_t)o.max_frame + (8u << 20));
	if (err) {
		transport_close(t);
		goto err_slots;
	}
	err = handshake(cli, o.connect_timeout_ms);
	if (err)
		goto err_conn;
	return cli;
err_conn:
	conn_fini(&cli->c);
	free(cli->streaming);
err_slots:
	free(cli->slots);
err_cli:
	free(cli);
	errno = -err;
	return NULL;
}

void vrpc_client_close(struct vrpc_client *cli)
{
	if (!cli)
		return;
	fail_all(cli, VRPC_CANCELLED, "client closed");
	conn_fini(&cli->c);
	heap_free(&cli->deadlines);
	free(cli->slots);
	free(cli->streaming);
	free(cli);
}
