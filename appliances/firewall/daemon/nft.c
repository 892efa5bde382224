/*
 * nft.c - the rule model as an nftables ruleset, through libnftables' JSON
 * input (libnftables-json(5)). The document is built as json-c objects from
 * the model's numbers and from address text that inet_ntop() wrote, so the
 * only strings in it are our own; nothing a caller typed is pasted into a
 * command.
 *
 * The table (family inet, so one ruleset covers IPv4 and IPv6):
 *
 *   chain forward     hook forward, policy drop: a guest's traffic jumps to
 *                     its own chain by the interface it came in on; replies
 *                     pass; anything else (new flows from the uplink) is
 *                     counted, logged and dropped
 *   chain from-NAME   one per guest: a source outside the guest's networks
 *                     is logged and dropped first (anti-spoofing); replies
 *                     pass; the guest's rules in order, each with a counter
 *                     (and a log statement when it drops); the default
 *                     policy for flows out of the uplink; new flows to
 *                     another guest no rule accepted: counted, logged, dropped
 *   chain input       policy drop: loopback, replies, ICMP/ICMPv6 only
 *   chain postrouting nat: masquerade out of the uplink
 *
 * Protocols are numbers (6, 17, 1, 58), not names: nft would look names
 * up in /etc/protocols, which the image does not have.
 *
 * The boot makes the whole table in one transaction ("add table; delete
 * table; add table ..." in one batch), so the forward chain's policy is
 * drop from the first instant the table exists. A change to a guest's
 * rules then flushes and refills that guest's chain alone, also in one
 * transaction: the kernel swaps old for new at commit, so no packet ever
 * sees half a ruleset, and the work (and memory: the appliance has little)
 * is one guest's rules, not every guest's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <nftables/libnftables.h>

#include "fw.h"

struct fw_nft {
	struct nft_ctx *ctx;
	struct fw_ifaces ifs;
	const struct fw_resolver *res;
};

/* ---- building the document ---- */

static json_object *jstr(const char *s) { return json_object_new_string(s); }
static json_object *jint(int64_t v) { return json_object_new_int64(v); }

static json_object *jobj1(const char *k, json_object *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, k, v);
	return o;
}

/* {"match": {"op": "==", "left": LEFT, "right": RIGHT}} */
static json_object *match(json_object *left, json_object *right)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "op", jstr("=="));
	json_object_object_add(m, "left", left);
	json_object_object_add(m, "right", right);
	return jobj1("match", m);
}

static json_object *meta(const char *key) { return jobj1("meta", jobj1("key", jstr(key))); }

static json_object *payload(const char *proto, const char *field)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "protocol", jstr(proto));
	json_object_object_add(p, "field", jstr(field));
	return jobj1("payload", p);
}

static json_object *counter(uint64_t packets, uint64_t bytes)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "packets", jint((int64_t)packets));
	json_object_object_add(c, "bytes", jint((int64_t)bytes));
	return jobj1("counter", c);
}

static json_object *nflog(const char *prefix)
{
	json_object *l = json_object_new_object();

	json_object_object_add(l, "prefix", jstr(prefix));
	json_object_object_add(l, "group", jint(FW_LOG_GROUP));
	return jobj1("log", l);
}

static json_object *verdict(enum fw_action a)
{
	return jobj1(a == FW_ACCEPT ? "accept" : "drop", NULL);
}

static json_object *ct_replies(void)
{
	json_object *m = json_object_new_object(), *set = json_object_new_array();

	json_object_array_add(set, jstr("established"));
	json_object_array_add(set, jstr("related"));
	json_object_object_add(m, "op", jstr("in"));
	json_object_object_add(m, "left", jobj1("ct", jobj1("key", jstr("state"))));
	json_object_object_add(m, "right", set);
	return jobj1("match", m);
}

/* {"add": {KIND: BODY}} appended to the command list */
static void cmd(json_object *list, const char *verb, const char *kind, json_object *body)
{
	json_object_array_add(list, jobj1(verb, jobj1(kind, body)));
}

static json_object *table_ref(void)
{
	json_object *t = json_object_new_object();

	json_object_object_add(t, "family", jstr("inet"));
	json_object_object_add(t, "name", jstr(FW_TABLE));
	return t;
}

/* A chain or set of the table: {"family", "table", "name"}. */
static json_object *obj_ref(const char *name)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "family", jstr("inet"));
	json_object_object_add(o, "table", jstr(FW_TABLE));
	json_object_object_add(o, "name", jstr(name));
	return o;
}

