/*
 * service.c - vapp.firewall.v1.Firewall, each method about one guest's
 * ruleset (guest_for() says which). Every change goes the same way
 * (commit()): the new ruleset is built and checked as a whole, written
 * beside the old file in the state volume, put in force in one transaction
 * (which the kernel takes whole or not at all), and only then renamed over
 * the old file. Any failure before the last step leaves the old ruleset in
 * force and on disk; the caller gets the reason.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vrpc.h"
#include "appliance.h"
#include "fw.h"

#define MAX_WATCHES 16
#define DEFAULT_RATE 20
#define MAX_RATE 1000

struct fw_watch {
	struct fw_watch *next;
	Vapp__Firewall__V1__LogEvent_Closure closure;
	void *data;
	int guest;             /* only this guest's drops; -1: all */
	uint32_t rate;         /* events per second */
	double tokens;         /* token bucket: burst of one second's worth */
	uint64_t last_ms;
	uint64_t suppressed;
};

#define DAEMON(svc) ((struct fw_daemon *)((char *)(svc) - offsetof(struct fw_daemon, svc)))
#define WALL_CLOCK_SET 1577836800u /* 2020-01-01: before it, the clock was never set */
#define EXPIRE_RETRY_MS 5000
#define EXPIRE_MAX_WAIT_MS 3600000 /* a far deadline is looked at again hourly */

static void schedule_expiry(struct fw_daemon *d);

uint64_t fw_wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec >= (time_t)WALL_CLOCK_SET ? (uint64_t)ts.tv_sec : 0;
}

/* A rule's expire must be to come, by a clock that is set; a rule kept as
 * it was (same id and expire in @p cur) is not asked again. */
static int check_expiry(const struct fw_ruleset *next, const struct fw_ruleset *cur, char *why,
			size_t whylen)
{
	uint64_t now = fw_wall_s();

	for (size_t i = 0; i < next->n; i++) {
		const struct fw_rule *r = &next->rules[i];
		ssize_t at;

		if (!r->expire)
			continue;
		at = fw_ruleset_find(cur, r->id);
		if (at >= 0 && cur->rules[at].expire == r->expire)
			continue;
		if (!now) {
			snprintf(why, whylen, "rules[%zu].expire: the appliance has no wall clock", i);
			return -EINVAL;
		}
		if (r->expire <= now) {
			snprintf(why, whylen, "rules[%zu].expire: %llu is past (the appliance's clock "
					      "reads %llu)", i, (unsigned long long)r->expire,
				 (unsigned long long)now);
			return -EINVAL;
		}
	}
	return 0;
}

typedef Vapp__Firewall__V1__Firewall_Service Svc;

static int find_guest(const struct fw_daemon *d, const char *name)
{
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		if (!strcmp(d->ifs.guests[i].name, name))
			return (int)i;
	return -1;
}

/* "alice, bob, carol" */
static void guest_list(const struct fw_daemon *d, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->ifs.n_guests && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "",
				       d->ifs.guests[i].name);
}

/* The caller, when it is one of the guests (vappd's broker names each
 * guest's calls; a name never comes from the request): its index, else -1. */
static int caller_guest(const struct fw_daemon *d, void *data)
{
	char caller[64];

	appliance_caller(data, caller, sizeof(caller));
	return find_guest(d, caller);
}

/*
 * The guest a request is about. @p name "" is the caller itself when the
 * caller is a guest, else the only guest; a guest caller may name only
 * itself. @return its index, or -1 with the call's status set (the method
 * then answers NULL).
 */
