/*
 * service.c - vapp.voip.v1.Voip (see voip.h). Arguments are checked here
 * (check.c) before anything is queued for the SIP stack; a call is named by
 * the id the stack gave it and must be in our table; what the stack says
 * comes back as events that keep the table and feed WatchEvents.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vapp_util.h"
#include "voip.h"
#include "appliance.h"

#define DIAL_WAIT_MS 10000

typedef Vapp__Voip__V1__Voip_Service Svc;
typedef Vapp__Voip__V1__Call CallMsg;

#define DAEMON(svc) ((struct voip_daemon *)((char *)(svc) - offsetof(struct voip_daemon, svc)))

struct voip_watch {
	struct voip_watch *next;
	Vapp__Voip__V1__Event_Closure closure;
	void *data;
};

/* A call operation waiting for the stack's answer. */
struct call_op {
	struct voip_daemon *d;
	Vapp__Voip__V1__Call_Closure closure;
	void *data;
	struct voip_call snap; /* the call as it was asked about */
	Vapp__Voip__V1__EventKind then; /* an event to say once it worked */
	bool toggle_mute;      /* baresip's "mute" turns it over */
	char command[16], params[VOIP_DTMF_MAX + 1];
};

struct voip_dial {
	struct voip_dial *next;
	struct call_op op;
	int timer;
};

uint64_t voip_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- calls and events ---- */

static struct voip_call *find_call(struct voip_daemon *d, const char *id)
{
	for (size_t i = 0; id[0] && i < VOIP_MAX_CALLS; i++)
		if (d->calls[i].used && !strcmp(d->calls[i].id, id))
			return &d->calls[i];
	return NULL;
}

static void call_msg(const struct voip_call *c, CallMsg *m, const char *reason)
{
	vapp__voip__v1__call__init(m);
	m->id = (char *)c->id;
	m->peer = (char *)c->peer;
	m->account = (char *)c->account;
	m->incoming = c->incoming;
	m->state = c->state;
	m->muted = c->muted;
	m->reason = (char *)(reason ? reason : "");
}

static void send_event(struct voip_daemon *d, Vapp__Voip__V1__Event *ev)
{
	ev->time_ms = voip_now_ms() - d->boot_ms;
	for (struct voip_watch *w = d->watches; w; w = w->next)
		if (!vrpc_call_cancelled(vrpc_call_of(w->data)))
			w->closure(ev, w->data);
}

static void emit(struct voip_daemon *d, Vapp__Voip__V1__EventKind kind, const struct voip_call *c,
		 const char *account, const char *detail)
{
	Vapp__Voip__V1__Event ev = VAPP__VOIP__V1__EVENT__INIT;
	CallMsg cm;

	ev.kind = kind;
	if (c) {
		call_msg(c, &cm, kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED ? detail : NULL);
		ev.call = &cm;
	}
	ev.account = (char *)(account ? account : "");
	ev.detail = (char *)(detail ? detail : "");
	send_event(d, &ev);
}

#define LEVEL_EVERY_MS 100

/* The stack's level reports (VU_TX_REPORT, VU_RX_REPORT from its vumeter
 * module, each several times a second) become one EVENT_AUDIO_LEVEL with
 * both, at most every LEVEL_EVERY_MS. A level that is not a number in
 * -200..10 dBov is not taken. */
static void level_event(struct voip_daemon *d, const struct bs_msg *m, bool tx)
{
	Vapp__Voip__V1__Event ev = VAPP__VOIP__V1__EVENT__INIT;
	Vapp__Voip__V1__AudioLevel lv = VAPP__VOIP__V1__AUDIO_LEVEL__INIT;
	struct voip_call *c = m->id_cut ? NULL : find_call(d, m->id);
	uint64_t now = voip_now_ms();
	char *end;
	double v = strtod(m->param, &end);
	CallMsg cm;

	if (!c || end == m->param || *end || !(v >= -200 && v <= 10))
		return;
	*(tx ? &c->level_tx : &c->level_rx) = v;
	if (now - d->level_sent_ms < LEVEL_EVERY_MS)
		return;
	d->level_sent_ms = now;
	lv.tx_dbov = c->level_tx;
	lv.rx_dbov = c->level_rx;
	call_msg(c, &cm, NULL);
	ev.kind = VAPP__VOIP__V1__EVENT_KIND__EVENT_AUDIO_LEVEL;
	ev.call = &cm;
	ev.account = c->account;
	ev.detail = "";
	ev.level = &lv;
	send_event(d, &ev);
}

/* The call an event is about: found, or made for a new id. */
static struct voip_call *event_call(struct voip_daemon *d, const struct bs_msg *m)
{
	struct voip_call *c;

