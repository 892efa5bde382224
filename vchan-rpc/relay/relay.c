/* relay.c - the broker (vrpc_relay.h): guests' frames checked per method and
 * relayed to appliances with the caller's label; only call ids rewritten. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "calls.h"
#include "conn.h"
#include "server.h" /* vrpc_debug */
#include "vrpc_relay.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

#define DEFAULT_MAX_INFLIGHT 1024
#define DEFAULT_MAX_QUEUE (8u << 20)
#define UPSTREAM_SLOTS 8192 /* a power of two, above all guests' calls in flight */
#define UPSTREAM_LIMIT (UPSTREAM_SLOTS / 2)
/* The last calls an upstream takes are kept for labels with fewer than
 * LIGHT_CALLER calls in flight. */
#define UPSTREAM_RESERVE 512
#define LIGHT_CALLER 64
#define DEFAULT_MAX_INFLIGHT_LABEL 1024
#define DEFAULT_MAX_CONNS_LABEL 16
#define DEFAULT_HELLO_TIMEOUT_MS 10000
/* Bytes read after the HELLO_ACK that a handover carries: a read buffer's. */
#define RBUF_HANDOVER (64u * 1024)

enum rkind { RK_GATE, RK_GUEST, RK_UPSTREAM, RK_TIMER };

/* What every epoll entry starts with. */
struct rconn {
	enum rkind kind;
	struct vrpc_conn c;
	uint32_t events;
	bool dirty, dead;
	struct rconn *dirty_next;
};

/* A gate is a caller label: its share of the relay is counted here, over
 * all the connections that came through it. */
struct gate {
	enum rkind kind; /* RK_GATE */
	struct vrpc_listener *l;
	char label[VRPC_ORIGIN_MAX + 1];
	unsigned conns, inflight;
	struct gate *next;
};

struct guest {
	struct rconn rc;
	char label[VRPC_ORIGIN_MAX + 1];
	struct gate *gate; /* its label's share */
	char *service; /* NULL until HELLO */
	int64_t hello_by; /* a HELLO begun is whole by then, or the guest goes */
	unsigned inflight;
	struct guest *next, *prev;
	struct guest *zombie_next;
};

struct route {
	uint32_t up_id; /* 0: free */
	uint32_t guest_id;
	struct guest *g;
};

struct vrpc_relay_upstream {
	struct rconn rc;
	char *service, *appliance;
	char **methods;
	size_t n_methods;
	uint32_t *streaming; /* method indexes, as the appliance's HELLO_ACK said */
	size_t n_streaming;
	uint8_t *ack; /* that HELLO_ACK's payload, for a handover */
	size_t ack_len;
	struct route routes[UPSTREAM_SLOTS];
	uint32_t next_id;
	unsigned inflight;
	struct vrpc_relay_upstream *next;
	struct vrpc_relay_upstream *zombie_next;
};

/* A service some appliance offered: while none does, guests are told it is
 * unavailable (it will be back), not that it does not exist. */
struct known {
	char *service, *appliance;
	struct known *next;
};

struct vrpc_relay {
	int epfd;
	int timerfd; /* HELLO deadlines of guests */
	enum rkind timer_kind; /* RK_TIMER: what the timer's epoll entry points at */
	struct known *known;
	vrpc_relay_check_fn check;
	void *ud;
	struct vrpc_relay_opts opts;
	struct gate *gates;
	struct guest *guests;
	struct vrpc_relay_upstream *ups;
	struct rconn *dirty;
	struct guest *dead_guests;
	struct vrpc_relay_upstream *dead_ups;
	struct vrpc_relay_stats stats;
};

static void hello_clock(struct guest *g, struct vrpc_relay *r);

/* ---- plumbing shared by guests and upstreams ---- */

static void rc_update_events(struct vrpc_relay *r, struct rconn *rc)
{
	short ev = transport_poll_events(rc->c.t, conn_queued(&rc->c) > 0);
	uint32_t want = ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0);
	struct epoll_event e = { .events = want, .data.ptr = rc };

	if (rc->dead || want == rc->events)
		return;
	if (!want)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, rc->c.t->fd, NULL);
	else
		epoll_ctl(r->epfd, rc->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, rc->c.t->fd, &e);
	rc->events = want;
}

static void rc_mark_dirty(struct vrpc_relay *r, struct rconn *rc)
{
	if (rc->dirty || rc->dead)
		return;
	rc->dirty = true;
	rc->dirty_next = r->dirty;
	r->dirty = rc;
}

static void rc_close(struct vrpc_relay *r, struct rconn *rc)
{
	if (rc->events)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, rc->c.t->fd, NULL);
	rc->events = 0;
	conn_fini(&rc->c);
	rc->dead = true;
}