static void add_chain(json_object *list, const char *name, const char *type, const char *hook,
		      int prio, const char *policy)
{
	json_object *c = obj_ref(name);

	if (hook) {
		json_object_object_add(c, "type", jstr(type));
		json_object_object_add(c, "hook", jstr(hook));
		json_object_object_add(c, "prio", jint(prio));
		json_object_object_add(c, "policy", jstr(policy));
	}
	cmd(list, "add", "chain", c);
}

/* Adds a rule to @p chain with statements @p expr (taken over). */
static void add_rule(json_object *list, const char *chain, const char *comment, json_object *expr)
{
	json_object *r = json_object_new_object();

	json_object_object_add(r, "family", jstr("inet"));
	json_object_object_add(r, "table", jstr(FW_TABLE));
	json_object_object_add(r, "chain", jstr(chain));
	if (comment)
		json_object_object_add(r, "comment", jstr(comment));
	json_object_object_add(r, "expr", expr);
	cmd(list, "add", "rule", r);
}

static const struct fw_count *carried(const struct fw_guest_counts *c, uint32_t id)
{
	static const struct fw_count zero;

	for (size_t i = 0; c && i < c->n; i++)
		if (c->rules[i].id == id)
			return &c->rules[i];
	return &zero;
}

/* ICMP of either family: {1, 58}. */
static json_object *icmp_any(void)
{
	json_object *set = json_object_new_array();

	json_object_array_add(set, jint(1));
	json_object_array_add(set, jint(58));
	return match(meta("l4proto"), jobj1("set", set));
}

/* The destination address or prefix of a rule with a family. */
static json_object *addr_match(const struct fw_rule *r)
{
	const char *ip = r->family == AF_INET ? "ip" : "ip6";
	char addr[INET6_ADDRSTRLEN + 8];
	json_object *right, *p;

	inet_ntop(r->family, r->addr, addr, sizeof(addr));
	if (r->plen == (r->family == AF_INET ? 32 : 128)) {
		right = jstr(addr);
	} else {
		p = json_object_new_object();
		json_object_object_add(p, "addr", jstr(addr));
		json_object_object_add(p, "len", jint(r->plen));
		right = jobj1("prefix", p);
	}
	return match(payload(ip, "daddr"), right);
}

/* The protocol, NULL for any. */
static json_object *proto_match(const struct fw_rule *r)
{
	switch (r->proto) {
	case FW_TCP:
	case FW_UDP:
		return match(meta("l4proto"), jint(r->proto == FW_TCP ? 6 : 17));
	case FW_ICMP:
		if (r->family == AF_INET)
			return match(meta("l4proto"), jint(1));
		if (r->family == AF_INET6)
			return match(meta("l4proto"), jint(58));
		return icmp_any();
	case FW_ANY:
		break;
	}
	return NULL;
}

/* The destination port or range of a TCP or UDP rule. */
static json_object *port_match(const struct fw_rule *r)
{
	const char *l4 = r->proto == FW_TCP ? "tcp" : "udp";
	json_object *right;

	if (r->port_max == r->port_min) {
		right = jint(r->port_min);
	} else {
		right = json_object_new_array();
		json_object_array_add(right, jint(r->port_min));
		json_object_array_add(right, jint(r->port_max));
		right = jobj1("range", right);
	}
	return match(payload(l4, "dport"), right);
}

/* The ICMP or ICMPv6 type: the first byte of either header, read raw, so
 * one rule serves both families (proto_match has chosen which). */
static json_object *icmp_type_match(const struct fw_rule *r)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "base", jstr("th"));
	json_object_object_add(p, "offset", jint(0));
	json_object_object_add(p, "len", jint(8));
	return match(jobj1("payload", p), jint(r->icmp_type));
}

/* What ends every user rule: its counter, a log statement when it drops
 * ("fw:rule:ID"), the verdict. @return @p e. */
static json_object *rule_end(json_object *e, const struct fw_rule *r, const struct fw_count *cnt)
{
	char prefix[32];

	json_object_array_add(e, counter(cnt->packets, cnt->bytes));
	if (r->action == FW_DROP) {
		snprintf(prefix, sizeof(prefix), "fw:rule:%u", r->id);
		json_object_array_add(e, nflog(prefix));
	}
	json_object_array_add(e, verdict(r->action));
	return e;
}