	/* A call whose id we cannot hold whole could not be named safely. */
	if (m->id_cut) {
		fprintf(stderr, "vapp-voipd: a call id over %d bytes: that call is not ours\n",
			VOIP_ID_MAX);
		return NULL;
	}
	c = find_call(d, m->id);
	if (c || !m->id[0])
		return c;
	for (size_t i = 0; i < VOIP_MAX_CALLS; i++)
		if (!d->calls[i].used) {
			c = &d->calls[i];
			memset(c, 0, sizeof(*c));
			c->used = true;
			snprintf(c->id, sizeof(c->id), "%s", m->id);
			snprintf(c->peer, sizeof(c->peer), "%s", m->peer);
			snprintf(c->account, sizeof(c->account), "%s", m->account);
			c->incoming = m->incoming;
			c->state = m->incoming ? VAPP__VOIP__V1__CALL_STATE__CALL_STATE_INCOMING
					       : VAPP__VOIP__V1__CALL_STATE__CALL_STATE_OUTGOING;
			return c;
		}
	return NULL; /* more calls than we keep: the stack has them, we do not */
}

static void dial_reply(struct voip_dial *dl, const struct voip_call *c, int status,
		       const char *why)
{
	CallMsg cm;

	vrpc_loop_cancel_timer(dl->op.d->sip.loop, dl->timer);
	if (c) {
		call_msg(c, &cm, NULL);
		dl->op.closure(&cm, dl->op.data);
	} else {
		APPLIANCE_FAIL(dl->op.data, dl->op.closure, status, "%s", why);
	}
	free(dl);
}

/* A new outgoing call is the oldest Dial's. */
static void resolve_dial(struct voip_daemon *d, const struct voip_call *c)
{
	struct voip_dial *dl = d->dials;

	if (!dl || c->incoming)
		return;
	d->dials = dl->next;
	dial_reply(dl, c, 0, NULL);
}

static const struct {
	const char *type;
	Vapp__Voip__V1__CallState state;
	Vapp__Voip__V1__EventKind kind;
} call_events[] = {
	{ "CALL_INCOMING", VAPP__VOIP__V1__CALL_STATE__CALL_STATE_INCOMING,
	  VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_INCOMING },
	{ "CALL_RINGING", VAPP__VOIP__V1__CALL_STATE__CALL_STATE_RINGING,
	  VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_RINGING },
	{ "CALL_PROGRESS", VAPP__VOIP__V1__CALL_STATE__CALL_STATE_RINGING,
	  VAPP__VOIP__V1__EVENT_KIND__EVENT_UNKNOWN },
	{ "CALL_ESTABLISHED", VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ESTABLISHED,
	  VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ESTABLISHED },
	{ "CALL_CLOSED", VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ENDED,
	  VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED },
	{ "CALL_DTMF_START", VAPP__VOIP__V1__CALL_STATE__CALL_STATE_UNKNOWN,
	  VAPP__VOIP__V1__EVENT_KIND__EVENT_DTMF_RECEIVED },
};

/* The account named @p uri exactly, or NULL. */
static struct voip_account *account_of(struct voip_daemon *d, const char *uri)
{
	for (size_t i = 0; i < d->n_accounts; i++)
		if (!strcmp(d->accounts[i].uri, uri))
			return &d->accounts[i];
	return NULL;
}

static void account_event(struct voip_daemon *d, const struct bs_msg *m)
{
	bool ok = !strcmp(m->type, "REGISTER_OK");
	struct voip_account *a;

	if (!ok && strcmp(m->type, "REGISTER_FAIL"))
		return;
	if ((a = account_of(d, m->account)))
		a->registered = ok;
	emit(d, ok ? VAPP__VOIP__V1__EVENT_KIND__EVENT_REGISTERED
		   : VAPP__VOIP__V1__EVENT_KIND__EVENT_REGISTER_FAILED, NULL, m->account, m->param);
}

static void on_event(void *ud, const struct bs_msg *m)
{
	struct voip_daemon *d = ud;
	struct voip_call *c;
	size_t i;

	for (i = 0; i < sizeof(call_events) / sizeof(call_events[0]); i++)
		if (!strcmp(m->type, call_events[i].type))
			break;
	if (i == sizeof(call_events) / sizeof(call_events[0])) {
		if (!strcmp(m->type, "VU_TX_REPORT") || !strcmp(m->type, "VU_RX_REPORT"))
			level_event(d, m, m->type[3] == 'T');
		else
			account_event(d, m);
		return;
	}
	c = event_call(d, m);
	if (!c)
		return;
	if (call_events[i].state && c->state != VAPP__VOIP__V1__CALL_STATE__CALL_STATE_HELD)
		c->state = call_events[i].state;
	if (call_events[i].state == VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ENDED)
		c->state = call_events[i].state;
	resolve_dial(d, c);
	if (call_events[i].kind)
		emit(d, call_events[i].kind, c, c->account, m->param);
	if (c->state == VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ENDED)
		c->used = false;
}

