/*
 * qubes_rules.c - Qubes' firewall rule lists to and from the typed Ruleset
 * (see qubes_rules.h). The text is the user's file: any bytes, checked word
 * by word, every problem reported with its line and column, and nothing
 * taken from a list with any; the appliance checks the result again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qubes_rules.h"
#include "fw.h" /* fw_host_name_ok(), FW_HOST_MAX: the appliance's own check */

#define MAX_RULES 1024   /* the appliance's FW_MAX_RULES */
#define MAX_ERRORS 20
#define COMMENT_MAX 64
#define DEST_MAX 64

enum key { K_ACTION, K_DST4, K_DST6, K_DSTHOST, K_PROTO, K_DSTPORTS, K_ICMPTYPE, K_COMMENT,
	   K_SPECIAL, K_EXPIRE, K_N };

static const char *const key_names[K_N] = {
	"action", "dst4", "dst6", "dsthost", "proto", "dstports", "icmptype", "comment",
	"specialtarget", "expire",
};

/* A rule and what its fields point into. */
struct slot {
	Vapp__Firewall__V1__Rule rule;
	Vapp__Firewall__V1__IcmpMatch icmp;
	char dest[DEST_MAX];
	char comment[COMMENT_MAX + 1];
	char host[FW_HOST_MAX + 1];
};

struct reader {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen, used;
	unsigned errors;
};

static void complain(struct reader *r, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void complain(struct reader *r, size_t col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->errors++ >= MAX_ERRORS || r->used + 1 >= r->errlen)
		return;
	n = snprintf(r->err + r->used, r->errlen - r->used, "%s:%u:%zu: ", r->file, r->line, col);
	if (n > 0 && r->used + (size_t)n < r->errlen) {
		r->used += (size_t)n;
		va_start(ap, fmt);
		n = vsnprintf(r->err + r->used, r->errlen - r->used, fmt, ap);
		va_end(ap);
		if (n > 0)
			r->used += (size_t)n < r->errlen - r->used ? (size_t)n : r->errlen - r->used - 1;
	}
	if (r->used + 1 < r->errlen) {
		r->err[r->used++] = '\n';
		r->err[r->used] = '\0';
	}
}

/* @p s (@p len bytes) quoted for a message: printable ASCII, cut at 40. */
static const char *quote(const char *s, size_t len)
{
	static char buf[4 * 40 + 8];
	size_t o = 0;

	for (size_t i = 0; i < len && i < 40; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x", c);
	}
	if (len > 40)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "...");
	buf[o] = '\0';
	return buf;
}

/* "A" or "A/N" of @p family (0: either). @return the family, or 0. */
static int parse_prefix(const char *v, size_t len, int family, char *out)
{
	char buf[DEST_MAX], *slash, *end;
	unsigned char a[16];
	unsigned long plen;
	int fam, max;

	if (!len || len >= sizeof(buf))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if ((family == 0 || family == AF_INET) && inet_pton(AF_INET, buf, a) == 1)
		fam = AF_INET, max = 32;
	else if ((family == 0 || family == AF_INET6) && inet_pton(AF_INET6, buf, a) == 1)
		fam = AF_INET6, max = 128;
	else
		return 0;
	plen = (unsigned long)max;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return 0;
		plen = strtoul(slash + 1, &end, 10);
		if (*end || plen > (unsigned long)max)
			return 0;
		*slash = '/';
	}
	for (int bit = (int)plen; bit < max; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return -1; /* host bits set */
	memcpy(out, buf, len + 1);
	return fam;
}

static bool parse_num(const char *v, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long n = 0;

	if (!len || len > 6)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	*out = n;
	return n <= max;
}

