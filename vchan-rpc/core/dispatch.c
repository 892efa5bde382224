/* dispatch.c - the server's side of a call: check, unpack, invoke, reply. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "server.h"

/* ---- calls in flight on one connection: open addressing by call id ---- */

static uint32_t slot_of(const struct sconn *sc, uint32_t id)
{
	return (id * 2654435761u) & sc->mask; /* ids are the peer's: spread them */
}

static struct vrpc_call **find_slot(struct sconn *sc, uint32_t id)
{
	for (uint32_t i = slot_of(sc, id);; i = (i + 1) & sc->mask)
		if (!sc->calls[i] || sc->calls[i]->id == id)
			return &sc->calls[i];
}

static void table_remove(struct sconn *sc, struct vrpc_call *call)
{
	uint32_t i = (uint32_t)(find_slot(sc, call->id) - sc->calls);
	uint32_t j = i;

	sc->calls[i] = NULL;
	sc->inflight--;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (;;) {
		uint32_t home;

		j = (j + 1) & sc->mask;
		if (!sc->calls[j])
			return;
		home = slot_of(sc, sc->calls[j]->id);
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			sc->calls[i] = sc->calls[j];
			sc->calls[j] = NULL;
			i = j;
		}
	}
}

/* ---- calls ---- */

void server_free_call(struct vrpc_call *call)
{
	struct vrpc_server *srv = call->srv;

	if (call->conn)
		table_remove(call->conn, call);
	if (call->prev)
		call->prev->next = call->next;
	else
		srv->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	if (call->input)
		protobuf_c_message_free_unpacked(call->input, NULL);
	free(call->message);
	free(call);
}

void server_orphan_calls(struct sconn *sc)
{
	for (uint32_t i = 0; i <= sc->mask && sc->inflight; i++) {
		struct vrpc_call *call = sc->calls[i];

		if (!call)
			continue;
		sc->calls[i] = NULL;
		sc->inflight--;
		call->conn = NULL;
		call->cancelled = true;
	}
}

struct vrpc_call *vrpc_call_of(void *closure_data)
{
	return closure_data;
}

const struct vrpc_peer *vrpc_call_peer(const struct vrpc_call *call)
{
	return &call->peer;
}

void vrpc_call_set_status(struct vrpc_call *call, int status, const char *fmt, ...)
{
	va_list ap;

	call->status = status;
	free(call->message);
	call->message = NULL;
	if (!fmt)
		return;
	va_start(ap, fmt);
	if (vasprintf(&call->message, fmt, ap) < 0)
		call->message = NULL;
	va_end(ap);
}

bool vrpc_call_cancelled(const struct vrpc_call *call)
{
	return call->cancelled || !call->conn ||
	       (call->deadline >= 0 && vrpc_now_ms() >= call->deadline);
}

int vrpc_call_remaining_ms(const struct vrpc_call *call)
{
	return ms_until(call->deadline, vrpc_now_ms());
}

/* ---- replies ---- */

static void send_status(struct sconn *sc, uint32_t id, uint16_t flags, int status,
			const char *text)
{
	struct vrpc_hdr h = {
		.version = VRPC_VERSION, .type = VRPC_T_REPLY, .flags = flags,
		.call_id = id, .status = (uint16_t)status,
	};

	sconn_send(sc, &h, NULL, text, text ? strlen(text) : 0);
}

/* Sends @p msg as a reply or stream item; a message too large for the
 * agreed frame turns into RESOURCE_EXHAUSTED for the caller. */
static int send_message(struct vrpc_call *call, uint8_t type, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *out =
		call->conn->svc->impl->descriptor->methods[call->method].output;
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = type, .call_id = call->id };
	int err;

	if (msg->descriptor != out) {
		vrpc_call_set_status(call, VRPC_INTERNAL, "handler replied with a %s, not a %s",
				     msg->descriptor->name, out->name);
		return -EINVAL;
	}
	err = sconn_send(call->conn, &h, msg, NULL, 0);
	if (err == -EMSGSIZE)
		vrpc_call_set_status(call, VRPC_RESOURCE_EXHAUSTED,
				     "reply of %zu bytes is over the agreed frame limit of %u",
				     protobuf_c_message_get_packed_size(msg),
				     call->conn->c.max_frame);
	return err;
}

/* The closure protoc-c's handlers call; closure_data is the call. */
static void server_closure(const ProtobufCMessage *msg, void *closure_data)
{
	struct vrpc_call *call = closure_data;
	uint16_t flags = call->streaming ? VRPC_F_STREAM_END : 0;

	if (!call->conn || call->cancelled) {
		/* Nobody is listening any more; the end frees the call. */
		if (!msg || !call->streaming)
			server_free_call(call);
		return;
	}
	if (msg && call->streaming) {
		if (send_message(call, VRPC_T_STREAM_ITEM, msg) == 0)
			return;
		/* The item could not go: end the stream with the reason. */
		if (!call->status)
			call->status = VRPC_INTERNAL;
		call->cancelled = true;
	} else if (msg) {
		if (send_message(call, VRPC_T_REPLY, msg) == 0) {
			server_free_call(call);
			return;
		}
	} else if (!call->streaming && call->status == VRPC_OK) {
		vrpc_call_set_status(call, VRPC_INTERNAL, "the method failed without saying why");
	}
	if (call->conn)
		send_status(call->conn, call->id, flags, call->status, call->message);
	if (!msg || !call->streaming)
		server_free_call(call);
}

