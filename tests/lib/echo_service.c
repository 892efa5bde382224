/* echo_service.c - the Echo service (see echo.proto): sync, async and streamed replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "echo_service.h"

const char *const echo_streaming[] = { "Count", NULL };

static struct echo_service *of(Vrpc__Test__Echo_Service *s)
{
	return (struct echo_service *)s;
}

static void echo_echo(Vrpc__Test__Echo_Service *s, const Vrpc__Test__EchoRequest *in,
		      Vrpc__Test__EchoReply_Closure closure, void *data)
{
	Vrpc__Test__EchoReply out = VRPC__TEST__ECHO_REPLY__INIT;
	uint8_t *buf = NULL;

	of(s)->calls++;
	out.text = in->text;
	out.data = in->data;
	if (in->reply_bytes) {
		buf = in->reply_bytes <= (16u << 20) ? malloc(in->reply_bytes) : NULL;
		if (!buf) {
			vrpc_call_set_status(vrpc_call_of(data), VRPC_RESOURCE_EXHAUSTED, "no memory");
			closure(NULL, data);
			return;
		}
		for (uint32_t i = 0; i < in->reply_bytes; i++)
			buf[i] = (uint8_t)i;
		out.data.data = buf;
		out.data.len = in->reply_bytes;
	}
	closure(&out, data);
	free(buf);
}

struct pending_sleep {
	struct echo_service *svc;
	struct pending_sleep *next, *prev; /* svc->pending */
	Vrpc__Test__EchoReply_Closure closure;
	void *data;
	uint32_t left, seq; /* Count: items still to send */
	bool slow;          /* Count: one item per loop turn */
	char *text;
};

static struct pending_sleep *pending_new(struct echo_service *svc)
{
	struct pending_sleep *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->svc = svc;
	p->next = svc->pending;
	if (p->next)
		p->next->prev = p;
	svc->pending = p;
	return p;
}

static void pending_free(struct pending_sleep *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		p->svc->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	free(p->text);
	free(p);
}

void echo_service_fini(struct echo_service *svc)
{
	while (svc->pending)
		pending_free(svc->pending);
}

static void sleep_done(void *ud)
{
	struct pending_sleep *p = ud;
	Vrpc__Test__EchoReply out = VRPC__TEST__ECHO_REPLY__INIT;

	if (vrpc_call_cancelled(vrpc_call_of(p->data)))
		p->svc->cancelled++;
	out.text = p->text;
	p->closure(&out, p->data);
	pending_free(p);
}

static void echo_sleep(Vrpc__Test__Echo_Service *s, const Vrpc__Test__EchoRequest *in,
		       Vrpc__Test__EchoReply_Closure closure, void *data)
{
	struct pending_sleep *p = of(s)->loop ? pending_new(of(s)) : NULL;

	of(s)->calls++;
	if (!p) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_UNAVAILABLE, "no loop to sleep in");
		closure(NULL, data);
		return;
	}
	p->closure = closure;
	p->data = data;
	p->text = strdup(in->text);
	vrpc_loop_add_timer(of(s)->loop, (int)in->delay_ms, sleep_done, p);
}

static void count_next(void *ud)
{
	struct pending_sleep *p = ud;

	while (p->left && !vrpc_call_cancelled(vrpc_call_of(p->data))) {
		Vrpc__Test__EchoReply out = VRPC__TEST__ECHO_REPLY__INIT;

		out.text = p->text;
		out.seq = p->seq++;
		p->left--;
		p->closure(&out, p->data);
		if (p->slow && p->left) {
			vrpc_loop_add_timer(p->svc->loop, 1, count_next, p);
			return;
		}
	}
	p->closure(NULL, p->data);
	pending_free(p);
}

static void echo_count(Vrpc__Test__Echo_Service *s, const Vrpc__Test__EchoRequest *in,
		       Vrpc__Test__EchoReply_Closure closure, void *data)
{
	struct pending_sleep *p = pending_new(of(s));

	of(s)->calls++;
	if (!p) {
		closure(NULL, data);
		return;
	}
	p->closure = closure;
	p->data = data;
	p->left = in->count;
	p->text = strdup(in->text);
	/* Slow streams (delay_ms) go item by item from the loop. */
	p->slow = in->delay_ms && of(s)->loop;
	if (!p->slow) {
		count_next(p);
		return;
	}
	vrpc_loop_add_timer(of(s)->loop, (int)in->delay_ms, count_next, p);
}

static void echo_fail(Vrpc__Test__Echo_Service *s, const Vrpc__Test__EchoRequest *in,
		      Vrpc__Test__EchoReply_Closure closure, void *data)
{
	of(s)->calls++;
	vrpc_call_set_status(vrpc_call_of(data), (int)in->fail_status, "asked to fail: %s",
			     in->text);
	closure(NULL, data);
}

static void echo_who_am_i(Vrpc__Test__Echo_Service *s, const Vrpc__Test__EchoRequest *in,
			  Vrpc__Test__EchoReply_Closure closure, void *data)
{
	Vrpc__Test__EchoReply out = VRPC__TEST__ECHO_REPLY__INIT;
	char peer[96];

	of(s)->calls++;
	vrpc_peer_format(vrpc_call_peer(vrpc_call_of(data)), peer, sizeof(peer));
	out.peer = peer;
	closure(&out, data);
}

void echo_service_init(struct echo_service *svc, struct vrpc_loop *loop)
{
	Vrpc__Test__Echo_Service base = VRPC__TEST__ECHO__INIT(echo_);

	memset(svc, 0, sizeof(*svc));
	svc->base = base;
	svc->loop = loop;
}