/* The stack is (back) up: after a restart nothing of before is left. */
static void on_up(void *ud, bool restarted)
{
	struct voip_daemon *d = ud;

	if (!restarted)
		return;
	for (size_t i = 0; i < VOIP_MAX_CALLS; i++) {
		struct voip_call *c = &d->calls[i];

		if (!c->used)
			continue;
		c->state = VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ENDED;
		emit(d, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED, c, c->account,
		     "the SIP stack restarted");
		c->used = false;
	}
	for (size_t i = 0; i < d->n_accounts; i++)
		d->accounts[i].registered = false;
	while (d->dials) {
		struct voip_dial *dl = d->dials;

		d->dials = dl->next;
		dial_reply(dl, NULL, VRPC_UNAVAILABLE, "the SIP stack restarted");
	}
	emit(d, VAPP__VOIP__V1__EVENT_KIND__EVENT_SIP_STACK_RESTARTED, NULL, NULL, "");
}

/* ---- accounts ---- */

/* baresip's account line for @p a. */
static void account_line(const struct voip_account *a, char *out, size_t outlen)
{
	if (!a->registrar[0])
		snprintf(out, outlen, "<%s>;regint=0", a->uri);
	else
		snprintf(out, outlen, "<%s>;auth_user=%s;auth_pass=%s;outbound=\"%s\";regint=%d",
			 a->uri, a->auth_user, a->password, a->registrar,
			 a->registration_off ? 0 : 600);
}

/* The accounts file the stack reads when it starts, and ours. */
static int save_accounts(struct voip_daemon *d)
{
	char line[1024], path[4200];
	struct vapp_buf b = { 0 };
	size_t off = 0;
	int err;

	d->accounts_text[0] = '\0';
	for (size_t i = 0; i < d->n_accounts; i++) {
		account_line(&d->accounts[i], line, sizeof(line));
		off += (size_t)snprintf(d->accounts_text + off, sizeof(d->accounts_text) - off,
					"%s\n", line);
	}
	if (!d->state_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/accounts", d->state_dir);
	for (size_t i = 0; i < d->n_accounts; i++)
		if (vapp_buf_printf(&b, "%s\t%s\t%s\t%s%s\n", d->accounts[i].uri,
				    d->accounts[i].registrar, d->accounts[i].auth_user,
				    d->accounts[i].password,
				    d->accounts[i].registration_off ? "\toff" : "") < 0) {
			vapp_buf_free(&b);
			return -ENOMEM;
		}
	/* Durable before the caller hears "added": the VM may be killed. */
	err = vapp_write_file_atomic(path, b.p ? b.p : (const uint8_t *)"", b.len, 0600);
	vapp_buf_free(&b);
	return err;
}

static int check_account(const struct voip_account *a, char *why, size_t whylen)
{
	if (voip_check_uri("uri", a->uri, why, whylen) ||
	    (a->registrar[0] && voip_check_uri("registrar", a->registrar, why, whylen)) ||
	    voip_check_token("auth_user", a->auth_user, why, whylen) ||
	    voip_check_token("password", a->password, why, whylen))
		return -EINVAL;
	return 0;
}

/* The state volume's accounts: a line that does not check is skipped and
 * said, never given to the stack. */
static void load_accounts(struct voip_daemon *d)
{
	char path[4200], line[4 * (VOIP_SECRET_MAX + 1) + VOIP_URI_MAX + 8], why[256];
	unsigned no = 0;
	FILE *f;

	if (!d->state_dir)
		return;
	snprintf(path, sizeof(path), "%s/accounts", d->state_dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof(line), f) && d->n_accounts < VOIP_MAX_ACCOUNTS) {
		struct voip_account *a = &d->accounts[d->n_accounts];
		char *rest = line, *field[5];

		no++;
		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; i < 5; i++)
			field[i] = strsep(&rest, "\t");
		memset(a, 0, sizeof(*a));
		if (!field[3] || rest || (field[4] && strcmp(field[4], "off"))) {
			fprintf(stderr, "vapp-voipd: %s:%u: skipped: not four fields and \"off\"\n",
				path, no);
			continue;
		}
		a->registration_off = field[4] != NULL;
		snprintf(a->uri, sizeof(a->uri), "%s", field[0]);
		snprintf(a->registrar, sizeof(a->registrar), "%s", field[1]);
		snprintf(a->auth_user, sizeof(a->auth_user), "%s", field[2]);
		snprintf(a->password, sizeof(a->password), "%s", field[3]);
		if (check_account(a, why, sizeof(why))) {
			fprintf(stderr, "vapp-voipd: %s:%u: skipped: %s\n", path, no, why);
			continue;
		}
		d->n_accounts++;
	}
	fclose(f);
}

/* ---- the methods ---- */

static void get_status(Svc *svc, const Vapp__Voip__V1__GetStatusRequest *in,
		       Vapp__Voip__V1__Status_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	Vapp__Voip__V1__Status out = VAPP__VOIP__V1__STATUS__INIT;
	Vapp__Voip__V1__Volume vol = VAPP__VOIP__V1__VOLUME__INIT;

	out.version = "0.1.0";
	out.sip_stack_running = sip_running(&d->sip);
	out.sip_stack_restarts = d->sip.restarts;
	out.accounts = (uint32_t)d->n_accounts;
	for (size_t i = 0; i < VOIP_MAX_CALLS; i++)
		out.calls += d->calls[i].used;
	out.uptime_ms = voip_now_ms() - d->boot_ms;
	out.event_watchers = d->n_watches;
	if (d->volume_set) {
		vol.output = d->volume_out;
		vol.input = d->volume_in;
		out.volume = &vol;
	}
	closure(&out, data);
}