/* Sends a REPLY carrying only a status and its text. */
static void reply_status(struct vrpc_relay *r, struct guest *g, uint32_t id, int status,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reply_status(struct vrpc_relay *r, struct guest *g, uint32_t id, int status,
			 const char *fmt, ...)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_REPLY, .call_id = id,
			      .status = (uint16_t)status };
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (conn_queue(&g->rc.c, &h, NULL, text, strlen(text)) == 0)
		rc_mark_dirty(r, &g->rc);
}

static const struct known *find_known(const struct vrpc_relay *r, const char *service)
{
	for (const struct known *k = r->known; k; k = k->next)
		if (!strcmp(k->service, service))
			return k;
	return NULL;
}

/* Remembers that @p appliance offers @p service (the latest one wins). */
static int remember(struct vrpc_relay *r, const char *service, const char *appliance)
{
	struct known *k = (struct known *)find_known(r, service);
	char *a = strdup(appliance);

	if (!a)
		return -ENOMEM;
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k || !(k->service = strdup(service))) {
			free(k);
			free(a);
			return -ENOMEM;
		}
		k->next = r->known;
		r->known = k;
	}
	free(k->appliance);
	k->appliance = a;
	return 0;
}

static struct vrpc_relay_upstream *find_upstream(struct vrpc_relay *r, const char *service)
{
	for (struct vrpc_relay_upstream *u = r->ups; u && service; u = u->next)
		if (!u->rc.dead && !strcmp(u->service, service))
			return u;
	return NULL;
}

/* ---- routes: upstream call id -> (guest, its call id) ---- */

static struct route *route_new(struct vrpc_relay_upstream *u)
{
	for (;;) {
		uint32_t id = u->next_id++;
		struct route *rt = &u->routes[id & (UPSTREAM_SLOTS - 1)];

		if (id && !rt->up_id) {
			rt->up_id = id;
			return rt;
		}
	}
}

static void route_end(struct vrpc_relay_upstream *u, struct route *rt)
{
	rt->g->inflight--;
	rt->g->gate->inflight--;
	u->inflight--;
	memset(rt, 0, sizeof(*rt));
}

/* The guest is gone or starting over: its calls upstream are cancelled. */
static void guest_forget_calls(struct vrpc_relay *r, struct guest *g)
{
	for (struct vrpc_relay_upstream *u = r->ups; u && g->inflight; u = u->next) {
		for (uint32_t i = 0; i < UPSTREAM_SLOTS && g->inflight; i++) {
			struct route *rt = &u->routes[i];
			struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_CANCEL };

			if (!rt->up_id || rt->g != g)
				continue;
			h.call_id = rt->up_id;
			if (!u->rc.dead && conn_queue(&u->rc.c, &h, NULL, NULL, 0) == 0)
				rc_mark_dirty(r, &u->rc);
			route_end(u, rt);
		}
	}
}

static void guest_kill(struct vrpc_relay *r, struct guest *g)
{
	if (g->rc.dead)
		return;
	guest_forget_calls(r, g);
	rc_close(r, &g->rc);
	free(g->service);
	g->service = NULL;
	g->gate->conns--;
	if (g->prev)
		g->prev->next = g->next;
	else
		r->guests = g->next;
	if (g->next)
		g->next->prev = g->prev;
	g->zombie_next = r->dead_guests;
	r->dead_guests = g;
}

/* Ends the guest's session, not its channel (a virtio-serial guest cannot
 * close it): what comes next is skipped up to a new HELLO. */
static void guest_reset(struct vrpc_relay *r, struct guest *g, int status, const char *why)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_GOAWAY,
			      .status = (uint16_t)status };

	guest_forget_calls(r, g);
	free(g->service);
	g->service = NULL;
	conn_reset(&g->rc.c, true);
	if (conn_queue(&g->rc.c, &h, NULL, why, strlen(why)) == 0)
		rc_mark_dirty(r, &g->rc);
}