/* The set of host @p host's addresses of family @p family: "h4-NAME". */
static void set_name(char *buf, size_t len, const char *host, int family)
{
	snprintf(buf, len, "h%c-%s", family == AF_INET ? '4' : '6', host);
}

/* @p out_if: the rule matches only what leaves through that interface.
 * A host rule (r->host, r->family the family this one is for) matches the
 * addresses in its host's set. */
static json_object *user_rule(const struct fw_rule *r, const struct fw_count *cnt,
			      const char *out_if)
{
	json_object *e = json_object_new_array(), *proto = proto_match(r);
	char set[FW_HOST_MAX + 8];

	if (out_if)
		json_object_array_add(e, match(meta("oifname"), jstr(out_if)));
	if (r->host[0]) {
		set_name(set + 1, sizeof(set) - 1, r->host, r->family);
		set[0] = '@';
		json_object_array_add(e, match(payload(r->family == AF_INET ? "ip" : "ip6", "daddr"),
					       jstr(set)));
	} else if (r->family) {
		json_object_array_add(e, addr_match(r));
	}
	if (proto)
		json_object_array_add(e, proto);
	if (r->port_min)
		json_object_array_add(e, port_match(r));
	if (r->has_icmp_type)
		json_object_array_add(e, icmp_type_match(r));
	return rule_end(e, r, cnt);
}

/* Special DNS: to the --dns server @p server, port 53, UDP or TCP or
 * both; counted, logged when it drops, as any rule. */
static json_object *dns_rule(const struct fw_rule *r, const char *server, const struct fw_count *cnt)
{
	json_object *e = json_object_new_array(), *set;

	json_object_array_add(e, match(payload(strchr(server, ':') ? "ip6" : "ip", "daddr"),
				       jstr(server)));
	if (r->proto == FW_ANY) {
		set = json_object_new_array();
		json_object_array_add(set, jint(6));
		json_object_array_add(set, jint(17));
		json_object_array_add(e, match(meta("l4proto"), jobj1("set", set)));
	} else {
		json_object_array_add(e, match(meta("l4proto"), jint(r->proto == FW_TCP ? 6 : 17)));
	}
	json_object_array_add(e, match(payload("th", "dport"), jint(53)));
	return rule_end(e, r, cnt);
}

static json_object *iface_match(const char *key, const char *name)
{
	return match(meta(key), jstr(name));
}

static void chain_of(char *buf, size_t len, const struct fw_guest_if *g)
{
	snprintf(buf, len, "from-%s", g->name);
}

/* The guest's port forwards: its DNAT rules and the forward accepts. */
static void dnat_chain_of(char *buf, size_t len, const struct fw_guest_if *g)
{
	snprintf(buf, len, "dnat-%s", g->name);
}

static void fwd_chain_of(char *buf, size_t len, const struct fw_guest_if *g)
{
	snprintf(buf, len, "fwd-%s", g->name);
}

/* Guest @p g's port forwards: in dnat-NAME, the uplink port rewritten to
 * the guest's address; in fwd-NAME, those flows (and only those: ct status
 * dnat, to that address and port) let through to the guest. */
static void forwards(json_object *list, const struct fw_guest_if *g, const struct fw_ruleset *rs)
{
	char dnat[32], fwd[32], to[INET_ADDRSTRLEN];

	dnat_chain_of(dnat, sizeof(dnat), g);
	fwd_chain_of(fwd, sizeof(fwd), g);
	for (size_t i = 0; i < rs->n_fwd; i++) {
		const struct fw_forward *f = &rs->fwd[i];
		const char *l4 = f->proto == FW_TCP ? "tcp" : "udp";
		json_object *e = json_object_new_array(), *d = json_object_new_object(), *m;

		inet_ntop(AF_INET, f->to, to, sizeof(to));
		json_object_array_add(e, match(meta("l4proto"), jint(f->proto == FW_TCP ? 6 : 17)));
		json_object_array_add(e, match(payload(l4, "dport"), jint(f->port)));
		json_object_object_add(d, "family", jstr("ip"));
		json_object_object_add(d, "addr", jstr(to));
		json_object_object_add(d, "port", jint(f->to_port));
		json_object_array_add(e, jobj1("dnat", d));
		add_rule(list, dnat, NULL, e);

		e = json_object_new_array();
		m = json_object_new_object();
		json_object_object_add(m, "op", jstr("in"));
		json_object_object_add(m, "left", jobj1("ct", jobj1("key", jstr("status"))));
		json_object_object_add(m, "right", jstr("dnat"));
		json_object_array_add(e, jobj1("match", m));
		json_object_array_add(e, match(payload("ip", "daddr"), jstr(to)));
		json_object_array_add(e, match(meta("l4proto"), jint(f->proto == FW_TCP ? 6 : 17)));
		json_object_array_add(e, match(payload(l4, "dport"), jint(f->to_port)));
		json_object_array_add(e, counter(0, 0));
		json_object_array_add(e, jobj1("accept", NULL));
		add_rule(list, fwd, NULL, e);
	}
}