static int guest_for(const struct fw_daemon *d, const char *name, void *data)
{
	struct vrpc_call *call = vrpc_call_of(data);
	int self = caller_guest(d, data), i;
	char list[FW_MAX_GUESTS * (FW_GUEST_NAME_MAX + 2)];

	if (!name || !*name) {
		if (self >= 0)
			return self;
		if (d->ifs.n_guests == 1)
			return 0;
		guest_list(d, list, sizeof(list));
		vrpc_call_set_status(call, VRPC_INVALID_ARGUMENT, "guest: name one of %s", list);
		return -1;
	}
	i = find_guest(d, name);
	if (i < 0) {
		vrpc_call_set_status(call, VRPC_NOT_FOUND, "guest: no guest \"%.*s\" here",
				     FW_GUEST_NAME_MAX + 1, name);
		return -1;
	}
	if (self >= 0 && i != self) {
		vrpc_call_set_status(call, VRPC_PERMISSION_DENIED, "guest: %s may name only itself",
				     d->ifs.guests[self].name);
		return -1;
	}
	return i;
}

/* @return a vrpc status; @p next (guest @p gi's new ruleset) is taken over
 * (freed or kept). */
static int commit(struct fw_daemon *d, size_t gi, struct fw_ruleset *next, char *why,
		  size_t whylen)
{
	struct fw_guest *g = &d->guests[gi];
	const char *name = d->ifs.guests[gi].name;
	const struct fw_ruleset *all[FW_MAX_GUESTS];
	int err;

	if (d->resolver && fw_resolver_check(d->resolver, next, why, whylen)) {
		fw_ruleset_fini(next);
		return VRPC_RESOURCE_EXHAUSTED;
	}
	if (check_expiry(next, &g->rs, why, whylen)) {
		fw_ruleset_fini(next);
		return VRPC_INVALID_ARGUMENT;
	}
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		all[i] = i == gi ? NULL : &d->guests[i].rs;
	if (fw_forwards_check(next, &d->ifs.guests[gi], all, d->ifs.n_guests, why, whylen)) {
		fw_ruleset_fini(next);
		return VRPC_INVALID_ARGUMENT;
	}
	if (d->state_dir && (err = fw_store_prepare(d->state_dir, name, next))) {
		snprintf(why, whylen, "state volume: %s", strerror(-err));
		goto err_next;
	}
	err = fw_nft_apply_guest(d->nft, gi, next, why, whylen);
	if (err)
		goto err_file;
	if (d->state_dir && (err = fw_store_commit(d->state_dir, name))) {
		char ignored[FW_REASON_LEN];

		snprintf(why, whylen, "state volume: %s (the previous ruleset is back)",
			 strerror(-err));
		fw_nft_apply_guest(d->nft, gi, &g->rs, ignored, sizeof(ignored));
		goto err_file;
	}
	fw_ruleset_fini(&g->rs);
	g->rs = *next;
	/* New names are asked now; names no rule uses any more go. */
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		all[i] = &d->guests[i].rs;
	if (d->resolver)
		fw_resolver_sync(d->resolver, all, d->ifs.n_guests, why, whylen);
	schedule_expiry(d);
	fprintf(stderr, "vapp-firewalld: %s: generation %llu in force: %zu rules, default %s\n",
		name, (unsigned long long)g->rs.generation, g->rs.n,
		g->rs.policy == FW_ACCEPT ? "accept" : "drop");
	return VRPC_OK;

err_file:
	if (d->state_dir)
		fw_store_abort(d->state_dir, name);
err_next:
	fw_ruleset_fini(next);
	return VRPC_INTERNAL;
}

static void reply_ruleset(const struct fw_daemon *d, const struct fw_ruleset *rs,
			  Vapp__Firewall__V1__Ruleset_Closure closure, void *data)
{
	Vapp__Firewall__V1__Ruleset out;

	if (fw_ruleset_to_pb(rs, d->resolver, &out)) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	closure(&out, data);
	fw_ruleset_pb_free(&out);
}

/* Commits @p next for guest @p gi and replies with its ruleset then in force. */
static void commit_reply(struct fw_daemon *d, size_t gi, struct fw_ruleset *next,
			 Vapp__Firewall__V1__Ruleset_Closure closure, void *data)
{
	char why[FW_REASON_LEN];
	int st = commit(d, gi, next, why, sizeof(why));

	if (st != VRPC_OK) {
		APPLIANCE_FAIL(data, closure, st, "%s", why);
		return;
	}
	reply_ruleset(d, &d->guests[gi].rs, closure, data);
}