/* ---- requests ---- */

static void refuse(struct sconn *sc, uint32_t id, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void refuse(struct sconn *sc, uint32_t id, int status, const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	vrpc_debug("call %u refused: %s", id, text);
	send_status(sc, id, 0, status, text);
}

/* A broker's REQUEST names the original caller before the request itself.
 * @return bytes of the payload the label took, or -1 when it is malformed. */
static int take_origin(const uint8_t *payload, uint32_t len, struct vrpc_peer *peer)
{
	uint8_t n;

	if (len < 1)
		return -1;
	n = payload[0];
	if (n < 1 || n > VRPC_ORIGIN_MAX || (uint32_t)n + 1 > len)
		return -1;
	memset(peer, 0, sizeof(*peer));
	peer->kind = VRPC_PEER_LABEL;
	for (unsigned i = 0; i < n; i++) {
		uint8_t ch = payload[1 + i];

		/* Labels are names: nothing that could confuse a log or a policy. */
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		      ch == ':' || ch == '@'))
			return -1;
		peer->label[i] = (char)ch;
	}
	return n + 1;
}

/* A broker's caller label in front of the request becomes the call's peer.
 * @return 0, or -1 when the call was refused. */
static int strip_origin(struct sconn *sc, const struct vrpc_hdr *h, const uint8_t **payload,
			uint32_t *len, struct vrpc_peer *peer)
{
	int used;

	/* Only the host's broker sits at the other end of an attached
	 * endpoint, or of chan:NAME's vchan under Xen (dom0's alone);
	 * anyone else naming a caller is lying. */
	if (!sc->host_peer) {
		refuse(sc, h->call_id, VRPC_PERMISSION_DENIED,
		       "caller labels are taken only from the host's broker");
		return -1;
	}
	used = take_origin(*payload, *len, peer);
	if (used < 0) {
		refuse(sc, h->call_id, VRPC_INVALID_ARGUMENT, "malformed caller label");
		return -1;
	}
	*payload += used;
	*len -= (uint32_t)used;
	return 0;
}

int server_on_request(struct sconn *sc, const struct vrpc_hdr *h, const uint8_t *payload)
{
	const ProtobufCServiceDescriptor *desc = sc->svc->impl->descriptor;
	struct vrpc_peer peer = sc->c.t->peer;
	struct vrpc_call **slot, *call;
	ProtobufCMessage *input;
	uint32_t len = h->length;

	/* protobuf-c checks the method index only with assert(): check it here. */
	if (h->method >= desc->n_methods) {
		refuse(sc, h->call_id, VRPC_UNIMPLEMENTED, "%s has no method number %u",
		       desc->name, h->method);
		return 0;
	}
	if (vrpc_sconn_method_denied(sc, desc->name, desc->methods[h->method].name)) {
		refuse(sc, h->call_id, VRPC_PERMISSION_DENIED, "policy denies %s calling %s.%s",
		       sc->c.t->peer.label, desc->name, desc->methods[h->method].name);
		return 0;
	}
	slot = find_slot(sc, h->call_id);
	if (*slot) {
		/* Replies could no longer be told apart: the peer is broken. */
		sconn_goaway(sc, VRPC_INVALID_ARGUMENT, "call id %u reused while in flight",
			     h->call_id);
		return -EPROTO;
	}
	if (sc->inflight >= sc->srv->opts.max_inflight) {
		refuse(sc, h->call_id, VRPC_RESOURCE_EXHAUSTED, "more than %u calls in flight",
		       sc->srv->opts.max_inflight);
		return 0;
	}
	if ((h->flags & VRPC_F_ORIGIN) && strip_origin(sc, h, &payload, &len, &peer))
		return 0;
	input = protobuf_c_message_unpack(desc->methods[h->method].input, NULL, len, payload);
	if (!input) {
		refuse(sc, h->call_id, VRPC_INVALID_ARGUMENT, "request is not a valid %s",
		       desc->methods[h->method].input->name);
		return 0;
	}
	call = calloc(1, sizeof(*call));
	if (!call) {
		protobuf_c_message_free_unpacked(input, NULL);
		refuse(sc, h->call_id, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return 0;
	}
	call->srv = sc->srv;
	call->conn = sc;
	call->id = h->call_id;
	call->method = h->method;
	call->streaming = sc->svc->streaming[h->method];
	call->deadline = h->timeout_ms ? vrpc_now_ms() + h->timeout_ms : -1;
	call->input = input;
	call->peer = peer;
	call->next = sc->srv->calls;
	if (call->next)
		call->next->prev = call;
	sc->srv->calls = call;
	*slot = call;
	sc->inflight++;
	/* The handler may reply (and so free the call) before invoke returns. */
	sc->svc->impl->invoke(sc->svc->impl, h->method, input, server_closure, call);
	return 0;
}

void server_on_cancel(struct sconn *sc, uint32_t id)
{
	struct vrpc_call *call = *find_slot(sc, id);

	if (!call)
		return;
	/* The caller has forgotten the call: no reply will be sent. */
	table_remove(sc, call);
	call->conn = NULL;
	call->cancelled = true;
}