/* From guest @p g, a source outside its own network of that family (or any
 * source of a family it has none of) is a lie: logged, dropped, before any
 * rule sees it. The guest is known by its interface (this chain is only
 * entered from it), never by the address it claims. */
static void anti_spoof(json_object *list, const char *chain, const struct fw_guest_if *g,
		       int family, const struct fw_guest_counts *carry)
{
	const char *net = family == AF_INET ? g->net4 : g->net6;
	json_object *e = json_object_new_array(), *p;
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(net, '/');

	json_object_array_add(e, match(meta("nfproto"), jstr(family == AF_INET ? "ipv4" : "ipv6")));
	if (slash && (size_t)(slash - net) < sizeof(addr)) {
		memcpy(addr, net, (size_t)(slash - net));
		addr[slash - net] = '\0';
		p = json_object_new_object();
		json_object_object_add(p, "addr", jstr(addr));
		json_object_object_add(p, "len", jint(atoi(slash + 1)));
		p = jobj1("prefix", p);
		json_object *m = json_object_new_object();

		json_object_object_add(m, "op", jstr("!="));
		json_object_object_add(m, "left", payload(family == AF_INET ? "ip" : "ip6", "saddr"));
		json_object_object_add(m, "right", p);
		json_object_array_add(e, jobj1("match", m));
	}
	/* The count carried over goes on the IPv4 rule: the two are summed. */
	if (carry && family == AF_INET)
		json_object_array_add(e, counter(carry->spoof.packets, carry->spoof.bytes));
	else
		json_object_array_add(e, counter(0, 0));
	json_object_array_add(e, nflog("fw:spoof"));
	json_object_array_add(e, jobj1("drop", NULL));
	add_rule(list, chain, "spoof", e);
}

/* Each guest's traffic goes to its own chain, picked by the interface it
 * came in on; replies to what went out pass; anything else (new flows from
 * the uplink) is counted, logged and dropped. */
static void forward_chain(json_object *list, const struct fw_ifaces *ifs,
			  const struct fw_counts *carry)
{
	json_object *e;
	char chain[32];

	for (size_t i = 0; i < ifs->n_guests; i++) {
		chain_of(chain, sizeof(chain), &ifs->guests[i]);
		e = json_object_new_array();
		json_object_array_add(e, iface_match("iifname", ifs->guests[i].ifname));
		json_object_array_add(e, jobj1("jump", jobj1("target", jstr(chain))));
		add_rule(list, "forward", NULL, e);
	}
	e = json_object_new_array();
	json_object_array_add(e, ct_replies());
	json_object_array_add(e, jobj1("accept", NULL));
	add_rule(list, "forward", NULL, e);
	/* New flows from the uplink: only a guest's port forwards. */
	for (size_t i = 0; i < ifs->n_guests; i++) {
		fwd_chain_of(chain, sizeof(chain), &ifs->guests[i]);
		e = json_object_new_array();
		json_object_array_add(e, iface_match("iifname", ifs->uplink));
		json_object_array_add(e, iface_match("oifname", ifs->guests[i].ifname));
		json_object_array_add(e, jobj1("jump", jobj1("target", jstr(chain))));
		add_rule(list, "forward", NULL, e);
	}
	e = json_object_new_array();
	json_object_array_add(e, counter(carry ? carry->uplink.packets : 0,
					 carry ? carry->uplink.bytes : 0));
	json_object_array_add(e, nflog("fw:uplink"));
	json_object_array_add(e, jobj1("drop", NULL));
	add_rule(list, "forward", "uplink", e);
}