static void upstream_kill(struct vrpc_relay *r, struct vrpc_relay_upstream *u, const char *why)
{
	struct vrpc_relay_upstream **p;

	if (u->rc.dead)
		return;
	vrpc_debug("relay: upstream %s lost: %s", u->appliance, why);
	for (uint32_t i = 0; i < UPSTREAM_SLOTS && u->inflight; i++) {
		struct route *rt = &u->routes[i];

		if (!rt->up_id)
			continue;
		reply_status(r, rt->g, rt->guest_id, VRPC_UNAVAILABLE, "appliance %s: %s",
			     u->appliance, why);
		r->stats.failed++;
		route_end(u, rt);
	}
	rc_close(r, &u->rc);
	for (p = &r->ups; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	u->zombie_next = r->dead_ups;
	r->dead_ups = u;
}

static void upstream_free(struct vrpc_relay_upstream *u)
{
	for (size_t i = 0; i < u->n_methods; i++)
		free(u->methods[i]);
	free(u->methods);
	free(u->streaming);
	free(u->ack);
	free(u->service);
	free(u->appliance);
	free(u);
}

/* ---- frames from guests ---- */

static int guest_hello(struct vrpc_relay *r, struct guest *g, const struct vrpc_hdr *h,
		       const uint8_t *payload)
{
	Vrpc__V1__Hello *hello = vrpc__v1__hello__unpack(NULL, h->length, payload);
	Vrpc__V1__Hello ack = VRPC__V1__HELLO__INIT;
	struct vrpc_hdr ah = { .version = VRPC_VERSION, .type = VRPC_T_HELLO_ACK };
	struct vrpc_relay_upstream *u;
	char why[320] = "";
	int status = VRPC_OK;
	uint32_t max;

	if (!hello) {
		guest_reset(r, g, VRPC_INVALID_ARGUMENT, "HELLO is not a valid vrpc.v1.Hello");
		return 1;
	}
	u = find_upstream(r, hello->service);
	if (hello->version_max < VRPC_VERSION_MIN || hello->version_min > VRPC_VERSION) {
		status = VRPC_UNIMPLEMENTED;
		snprintf(why, sizeof(why), "no common protocol version");
	} else if (!u && find_known(r, hello->service)) {
		status = VRPC_UNAVAILABLE;
		snprintf(why, sizeof(why), "appliance %.63s (%.128s) is not running now",
			 find_known(r, hello->service)->appliance, hello->service);
	} else if (!u) {
		status = VRPC_NOT_FOUND;
		snprintf(why, sizeof(why), "no appliance offers %.128s", hello->service);
	} else {
		status = r->check(r->ud, g->label, u->service, NULL, u->appliance, why, sizeof(why));
	}
	if (status != VRPC_OK) {
		vrpc__v1__hello__free_unpacked(hello, NULL);
		ah.status = (uint16_t)status;
		if (conn_queue(&g->rc.c, &ah, NULL, why, strlen(why)) == 0)
			rc_mark_dirty(r, &g->rc);
		return 0;
	}
	/* The guest's frames must fit upstream with a label in front. */
	max = u->rc.c.max_frame - (VRPC_ORIGIN_MAX + 1);
	if (hello->max_frame < max)
		max = hello->max_frame;
	vrpc__v1__hello__free_unpacked(hello, NULL);
	if (max < 64) {
		guest_reset(r, g, VRPC_INVALID_ARGUMENT, "maximum frame under 64 bytes");
		return 1;
	}
	ack.version_min = ack.version_max = VRPC_VERSION;
	ack.max_frame = max;
	ack.service = u->service;
	/* No method names: they are for brokers, and a guest learns nothing of
	 * a service that policy may keep from it. Which ones stream it needs. */
	ack.streaming = u->streaming;
	ack.n_streaming = u->n_streaming;
	free(g->service);
	g->service = strdup(u->service);
	g->hello_by = 0;
	g->rc.c.max_frame = max;
	if (conn_queue(&g->rc.c, &ah, &ack.base, NULL, 0) == 0)
		rc_mark_dirty(r, &g->rc);
	return 0;
}

/*
 * May @p g start one more call on @p u? Within its connection's and its
 * label's shares; and once the upstream is nearly full, only a label with
 * few calls in flight goes on, so greedy callers never starve light ones.
 */
static bool share_left(const struct vrpc_relay *r, const struct guest *g,
		       const struct vrpc_relay_upstream *u)
{
	if (g->inflight >= r->opts.max_inflight_per_guest ||
	    g->gate->inflight >= r->opts.max_inflight_per_label || u->inflight >= UPSTREAM_LIMIT)
		return false;
	return u->inflight < UPSTREAM_LIMIT - UPSTREAM_RESERVE ||
	       g->gate->inflight < LIGHT_CALLER;
}

static void guest_request(struct vrpc_relay *r, struct guest *g, const struct vrpc_hdr *h,
			  const uint8_t *payload)
{
	struct vrpc_relay_upstream *u = find_upstream(r, g->service);
	struct vrpc_hdr fh = *h;
	uint8_t origin[VRPC_ORIGIN_MAX + 1];
	struct route *rt;
	char why[320] = "";
	int status, err;

	if (!u) {
		reply_status(r, g, h->call_id, VRPC_UNAVAILABLE, "no appliance offers %s now",
			     g->service);
		r->stats.failed++;
		return;
	}
	if (h->method >= u->n_methods) {
		reply_status(r, g, h->call_id, VRPC_UNIMPLEMENTED, "%s has no method number %u",
			     u->service, h->method);
		return;
	}
	status = r->check(r->ud, g->label, u->service, u->methods[h->method], u->appliance, why,
			  sizeof(why));
	if (status != VRPC_OK) {
		reply_status(r, g, h->call_id, status, "%s", why);
		r->stats.denied++;
		return;
	}
	if (!share_left(r, g, u)) {
		reply_status(r, g, h->call_id, VRPC_RESOURCE_EXHAUSTED,
			     "too many calls in flight from %s", g->label);
		return;
	}
	rt = route_new(u);
	rt->g = g;
	rt->guest_id = h->call_id;
	g->inflight++;
	g->gate->inflight++;
	u->inflight++;
	origin[0] = (uint8_t)strlen(g->label);
	memcpy(origin + 1, g->label, origin[0]);
	fh.call_id = rt->up_id;
	fh.flags |= VRPC_F_ORIGIN;
	err = conn_queue_raw2(&u->rc.c, &fh, origin, origin[0] + 1u, payload, h->length);
	if (err) {
		route_end(u, rt);
		reply_status(r, g, h->call_id, VRPC_RESOURCE_EXHAUSTED,
			     "the appliance is not keeping up (%s)", strerror(-err));
		return;
	}
	rc_mark_dirty(r, &u->rc);
	r->stats.relayed++;
}

static void guest_cancel(struct vrpc_relay *r, struct guest *g, uint32_t id)
{
	struct vrpc_relay_upstream *u = find_upstream(r, g->service);

	for (uint32_t i = 0; u && i < UPSTREAM_SLOTS; i++) {
		struct route *rt = &u->routes[i];
		struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_CANCEL };

		if (!rt->up_id || rt->g != g || rt->guest_id != id)
			continue;
		h.call_id = rt->up_id;
		if (conn_queue(&u->rc.c, &h, NULL, NULL, 0) == 0)
			rc_mark_dirty(r, &u->rc);
		route_end(u, rt);
		return;
	}
}