static void list_accounts(Svc *svc, const Vapp__Voip__V1__ListAccountsRequest *in,
			  Vapp__Voip__V1__Accounts_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	Vapp__Voip__V1__Accounts out = VAPP__VOIP__V1__ACCOUNTS__INIT;
	Vapp__Voip__V1__Account as[VOIP_MAX_ACCOUNTS], *ptrs[VOIP_MAX_ACCOUNTS];

	for (size_t i = 0; i < d->n_accounts; i++) {
		vapp__voip__v1__account__init(&as[i]);
		/* Never the password. */
		as[i].uri = d->accounts[i].uri;
		as[i].registrar = d->accounts[i].registrar;
		as[i].auth_user = d->accounts[i].auth_user;
		as[i].registered = d->accounts[i].registered;
		as[i].registration_off = d->accounts[i].registration_off;
		ptrs[i] = &as[i];
	}
	out.n_accounts = d->n_accounts;
	out.accounts = ptrs;
	closure(&out, data);
}

struct account_op {
	struct voip_daemon *d;
	Vapp__Voip__V1__Account_Closure closure;
	void *data;
	struct voip_account a;
};

static void account_added(void *ud, bool ok, const char *text)
{
	struct account_op *op = ud;
	struct voip_daemon *d = op->d;
	Vapp__Voip__V1__Account out = VAPP__VOIP__V1__ACCOUNT__INIT;
	int err;

	if (!ok) {
		APPLIANCE_FAIL(op->data, op->closure, VRPC_UNAVAILABLE, "the SIP stack: %s", text);
		free(op);
		return;
	}
	d->accounts[d->n_accounts++] = op->a;
	err = save_accounts(d);
	if (err)
		fprintf(stderr, "vapp-voipd: accounts not saved: %s\n", strerror(-err));
	out.uri = op->a.uri;
	out.registrar = op->a.registrar;
	out.auth_user = op->a.auth_user;
	op->closure(&out, op->data);
	explicit_bzero(op->a.password, sizeof(op->a.password));
	free(op);
}

static void add_account(Svc *svc, const Vapp__Voip__V1__AddAccountRequest *in,
			Vapp__Voip__V1__Account_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	struct account_op *op;
	char why[256], line[1024];

	if (strlen(in->uri) > VOIP_URI_MAX || strlen(in->registrar) > VOIP_SECRET_MAX ||
	    strlen(in->auth_user) > VOIP_SECRET_MAX || strlen(in->password) > VOIP_SECRET_MAX) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "a field is too long");
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*op = (struct account_op){ .d = d, .closure = closure, .data = data };
	snprintf(op->a.uri, sizeof(op->a.uri), "%s", in->uri);
	snprintf(op->a.registrar, sizeof(op->a.registrar), "%s", in->registrar);
	snprintf(op->a.auth_user, sizeof(op->a.auth_user), "%s", in->auth_user);
	snprintf(op->a.password, sizeof(op->a.password), "%s", in->password);
	if (check_account(&op->a, why, sizeof(why))) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "%s", why);
		free(op);
		return;
	}
	if (account_of(d, op->a.uri)) {
		APPLIANCE_FAIL(data, closure, VRPC_ALREADY_EXISTS, "uri: %s is an account already", op->a.uri);
		free(op);
		return;
	}
	if (d->n_accounts == VOIP_MAX_ACCOUNTS) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "at most %d accounts",
		     VOIP_MAX_ACCOUNTS);
		free(op);
		return;
	}
	account_line(&op->a, line, sizeof(line));
	sip_command(&d->sip, "uanew", line, account_added, op);
	explicit_bzero(line, sizeof(line));
}

struct remove_op {
	struct voip_daemon *d;
	Vapp__Voip__V1__RemoveAccountReply_Closure closure;
	void *data;
	char uri[VOIP_URI_MAX + 1];
};

static void account_removed(void *ud, bool ok, const char *text)
{
	struct remove_op *op = ud;
	struct voip_daemon *d = op->d;
	Vapp__Voip__V1__RemoveAccountReply out = VAPP__VOIP__V1__REMOVE_ACCOUNT_REPLY__INIT;
	struct voip_account *a;

	if (!ok) {
		APPLIANCE_FAIL(op->data, op->closure, VRPC_UNAVAILABLE, "the SIP stack: %s", text);
		free(op);
		return;
	}
	if ((a = account_of(d, op->uri))) {
		explicit_bzero(a, sizeof(*a));
		*a = d->accounts[--d->n_accounts];
	}
	save_accounts(d);
	op->closure(&out, op->data);
	free(op);
}