static void list_rules(Svc *svc, const Vapp__Firewall__V1__ListRulesRequest *in,
		       Vapp__Firewall__V1__Ruleset_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	int gi = guest_for(d, in->guest, data);

	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	reply_ruleset(d, &d->guests[gi].rs, closure, data);
}

static void add_rule(Svc *svc, const Vapp__Firewall__V1__AddRuleRequest *in,
		     Vapp__Firewall__V1__Rule_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	int gi = guest_for(d, in->guest, data);
	struct fw_ruleset next, *cur;
	struct fw_rule r;
	char why[FW_REASON_LEN];
	size_t pos;
	ssize_t at;
	int st;

	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	cur = &d->guests[gi].rs;
	pos = cur->n;
	if (!in->rule) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "rule: missing");
		return;
	}
	if (fw_rule_from_pb(in->rule, "rule", &r, why, sizeof(why))) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "%s", why);
		return;
	}
	if (r.id) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT,
		     "rule.id: leave it 0, the appliance gives ids");
		return;
	}
	if (cur->n >= FW_MAX_RULES) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "rules: at most %d", FW_MAX_RULES);
		return;
	}
	if (in->before_id) {
		at = fw_ruleset_find(cur, in->before_id);
		if (at < 0) {
			APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "before_id: no rule %u", in->before_id);
			return;
		}
		pos = (size_t)at;
	}
	if (fw_ruleset_copy(cur, &next)) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	r.id = next.next_id++;
	next.generation++;
	if (fw_ruleset_insert(&next, pos, &r)) {
		fw_ruleset_fini(&next);
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	st = commit(d, (size_t)gi, &next, why, sizeof(why));
	if (st != VRPC_OK) {
		APPLIANCE_FAIL(data, closure, st, "%s", why);
		return;
	}
	struct fw_pb_rule out;
	fw_rule_to_pb(&r, &out);
	closure(&out.rule, data);
}

static void delete_rule(Svc *svc, const Vapp__Firewall__V1__DeleteRuleRequest *in,
			Vapp__Firewall__V1__Ruleset_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	int gi = guest_for(d, in->guest, data);
	struct fw_ruleset next;
	ssize_t at;

	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	at = fw_ruleset_find(&d->guests[gi].rs, in->id);
	if (!in->id || at < 0) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "id: no rule %u", in->id);
		return;
	}
	if (fw_ruleset_copy(&d->guests[gi].rs, &next)) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	fw_ruleset_remove(&next, (size_t)at);
	next.generation++;
	commit_reply(d, (size_t)gi, &next, closure, data);
}

static void replace_ruleset(Svc *svc, const Vapp__Firewall__V1__ReplaceRulesetRequest *in,
			    Vapp__Firewall__V1__Ruleset_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	int gi = guest_for(d, in->guest, data);
	struct fw_ruleset next;
	char why[FW_REASON_LEN];
	int err;

	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	if (!in->ruleset) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "ruleset: missing");
		return;
	}
	err = fw_ruleset_from_pb(in->ruleset, &d->guests[gi].rs, &next, why, sizeof(why));
	if (err) {
		APPLIANCE_FAIL(data, closure, err == -ENOMEM ? VRPC_RESOURCE_EXHAUSTED : VRPC_INVALID_ARGUMENT,
		     "%s", err == -ENOMEM ? "out of memory" : why);
		return;
	}
	commit_reply(d, (size_t)gi, &next, closure, data);
}