struct frame_ctx {
	struct vrpc_relay *r;
	void *who;
};

static int guest_frame(void *ud, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct frame_ctx *x = ud;
	struct guest *g = x->who;

	if (h->type == VRPC_T_HELLO) {
		/* A guest may start over at any time: its port never closes. */
		guest_forget_calls(x->r, g);
		return guest_hello(x->r, g, h, payload);
	}
	if (!g->service) {
		guest_reset(x->r, g, VRPC_INVALID_ARGUMENT, "frame before HELLO");
		return 1;
	}
	switch (h->type) {
	case VRPC_T_REQUEST:
		if (h->flags & VRPC_F_ORIGIN) {
			/* A guest may not name a caller: that is the broker's word. */
			reply_status(x->r, g, h->call_id, VRPC_PERMISSION_DENIED,
				     "a guest cannot name the caller");
			x->r->stats.denied++;
			return 0;
		}
		guest_request(x->r, g, h, payload);
		return 0;
	case VRPC_T_CANCEL:
		guest_cancel(x->r, g, h->call_id);
		return 0;
	default:
		guest_reset(x->r, g, VRPC_INVALID_ARGUMENT, "a client does not send that frame type");
		return 1;
	}
}

/* ---- frames from appliances ---- */

static int upstream_frame(void *ud, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct frame_ctx *x = ud;
	struct vrpc_relay_upstream *u = x->who;
	struct route *rt = &u->routes[h->call_id & (UPSTREAM_SLOTS - 1)];
	struct vrpc_hdr fh = *h;
	struct guest *g;
	int err;

	if (h->type == VRPC_T_GOAWAY) {
		upstream_kill(x->r, u, "the appliance said goodbye");
		return 1;
	}
	/* The answer to a HELLO said again (vrpc_conn_hello()): no call. */
	if (h->type == VRPC_T_HELLO_ACK)
		return 0;
	if (h->type != VRPC_T_REPLY && h->type != VRPC_T_STREAM_ITEM) {
		upstream_kill(x->r, u, "the appliance broke the protocol");
		return 1;
	}
	if (!h->call_id || rt->up_id != h->call_id)
		return 0; /* a call the guest gave up on */
	g = rt->g;
	fh.call_id = rt->guest_id;
	err = conn_queue_raw2(&g->rc.c, &fh, NULL, 0, payload, h->length);
	if (err == -EMSGSIZE) {
		reply_status(x->r, g, rt->guest_id, VRPC_RESOURCE_EXHAUSTED,
			     "reply of %u bytes is over the guest's frame limit", h->length);
		if (h->type == VRPC_T_STREAM_ITEM) {
			struct vrpc_hdr c = { .version = VRPC_VERSION, .type = VRPC_T_CANCEL,
					      .call_id = rt->up_id };

			if (conn_queue(&u->rc.c, &c, NULL, NULL, 0) == 0)
				rc_mark_dirty(x->r, &u->rc);
		}
		route_end(u, rt);
		return 0;
	}
	if (err) {
		/* The guest does not read its replies: it loses its channel
		 * rather than everyone else their memory. */
		guest_kill(x->r, g);
		return 0;
	}
	rc_mark_dirty(x->r, &g->rc);
	if (h->type == VRPC_T_REPLY)
		route_end(u, rt);
	return 0;
}

/* ---- the loop ---- */

