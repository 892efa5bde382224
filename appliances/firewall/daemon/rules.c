/*
 * rules.c - the typed rule model. Everything a caller sends is checked here,
 * field by field, and turned into numbers and address bytes; the nftables
 * JSON is later made from those alone (nft.c), so no caller's text ever
 * reaches netfilter. Each refusal names the field it is about.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "fw.h"
#include "vapp_util.h"

#define DEST_MAX 64 /* longer than any address/prefix text */

int fw_action_from_pb(int action, const char *field, enum fw_action *out, char *why,
		      size_t whylen)
{
	switch (action) {
	case VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT:
		*out = FW_ACCEPT;
		return 0;
	case VAPP__FIREWALL__V1__ACTION__ACTION_DROP:
		*out = FW_DROP;
		return 0;
	default:
		snprintf(why, whylen, "%s: must be ACTION_ACCEPT or ACTION_DROP (got %d)", field,
			 action);
		return -EINVAL;
	}
}

/* "A", "A/N": parsed with inet_pton only, so nothing but an address in
 * canonical-or-not numeric form gets through (no names, no spaces). */
static int parse_dest(const char *s, const char *field, struct fw_rule *r, char *why,
		      size_t whylen)
{
	char buf[DEST_MAX], *slash, *end;
	size_t len = strnlen(s, DEST_MAX);
	unsigned long plen;
	int max;

	if (len == 0) {
		r->family = 0;
		return 0;
	}
	if (len >= DEST_MAX) {
		snprintf(why, whylen, "%s.destination: too long for an address or prefix", field);
		return -EINVAL;
	}
	memcpy(buf, s, len + 1);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, r->addr) == 1) {
		r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, r->addr) == 1) {
		r->family = AF_INET6;
		max = 128;
	} else {
		snprintf(why, whylen, "%s.destination: \"%.*s\" is not an IPv4 or IPv6 address",
			 field, 48, buf);
		return -EINVAL;
	}
	plen = max;
	if (slash) {
		errno = 0;
		if (slash[1] < '0' || slash[1] > '9' ||
		    (plen = strtoul(slash + 1, &end, 10), *end || errno) || plen > (unsigned)max) {
			snprintf(why, whylen, "%s.destination: prefix length must be 0..%d", field,
				 max);
			return -EINVAL;
		}
	}
	r->plen = (uint8_t)plen;
	/* Host bits set usually means a typo in the prefix: refuse, don't guess. */
	for (int bit = (int)plen; bit < max; bit++) {
		if (r->addr[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(why, whylen, "%s.destination: host bits set beyond /%lu", field,
				 plen);
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_icmp(const Vapp__Firewall__V1__Rule *in, const char *field, struct fw_rule *r,
		      char *why, size_t whylen)
{
	if (!in->icmp)
		return 0;
	if (r->proto != FW_ICMP) {
		snprintf(why, whylen, "%s.icmp: an ICMP type needs protocol ICMP", field);
		return -EINVAL;
	}
	if (in->icmp->type > 255) {
		snprintf(why, whylen, "%s.icmp.type: %u is not an ICMP type (0..255)", field,
			 in->icmp->type);
		return -EINVAL;
	}
	r->has_icmp_type = true;
	r->icmp_type = (uint8_t)in->icmp->type;
	return 0;
}

/* Printable ASCII only: it is shown to people, in lists and exports. */
static int parse_comment(const char *s, const char *field, struct fw_rule *r, char *why,
			 size_t whylen)
{
	size_t len = strnlen(s, FW_COMMENT_MAX + 1);

	if (len > FW_COMMENT_MAX) {
		snprintf(why, whylen, "%s.comment: longer than %d bytes", field, FW_COMMENT_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
			snprintf(why, whylen, "%s.comment: byte %zu is not printable ASCII", field,
				 i);
			return -EINVAL;
		}
	}
	memcpy(r->comment, s, len + 1);
	return 0;
}

/* A DNS name instead of a destination, taken in lower case. */
static int parse_host(const Vapp__Firewall__V1__Rule *in, const char *field, struct fw_rule *r,
		      char *why, size_t whylen)
{
	const char *s = in->host ? in->host : "";
	size_t len = strnlen(s, FW_HOST_MAX + 1);

	if (!len)
		return 0;
	if (r->family) {
		snprintf(why, whylen, "%s.host: a rule names a destination or a host, not both", field);
		return -EINVAL;
	}
	if (len > FW_HOST_MAX) {
		snprintf(why, whylen, "%s.host: longer than %d bytes", field, FW_HOST_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++)
		r->host[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	if (!fw_host_name_ok(r->host)) {
		snprintf(why, whylen, "%s.host: '%.64s' is not a host name (dotted labels of "
				      "letters, digits, '-' and '_')", field, s);
		return -EINVAL;
	}
	return 0;
}

/* SPECIAL_DNS: the appliance's DNS server, port 53; alone, UDP or TCP. */
static int parse_special(const Vapp__Firewall__V1__Rule *in, const char *field, struct fw_rule *r,
			 char *why, size_t whylen)
{
	if (in->special == VAPP__FIREWALL__V1__SPECIAL__SPECIAL_NONE)
		return 0;
	if (in->special != VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS) {
		snprintf(why, whylen, "%s.special: unknown special target %d", field, in->special);
		return -EINVAL;
	}
	if (r->family || r->host[0]) {
		snprintf(why, whylen, "%s.special: a rule names a destination, a host or a special "
				      "target, one only", field);
		return -EINVAL;
	}
	if (in->port_min || in->port_max) {
		snprintf(why, whylen, "%s.special: DNS is port 53, give no port", field);
		return -EINVAL;
	}
	if (r->proto == FW_ICMP) {
		snprintf(why, whylen, "%s.special: DNS is UDP or TCP", field);
		return -EINVAL;
	}
	r->dns = true;
	return 0;
}

int fw_rule_from_pb(const Vapp__Firewall__V1__Rule *in, const char *field,
		    struct fw_rule *out, char *why, size_t whylen)
{
	struct fw_rule r = { .id = in->id };
	int err;

	switch (in->protocol) {
	case VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ANY: r.proto = FW_ANY; break;
	case VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP: r.proto = FW_TCP; break;
	case VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP: r.proto = FW_UDP; break;
	case VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ICMP: r.proto = FW_ICMP; break;
	default:
		snprintf(why, whylen, "%s.protocol: unknown protocol %d", field, in->protocol);
		return -EINVAL;
	}
	err = parse_dest(in->destination ? in->destination : "", field, &r, why, whylen);
	if (!err)
		err = parse_host(in, field, &r, why, whylen);
	if (!err)
		err = parse_special(in, field, &r, why, whylen);
	if (err)
		return err;
	if (in->port_min > 65535) {
		snprintf(why, whylen, "%s.port_min: %u is not a port (1..65535)", field,
			 in->port_min);
		return -EINVAL;
	}
	if (in->port_max > 65535) {
		snprintf(why, whylen, "%s.port_max: %u is not a port (1..65535)", field,
			 in->port_max);
		return -EINVAL;
	}
	if (in->port_max && !in->port_min) {
		snprintf(why, whylen, "%s.port_min: must be set when port_max is", field);
		return -EINVAL;
	}
	if (in->port_max && in->port_max < in->port_min) {
		snprintf(why, whylen, "%s.port_max: %u is below port_min %u", field, in->port_max,
			 in->port_min);
		return -EINVAL;
	}
	if (in->port_min && r.proto != FW_TCP && r.proto != FW_UDP) {
		snprintf(why, whylen, "%s.port_min: a port needs protocol TCP or UDP", field);
		return -EINVAL;
	}
	r.expire = in->expire;
	r.port_min = (uint16_t)in->port_min;
	r.port_max = (uint16_t)(in->port_max ? in->port_max : in->port_min);
	err = parse_icmp(in, field, &r, why, whylen);
	if (!err)
		err = parse_comment(in->comment ? in->comment : "", field, &r, why, whylen);
	if (err)
		return err;
	char sub[96];
	snprintf(sub, sizeof(sub), "%s.action", field);
	err = fw_action_from_pb(in->action, sub, &r.action, why, whylen);
	if (err)
		return err;
	*out = r;
	return 0;
}

void fw_ruleset_init(struct fw_ruleset *rs, enum fw_action policy)
{
	memset(rs, 0, sizeof(*rs));
	rs->policy = policy;
	rs->next_id = 1;
}

void fw_ruleset_fini(struct fw_ruleset *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	rs->rules = NULL;
	rs->n = 0;
}

int fw_ruleset_copy(const struct fw_ruleset *src, struct fw_ruleset *dst)
{
	*dst = *src;
	dst->rules = NULL;
	if (src->n) {
		dst->rules = malloc(src->n * sizeof(*dst->rules));
		if (!dst->rules)
			return -ENOMEM;
		memcpy(dst->rules, src->rules, src->n * sizeof(*dst->rules));
	}
	return 0;
}

ssize_t fw_ruleset_find(const struct fw_ruleset *rs, uint32_t id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->rules[i].id == id)
			return (ssize_t)i;
	return -1;
}

int fw_ruleset_insert(struct fw_ruleset *rs, size_t pos, const struct fw_rule *r)
{
	struct fw_rule *n = realloc(rs->rules, (rs->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	rs->rules = n;
	memmove(&n[pos + 1], &n[pos], (rs->n - pos) * sizeof(*n));
	n[pos] = *r;
	rs->n++;
	return 0;
}

void fw_ruleset_remove(struct fw_ruleset *rs, size_t pos)
{
	memmove(&rs->rules[pos], &rs->rules[pos + 1], (rs->n - pos - 1) * sizeof(*rs->rules));
	rs->n--;
}

/*
 * Ids: a rule keeps the id it is given (so list, edit, replace keeps them
 * stable); 0 gets the next free one. next_id only grows, so a deleted id is
 * not handed out again while the ruleset lives.
 */
static int forward_from_pb(const Vapp__Firewall__V1__PortForward *in, const char *field,
			   struct fw_forward *out, char *why, size_t whylen)
{
	const char *to = in->to_address ? in->to_address : "";

	if (in->protocol != VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP &&
	    in->protocol != VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP) {
		snprintf(why, whylen, "%s.protocol: TCP or UDP", field);
		return -EINVAL;
	}
	out->proto = in->protocol == VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP ? FW_TCP : FW_UDP;
	if (!in->port || in->port > 65535) {
		snprintf(why, whylen, "%s.port: %u is not a port (1..65535)", field, in->port);
		return -EINVAL;
	}
	if (in->to_port > 65535) {
		snprintf(why, whylen, "%s.to_port: %u is not a port (1..65535)", field, in->to_port);
		return -EINVAL;
	}
	if (strnlen(to, 16) >= 16 || inet_pton(AF_INET, to, out->to) != 1) {
		snprintf(why, whylen, "%s.to_address: '%.48s' is not an IPv4 address", field, to);
		return -EINVAL;
	}
	out->port = (uint16_t)in->port;
	out->to_port = (uint16_t)(in->to_port ? in->to_port : in->port);
	return 0;
}

/* The forwards of @p in into @p out: checked, no uplink port twice. */
static int forwards_from_pb(const Vapp__Firewall__V1__Ruleset *in, struct fw_ruleset *out,
			    char *why, size_t whylen)
{
	char field[48];

	if (in->n_forwards > FW_MAX_FORWARDS) {
		snprintf(why, whylen, "ruleset.forwards: %zu, at most %d", in->n_forwards,
			 FW_MAX_FORWARDS);
		return -EINVAL;
	}
	for (size_t i = 0; i < in->n_forwards; i++) {
		struct fw_forward *f = &out->fwd[i];

		snprintf(field, sizeof(field), "ruleset.forwards[%zu]", i);
		if (forward_from_pb(in->forwards[i], field, f, why, whylen))
			return -EINVAL;
		for (size_t j = 0; j < i; j++) {
			if (out->fwd[j].proto == f->proto && out->fwd[j].port == f->port) {
				snprintf(why, whylen, "%s.port: %u is forwarded by forwards[%zu] too",
					 field, f->port, j);
				return -EINVAL;
			}
		}
		out->n_fwd = i + 1;
	}
	return 0;
}

int fw_forwards_check(const struct fw_ruleset *rs, const struct fw_guest_if *g,
		      const struct fw_ruleset *const *others, size_t n, char *why, size_t whylen)
{
	uint8_t net[16];
	unsigned long plen;
	int family;

	for (size_t i = 0; i < rs->n_fwd; i++) {
		const struct fw_forward *f = &rs->fwd[i];
		uint32_t a, b, mask;

		if (!g->net4[0] || vapp_cidr_parse(g->net4, &family, net, &plen) ||
		    family != AF_INET) {
			snprintf(why, whylen, "ruleset.forwards[%zu]: guest %s has no IPv4 network",
				 i, g->name);
			return -EINVAL;
		}
		memcpy(&a, f->to, 4);
		memcpy(&b, net, 4);
		mask = plen ? htonl(~0u << (32 - plen)) : 0;
		if ((a & mask) != (b & mask)) {
			snprintf(why, whylen, "ruleset.forwards[%zu].to_address: not in guest %s's "
					      "network %s", i, g->name, g->net4);
			return -EINVAL;
		}
		for (size_t o = 0; o < n; o++) {
			for (size_t j = 0; others[o] && j < others[o]->n_fwd; j++) {
				if (others[o]->fwd[j].proto == f->proto && others[o]->fwd[j].port == f->port) {
					snprintf(why, whylen, "ruleset.forwards[%zu].port: %u is "
							      "forwarded to another guest", i, f->port);
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

int fw_ruleset_from_pb(const Vapp__Firewall__V1__Ruleset *in, const struct fw_ruleset *cur,
		       struct fw_ruleset *out, char *why, size_t whylen)
{
	size_t n = in->n_rules;
	uint32_t next = cur ? cur->next_id : 1;
	char field[48];
	int err;

	fw_ruleset_init(out, FW_DROP);
	err = fw_action_from_pb(in->default_policy, "ruleset.default_policy", &out->policy, why,
				whylen);
	if (err)
		return err;
	if (n > FW_MAX_RULES) {
		snprintf(why, whylen, "ruleset.rules: %zu rules, at most %d", n, FW_MAX_RULES);
		return -EINVAL;
	}
	err = forwards_from_pb(in, out, why, whylen);
	if (err)
		return err;
	if (n && !(out->rules = calloc(n, sizeof(*out->rules))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "ruleset.rules[%zu]", i);
		err = fw_rule_from_pb(in->rules[i], field, &out->rules[i], why, whylen);
		if (err)
			goto err_rules;
		out->n = i + 1;
		if (out->rules[i].id >= next && out->rules[i].id != UINT32_MAX)
			next = out->rules[i].id + 1;
		for (size_t j = 0; j < i; j++) {
			if (out->rules[i].id && out->rules[j].id == out->rules[i].id) {
				snprintf(why, whylen, "%s.id: %u is also the id of rules[%zu]",
					 field, out->rules[i].id, j);
				err = -EINVAL;
				goto err_rules;
			}
		}
		if (out->rules[i].id == UINT32_MAX) {
			snprintf(why, whylen, "%s.id: %u is reserved", field, UINT32_MAX);
			err = -EINVAL;
			goto err_rules;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!out->rules[i].id)
			out->rules[i].id = next++;
	out->next_id = next;
	out->generation = cur ? cur->generation + 1 : 1;
	return 0;

err_rules:
	fw_ruleset_fini(out);
	return err;
}

void fw_rule_dest_str(const struct fw_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!r->family) {
		snprintf(buf, len, "any");
		return;
	}
	inet_ntop(r->family, r->addr, a, sizeof(a));
	if (r->plen == (r->family == AF_INET ? 32 : 128))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, r->plen);
}

void fw_rule_to_pb(const struct fw_rule *r, struct fw_pb_rule *out)
{
	static const int protos[] = {
		[FW_ANY] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ANY,
		[FW_TCP] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP,
		[FW_UDP] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP,
		[FW_ICMP] = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ICMP,
	};
	Vapp__Firewall__V1__Rule *m = &out->rule;

	vapp__firewall__v1__rule__init(m);
	m->id = r->id;
	m->protocol = protos[r->proto];
	if (r->family)
		fw_rule_dest_str(r, out->addr, sizeof(out->addr));
	else
		out->addr[0] = '\0';
	m->destination = out->addr;
	m->port_min = r->port_min;
	m->port_max = r->port_max != r->port_min ? r->port_max : 0;
	m->action = r->action == FW_ACCEPT ? VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT
					   : VAPP__FIREWALL__V1__ACTION__ACTION_DROP;
	if (r->has_icmp_type) {
		vapp__firewall__v1__icmp_match__init(&out->icmp);
		out->icmp.type = r->icmp_type;
		m->icmp = &out->icmp;
	}
	snprintf(out->comment, sizeof(out->comment), "%s", r->comment);
	m->comment = out->comment;
	m->host = (char *)r->host;
	m->expire = r->expire;
	m->special = r->dns ? VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS
			    : VAPP__FIREWALL__V1__SPECIAL__SPECIAL_NONE;
}

/* The addresses in force for host rule @p r, as text, from @p *next on. */
static void put_resolved(const struct fw_host_addrs *a, Vapp__Firewall__V1__Rule *m,
			 char **ptrs, char (*text)[INET6_ADDRSTRLEN])
{
	m->resolved = ptrs;
	for (size_t i = 0; i < a->n4; i++) {
		inet_ntop(AF_INET, a->a4[i], text[m->n_resolved], INET6_ADDRSTRLEN);
		ptrs[m->n_resolved] = text[m->n_resolved];
		m->n_resolved++;
	}
	for (size_t i = 0; i < a->n6; i++) {
		inet_ntop(AF_INET6, a->a6[i], text[m->n_resolved], INET6_ADDRSTRLEN);
		ptrs[m->n_resolved] = text[m->n_resolved];
		m->n_resolved++;
	}
}

/* The forwards, in one allocation (its start is forwards[0]). */
struct pb_forward {
	Vapp__Firewall__V1__PortForward m;
	char to[INET_ADDRSTRLEN];
};

static int forwards_to_pb(const struct fw_ruleset *rs, Vapp__Firewall__V1__Ruleset *out)
{
	struct pb_forward *f;
	Vapp__Firewall__V1__PortForward **ptrs;

	if (!rs->n_fwd)
		return 0;
	f = calloc(rs->n_fwd, sizeof(*f));
	ptrs = calloc(rs->n_fwd, sizeof(*ptrs));
	if (!f || !ptrs) {
		free(f);
		free(ptrs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rs->n_fwd; i++) {
		vapp__firewall__v1__port_forward__init(&f[i].m);
		f[i].m.protocol = rs->fwd[i].proto == FW_TCP ? VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP
							     : VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP;
		f[i].m.port = rs->fwd[i].port;
		inet_ntop(AF_INET, rs->fwd[i].to, f[i].to, sizeof(f[i].to));
		f[i].m.to_address = f[i].to;
		f[i].m.to_port = rs->fwd[i].to_port;
		ptrs[i] = &f[i].m;
	}
	out->forwards = ptrs;
	out->n_forwards = rs->n_fwd;
	return 0;
}

/* One allocation for the rules and what they point into (slots first, so
 * fw_ruleset_pb_free() frees it by rules[0]), the addresses text last. */
int fw_ruleset_to_pb(const struct fw_ruleset *rs, const struct fw_resolver *res,
		     Vapp__Firewall__V1__Ruleset *out)
{
	struct fw_pb_rule *slots = NULL;
	Vapp__Firewall__V1__Rule **ptrs = NULL;
	size_t n_addr = 0, at = 0;
	char **aptr = NULL, (*atext)[INET6_ADDRSTRLEN] = NULL;

	vapp__firewall__v1__ruleset__init(out);
	for (size_t i = 0; res && i < rs->n; i++) {
		const struct fw_host_addrs *a;

		if (rs->rules[i].host[0] && (a = fw_resolver_addrs(res, rs->rules[i].host)))
			n_addr += a->n4 + a->n6;
	}
	if (rs->n) {
		slots = calloc(1, rs->n * sizeof(*slots) + n_addr * (sizeof(char *) + INET6_ADDRSTRLEN));
		ptrs = calloc(rs->n, sizeof(*ptrs));
		if (!slots || !ptrs) {
			free(slots);
			free(ptrs);
			return -ENOMEM;
		}
		aptr = (char **)(slots + rs->n);
		atext = (char (*)[INET6_ADDRSTRLEN])(aptr + n_addr);
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct fw_host_addrs *a;

		fw_rule_to_pb(&rs->rules[i], &slots[i]);
		ptrs[i] = &slots[i].rule;
		if (res && rs->rules[i].host[0] && (a = fw_resolver_addrs(res, rs->rules[i].host))) {
			put_resolved(a, &slots[i].rule, aptr + at, atext + at);
			at += slots[i].rule.n_resolved;
		}
	}
	out->rules = ptrs;
	out->n_rules = rs->n;
	if (forwards_to_pb(rs, out)) {
		free(slots);
		free(ptrs);
		out->rules = NULL;
		out->n_rules = 0;
		return -ENOMEM;
	}
	out->default_policy = rs->policy == FW_ACCEPT ? VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT
						      : VAPP__FIREWALL__V1__ACTION__ACTION_DROP;
	out->generation = rs->generation;
	return 0;
}

void fw_ruleset_pb_free(Vapp__Firewall__V1__Ruleset *out)
{
	/* rules[0] is the start of the slot array (struct's first member). */
	if (out->n_rules)
		free(out->rules[0]);
	free(out->rules);
	out->rules = NULL;
	out->n_rules = 0;
	if (out->n_forwards)
		free(out->forwards[0]);
	free(out->forwards);
	out->forwards = NULL;
	out->n_forwards = 0;
}

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '_' || c == '-'));
}

bool fw_guest_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > FW_GUEST_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i], i == 0))
			return false;
	return true;
}