/* Guest @p g's chain: anti-spoofing first (not even a packet that claims
 * to belong to a flow passes with a lying source), replies, the user's
 * rules in order, the default policy for what goes out of the uplink, and
 * a drop for new flows to another guest no rule accepted. An accepting
 * rule with no destination matches only what goes out of the uplink:
 * another guest is reached only by a rule naming its address. */
static void guest_chain(json_object *list, const struct fw_ifaces *ifs, const struct fw_guest_if *g,
			const struct fw_ruleset *rs, const struct fw_guest_counts *carry)
{
	json_object *e;
	char chain[32], comment[24];

	chain_of(chain, sizeof(chain), g);
	anti_spoof(list, chain, g, AF_INET, carry);
	anti_spoof(list, chain, g, AF_INET6, carry);
	e = json_object_new_array();
	json_object_array_add(e, ct_replies());
	json_object_array_add(e, jobj1("accept", NULL));
	add_rule(list, chain, NULL, e);
	for (size_t i = 0; i < rs->n; i++) {
		const struct fw_rule *r = &rs->rules[i];
		static const struct fw_count zero;

		snprintf(comment, sizeof(comment), "id:%u", r->id);
		if (r->dns) {
			/* No --dns: nothing to match, no nft rule at all. */
			if (ifs->dns[0])
				add_rule(list, chain, comment, dns_rule(r, ifs->dns, carried(carry, r->id)));
			continue;
		}
		if (r->host[0]) {
			/* One nft rule a family, one id: the count carried over
			 * goes on the first, the two are summed (collect()). */
			struct fw_rule fam = *r;

			fam.family = AF_INET;
			add_rule(list, chain, comment, user_rule(&fam, carried(carry, r->id), NULL));
			fam.family = AF_INET6;
			add_rule(list, chain, comment, user_rule(&fam, &zero, NULL));
			continue;
		}
		e = user_rule(r, carried(carry, r->id),
			      r->action == FW_ACCEPT && !r->family ? ifs->uplink : NULL);
		add_rule(list, chain, comment, e);
	}
	e = json_object_new_array();
	json_object_array_add(e, iface_match("oifname", ifs->uplink));
	json_object_array_add(e, counter(carry ? carry->policy.packets : 0,
					 carry ? carry->policy.bytes : 0));
	if (rs->policy == FW_DROP)
		json_object_array_add(e, nflog("fw:default"));
	json_object_array_add(e, verdict(rs->policy));
	add_rule(list, chain, "default", e);
	e = json_object_new_array();
	json_object_array_add(e, counter(carry ? carry->guest.packets : 0,
					 carry ? carry->guest.bytes : 0));
	json_object_array_add(e, nflog("fw:guest"));
	json_object_array_add(e, jobj1("drop", NULL));
	add_rule(list, chain, "guest", e);
	forwards(list, g, rs);
}

/* To the appliance itself: loopback, replies and ICMP only. */
static void input_chain(json_object *list)
{
	json_object *e = json_object_new_array();

	json_object_array_add(e, iface_match("iifname", "lo"));
	json_object_array_add(e, jobj1("accept", NULL));
	add_rule(list, "input", NULL, e);
	e = json_object_new_array();
	json_object_array_add(e, ct_replies());
	json_object_array_add(e, jobj1("accept", NULL));
	add_rule(list, "input", NULL, e);
	e = json_object_new_array();
	json_object_array_add(e, icmp_any());
	json_object_array_add(e, jobj1("accept", NULL));
	add_rule(list, "input", NULL, e);
}

static json_object *set_ref(const char *host, int family)
{
	char name[FW_HOST_MAX + 8];

	set_name(name, sizeof(name), host, family);
	return obj_ref(name);
}

/* The addresses of @p a in family @p family, as a JSON array. */
static json_object *elems(const struct fw_host_addrs *a, int family)
{
	json_object *l = json_object_new_array();
	char t[INET6_ADDRSTRLEN];
	size_t n = family == AF_INET ? a->n4 : a->n6;

	for (size_t i = 0; i < n; i++) {
		inet_ntop(family, family == AF_INET ? (const void *)a->a4[i] : (const void *)a->a6[i],
			  t, sizeof(t));
		json_object_array_add(l, jstr(t));
	}
	return l;
}

/* "add set" for host @p host, both families, with the addresses in force
 * (none yet for a new name): the sets exist before a rule refers to them. */