static void rc_ready(struct vrpc_relay *r, struct rconn *rc)
{
	struct frame_ctx x = { .r = r, .who = rc };
	int err;

	transport_poll_done(rc->c.t);
	err = conn_flush(&rc->c);
	if (err >= 0)
		err = conn_receive(&rc->c, rc->kind == RK_GUEST ? guest_frame : upstream_frame, &x);
	if (rc->dead)
		return;
	if (rc->kind == RK_GUEST)
		hello_clock((struct guest *)rc, r);
	if (err < 0) {
		if (rc->kind == RK_UPSTREAM)
			upstream_kill(r, (struct vrpc_relay_upstream *)rc, strerror(-err));
		else if (err == -ENOTCONN || err == -EBADMSG || err == -EMSGSIZE ||
			 err == -EPROTONOSUPPORT)
			guest_reset(r, (struct guest *)rc, VRPC_INVALID_ARGUMENT, "malformed frame");
		else
			guest_kill(r, (struct guest *)rc);
		if (rc->dead)
			return;
	}
	rc_update_events(r, rc);
}

static void arm_timer(struct vrpc_relay *r, int64_t in_ms)
{
	struct itimerspec its = { 0 };

	if (in_ms < 1)
		in_ms = 1;
	its.it_value.tv_sec = in_ms / 1000;
	its.it_value.tv_nsec = (in_ms % 1000) * 1000000;
	timerfd_settime(r->timerfd, 0, &its, NULL);
}

/* Closes guests that connected and said no HELLO in time (a serial guest's
 * channel, which stays connected, starts over instead); re-arms for the
 * next deadline. */
static void hello_deadlines(struct vrpc_relay *r)
{
	int64_t now = vrpc_now_ms(), next = INT64_MAX;
	uint64_t ticks;

	if (read(r->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	for (struct guest *g = r->guests, *nx; g; g = nx) {
		nx = g->next;
		if (g->service || !g->hello_by)
			continue;
		if (g->hello_by > now) {
			next = g->hello_by < next ? g->hello_by : next;
			continue;
		}
		r->stats.hello_timeouts++;
		guest_kill(r, g);
	}
	if (next != INT64_MAX)
		arm_timer(r, next - now);
}

/*
 * A guest's HELLO must be whole within hello_timeout_ms of its first byte:
 * one that dribbles a partial frame is closed. A silent connection costs
 * only a slot of its label's connections (a virtio-serial guest's channel
 * is connected from its boot on, long before its program says HELLO).
 */
static void hello_clock(struct guest *g, struct vrpc_relay *r)
{
	if (g->service) {
		g->hello_by = 0;
	} else if (!g->hello_by && g->rc.c.rlen > g->rc.c.rpos) {
		g->hello_by = vrpc_now_ms() + r->opts.hello_timeout_ms;
		arm_timer(r, r->opts.hello_timeout_ms);
	}
}

static void accept_guests(struct vrpc_relay *r, struct gate *gt)
{
	struct vrpc_transport *t;

	while (gt->l->ops->accept(gt->l, &t) == 0) {
		struct guest *g;

		/* A label's connections are bounded: more are closed at once. */
		if (gt->conns >= r->opts.max_conns_per_label) {
			transport_close(t);
			r->stats.refused++;
			continue;
		}
		g = calloc(1, sizeof(*g));
		if (!g || conn_init(&g->rc.c, t, VRPC_DEFAULT_MAX_FRAME, r->opts.max_queue)) {
			free(g);
			transport_close(t);
			continue;
		}
		g->rc.kind = RK_GUEST;
		/* Who the guest is comes from the gate it used, nothing else. */
		snprintf(g->label, sizeof(g->label), "%s", gt->label);
		g->gate = gt;
		gt->conns++;
		g->rc.c.resync = true;
		g->next = r->guests;
		if (g->next)
			g->next->prev = g;
		r->guests = g;
		rc_update_events(r, &g->rc);
	}
}

int vrpc_relay_process(struct vrpc_relay *r)
{
	struct epoll_event ev[64];
	int n;

	do
		n = epoll_wait(r->epfd, ev, 64, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		enum rkind *kind = ev[i].data.ptr;

		if (*kind == RK_GATE)
			accept_guests(r, (struct gate *)kind);
		else if (*kind == RK_TIMER)
			hello_deadlines(r);
		else if (!((struct rconn *)kind)->dead)
			rc_ready(r, (struct rconn *)kind);
	}
	while (r->dirty) {
		struct rconn *rc = r->dirty;

		r->dirty = rc->dirty_next;
		rc->dirty = false;
		if (rc->dead)
			continue;
		if (conn_flush(&rc->c) < 0) {
			if (rc->kind == RK_UPSTREAM)
				upstream_kill(r, (struct vrpc_relay_upstream *)rc, "write failed");
			else
				guest_kill(r, (struct guest *)rc);
			continue;
		}
		rc_update_events(r, rc);
	}
	while (r->dead_guests) {
		struct guest *g = r->dead_guests;

		r->dead_guests = g->zombie_next;
		free(g);
	}
	while (r->dead_ups) {
		struct vrpc_relay_upstream *u = r->dead_ups;

		r->dead_ups = u->zombie_next;
		upstream_free(u);
	}
	return 0;
}

int vrpc_relay_fd(const struct vrpc_relay *r)
{
	return r->epfd;
}

void vrpc_relay_stats(const struct vrpc_relay *r, struct vrpc_relay_stats *out)
{
	*out = r->stats;
}

/* ---- set-up ---- */

static int label_ok(const char *label)
{
	size_t n = strlen(label);

	if (n < 1 || n > VRPC_ORIGIN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@",
			    label[i]))
			return 0;
	return 1;
}

/* Takes @p l: it becomes the gate of @p label. */
static int add_gate(struct vrpc_relay *r, struct vrpc_listener *l, const char *label)
{
	struct gate *gt = calloc(1, sizeof(*gt));
	struct epoll_event e = { .events = EPOLLIN };

	if (!gt) {
		listener_close(l);
		return -ENOMEM;
	}
	gt->kind = RK_GATE;
	gt->l = l;
	snprintf(gt->label, sizeof(gt->label), "%s", label);
	e.data.ptr = gt;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, gt->l->fd, &e) < 0) {
		int err = -errno;

		listener_close(gt->l);
		free(gt);
		return err;
	}
	gt->next = r->gates;
	r->gates = gt;
	return 0;
}