static void remove_account(Svc *svc, const Vapp__Voip__V1__RemoveAccountRequest *in,
			   Vapp__Voip__V1__RemoveAccountReply_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	const struct voip_account *a = account_of(d, in->uri);
	struct remove_op *op;

	if (!a) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "uri: no account %.64s", in->uri);
		return;
	}
	if (!(op = calloc(1, sizeof(*op)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*op = (struct remove_op){ .d = d, .closure = closure, .data = data };
	snprintf(op->uri, sizeof(op->uri), "%s", a->uri);
	sip_command(&d->sip, "uadel", op->uri, account_removed, op);
}

/* RegisterAccount/UnregisterAccount: baresip 1.0 has no command that turns an account's
 * registration over, so the account is made again with its new regint
 * ("uadel" sends the un-REGISTER, "uanew" the REGISTER when on). */
static void account_remade(void *ud, bool ok, const char *text)
{
	struct account_op *op = ud;
	struct voip_daemon *d = op->d;
	Vapp__Voip__V1__Account out = VAPP__VOIP__V1__ACCOUNT__INIT;
	struct voip_account *a = account_of(d, op->a.uri);
	int err;

	if (!ok || !a) {
		APPLIANCE_FAIL(op->data, op->closure, VRPC_UNAVAILABLE, "the SIP stack: %s",
		     a ? text : "the account was removed meanwhile");
		goto out;
	}
	a->registration_off = op->a.registration_off;
	a->registered = false;
	if ((err = save_accounts(d)))
		fprintf(stderr, "vapp-voipd: accounts not saved: %s\n", strerror(-err));
	if (a->registration_off)
		emit(d, VAPP__VOIP__V1__EVENT_KIND__EVENT_UNREGISTERED, NULL, a->uri, "");
	out.uri = a->uri;
	out.registrar = a->registrar;
	out.auth_user = a->auth_user;
	out.registration_off = a->registration_off;
	op->closure(&out, op->data);
out:
	explicit_bzero(op->a.password, sizeof(op->a.password));
	free(op);
}

static void account_deleted(void *ud, bool ok, const char *text)
{
	struct account_op *op = ud;
	char line[1024];

	if (!ok) {
		APPLIANCE_FAIL(op->data, op->closure, VRPC_UNAVAILABLE, "the SIP stack: %s", text);
		explicit_bzero(op->a.password, sizeof(op->a.password));
		free(op);
		return;
	}
	account_line(&op->a, line, sizeof(line));
	sip_command_next(&op->d->sip, "uanew", line, account_remade, op);
	explicit_bzero(line, sizeof(line));
}

static void set_registration(struct voip_daemon *d, const char *uri, bool off,
			     Vapp__Voip__V1__Account_Closure closure, void *data)
{
	const struct voip_account *a = account_of(d, uri);
	struct account_op *op;

	if (!a) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "uri: no account %.64s", uri);
		return;
	}
	if (!a->registrar[0]) {
		APPLIANCE_FAIL(data, closure, VRPC_FAILED_PRECONDITION, "uri: %s has no registrar", a->uri);
		return;
	}
	if (!(op = calloc(1, sizeof(*op)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*op = (struct account_op){ .d = d, .closure = closure, .data = data, .a = *a };
	op->a.registration_off = off;
	sip_command(&d->sip, "uadel", op->a.uri, account_deleted, op);
}

static void register_account(Svc *svc, const Vapp__Voip__V1__AccountRequest *in,
			     Vapp__Voip__V1__Account_Closure closure, void *data)
{
	set_registration(DAEMON(svc), in->uri, false, closure, data);
}

static void unregister_account(Svc *svc, const Vapp__Voip__V1__AccountRequest *in,
			       Vapp__Voip__V1__Account_Closure closure, void *data)
{
	set_registration(DAEMON(svc), in->uri, true, closure, data);
}

/* ---- calls ---- */

static void dial_timeout(void *ud)
{
	struct voip_dial *dl = ud, **p;

	for (p = &dl->op.d->dials; *p && *p != dl; p = &(*p)->next)
		;
	if (*p)
		*p = dl->next;
	dl->timer = 0;
	APPLIANCE_FAIL(dl->op.data, dl->op.closure, VRPC_DEADLINE_EXCEEDED,
	     "the SIP stack started no call in %d ms", DIAL_WAIT_MS);
	free(dl);
}

static void hold_others(struct voip_daemon *d, const char *except);

static void dialled(void *ud, bool ok, const char *text)
{
	struct voip_dial *dl = ud, **p;

	if (!ok) {
		APPLIANCE_FAIL(dl->op.data, dl->op.closure, VRPC_UNAVAILABLE, "the SIP stack: %s", text);
		free(dl);
		return;
	}
	/* Its call id comes with the call's first event (resolve_dial()). */
	for (p = &dl->op.d->dials; *p; p = &(*p)->next)
		;
	*p = dl;
	dl->timer = vrpc_loop_add_timer(dl->op.d->sip.loop, DIAL_WAIT_MS, dial_timeout, dl);
}

/* Dial's account: the one named, or the first when none is. */
static const struct voip_account *find_account(struct voip_daemon *d, const char *uri)
{
	if (!uri[0])
		return d->n_accounts ? &d->accounts[0] : NULL;
	return account_of(d, uri);
}

static void dial(Svc *svc, const Vapp__Voip__V1__DialRequest *in,
		 Vapp__Voip__V1__Call_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	const struct voip_account *a = find_account(d, in->account);
	char target[VOIP_URI_MAX + 1], why[256];
	struct voip_dial *dl;

	if (!a) {
		APPLIANCE_FAIL(data, closure, in->account[0] ? VRPC_NOT_FOUND : VRPC_FAILED_PRECONDITION,
		     in->account[0] ? "account: no account %.64s" : "account: there is none yet "
		     "(AddAccount)", in->account);
		return;
	}
	if (voip_dial_target(in->to, a->uri, target, sizeof(target), why, sizeof(why))) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "%s", why);
		return;
	}
	if (!(dl = calloc(1, sizeof(*dl)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	dl->op = (struct call_op){ .d = d, .closure = closure, .data = data };
	hold_others(d, "");
	/* The account dialled from is the stack's current one. */
	sip_command(&d->sip, "uafind", a->uri, NULL, NULL);
	sip_command(&d->sip, "dial", target, dialled, dl);
}

static void call_done(void *ud, bool ok, const char *text)
{
	struct call_op *op = ud;
	struct voip_call *c = find_call(op->d, op->snap.id);
	CallMsg cm;

	if (!ok) {
		if (op->closure)
			APPLIANCE_FAIL(op->data, op->closure, VRPC_UNAVAILABLE, "the SIP stack: %s", text);
		free(op);
		return;
	}
	if (c && op->then == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_HELD)
		c->state = VAPP__VOIP__V1__CALL_STATE__CALL_STATE_HELD;
	if (c && op->then == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_RESUMED)
		c->state = VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ESTABLISHED;
	if (c && op->then)
		emit(op->d, op->then, c, c->account, "");
	if (c && op->toggle_mute)
		c->muted = !c->muted;
	if (!c) /* it ended meanwhile (a hang-up's own doing) */
		op->snap.state = VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ENDED;
	call_msg(c ? c : &op->snap, &cm, NULL);
	if (op->closure)
		op->closure(&cm, op->data);
	free(op);
}

/* "callfind ID" answered: the call is current, and the command follows
 * with nothing in between (sip_command_next()). A stack that no longer
 * has the call answers ok all the same, with another text: then nothing
 * is done to whichever call is current. */
static void call_found(void *ud, bool ok, const char *text)
{
	struct call_op *op = ud;

	if (!ok || !strstr(text, "setting current call")) {
		if (op->closure)
			APPLIANCE_FAIL(op->data, op->closure, VRPC_NOT_FOUND,
			     "call_id: the SIP stack has no call %s", op->snap.id);
		free(op);
		return;
	}
	sip_command_next(&op->d->sip, op->command, op->params, call_done, op);
}

/* Checks the call named, then has the stack make it current and, only if
 * it did, runs @p command on it. */
static void call_command(struct voip_daemon *d, const Vapp__Voip__V1__CallRequest *in,
			 const char *command, const char *params, unsigned need,
			 Vapp__Voip__V1__EventKind then, bool toggle_mute,
			 Vapp__Voip__V1__Call_Closure closure, void *data)
{
	struct voip_call *c = find_call(d, in->call_id);
	struct call_op *op;

	if (!c) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "call_id: no call %.64s (see ListCalls)",
		     in->call_id);
		return;
	}
	if (need && !(need & (1u << c->state))) {
		APPLIANCE_FAIL(data, closure, VRPC_FAILED_PRECONDITION, "call_id: %s cannot do that now",
		     in->call_id);
		return;
	}
	if (!(op = calloc(1, sizeof(*op)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	*op = (struct call_op){ .d = d, .closure = closure, .data = data, .snap = *c, .then = then,
				.toggle_mute = toggle_mute };
	snprintf(op->command, sizeof(op->command), "%s", command);
	snprintf(op->params, sizeof(op->params), "%s", params);
	sip_command(&d->sip, "callfind", c->id, call_found, op);
}

#define IN_STATE(s) (1u << VAPP__VOIP__V1__CALL_STATE__CALL_STATE_##s)

/* One call talks at a time: before another is answered or dialled, the
 * one established is put on hold (queued first, so it is held first). */
static void hold_others(struct voip_daemon *d, const char *except)
{
	for (size_t i = 0; i < VOIP_MAX_CALLS; i++) {
		struct voip_call *c = &d->calls[i];
		struct call_op *op;

		if (!c->used || c->state != VAPP__VOIP__V1__CALL_STATE__CALL_STATE_ESTABLISHED ||
		    !strcmp(c->id, except) || !(op = calloc(1, sizeof(*op))))
			continue;
		*op = (struct call_op){ .d = d, .snap = *c,
					.then = VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_HELD };
		snprintf(op->command, sizeof(op->command), "hold");
		sip_command(&d->sip, "callfind", c->id, call_found, op);
	}
}

static void answer(Svc *svc, const Vapp__Voip__V1__CallRequest *in,
		   Vapp__Voip__V1__Call_Closure closure, void *data)
{
	struct voip_call *c = find_call(DAEMON(svc), in->call_id);

	if (c && c->state == VAPP__VOIP__V1__CALL_STATE__CALL_STATE_INCOMING)
		hold_others(DAEMON(svc), c->id);
	call_command(DAEMON(svc), in, "accept", "", IN_STATE(INCOMING), 0, false, closure, data);
}

static void hangup(Svc *svc, const Vapp__Voip__V1__CallRequest *in,
		   Vapp__Voip__V1__Call_Closure closure, void *data)
{
	call_command(DAEMON(svc), in, "hangup", "", 0, 0, false, closure, data);
}

static void hold(Svc *svc, const Vapp__Voip__V1__CallRequest *in,
		 Vapp__Voip__V1__Call_Closure closure, void *data)
{
	call_command(DAEMON(svc), in, "hold", "", IN_STATE(ESTABLISHED),
		     VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_HELD, false, closure, data);
}

static void resume(Svc *svc, const Vapp__Voip__V1__CallRequest *in,
		   Vapp__Voip__V1__Call_Closure closure, void *data)
{
	struct voip_call *c = find_call(DAEMON(svc), in->call_id);

	if (c && c->state == VAPP__VOIP__V1__CALL_STATE__CALL_STATE_HELD)
		hold_others(DAEMON(svc), c->id);
	call_command(DAEMON(svc), in, "resume", "", IN_STATE(HELD),
		     VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_RESUMED, false, closure, data);
}

static void send_dtmf(Svc *svc, const Vapp__Voip__V1__SendDtmfRequest *in,
		      Vapp__Voip__V1__Call_Closure closure, void *data)
{
	Vapp__Voip__V1__CallRequest cr = VAPP__VOIP__V1__CALL_REQUEST__INIT;
	char why[128];

	if (voip_check_dtmf(in->digits, why, sizeof(why))) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "%s", why);
		return;
	}
	cr.call_id = in->call_id;
	call_command(DAEMON(svc), &cr, "sndcode", in->digits, IN_STATE(ESTABLISHED), 0, false,
		     closure, data);
}

static void reject(Svc *svc, const Vapp__Voip__V1__CallRequest *in,
		   Vapp__Voip__V1__Call_Closure closure, void *data)
{
	call_command(DAEMON(svc), in, "hangup", "", IN_STATE(INCOMING), 0, false, closure, data);
}

static void set_mute(Svc *svc, const Vapp__Voip__V1__SetMuteRequest *in,
		     Vapp__Voip__V1__Call_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	Vapp__Voip__V1__CallRequest cr = VAPP__VOIP__V1__CALL_REQUEST__INIT;
	struct voip_call *c = find_call(d, in->call_id);
	CallMsg cm;

	cr.call_id = in->call_id;
	/* Already as asked: nothing to turn over. */
	if (c && c->muted == in->mute) {
		call_msg(c, &cm, NULL);
		closure(&cm, data);
		return;
	}
	call_command(d, &cr, "mute", "", IN_STATE(ESTABLISHED) | IN_STATE(HELD), 0, true, closure,
		     data);
}

static void list_calls(Svc *svc, const Vapp__Voip__V1__ListCallsRequest *in,
		       Vapp__Voip__V1__Calls_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	Vapp__Voip__V1__Calls out = VAPP__VOIP__V1__CALLS__INIT;
	CallMsg cs[VOIP_MAX_CALLS], *ptrs[VOIP_MAX_CALLS];

	for (size_t i = 0; i < VOIP_MAX_CALLS; i++)
		if (d->calls[i].used) {
			call_msg(&d->calls[i], &cs[out.n_calls], NULL);
			ptrs[out.n_calls] = &cs[out.n_calls];
			out.n_calls++;
		}
	out.calls = ptrs;
	closure(&out, data);
}

/* ---- the sound card ---- */

/* The levels are kept in the state volume ("OUTPUT INPUT") and set again
 * at start: the codec's controls read 0 after a boot while it plays at
 * full level, so a level is only ever what we set. */
static void save_volume(struct voip_daemon *d, unsigned out, unsigned in)
{
	char path[4200], text[32];
	int n = snprintf(text, sizeof(text), "%u %u\n", out, in), err;

	if (!d->state_dir)
		return;
	snprintf(path, sizeof(path), "%s/volume", d->state_dir);
	if ((err = vapp_write_file_atomic(path, text, (size_t)n, 0600)) < 0)
		fprintf(stderr, "vapp-voipd: the volume levels not saved: %s\n", strerror(-err));
}

static void restore_volume(struct voip_daemon *d)
{
	unsigned out = 100, in = 100, got_out, got_in;
	int card = voip_audio_card(d->sip.audio_player);
	char path[4200], line[32], why[160];

	if (card < 0)
		return;
	if (d->state_dir) {
		snprintf(path, sizeof(path), "%s/volume", d->state_dir);
		if (vapp_read_line(path, line, sizeof(line)) == 0 &&
		    sscanf(line, "%u %u", &got_out, &got_in) == 2 && got_out <= 100 && got_in <= 100) {
			out = got_out;
			in = got_in;
		}
	}
	d->volume_out = out;
	d->volume_in = in;
	if (voip_audio_set_volume(card, out, in, why, sizeof(why))) {
		fprintf(stderr, "vapp-voipd: the volume levels: %s\n", why);
		return;
	}
	d->volume_set = true;
	fprintf(stderr, "vapp-voipd: volume: speaker %u, microphone %u\n", out, in);
}

static void set_volume(Svc *svc, const Vapp__Voip__V1__SetVolumeRequest *in,
		       Vapp__Voip__V1__Volume_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	Vapp__Voip__V1__Volume out = VAPP__VOIP__V1__VOLUME__INIT;
	char why[160];
	int err;

	if (!in->keep_output && in->output > 100) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "output: %u is over 100", in->output);
		return;
	}
	if (!in->keep_input && in->input > 100) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "input: %u is over 100", in->input);
		return;
	}
	/* The card's controls have steps: the levels said are the ones set. */
	out.output = in->keep_output ? d->volume_out : in->output;
	out.input = in->keep_input ? d->volume_in : in->input;
	err = voip_audio_set_volume(voip_audio_card(d->sip.audio_player), out.output, out.input,
				    why, sizeof(why));
	if (err) {
		APPLIANCE_FAIL(data, closure, err == -ENODEV ? VRPC_FAILED_PRECONDITION : VRPC_INTERNAL, "%s",
		     why);
		return;
	}
	d->volume_out = out.output;
	d->volume_in = out.input;
	d->volume_set = true;
	save_volume(d, out.output, out.input);
	closure(&out, data);
}

