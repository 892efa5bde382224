/* client_json.c - calling a method by name with JSON in and out (reflection
 * through the protobuf-c descriptors; what `vapp call` uses). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vrpc.h"
#include "vrpc_json.h"

/* The client's descriptor, without reaching into its internals. */
static const ProtobufCServiceDescriptor *service_of(struct vrpc_client *cli)
{
	return vrpc_client_service(cli)->descriptor;
}

struct json_call {
	vrpc_json_item_fn on_item;
	void *ud;
	bool done;
	int status;
	char *reply;
	char *message;
};

static void json_done(void *ud, const ProtobufCMessage *msg, bool done, int status,
		      const char *message)
{
	struct json_call *c = ud;

	if (!done) {
		char *item = vrpc_json_from_message(msg, 0);

		if (item && c->on_item)
			c->on_item(c->ud, item);
		free(item);
		return;
	}
	c->done = true;
	c->status = status;
	if (status == VRPC_OK && msg) {
		c->reply = vrpc_json_from_message(msg, VRPC_JSON_PRETTY);
		if (!c->reply) {
			c->status = VRPC_INTERNAL;
			c->message = strdup("reply could not be written as JSON");
		}
	} else if (message && *message) {
		c->message = strdup(message);
	}
}

static int fail(char **message, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char **message, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (message && vasprintf(message, fmt, ap) < 0)
		*message = NULL;
	va_end(ap);
	return status;
}

int vrpc_client_call_json(struct vrpc_client *cli, const char *method,
			  const char *request_json, vrpc_json_item_fn on_item, void *ud,
			  int timeout_ms, char **reply_json, char **message)
{
	const ProtobufCServiceDescriptor *svc = service_of(cli);
	struct json_call c = { .on_item = on_item, .ud = ud };
	ProtobufCMessage *req;
	char err[256];
	int idx;
	int64_t id;

	*reply_json = NULL;
	if (message)
		*message = NULL;
	idx = vrpc_json_find_method(svc, method);
	if (idx < 0)
		return fail(message, VRPC_NOT_FOUND, "no method %s in this service", method);
	req = vrpc_json_to_message(svc->methods[idx].input, request_json, strlen(request_json),
				   err, sizeof(err));
	if (!req)
		return fail(message, VRPC_INVALID_ARGUMENT, "request: %s", err);
	id = vrpc_client_call_async(cli, (unsigned)idx, req, timeout_ms, json_done, &c);
	protobuf_c_message_free_unpacked(req, NULL);
	if (id < 0)
		return fail(message, id == -ENOTCONN ? VRPC_UNAVAILABLE : VRPC_RESOURCE_EXHAUSTED,
			    "%s", strerror((int)-id));
	while (!c.done)
		vrpc_client_wait(cli, -1);
	*reply_json = c.reply;
	if (message)
		*message = c.message;
	else
		free(c.message);
	return c.status;
}