int vrpc_relay_listen(struct vrpc_relay *r, const char *addr, const char *label)
{
	struct vrpc_listener *l;
	int err;

	if (!label_ok(label))
		return -EINVAL;
	err = transport_listen(addr, &l);
	return err ? err : add_gate(r, l, label);
}

int vrpc_relay_listen_fd(struct vrpc_relay *r, const char *scheme, int fd, const char *label)
{
	struct vrpc_listener *l;
	int err;

	if (!label_ok(label)) {
		close(fd);
		return -EINVAL;
	}
	err = vrpc_transport_listen_fd(scheme, fd, &l);
	return err ? err : add_gate(r, l, label);
}

struct ack_wait {
	struct vrpc_relay_upstream *u;
	int result;
};

static int ack_frame(void *ud, const struct vrpc_hdr *h, const uint8_t *payload)
{
	struct ack_wait *w = ud;
	Vrpc__V1__Hello *ack;

	if (h->type != VRPC_T_HELLO_ACK)
		return -EPROTO;
	if (h->status != VRPC_OK)
		return h->status == VRPC_NOT_FOUND ? -ENOENT : -EPROTO;
	ack = vrpc__v1__hello__unpack(NULL, h->length, payload);
	if (!ack)
		return -EPROTO;
	/* The service asked for; or, for a handed-over upstream that asked
	 * nothing itself, the one the answer names (vrpc_relay_upstream_import). */
	if (ack->max_frame < 64 + VRPC_ORIGIN_MAX + 1 || ack->max_frame > w->u->rc.c.max_frame ||
	    (w->u->service ? strcmp(ack->service, w->u->service)
			   : !ack->service[0] || strlen(ack->service) > 255) ||
	    !ack->n_methods) {
		vrpc__v1__hello__free_unpacked(ack, NULL);
		return -EPROTO; /* a broker needs the method names */
	}
	if (!w->u->service && !(w->u->service = strdup(ack->service))) {
		vrpc__v1__hello__free_unpacked(ack, NULL);
		return -ENOMEM;
	}
	w->u->rc.c.max_frame = ack->max_frame;
	free(w->u->ack);
	w->u->ack_len = 0;
	if ((w->u->ack = malloc(h->length ? h->length : 1))) {
		memcpy(w->u->ack, payload, h->length);
		w->u->ack_len = h->length;
	}
	w->u->streaming = calloc(ack->n_streaming + 1, sizeof(uint32_t));
	for (size_t i = 0; w->u->streaming && i < ack->n_streaming; i++) {
		if (ack->streaming[i] >= ack->n_methods) {
			vrpc__v1__hello__free_unpacked(ack, NULL);
			return -EPROTO;
		}
		w->u->streaming[w->u->n_streaming++] = ack->streaming[i];
	}
	w->u->methods = calloc(ack->n_methods, sizeof(char *));
	for (size_t i = 0; w->u->methods && i < ack->n_methods; i++)
		if ((w->u->methods[i] = strdup(ack->methods[i])))
			w->u->n_methods = i + 1;
	vrpc__v1__hello__free_unpacked(ack, NULL);
	return w->u->n_methods && w->u->ack ? 1 : -ENOMEM;
}

/* The answers to a HELLO said again are skipped by upstream_frame(). */
static int upstream_hello(struct vrpc_relay_upstream *u, int timeout_ms)
{
	struct ack_wait w = { .u = u };

	return vrpc_conn_hello(&u->rc.c, u->service, timeout_ms, ack_frame, &w);
}