#define MAX_AUDIO_DEVS 16

static void list_audio_devices(Svc *svc, const Vapp__Voip__V1__ListAudioDevicesRequest *in,
			       Vapp__Voip__V1__AudioDevices_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	Vapp__Voip__V1__AudioDevices out = VAPP__VOIP__V1__AUDIO_DEVICES__INIT;
	Vapp__Voip__V1__AudioDevice msgs[MAX_AUDIO_DEVS], *ptrs[MAX_AUDIO_DEVS];
	struct voip_audio_dev devs[MAX_AUDIO_DEVS];
	size_t n = voip_audio_devices(devs, MAX_AUDIO_DEVS);

	for (size_t i = 0; i < n; i++) {
		vapp__voip__v1__audio_device__init(&msgs[i]);
		msgs[i].id = devs[i].id;
		msgs[i].name = devs[i].name;
		msgs[i].playback = devs[i].playback;
		msgs[i].capture = devs[i].capture;
		ptrs[i] = &msgs[i];
	}
	out.devices = ptrs;
	out.n_devices = n;
	out.source = (char *)d->sip.audio_source;
	out.player = (char *)d->sip.audio_player;
	closure(&out, data);
}

/* ---- the event streams ---- */

/* Streams whose callers left are ended here and before each new one: no
 * timer wakes an idle appliance for them. */
