/*
 * ui_core.c - the VoIP UI plugin (vapp_voip_ui.h): one connection to the
 * VoIP appliance kept up, its events turned into the call list and the
 * caller's callback, its commands sent asynchronously. Portable C on
 * libvrpc's client: built as vapp-voip-ui.dll with mingw-w64, and for
 * Linux too, where the tests also run it sanitized.
 *
 * A connection's life: vrpc_client_open() (bounded by CONNECT_MS, on a
 * thread of its own: connector.c, so that the caller's loop goes on), then
 * WatchEvents, ListCalls (the calls that were there before us), GetStatus
 * (the volume) and a Dial with no target, which only tells whether the
 * policy lets this guest dial: the broker refuses it (PERMISSION_DENIED,
 * with its reason) before the appliance would (INVALID_ARGUMENT). When the
 * connection fails or the event stream ends, every call is said to have
 * ended, and connecting is tried again after a back-off (RETRY_MIN_MS
 * doubling to RETRY_MAX_MS). Replies of a closed connection are ignored:
 * each call carries the generation of the connection it was made on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vrpc.h"
#include "appliances/voip/voip.pb-c.h"
#include "connector.h"
#include "vapp_voip_ui.h"

#define CONNECT_MS 1500
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 5000
#define CALL_MS 10000

struct vvui {
	char addr[512];
	vvui_event_fn fn;
	void *ud;
	struct vrpc_client *cli;
	struct connector *connecting; /* while a connection is being made */
	unsigned gen;             /* the connection's generation */
	int conn;                 /* enum vvui_connection */
	uint64_t next_try_ms;
	unsigned backoff_ms;
	struct vvui_call calls[VVUI_MAX_CALLS];
	int n_calls;
	int can_dial;             /* 1, 0, -1 unknown */
	char dial_why[VVUI_TEXT];
	int vol_out, vol_in;
	char lost[VVUI_TEXT];     /* set from a callback: lose() after process */
};

/* One call in flight: what it was, on which connection. */
struct op {
	struct vvui *ui;
	unsigned gen;
	char what[24];            /* "Dial", ... for the error text */
};

uint64_t vvui_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say(struct vvui *ui, int kind, const struct vvui_call *c, const char *account,
		const char *detail)
{
	struct vvui_event ev = { .kind = kind, .call = c, .account = account,
				 .detail = detail ? detail : "" };

	if (ui->fn)
		ui->fn(ui->ud, &ev);
}

/* The appliance's text, as a window may show it: at most VVUI_TEXT - 1
 * bytes, control characters (a line break that would fake a second line,
 * a terminal escape) as '?'. */
static void copy(char *dst, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i < VVUI_TEXT - 1; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* A call id is kept only whole: one cut to VVUI_TEXT could name another. */
static bool id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= VVUI_TEXT)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return false;
	return true;
}

/* @return the call's state, or 0 for a state this plugin does not know. */
static int state_of(Vapp__Voip__V1__CallState s)
{
	switch (s) {
	case VAPP__VOIP__V1__CALL_STATE__CALL_STATE_OUTGOING:
	case VAPP__VOIP__V1__CALL_STATE__CALL_STATE_RINGING: return VVUI_CALL_RINGING;
	case VAPP__VOIP__V1__CALL_STATE__CALL_STATE_INCOMING: return VVUI_CALL_INCOMING;
	case VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ESTABLISHED: return VVUI_CALL_ESTABLISHED;
	case VAPP__VOIP__V1__CALL_STATE__CALL_STATE_HELD: return VVUI_CALL_HELD;
	case VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ENDED: return VVUI_CALL_ENDED;
	default: return 0;
	}
}

/* A level the appliance says: 0-100, anything else is "not known". */
static int level_of(uint32_t v)
{
	return v <= 100 ? (int)v : -1;
}

static struct vvui_call *find(struct vvui *ui, const char *id)
{
	for (int i = 0; i < ui->n_calls; i++)
		if (!strcmp(ui->calls[i].id, id))
			return &ui->calls[i];
	return NULL;
}

/* The call as the appliance says it is now; NULL when it is not one to
 * list: its id or state unusable, ended (drop() it), or the list full (the
 * appliance holds at most as many). */
static struct vvui_call *upsert(struct vvui *ui, const Vapp__Voip__V1__Call *m, bool *is_new)
{
	struct vvui_call *c;
	int st = state_of(m->state);