static void set_default_policy(Svc *svc, const Vapp__Firewall__V1__SetDefaultPolicyRequest *in,
			       Vapp__Firewall__V1__Ruleset_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	int gi = guest_for(d, in->guest, data);
	struct fw_ruleset next;
	enum fw_action a;
	char why[FW_REASON_LEN];

	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	if (fw_action_from_pb(in->policy, "policy", &a, why, sizeof(why))) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "%s", why);
		return;
	}
	if (fw_ruleset_copy(&d->guests[gi].rs, &next)) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	next.policy = a;
	next.generation++;
	commit_reply(d, (size_t)gi, &next, closure, data);
}

static void counter_pb(Vapp__Firewall__V1__RuleCounter *out, const struct fw_count *c)
{
	vapp__firewall__v1__rule_counter__init(out);
	out->id = c->id;
	out->packets = c->packets;
	out->bytes = c->bytes;
}

static void get_counters(Svc *svc, const Vapp__Firewall__V1__GetCountersRequest *in,
			 Vapp__Firewall__V1__Counters_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	int gi = guest_for(d, in->guest, data);
	Vapp__Firewall__V1__Counters out = VAPP__FIREWALL__V1__COUNTERS__INIT;
	Vapp__Firewall__V1__RuleCounter *rc = NULL, **ptrs = NULL, pol, up, sp, gu;
	const struct fw_guest_counts *g;
	struct fw_counts c;
	int err;

	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	err = fw_nft_counters(d->nft, (size_t)gi, &c);
	if (err) {
		APPLIANCE_FAIL(data, closure, VRPC_INTERNAL, "nftables: cannot list the table: %s",
		     strerror(-err));
		return;
	}
	g = &c.g[gi];
	rc = calloc(g->n ? g->n : 1, sizeof(*rc));
	ptrs = calloc(g->n ? g->n : 1, sizeof(*ptrs));
	if (!rc || !ptrs) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < g->n; i++) {
		counter_pb(&rc[i], &g->rules[i]);
		ptrs[i] = &rc[i];
	}
	out.rules = ptrs;
	out.n_rules = g->n;
	counter_pb(&pol, &g->policy);
	counter_pb(&up, &c.uplink);
	counter_pb(&sp, &g->spoof);
	counter_pb(&gu, &g->guest);
	out.default_policy = &pol;
	out.uplink_refused = &up;
	out.spoof_refused = &sp;
	out.guest_refused = &gu;
	out.guest = (char *)d->ifs.guests[gi].name;
	closure(&out, data);
out:
	free(rc);
	free(ptrs);
	fw_counts_free(&c);
}

static void watch_log(Svc *svc, const Vapp__Firewall__V1__WatchLogRequest *in,
		      Vapp__Firewall__V1__LogEvent_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	struct fw_watch *w;
	int gi = -1;

	/* Streams whose callers left are ended here and on each drop event:
	 * no timer wakes an idle appliance for them. */
	fw_service_sweep(d);
	/* A guest watches its own drops only; anyone else all, or one guest's. */
	if ((in->guest && *in->guest) || caller_guest(d, data) >= 0) {
		if ((gi = guest_for(d, in->guest, data)) < 0) {
			closure(NULL, data);
			return;
		}
	}
	if (in->max_per_second > MAX_RATE) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "max_per_second: at most %d", MAX_RATE);
		return;
	}
	if (d->n_watches >= MAX_WATCHES || !(w = calloc(1, sizeof(*w)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "too many log watchers (at most %d)",
		     MAX_WATCHES);
		return;
	}
	w->closure = closure;
	w->data = data;
	w->guest = gi;
	w->rate = in->max_per_second ? in->max_per_second : DEFAULT_RATE;
	w->tokens = w->rate;
	w->last_ms = fw_now_ms();
	w->next = d->watches;
	d->watches = w;
	d->n_watches++;
}