static void take_dest(struct reader *r, struct slot *s, enum key k, const char *v, size_t len,
		      size_t col)
{
	int family = k == K_DST4 ? AF_INET : k == K_DST6 ? AF_INET6 : 0;
	int got = parse_prefix(v, len, family, s->dest);

	if (got > 0)
		return;
	if (got < 0) {
		complain(r, col, "%s=%s: host bits set beyond the prefix length", key_names[k],
			 quote(v, len));
	} else if (k == K_DSTHOST) {
		/* A name: the appliance resolves it (and again by its TTL). */
		for (size_t i = 0; i < len && i < FW_HOST_MAX; i++)
			s->host[i] = (v[i] >= 'A' && v[i] <= 'Z') ? (char)(v[i] - 'A' + 'a') : v[i];
		s->host[len < FW_HOST_MAX ? len : FW_HOST_MAX] = '\0';
		if (len <= FW_HOST_MAX && fw_host_name_ok(s->host))
			s->rule.host = s->host;
		else
			complain(r, col, "dsthost=%s: not an address, a prefix or a host name",
				 quote(v, len));
	} else
		complain(r, col, "%s=%s: not an %s address or prefix", key_names[k], quote(v, len),
			 k == K_DST4 ? "IPv4" : "IPv6");
}

static void take_ports(struct reader *r, struct slot *s, const char *v, size_t len, size_t col)
{
	const char *dash = memchr(v, '-', len);
	unsigned long lo, hi;
	size_t n = dash ? (size_t)(dash - v) : len;

	if (!parse_num(v, n, 65535, &lo) || !lo ||
	    (dash && (!parse_num(dash + 1, len - n - 1, 65535, &hi) || hi < lo))) {
		complain(r, col, "dstports=%s: not a port or a range N-M of ports (1..65535)",
			 quote(v, len));
		return;
	}
	s->rule.port_min = (uint32_t)lo;
	s->rule.port_max = dash && hi != lo ? (uint32_t)hi : 0;
}

static void take_value(struct reader *r, struct slot *s, enum key k, const char *v, size_t len,
		       size_t col)
{
	unsigned long n;

	switch (k) {
	case K_ACTION:
		if (len == 6 && !memcmp(v, "accept", 6))
			s->rule.action = VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT;
		else if (len == 4 && !memcmp(v, "drop", 4))
			s->rule.action = VAPP__FIREWALL__V1__ACTION__ACTION_DROP;
		else
			complain(r, col, "action=%s: accept or drop", quote(v, len));
		break;
	case K_DST4:
	case K_DST6:
	case K_DSTHOST:
		take_dest(r, s, k, v, len, col);
		break;
	case K_PROTO:
		if (len == 3 && !memcmp(v, "tcp", 3))
			s->rule.protocol = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP;
		else if (len == 3 && !memcmp(v, "udp", 3))
			s->rule.protocol = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP;
		else if (len == 4 && !memcmp(v, "icmp", 4))
			s->rule.protocol = VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ICMP;
		else
			complain(r, col, "proto=%s: tcp, udp or icmp", quote(v, len));
		break;
	case K_DSTPORTS:
		take_ports(r, s, v, len, col);
		break;
	case K_ICMPTYPE:
		if (!parse_num(v, len, 255, &n)) {
			complain(r, col, "icmptype=%s: not an ICMP type (0..255)", quote(v, len));
			break;
		}
		vapp__firewall__v1__icmp_match__init(&s->icmp);
		s->icmp.type = (uint32_t)n;
		s->rule.icmp = &s->icmp;
		break;
	case K_COMMENT:
		if (len > COMMENT_MAX) {
			complain(r, col, "comment: longer than %d bytes", COMMENT_MAX);
			break;
		}
		for (size_t i = 0; i < len; i++) {
			if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
				complain(r, col + 8 + i, "comment: not printable ASCII");
				return;
			}
		}
		memcpy(s->comment, v, len);
		s->comment[len] = '\0';
		break;
	case K_EXPIRE: {
		/* Unix time, as qvm-firewall writes it (a "+N" is resolved there). */
		uint64_t t = 0;
		bool ok = len && len <= 19;

		for (size_t i = 0; ok && i < len; i++) {
			ok = v[i] >= '0' && v[i] <= '9';
			t = t * 10 + (uint64_t)(v[i] - '0');
		}
		if (!ok || !t)
			complain(r, col, "expire=%s: not a Unix time (seconds)", quote(v, len));
		else
			s->rule.expire = t;
		break;
	}
	case K_SPECIAL:
		if (len == 3 && !memcmp(v, "dns", 3))
			s->rule.special = VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS;
		else
			complain(r, col, "specialtarget=%s: only dns", quote(v, len));
		break;
	case K_N:
		break;
	}
}