	*is_new = false;
	if (!id_ok(m->id) || !st || st == VVUI_CALL_ENDED)
		return NULL;
	c = find(ui, m->id);
	*is_new = !c;
	if (!c) {
		if (ui->n_calls == VVUI_MAX_CALLS)
			return NULL;
		c = &ui->calls[ui->n_calls++];
		memset(c, 0, sizeof(*c));
		copy(c->id, m->id);
	}
	copy(c->peer, m->peer);
	copy(c->account, m->account);
	c->incoming = m->incoming;
	c->muted = m->muted;
	if (c->state != st || *is_new)
		c->since_ms = vvui_now_ms();
	c->state = st;
	return c;
}

static void drop(struct vvui *ui, const char *id, const char *why)
{
	struct vvui_call *c = find(ui, id), gone;

	if (!c)
		return;
	gone = *c;
	gone.state = VVUI_CALL_ENDED;
	*c = ui->calls[--ui->n_calls];
	say(ui, VVUI_EV_CALL_ENDED, &gone, gone.account, why);
}

/* ---- the connection ---- */

static void lose(struct vvui *ui, const char *reason)
{
	struct vrpc_client *cli = ui->cli;
	char why[VVUI_TEXT];

	if (!cli)
		return;
	copy(why, reason); /* it may be ui->lost, and the appliance's words */
	ui->cli = NULL;
	ui->lost[0] = '\0';
	ui->gen++; /* the closed client's replies are stale from here */
	vrpc_client_close(cli);
	while (ui->n_calls)
		drop(ui, ui->calls[ui->n_calls - 1].id, why);
	ui->can_dial = -1;
	ui->conn = VVUI_RECONNECTING;
	ui->backoff_ms = RETRY_MIN_MS;
	ui->next_try_ms = vvui_now_ms() + ui->backoff_ms;
	say(ui, VVUI_EV_CONNECTION, NULL, NULL, why);
}

static unsigned method(const char *name)
{
	const ProtobufCServiceDescriptor *sd = &vapp__voip__v1__voip__descriptor;
	const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(sd,
											       name);

	return md ? (unsigned)(md - sd->methods) : sd->n_methods;
}

/* Sends @p what; @p fn gets the reply with an op (freed by fn). */
static int send_call(struct vvui *ui, const char *what, const ProtobufCMessage *req, int timeout,
		     vrpc_reply_fn fn)
{
	struct op *op;
	int64_t id;

	if (!ui->cli)
		return -ENOTCONN;
	if (!(op = calloc(1, sizeof(*op))))
		return -ENOMEM;
	*op = (struct op){ .ui = ui, .gen = ui->gen };
	snprintf(op->what, sizeof(op->what), "%s", what);
	id = vrpc_client_call_async(ui->cli, method(what), req, timeout, fn, op);
	if (id < 0) {
		free(op);
		return (int)id;
	}
	return 0;
}

/* Is this reply for the connection we have? Frees @p op when done. */
static struct vvui *current(struct op *op, bool done)
{
	struct vvui *ui = op->gen == op->ui->gen ? op->ui : NULL;

	if (done)
		free(op);
	return ui;
}