/* An upstream on @p t (taken, also on failure) for @p service (copied; NULL:
 * the one its HELLO_ACK names), its HELLO not yet said. @return 0 or -ENOMEM. */
static int upstream_new(struct vrpc_transport *t, const char *service,
			struct vrpc_relay_upstream **out)
{
	struct vrpc_relay_upstream *u = calloc(1, sizeof(*u));

	*out = NULL;
	if (!u || (service && !(u->service = strdup(service))) ||
	    conn_init(&u->rc.c, t, VRPC_DEFAULT_MAX_FRAME, DEFAULT_MAX_QUEUE)) {
		if (u)
			free(u->service);
		free(u);
		transport_close(t);
		return -ENOMEM;
	}
	u->rc.kind = RK_UPSTREAM;
	u->next_id = 1;
	*out = u;
	return 0;
}

int vrpc_relay_upstream_open(const char *addr, const char *service, int timeout_ms,
			     struct vrpc_relay_upstream **out)
{
	struct vrpc_transport *t;
	int err;

	*out = NULL;
	err = transport_connect(addr, timeout_ms, &t);
	if (!err)
		err = upstream_new(t, service, out);
	if (!err && (err = upstream_hello(*out, timeout_ms > 0 ? timeout_ms : 5000))) {
		vrpc_relay_upstream_free(*out);
		*out = NULL;
	}
	return err;
}

void vrpc_relay_upstream_free(struct vrpc_relay_upstream *u)
{
	if (!u)
		return;
	conn_fini(&u->rc.c);
	upstream_free(u);
}

/* ---- handing an upstream to another process ----
 *
 * The blob: "VRH1", the scheme's length (1 byte) and name, the HELLO_ACK's
 * length (4 bytes, little-endian) and payload, then the bytes read after
 * it and not yet parsed (answers to HELLOs said again, at most one read
 * buffer's worth). Its receiver checks the HELLO_ACK exactly as if it had
 * read it from the appliance.
 */
#define HANDOVER_MAGIC "VRH1"
#define HANDOVER_FLUSH_MS 1000

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What the HELLO queued is written before the socket changes hands. */
static int flush_all(struct vrpc_conn *c)
{
	int64_t deadline = vrpc_now_ms() + HANDOVER_FLUSH_MS;
	int err;

	while ((err = conn_flush(c)) == 1) {
		int left = (int)(deadline - vrpc_now_ms());

		if (left <= 0)
			return -EBUSY;
		if ((err = transport_wait(c->t, 1, left)) < 0)
			return err;
	}
	return err;
}

int vrpc_relay_upstream_export(struct vrpc_relay_upstream *u, int *fd, uint8_t **blob,
			       size_t *len)
{
	struct vrpc_conn *c = &u->rc.c;
	const char *scheme = c->t->ops->scheme;
	size_t sl = strlen(scheme), left = c->rlen - c->rpos;
	size_t n = 4 + 1 + sl + 4 + u->ack_len + left;
	int err = 0;
	uint8_t *p;

	*fd = -1;
	*blob = NULL;
	if (!vrpc_transport_is_socket(c->t) || sl > 255)
		err = -ENOTSUP;
	else if (n > VRPC_RELAY_HANDOVER_MAX)
		err = -EMSGSIZE;
	else if (!(p = *blob = malloc(n)))
		err = -ENOMEM;
	else if ((err = flush_all(c)) == 0 && (*fd = dup(c->t->fd)) < 0)
		err = -errno;
	if (err) {
		free(*blob);
		*blob = NULL;
		vrpc_relay_upstream_free(u);
		return err;
	}
	memcpy(p, HANDOVER_MAGIC, 4);
	p[4] = (uint8_t)sl;
	memcpy(p + 5, scheme, sl);
	put_u32(p + 5 + sl, (uint32_t)u->ack_len);
	memcpy(p + 9 + sl, u->ack, u->ack_len);
	memcpy(p + 9 + sl + u->ack_len, c->rbuf + c->rpos, left);
	*len = n;
	vrpc_relay_upstream_free(u);
	return 0;
}

/* The blob's parts; -EBADMSG unless they add up. */
static int handover_parse(const uint8_t *blob, size_t len, char scheme[256], const uint8_t **ack,
			  size_t *ack_len, const uint8_t **rest, size_t *rest_len)
{
	size_t sl;

	if (len < 9 || memcmp(blob, HANDOVER_MAGIC, 4))
		return -EBADMSG;
	sl = blob[4];
	if (len < 9 + sl || memchr(blob + 5, '\0', sl))
		return -EBADMSG;
	memcpy(scheme, blob + 5, sl);
	scheme[sl] = '\0';
	*ack_len = get_u32(blob + 5 + sl);
	if (*ack_len > len - 9 - sl)
		return -EBADMSG;
	*ack = blob + 9 + sl;
	*rest = *ack + *ack_len;
	*rest_len = len - 9 - sl - *ack_len;
	return *rest_len > RBUF_HANDOVER ? -EBADMSG : 0;
}