static void add_host_sets(json_object *list, const char *host, const struct fw_resolver *res)
{
	const struct fw_host_addrs *a = fw_resolver_addrs(res, host);

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;
		json_object *s = set_ref(host, family);

		json_object_object_add(s, "type", jstr(f ? "ipv6_addr" : "ipv4_addr"));
		if (a && (f ? a->n6 : a->n4))
			json_object_object_add(s, "elem", elems(a, family));
		cmd(list, "add", "set", s);
	}
}

/* The sets of every host @p rs names (each name once). */
static void add_sets_of(json_object *list, const struct fw_ruleset *rs,
			const struct fw_resolver *res)
{
	for (size_t i = 0; i < rs->n; i++) {
		bool seen = !rs->rules[i].host[0];

		for (size_t j = 0; !seen && j < i; j++)
			seen = !strcmp(rs->rules[j].host, rs->rules[i].host);
		if (!seen)
			add_host_sets(list, rs->rules[i].host, res);
	}
}

static char *to_doc(json_object *list)
{
	json_object *root = jobj1("nftables", list);
	char *out = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));

	json_object_put(root);
	return out;
}

char *fw_nft_guest_json(const struct fw_ifaces *ifs, size_t gi, const struct fw_ruleset *rs,
			const struct fw_guest_counts *carry, const struct fw_resolver *res)
{
	json_object *list = json_object_new_array();
	char chain[32];

	add_sets_of(list, rs, res);
	for (int k = 0; k < 3; k++) {
		if (k == 0)
			chain_of(chain, sizeof(chain), &ifs->guests[gi]);
		else if (k == 1)
			dnat_chain_of(chain, sizeof(chain), &ifs->guests[gi]);
		else
			fwd_chain_of(chain, sizeof(chain), &ifs->guests[gi]);
		cmd(list, "flush", "chain", obj_ref(chain));
	}
	guest_chain(list, ifs, &ifs->guests[gi], rs, carry);
	return to_doc(list);
}

char *fw_nft_json(const struct fw_ruleset *const *rs, const struct fw_ifaces *ifs,
		  const struct fw_counts *carry, const struct fw_resolver *res)
{
	json_object *list = json_object_new_array(), *e;
	char chain[32];

	/* add+delete: delete alone fails when the table is not there yet. */
	cmd(list, "add", "table", table_ref());
	cmd(list, "delete", "table", table_ref());
	cmd(list, "add", "table", table_ref());
	for (size_t i = 0; i < ifs->n_guests; i++)
		add_sets_of(list, rs[i], res);
	add_chain(list, "forward", "filter", "forward", 0, "drop");
	for (size_t i = 0; i < ifs->n_guests; i++) {
		chain_of(chain, sizeof(chain), &ifs->guests[i]);
		add_chain(list, chain, NULL, NULL, 0, NULL);
		dnat_chain_of(chain, sizeof(chain), &ifs->guests[i]);
		add_chain(list, chain, NULL, NULL, 0, NULL);
		fwd_chain_of(chain, sizeof(chain), &ifs->guests[i]);
		add_chain(list, chain, NULL, NULL, 0, NULL);
	}
	add_chain(list, "input", "filter", "input", 0, "drop");
	add_chain(list, "prerouting", "nat", "prerouting", -100, "accept");
	add_chain(list, "postrouting", "nat", "postrouting", 100, "accept");
	forward_chain(list, ifs, carry);
	/* Ports forwarded from the uplink: each guest's own DNAT chain. */
	for (size_t i = 0; i < ifs->n_guests; i++) {
		dnat_chain_of(chain, sizeof(chain), &ifs->guests[i]);
		e = json_object_new_array();
		json_object_array_add(e, iface_match("iifname", ifs->uplink));
		json_object_array_add(e, jobj1("jump", jobj1("target", jstr(chain))));
		add_rule(list, "prerouting", NULL, e);
	}
	for (size_t i = 0; i < ifs->n_guests; i++)
		guest_chain(list, ifs, &ifs->guests[i], rs[i], carry ? &carry->g[i] : NULL);
	input_chain(list);
	e = json_object_new_array();
	json_object_array_add(e, iface_match("oifname", ifs->uplink));
	json_object_array_add(e, jobj1("masquerade", NULL));
	add_rule(list, "postrouting", NULL, e);
	return to_doc(list);
}

/* ---- running it ---- */

struct fw_nft *fw_nft_open(const struct fw_ifaces *ifs)
{
	struct fw_nft *nft = calloc(1, sizeof(*nft));