static void on_event(struct vvui *ui, const Vapp__Voip__V1__Event *ev)
{
	struct vvui_call *c = NULL;
	bool is_new = false;
	char detail[VVUI_TEXT];

	copy(detail, ev->detail);
	if (ev->call && (ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED ||
			 state_of(ev->call->state) == VVUI_CALL_ENDED)) {
		char why[VVUI_TEXT];

		copy(why, ev->call->reason && ev->call->reason[0] ? ev->call->reason : detail);
		if (id_ok(ev->call->id))
			drop(ui, ev->call->id, why);
		return;
	}
	switch (ev->kind) {
	case VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED:
		return; /* without its call */
	case VAPP__VOIP__V1__EVENT_KIND__EVENT_REGISTERED:
	case VAPP__VOIP__V1__EVENT_KIND__EVENT_REGISTER_FAILED:
	case VAPP__VOIP__V1__EVENT_KIND__EVENT_UNREGISTERED: {
		char text[VVUI_TEXT + 16], account[VVUI_TEXT];

		copy(account, ev->account);
		snprintf(text, sizeof(text), "%s%s",
			 ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_REGISTERED ? "registered"
			 : ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_UNREGISTERED ? "off"
										       : "failed: ",
			 ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_REGISTER_FAILED ? detail : "");
		say(ui, VVUI_EV_REGISTRATION, NULL, account, text);
		return;
	}
	default:
		break;
	}
	if (!ev->call || !(c = upsert(ui, ev->call, &is_new)))
		return;
	if (ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_DTMF_RECEIVED) {
		say(ui, VVUI_EV_DTMF, c, c->account, detail);
	} else if (ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_AUDIO_LEVEL && ev->level) {
		struct vvui_event lv = { .kind = VVUI_EV_LEVEL, .call = c, .detail = "",
					 .tx_dbov = ev->level->tx_dbov,
					 .rx_dbov = ev->level->rx_dbov };

		if (ui->fn)
			ui->fn(ui->ud, &lv);
	} else {
		say(ui, VVUI_EV_CALL, c, c->account, detail);
		if (ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_INCOMING && is_new)
			say(ui, VVUI_EV_INCOMING, c, c->account, detail);
	}
}

static void on_watch(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct vvui *ui = current(ud, done);
	char why[VVUI_TEXT];

	if (!ui)
		return;
	if (msg)
		on_event(ui, (const Vapp__Voip__V1__Event *)msg);
	/* Not lose() here: the client is inside its process() still. */
	if (done) {
		snprintf(why, sizeof(why), "the appliance's event stream ended (%s%s%s)",
			 vrpc_status_name(status), message ? ": " : "", message ? message : "");
		snprintf(ui->lost, sizeof(ui->lost), "%s", why);
	}
}

static void on_calls(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct vvui *ui = current(ud, done);
	const Vapp__Voip__V1__Calls *cs = (const Vapp__Voip__V1__Calls *)msg;
	bool is_new;

	(void)status;
	(void)message;
	if (!ui || !cs)
		return;
	for (size_t i = 0; i < cs->n_calls; i++) {
		struct vvui_call *c = upsert(ui, cs->calls[i], &is_new);

		if (c && is_new)
			say(ui, VVUI_EV_CALL, c, c->account, "");
	}
}

static void on_status(void *ud, const ProtobufCMessage *msg, bool done, int status,
		      const char *message)
{
	struct vvui *ui = current(ud, done);
	const Vapp__Voip__V1__Status *st = (const Vapp__Voip__V1__Status *)msg;

	(void)status;
	(void)message;
	if (ui && st && st->volume) {
		ui->vol_out = level_of(st->volume->output);
		ui->vol_in = level_of(st->volume->input);
	}
}

/* The Dial with no target: who refuses it says whether we may dial. */
static void on_probe(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct vvui *ui = current(ud, done);

	(void)msg;
	if (!ui || !done)
		return;
	ui->can_dial = status != VRPC_PERMISSION_DENIED;
	if (ui->can_dial)
		copy(ui->dial_why, "");
	else
		copy(ui->dial_why, message && message[0] ? message : "refused by the policy");
	say(ui, VVUI_EV_PERMISSION, NULL, NULL, ui->dial_why);
}

static void retry_later(struct vvui *ui)
{
	ui->next_try_ms = vvui_now_ms() + ui->backoff_ms;
	ui->backoff_ms = ui->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : ui->backoff_ms * 2;
}

/* The connection made (or not) on the connector's thread: its first calls. */
static void connected(struct vvui *ui, struct vrpc_client *cli)
{
	Vapp__Voip__V1__WatchEventsRequest we = VAPP__VOIP__V1__WATCH_EVENTS_REQUEST__INIT;
	Vapp__Voip__V1__ListCallsRequest lc = VAPP__VOIP__V1__LIST_CALLS_REQUEST__INIT;
	Vapp__Voip__V1__GetStatusRequest gs = VAPP__VOIP__V1__GET_STATUS_REQUEST__INIT;
	Vapp__Voip__V1__DialRequest probe = VAPP__VOIP__V1__DIAL_REQUEST__INIT;

	ui->cli = cli;
	if (!cli) {
		retry_later(ui);
		return;
	}
	/* Events first: nothing that happens after the list is missed. */
	if (send_call(ui, "WatchEvents", &we.base, 0, on_watch) ||
	    send_call(ui, "ListCalls", &lc.base, CALL_MS, on_calls) ||
	    send_call(ui, "GetStatus", &gs.base, CALL_MS, on_status) ||
	    send_call(ui, "Dial", &probe.base, CALL_MS, on_probe)) {
		lose(ui, "the appliance did not take the first calls");
		return;
	}
	ui->conn = VVUI_CONNECTED;
	ui->backoff_ms = RETRY_MIN_MS;
	say(ui, VVUI_EV_CONNECTION, NULL, NULL, "connected");
}