int vrpc_relay_upstream_import(int fd, const uint8_t *blob, size_t len,
			       struct vrpc_relay_upstream **out)
{
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO_ACK };
	struct ack_wait w = { 0 };
	struct vrpc_transport *t;
	const uint8_t *ack, *rest;
	size_t ack_len, rest_len;
	char scheme[256];
	int err;

	*out = NULL;
	err = handover_parse(blob, len, scheme, &ack, &ack_len, &rest, &rest_len);
	if (err) {
		close(fd);
		return err;
	}
	err = vrpc_transport_from_fd(scheme, fd, &t);
	if (!err)
		err = upstream_new(t, NULL, &w.u);
	if (err)
		return err;
	h.length = (uint32_t)ack_len;
	if (ack_frame(&w, &h, ack) != 1 || rest_len > w.u->rc.c.rcap) {
		vrpc_relay_upstream_free(w.u);
		return -EBADMSG;
	}
	memcpy(w.u->rc.c.rbuf, rest, rest_len);
	w.u->rc.c.rlen = rest_len;
	*out = w.u;
	return 0;
}

const char *vrpc_relay_upstream_service(const struct vrpc_relay_upstream *u)
{
	return u->service;
}

int vrpc_relay_adopt(struct vrpc_relay *r, struct vrpc_relay_upstream *u, const char *appliance)
{
	struct vrpc_relay_upstream *old;
	int err;

	u->appliance = strdup(appliance);
	err = u->appliance ? remember(r, u->service, appliance) : -ENOMEM;
	if (err) {
		vrpc_relay_upstream_free(u);
		return err;
	}
	u->rc.c.wmax = r->opts.max_queue;
	old = find_upstream(r, u->service);
	if (old)
		upstream_kill(r, old, "replaced");
	u->next = r->ups;
	r->ups = u;
	rc_update_events(r, &u->rc);
	return 0;
}

int vrpc_relay_set_upstream(struct vrpc_relay *r, const char *service, const char *appliance,
			    const char *addr, int timeout_ms)
{
	struct vrpc_relay_upstream *u;
	int err = vrpc_relay_upstream_open(addr, service, timeout_ms, &u);

	return err ? err : vrpc_relay_adopt(r, u, appliance);
}

void vrpc_relay_drop_upstream(struct vrpc_relay *r, const char *service)
{
	struct vrpc_relay_upstream *u = find_upstream(r, service);

	if (u)
		upstream_kill(r, u, "stopped");
}

struct vrpc_relay *vrpc_relay_new(vrpc_relay_check_fn check, void *ud,
				  const struct vrpc_relay_opts *opts)
{
	struct vrpc_relay *r = calloc(1, sizeof(*r));

	if (!r || !check) {
		free(r);
		errno = EINVAL;
		return NULL;
	}
	r->check = check;
	r->ud = ud;
	if (opts)
		r->opts = *opts;
	if (!r->opts.max_inflight_per_guest)
		r->opts.max_inflight_per_guest = DEFAULT_MAX_INFLIGHT;
	if (!r->opts.max_queue)
		r->opts.max_queue = DEFAULT_MAX_QUEUE;
	if (!r->opts.max_inflight_per_label)
		r->opts.max_inflight_per_label = DEFAULT_MAX_INFLIGHT_LABEL;
	if (!r->opts.max_conns_per_label)
		r->opts.max_conns_per_label = DEFAULT_MAX_CONNS_LABEL;
	if (!r->opts.hello_timeout_ms)
		r->opts.hello_timeout_ms = DEFAULT_HELLO_TIMEOUT_MS;
	r->timer_kind = RK_TIMER;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->timer_kind };
	if (r->epfd < 0 || r->timerfd < 0 ||
	    epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->timerfd, &ev) < 0) {
		if (r->epfd >= 0)
			close(r->epfd);
		if (r->timerfd >= 0)
			close(r->timerfd);
		free(r);
		return NULL;
	}
	return r;
}

void vrpc_relay_free(struct vrpc_relay *r)
{
	if (!r)
		return;
	while (r->ups)
		upstream_kill(r, r->ups, "the broker stopped");
	while (r->guests)
		guest_kill(r, r->guests);
	r->dirty = NULL;
	vrpc_relay_process(r); /* frees the dead */
	while (r->gates) {
		struct gate *gt = r->gates;

		r->gates = gt->next;
		listener_close(gt->l);
		free(gt);
	}
	while (r->known) {
		struct known *k = r->known;

		r->known = k->next;
		free(k->service);
		free(k->appliance);
		free(k);
	}
	close(r->epfd);
	close(r->timerfd);
	free(r);
}