	if (!nft)
		return NULL;
	nft->ifs = *ifs;
	nft->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft->ctx) {
		free(nft);
		errno = ENOMEM;
		return NULL;
	}
	/* nftables 1.0.6 reads its input as JSON when its output is JSON. */
	nft_ctx_output_set_flags(nft->ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
	nft_ctx_buffer_output(nft->ctx);
	nft_ctx_buffer_error(nft->ctx);
	return nft;
}

void fw_nft_close(struct fw_nft *nft)
{
	if (!nft)
		return;
	nft_ctx_free(nft->ctx);
	free(nft);
}

/* The first line of libnftables' error text, for a person to read. */
static void first_error(struct fw_nft *nft, char *why, size_t whylen)
{
	const char *e = nft_ctx_get_error_buffer(nft->ctx);
	size_t n = e ? strcspn(e, "\n") : 0;

	snprintf(why, whylen, "nftables: %.*s", (int)(n > 200 ? 200 : n), n ? e : "failed");
}

static int run(struct fw_nft *nft, const char *doc, char *why, size_t whylen)
{
	if (nft_run_cmd_from_buffer(nft->ctx, doc)) {
		if (why)
			first_error(nft, why, whylen);
		return -EIO;
	}
	return 0;
}

int fw_nft_apply(struct fw_nft *nft, const struct fw_ruleset *const *rs, char *why,
		 size_t whylen)
{
	char *doc = fw_nft_json(rs, &nft->ifs, NULL, nft->res);
	int err;

	if (!doc)
		return -ENOMEM;
	err = run(nft, doc, why, whylen);
	free(doc);
	return err;
}

int fw_nft_apply_guest(struct fw_nft *nft, size_t gi, const struct fw_ruleset *rs, char *why,
		       size_t whylen)
{
	struct fw_counts carry;
	bool have = fw_nft_counters(nft, gi, &carry) == 0;
	char *doc = fw_nft_guest_json(&nft->ifs, gi, rs, have ? &carry.g[gi] : NULL, nft->res);
	int err;

	if (have)
		fw_counts_free(&carry);
	if (!doc)
		return -ENOMEM;
	err = run(nft, doc, why, whylen);
	free(doc);
	return err;
}

/* ---- counters: list the table as JSON, read each rule's counter ---- */

static bool rule_counter(json_object *rule, uint64_t *packets, uint64_t *bytes)
{
	json_object *expr, *c, *v;

	if (!json_object_object_get_ex(rule, "expr", &expr) ||
	    !json_object_is_type(expr, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(expr); i++) {
		if (!json_object_object_get_ex(json_object_array_get_idx(expr, i), "counter", &c))
			continue;
		*packets = json_object_object_get_ex(c, "packets", &v) ? (uint64_t)json_object_get_int64(v) : 0;
		*bytes = json_object_object_get_ex(c, "bytes", &v) ? (uint64_t)json_object_get_int64(v) : 0;
		return true;
	}
	return false;
}

void fw_nft_set_resolver(struct fw_nft *nft, const struct fw_resolver *res)
{
	nft->res = res;
}

/* Runs the commands @p list about host @p host's sets (taken over); a
 * failure is logged under the host's name: no caller waits for it. */
static int run_host(struct fw_nft *nft, json_object *list, const char *host)
{
	char why[FW_REASON_LEN], *doc = to_doc(list);
	int err;

	if (!doc)
		return -ENOMEM;
	err = run(nft, doc, why, sizeof(why));
	free(doc);
	if (err)
		fprintf(stderr, "vapp-firewalld: %s: %s\n", host, why);
	return err;
}

int fw_nft_set_host(struct fw_nft *nft, const char *host, const struct fw_host_addrs *a)
{
	json_object *list = json_object_new_array(), *e;

	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		e = set_ref(host, family);
		json_object_object_add(e, "type", jstr(f ? "ipv6_addr" : "ipv4_addr"));
		cmd(list, "add", "set", e);
		cmd(list, "flush", "set", set_ref(host, family));
		if (f ? a->n6 : a->n4) {
			e = set_ref(host, family);
			json_object_object_add(e, "elem", elems(a, family));
			cmd(list, "add", "element", e);
		}
	}
	return run_host(nft, list, host);
}