/* ---- the API ---- */

struct vvui *vvui_open(const char *addr, vvui_event_fn fn, void *ud)
{
	struct vvui *ui;

	if (!addr || !strchr(addr, ':') || strlen(addr) >= sizeof(ui->addr)) {
		errno = EINVAL;
		return NULL;
	}
	if (!(ui = calloc(1, sizeof(*ui))))
		return NULL;
	snprintf(ui->addr, sizeof(ui->addr), "%s", addr);
	ui->fn = fn;
	ui->ud = ud;
	ui->conn = VVUI_CONNECTING;
	ui->can_dial = -1;
	ui->vol_out = ui->vol_in = -1;
	ui->backoff_ms = RETRY_MIN_MS;
	return ui;
}

void vvui_close(struct vvui *ui)
{
	if (!ui)
		return;
	ui->fn = NULL; /* nothing is said from here */
	if (ui->connecting)
		ui->cli = connector_finish(ui->connecting);
	lose(ui, "closed");
	free(ui);
}

int vvui_handles(struct vvui *ui, void **handles, int max, int *timeout_ms)
{
	uint64_t now = vvui_now_ms();
	int n = 0;

	if (ui->connecting && max >= 1) {
		handles[0] = connector_handle(ui->connecting);
		*timeout_ms = -1;
		return 1;
	}
	if (!ui->cli) {
		*timeout_ms = ui->next_try_ms > now ? (int)(ui->next_try_ms - now) : 0;
		return 0;
	}
	*timeout_ms = vrpc_client_next_timeout(ui->cli);
#ifdef _WIN32
	n = vrpc_client_handles(ui->cli, handles, max);
	if (n == 0 && (*timeout_ms < 0 || *timeout_ms > 100))
		*timeout_ms = 100; /* the port's far end absent: look again */
#else
	if (max >= 1) {
		handles[0] = (void *)(intptr_t)vrpc_client_fd(ui->cli);
		n = 1;
	}
#endif
	if (n < 0) {
		*timeout_ms = 0; /* lost: vvui_process() says so */
		n = 0;
	}
	return n;
}

void vvui_process(struct vvui *ui)
{
	if (ui->connecting) {
		if (connector_done(ui->connecting)) {
			struct vrpc_client *cli = connector_finish(ui->connecting);

			ui->connecting = NULL;
			connected(ui, cli);
		}
		return;
	}
	if (!ui->cli) {
		if (vvui_now_ms() >= ui->next_try_ms &&
		    !(ui->connecting = connector_start(ui->addr, &vapp__voip__v1__voip__descriptor,
						       CONNECT_MS)))
			retry_later(ui);
		return;
	}
	if (vrpc_client_process(ui->cli) < 0)
		lose(ui, "the connection to the appliance was lost");
	else if (ui->lost[0])
		lose(ui, ui->lost);
}

int vvui_connection(const struct vvui *ui)
{
	return ui->conn;
}

int vvui_calls(const struct vvui *ui, struct vvui_call *out, int max)
{
	int n = ui->n_calls < max ? ui->n_calls : max;

	if (n > 0)
		memcpy(out, ui->calls, (size_t)n * sizeof(*out));
	return n;
}

int vvui_can_dial(const struct vvui *ui, const char **why)
{
	if (why)
		*why = ui->dial_why;
	return ui->can_dial;
}

void vvui_volume(const struct vvui *ui, int *output, int *input)
{
	*output = ui->vol_out;
	*input = ui->vol_in;
}

/* A command's reply: a failure is said with the appliance's reason; a
 * call in the reply updates the list. */