/* The checks between words, once the line is read. */
static void check_line(struct reader *r, struct slot *s, const size_t *cols)
{
	int proto = s->rule.protocol;

	if (!cols[K_ACTION])
		complain(r, 1, "no action= (accept or drop)");
	if ((cols[K_DST4] != 0) + (cols[K_DST6] != 0) + (cols[K_DSTHOST] != 0) > 1)
		complain(r, cols[K_DST6] ? cols[K_DST6] : cols[K_DSTHOST],
			 "one destination a rule: dst4=, dst6= or dsthost=");
	if (cols[K_DSTPORTS] && proto != VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP &&
	    proto != VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP)
		complain(r, cols[K_DSTPORTS], "dstports= needs proto=tcp or proto=udp");
	if (cols[K_ICMPTYPE] && proto != VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ICMP)
		complain(r, cols[K_ICMPTYPE], "icmptype= needs proto=icmp");
}

static enum key find_key(const char *k, size_t len)
{
	for (int i = 0; i < K_N; i++)
		if (strlen(key_names[i]) == len && !memcmp(k, key_names[i], len))
			return (enum key)i;
	return K_N;
}

/* One rule line (no newline) into @p s. */
static void read_line(struct reader *r, const char *p, size_t len, struct slot *s)
{
	size_t cols[K_N] = { 0 }, i = 0;

	vapp__firewall__v1__rule__init(&s->rule);
	s->rule.destination = s->dest;
	s->rule.comment = s->comment;
	while (i < len) {
		size_t start, eq;
		enum key k;

		while (i < len && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t' && p[i] != '=')
			i++;
		eq = i;
		k = find_key(p + start, eq - start);
		if (eq == len || p[eq] != '=' || k == K_N) {
			while (i < len && p[i] != ' ' && p[i] != '\t')
				i++;
			complain(r, start + 1, "'%s' is not one of action=, dst4=, dst6=, dsthost=, "
				 "proto=, dstports=, icmptype=, comment=", quote(p + start, i - start));
			continue;
		}
		if (cols[k])
			complain(r, start + 1, "%s= given twice (first at column %zu)", key_names[k],
				 cols[k]);
		cols[k] = start + 1;
		i = eq + 1;
		if (k == K_COMMENT) {
			size_t end = len;

			while (end > i && (p[end - 1] == ' ' || p[end - 1] == '\t'))
				end--;
			take_value(r, s, k, p + i, end - i, start + 1);
			break;
		}
		start = i;
		while (i < len && p[i] != ' ' && p[i] != '\t')
			i++;
		take_value(r, s, k, p + start, i - start, cols[k]);
	}
	check_line(r, s, cols);
}

static bool bare(const Vapp__Firewall__V1__Rule *rule)
{
	return !rule->destination[0] && !rule->host[0] && !rule->special && !rule->protocol &&
	       !rule->port_min && !rule->icmp;
}

void fw_qubes_free(Vapp__Firewall__V1__Ruleset *rs)
{
	if (!rs)
		return;
	if (rs->rules)
		free(rs->rules[-1]); /* the slots, kept before the pointers */
	free(rs->rules ? rs->rules - 1 : NULL);
	free(rs);
}

Vapp__Firewall__V1__Ruleset *fw_qubes_import(const char *text, size_t len, const char *file,
					     char *err, size_t errlen)
{
	struct reader r = { .file = file, .err = err, .errlen = errlen };
	Vapp__Firewall__V1__Ruleset *rs = calloc(1, sizeof(*rs));
	struct slot *slots = calloc(MAX_RULES + 1, sizeof(*slots));
	void **ptrs = calloc(MAX_RULES + 2, sizeof(*ptrs));
	size_t n = 0, pos = 0;

	if (errlen)
		err[0] = '\0';
	if (!rs || !slots || !ptrs) {
		snprintf(err, errlen, "%s: out of memory\n", file);
		goto fail;
	}
	vapp__firewall__v1__ruleset__init(rs);
	while (pos < len) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - p) : len - pos, skip = 0;

		pos += l + (nl ? 1 : 0);
		r.line++;
		if (l && p[l - 1] == '\r')
			l--;
		while (skip < l && (p[skip] == ' ' || p[skip] == '\t'))
			skip++;
		if (skip == l || p[skip] == '#')
			continue;
		if (n == MAX_RULES + 1) {
			complain(&r, 1, "more than %d rules", MAX_RULES);
			break;
		}
		read_line(&r, p, l, &slots[n]);
		n++;
	}
	if (r.errors)
		goto fail;
	rs->default_policy = VAPP__FIREWALL__V1__ACTION__ACTION_DROP;
	if (n && bare(&slots[n - 1].rule)) {
		rs->default_policy = slots[n - 1].rule.action;
		n--;
	}
	if (n > MAX_RULES) {
		r.line = 0;
		complain(&r, 1, "more than %d rules", MAX_RULES);
		goto fail;
	}
	/* ptrs[0] keeps the slots for fw_qubes_free; the rules follow it. */
	ptrs[0] = slots;
	for (size_t i = 0; i < n; i++)
		ptrs[i + 1] = &slots[i].rule;
	rs->rules = (Vapp__Firewall__V1__Rule **)(ptrs + 1);
	rs->n_rules = n;
	return rs;