static void end_watches(struct voip_daemon *d, bool all)
{
	struct voip_watch **pp = &d->watches, *w;

	while ((w = *pp)) {
		if (!all && !vrpc_call_cancelled(vrpc_call_of(w->data))) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		d->n_watches--;
		w->closure(NULL, w->data);
		free(w);
	}
}

static void watch_events(Svc *svc, const Vapp__Voip__V1__WatchEventsRequest *in,
			 Vapp__Voip__V1__Event_Closure closure, void *data)
{
	struct voip_daemon *d = DAEMON(svc);
	struct voip_watch *w;

	end_watches(d, false);
	if (d->n_watches >= VOIP_MAX_WATCHES || !(w = calloc(1, sizeof(*w)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "too many event watchers (at most %d)",
		     VOIP_MAX_WATCHES);
		return;
	}
	w->closure = closure;
	w->data = data;
	w->next = d->watches;
	d->watches = w;
	d->n_watches++;
}

int voip_service_init(struct voip_daemon *d)
{
	Svc svc = VAPP__VOIP__V1__VOIP__INIT();

	d->svc = svc;
	d->boot_ms = voip_now_ms();
	load_accounts(d);
	restore_volume(d);
	d->sip.on_event = on_event;
	d->sip.on_up = on_up;
	d->sip.ud = d;
	d->sip.accounts = d->accounts_text;
	return save_accounts(d) < 0 && d->state_dir ? -EIO : 0;
}

void voip_service_fini(struct voip_daemon *d)
{
	end_watches(d, true);
	while (d->dials) {
		struct voip_dial *dl = d->dials;

		d->dials = dl->next;
		dial_reply(dl, NULL, VRPC_UNAVAILABLE, "the appliance is stopping");
	}
	explicit_bzero(d->accounts, sizeof(d->accounts));
	explicit_bzero(d->accounts_text, sizeof(d->accounts_text));
}