static void on_reply(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct op *op = ud;
	struct vvui *ui = op->gen == op->ui->gen ? op->ui : NULL;
	char why[VVUI_TEXT];
	bool is_new;

	if (ui && msg && msg->descriptor == &vapp__voip__v1__call__descriptor) {
		const Vapp__Voip__V1__Call *m = (const Vapp__Voip__V1__Call *)msg;

		struct vvui_call *c = upsert(ui, m, &is_new);

		if (c)
			say(ui, VVUI_EV_CALL, c, c->account, "");
	} else if (ui && msg && msg->descriptor == &vapp__voip__v1__volume__descriptor) {
		ui->vol_out = level_of(((const Vapp__Voip__V1__Volume *)msg)->output);
		ui->vol_in = level_of(((const Vapp__Voip__V1__Volume *)msg)->input);
	}
	if (ui && done && status != VRPC_OK) {
		char text[VVUI_TEXT];

		snprintf(text, sizeof(text), "%s: %s%s%s", op->what, vrpc_status_name(status),
			 message ? ": " : "", message ? message : "");
		copy(why, text);
		say(ui, VVUI_EV_ERROR, NULL, NULL, why);
	}
	if (done)
		free(op);
}

static int call_cmd(struct vvui *ui, const char *what, const char *call_id)
{
	Vapp__Voip__V1__CallRequest r = VAPP__VOIP__V1__CALL_REQUEST__INIT;

	if (!call_id || !call_id[0] || strlen(call_id) >= VVUI_TEXT)
		return -EINVAL;
	r.call_id = (char *)call_id;
	return send_call(ui, what, &r.base, CALL_MS, on_reply);
}

int vvui_dial(struct vvui *ui, const char *to, const char *account)
{
	Vapp__Voip__V1__DialRequest r = VAPP__VOIP__V1__DIAL_REQUEST__INIT;

	if (!to || !to[0] || strlen(to) >= VVUI_TEXT || (account && strlen(account) >= VVUI_TEXT))
		return -EINVAL;
	r.to = (char *)to;
	r.account = (char *)(account ? account : "");
	return send_call(ui, "Dial", &r.base, CALL_MS, on_reply);
}

int vvui_answer(struct vvui *ui, const char *call_id)
{
	return call_cmd(ui, "Answer", call_id);
}

int vvui_reject(struct vvui *ui, const char *call_id)
{
	return call_cmd(ui, "Reject", call_id);
}

int vvui_hangup(struct vvui *ui, const char *call_id)
{
	return call_cmd(ui, "Hangup", call_id);
}

int vvui_hold(struct vvui *ui, const char *call_id)
{
	return call_cmd(ui, "Hold", call_id);
}

int vvui_resume(struct vvui *ui, const char *call_id)
{
	return call_cmd(ui, "Resume", call_id);
}

int vvui_mute(struct vvui *ui, const char *call_id, int mute)
{
	Vapp__Voip__V1__SetMuteRequest r = VAPP__VOIP__V1__SET_MUTE_REQUEST__INIT;

	if (!call_id || !call_id[0] || strlen(call_id) >= VVUI_TEXT)
		return -EINVAL;
	r.call_id = (char *)call_id;
	r.mute = mute != 0;
	return send_call(ui, "SetMute", &r.base, CALL_MS, on_reply);
}

int vvui_dtmf(struct vvui *ui, const char *call_id, const char *digits)
{
	Vapp__Voip__V1__SendDtmfRequest r = VAPP__VOIP__V1__SEND_DTMF_REQUEST__INIT;

	if (!call_id || !call_id[0] || strlen(call_id) >= VVUI_TEXT || !digits || !digits[0] ||
	    strlen(digits) > 64)
		return -EINVAL;
	r.call_id = (char *)call_id;
	r.digits = (char *)digits;
	return send_call(ui, "SendDtmf", &r.base, CALL_MS, on_reply);
}

int vvui_set_volume(struct vvui *ui, int output, int input)
{
	Vapp__Voip__V1__SetVolumeRequest r = VAPP__VOIP__V1__SET_VOLUME_REQUEST__INIT;

	if (output > 100 || input > 100 || output < -1 || input < -1)
		return -EINVAL;
	r.keep_output = output < 0;
	r.keep_input = input < 0;
	r.output = output < 0 ? 0 : (uint32_t)output;
	r.input = input < 0 ? 0 : (uint32_t)input;
	return send_call(ui, "SetVolume", &r.base, CALL_MS, on_reply);
}