static void get_status(Svc *svc, const Vapp__Firewall__V1__GetStatusRequest *in,
		       Vapp__Firewall__V1__Status_Closure closure, void *data)
{
	struct fw_daemon *d = DAEMON(svc);
	Vapp__Firewall__V1__Status out = VAPP__FIREWALL__V1__STATUS__INIT;
	int self = caller_guest(d, data), gi;
	const struct fw_ruleset *rs;
	char *names[FW_MAX_GUESTS];

	/* Status with no guest named is the first guest's (any caller may ask). */
	if ((in->guest && *in->guest) || self >= 0 || d->ifs.n_guests == 1)
		gi = guest_for(d, in->guest, data);
	else
		gi = 0;
	if (gi < 0) {
		closure(NULL, data);
		return;
	}
	rs = &d->guests[gi].rs;
	out.version = "0.2.0";
	out.generation = rs->generation;
	out.rule_count = (uint32_t)rs->n;
	out.default_policy = rs->policy == FW_ACCEPT ? VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT
						     : VAPP__FIREWALL__V1__ACTION__ACTION_DROP;
	out.forwarding = fw_net_forwarding_on();
	out.uplink = d->ifs.uplink;
	out.guest = d->ifs.guests[gi].ifname;
	out.guest_name = d->ifs.guests[gi].name;
	out.ruleset_source = d->guests[gi].source;
	out.uptime_ms = fw_now_ms() - d->boot_ms;
	out.log_events = d->log_events;
	out.log_suppressed = d->log_suppressed;
	out.log_watchers = d->n_watches;
	out.time = fw_wall_s();
	/* A guest learns of no other guest. */
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		if (self < 0 || (int)i == self)
			names[out.n_guests++] = d->ifs.guests[i].name;
	out.guests = names;
	closure(&out, data);
}

/* ---- expiry ---- */

static void on_expire(void *ud)
{
	struct fw_daemon *d = ud;

	d->expire_timer = 0;
	fw_service_expire(d);
}

static void arm_expiry(struct fw_daemon *d, uint64_t ms)
{
	if (d->expire_timer)
		vrpc_loop_cancel_timer(d->loop, d->expire_timer);
	d->expire_timer = 0;
	if (ms > EXPIRE_MAX_WAIT_MS)
		ms = EXPIRE_MAX_WAIT_MS;
	d->expire_timer = vrpc_loop_add_timer(d->loop, (int)(ms ? ms : 1), on_expire, d);
	if (d->expire_timer < 0)
		d->expire_timer = 0;
}

/* The timer for the soonest expire of any guest's rules, or none. */
static void schedule_expiry(struct fw_daemon *d)
{
	uint64_t now = fw_wall_s(), soonest = 0;

	for (size_t g = 0; g < d->ifs.n_guests; g++)
		for (size_t i = 0; i < d->guests[g].rs.n; i++) {
			uint64_t e = d->guests[g].rs.rules[i].expire;

			if (e && (!soonest || e < soonest))
				soonest = e;
		}
	if (!d->loop)
		return;
	if (!soonest || !now) {
		if (d->expire_timer)
			vrpc_loop_cancel_timer(d->loop, d->expire_timer);
		d->expire_timer = 0;
		return;
	}
	arm_expiry(d, soonest > now ? (soonest - now) * 1000 : 0);
}

void fw_service_expire(struct fw_daemon *d)
{
	uint64_t now = fw_wall_s();
	char why[FW_REASON_LEN];

	for (size_t g = 0; now && g < d->ifs.n_guests; g++) {
		struct fw_ruleset *rs = &d->guests[g].rs, next;
		size_t gone = 0;

		for (size_t i = 0; i < rs->n; i++)
			gone += rs->rules[i].expire && rs->rules[i].expire <= now;
		if (!gone)
			continue;
		if (fw_ruleset_copy(rs, &next)) {
			arm_expiry(d, EXPIRE_RETRY_MS);
			return;
		}
		for (size_t i = next.n; i-- > 0;) {
			if (!next.rules[i].expire || next.rules[i].expire > now)
				continue;
			fprintf(stderr, "vapp-firewalld: %s: rule %u expired (at %llu)\n",
				d->ifs.guests[g].name, next.rules[i].id,
				(unsigned long long)next.rules[i].expire);
			fw_ruleset_remove(&next, i);
		}
		next.generation++;
		/* commit() re-arms the timer; on failure try again shortly. */
		if (commit(d, g, &next, why, sizeof(why)) != VRPC_OK) {
			fprintf(stderr, "vapp-firewalld: %s: expired rules stay: %s\n",
				d->ifs.guests[g].name, why);
			arm_expiry(d, EXPIRE_RETRY_MS);
			return;
		}
	}
	schedule_expiry(d);
}