int fw_nft_drop_host(struct fw_nft *nft, const char *host)
{
	json_object *list = json_object_new_array();

	cmd(list, "delete", "set", set_ref(host, AF_INET));
	cmd(list, "delete", "set", set_ref(host, AF_INET6));
	return run_host(nft, list, host);
}

void fw_counts_free(struct fw_counts *c)
{
	for (size_t i = 0; i < FW_MAX_GUESTS; i++) {
		free(c->g[i].rules);
		c->g[i].rules = NULL;
		c->g[i].n = 0;
	}
}

static void add_count(struct fw_count *sum, const struct fw_count *c)
{
	sum->packets += c->packets;
	sum->bytes += c->bytes;
}

/* The guest whose chain @p rule is in, or NULL (another chain). */
static struct fw_guest_counts *guest_of(const struct fw_ifaces *ifs, struct fw_counts *out,
					json_object *rule)
{
	json_object *v;
	const char *chain;
	char mine[32];

	if (!json_object_object_get_ex(rule, "chain", &v) || !(chain = json_object_get_string(v)))
		return NULL;
	for (size_t i = 0; i < ifs->n_guests; i++) {
		chain_of(mine, sizeof(mine), &ifs->guests[i]);
		if (!strcmp(chain, mine))
			return &out->g[i];
	}
	return NULL;
}

static int collect(const struct fw_ifaces *ifs, json_object *root, struct fw_counts *out)
{
	json_object *list, *rule, *v;
	size_t n;

	if (!json_object_object_get_ex(root, "nftables", &list) ||
	    !json_object_is_type(list, json_type_array))
		return -EPROTO;
	n = json_object_array_length(list);
	for (size_t i = 0; i < ifs->n_guests; i++) {
		struct fw_count *more = realloc(out->g[i].rules, (out->g[i].n + n + 1) * sizeof(*more));

		if (!more)
			return -ENOMEM;
		out->g[i].rules = more;
	}
	for (size_t i = 0; i < n; i++) {
		struct fw_count c = { 0 };
		struct fw_guest_counts *g;
		const char *comment;
		unsigned id;

		if (!json_object_object_get_ex(json_object_array_get_idx(list, i), "rule", &rule) ||
		    !json_object_object_get_ex(rule, "comment", &v) ||
		    !(comment = json_object_get_string(v)) ||
		    !rule_counter(rule, &c.packets, &c.bytes))
			continue;
		if (!strcmp(comment, "uplink")) {
			out->uplink = c;
			continue;
		}
		if (!(g = guest_of(ifs, out, rule)))
			continue;
		if (!strcmp(comment, "default")) {
			g->policy = c;
		} else if (!strcmp(comment, "guest")) {
			g->guest = c;
		} else if (!strcmp(comment, "spoof")) {
			add_count(&g->spoof, &c);
		} else if (sscanf(comment, "id:%u", &id) == 1) {
			c.id = id;
			if (g->n && g->rules[g->n - 1].id == id)
				add_count(&g->rules[g->n - 1], &c); /* a host rule's other family */
			else
				g->rules[g->n++] = c;
		}
	}
	return 0;
}

/* Lists chain @p chain and collects its counters into @p out. */
static int count_chain(struct fw_nft *nft, const char *chain, struct fw_counts *out)
{
	json_object *list = json_object_new_array(), *root;
	char *doc;
	int err;

	cmd(list, "list", "chain", obj_ref(chain));
	if (!(doc = to_doc(list)))
		return -ENOMEM;
	err = run(nft, doc, NULL, 0);
	free(doc);
	if (err)
		return err; /* no table yet */
	root = json_tokener_parse(nft_ctx_get_output_buffer(nft->ctx));
	if (!root)
		return -EPROTO;
	err = collect(&nft->ifs, root, out);
	json_object_put(root);
	return err;
}

/* One guest's chain and the forward chain (the uplink's count), never the
 * whole table: listing every guest's rules costs what the appliance lacks. */
int fw_nft_counters(struct fw_nft *nft, size_t gi, struct fw_counts *out)
{
	char chain[32];
	int err;

	memset(out, 0, sizeof(*out));
	if (gi >= nft->ifs.n_guests)
		return -EINVAL;
	chain_of(chain, sizeof(chain), &nft->ifs.guests[gi]);
	err = count_chain(nft, chain, out);
	if (!err)
		err = count_chain(nft, "forward", out);
	if (err)
		fw_counts_free(out);
	return err;
}