fail:
	free(slots);
	free(ptrs);
	free(rs);
	return NULL;
}

struct out {
	char *s;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->s ? o->s + o->len : NULL, o->s ? o->cap - o->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if (o->s && o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n + 1) * 2;
		char *s = realloc(o->s, cap);

		if (!s) {
			o->oom = true;
			return;
		}
		o->s = s;
		o->cap = cap;
	}
}

char *fw_qubes_export(const Vapp__Firewall__V1__Ruleset *rs)
{
	static const char *const protos[] = { NULL, "tcp", "udp", "icmp" };
	struct out o = { 0 };

	for (size_t i = 0; i < rs->n_rules; i++) {
		const Vapp__Firewall__V1__Rule *rule = rs->rules[i];
		const char *dest = rule->destination ? rule->destination : "";

		put(&o, "action=%s", rule->action == VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT
					     ? "accept" : "drop");
		if (dest[0])
			put(&o, " %s=%s", strchr(dest, ':') ? "dst6" : "dst4", dest);
		else if (rule->host && rule->host[0])
			put(&o, " dsthost=%s", rule->host);
		else if (rule->special == VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS)
			put(&o, " specialtarget=dns");
		if (rule->protocol > 0 && rule->protocol < 4)
			put(&o, " proto=%s", protos[rule->protocol]);
		if (rule->port_min)
			put(&o, " dstports=%u-%u", rule->port_min,
			    rule->port_max ? rule->port_max : rule->port_min);
		if (rule->icmp)
			put(&o, " icmptype=%u", rule->icmp->type);
		if (rule->expire)
			put(&o, " expire=%llu", (unsigned long long)rule->expire);
		if (rule->comment && rule->comment[0])
			put(&o, " comment=%s", rule->comment);
		put(&o, "\n");
	}
	put(&o, "action=%s\n", rs->default_policy == VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT
				       ? "accept" : "drop");
	if (o.oom) {
		free(o.s);
		return NULL;
	}
	return o.s;
}