void fw_service_init(struct fw_daemon *d)
{
	Svc svc = VAPP__FIREWALL__V1__FIREWALL__INIT();

	d->svc = svc;
}

/* ---- the log streams ---- */

static const int pb_proto[] = {
	[FW_ANY] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ANY,
	[FW_TCP] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP,
	[FW_UDP] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP,
	[FW_ICMP] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ICMP,
};

static enum fw_proto proto_of(uint8_t p)
{
	return p == 6 ? FW_TCP : p == 17 ? FW_UDP : (p == 1 || p == 58) ? FW_ICMP : FW_ANY;
}

static void send_event(struct fw_watch *w, const struct fw_drop *drop, const char *guest)
{
	Vapp__Firewall__V1__LogEvent ev = VAPP__FIREWALL__V1__LOG_EVENT__INIT;

	ev.time_ms = drop->time_ms;
	ev.rule_id = drop->rule_id;
	ev.reason = (char *)drop->reason;
	ev.protocol = pb_proto[proto_of(drop->ip_proto)];
	ev.ip_protocol = drop->ip_proto;
	ev.source = (char *)drop->src;
	ev.destination = (char *)drop->dst;
	ev.source_port = drop->sport;
	ev.destination_port = drop->dport;
	ev.length = drop->length;
	ev.in_interface = (char *)drop->in_if;
	ev.guest = (char *)guest;
	ev.suppressed = w->suppressed;
	w->suppressed = 0;
	w->closure(&ev, w->data);
}

void fw_service_drop(void *ud, const struct fw_drop *drop)
{
	struct fw_daemon *d = ud;
	struct fw_drop rel = *drop;
	int gi = -1;

	for (size_t i = 0; i < d->ifs.n_guests; i++)
		if (!strcmp(drop->in_if, d->ifs.guests[i].ifname))
			gi = (int)i;
	rel.time_ms = drop->time_ms - d->boot_ms;
	d->log_events++;
	fw_service_sweep(d);
	for (struct fw_watch *w = d->watches; w; w = w->next) {
		uint64_t now = drop->time_ms;

		if (vrpc_call_cancelled(vrpc_call_of(w->data)))
			continue; /* the sweep ends it */
		if (w->guest >= 0 && w->guest != gi)
			continue; /* another guest's drop */
		w->tokens += (double)(now - w->last_ms) * w->rate / 1000.0;
		if (w->tokens > w->rate)
			w->tokens = w->rate;
		w->last_ms = now;
		if (w->tokens < 1.0) {
			w->suppressed++;
			d->log_suppressed++;
			continue;
		}
		w->tokens -= 1.0;
		send_event(w, &rel, gi >= 0 ? d->ifs.guests[gi].name : "");
	}
}

static void end_watches(struct fw_daemon *d, bool all)
{
	struct fw_watch **pp = &d->watches, *w;

	while ((w = *pp)) {
		if (!all && !vrpc_call_cancelled(vrpc_call_of(w->data))) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		d->n_watches--;
		/* Ends the stream; for a gone caller it just frees the call. */
		w->closure(NULL, w->data);
		free(w);
	}
}

void fw_service_sweep(struct fw_daemon *d)
{
	end_watches(d, false);
}

void fw_service_fini(struct fw_daemon *d)
{
	end_watches(d, true);
}
