/*
 * dns.c - the DNS wire format, as far as a DNS-named rule needs it (RFC
 * 1035): a query for one name's A or AAAA records, and the addresses and
 * their least TTL out of the answer. The answer is the network's: every
 * length and pointer is checked against the message, compression pointers
 * may only point backwards (so no loop), and an answer must echo the query's
 * id and question, or it is not taken.
 */
#include <errno.h>
#include <string.h>

#include "fw.h"

#define HDR 12
#define T_A 1
#define T_AAAA 28
#define C_IN 1

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool fw_host_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (!n || n > FW_HOST_MAX || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (c == '-' && !label)
			return false;
		if (++label > 63)
			return false;
	}
	return s[n - 1] != '-';
}

int fw_dns_query(uint8_t *buf, size_t len, uint16_t id, const char *host, int family)
{
	size_t at = HDR, n = strlen(host);

	if (!fw_host_name_ok(host) || len < HDR + n + 2 + 4)
		return -EINVAL;
	memset(buf, 0, HDR);
	put16(buf, id);
	buf[2] = 0x01; /* RD: recursion desired */
	put16(buf + 4, 1); /* one question */
	for (const char *p = host; *p;) {
		size_t l = strcspn(p, ".");

		buf[at++] = (uint8_t)l;
		memcpy(buf + at, p, l);
		at += l;
		p += l + (p[l] == '.');
	}
	buf[at++] = 0;
	put16(buf + at, family == AF_INET6 ? T_AAAA : T_A);
	put16(buf + at + 2, C_IN);
	return (int)(at + 4);
}

/*
 * Reads the name at @p *at of message @p m (length @p len) into @p out
 * (dotted, lower case), following backward compression pointers, and moves
 * @p *at past it. @return 0 or -EPROTO.
 */
static int read_name(const uint8_t *m, size_t len, size_t *at, char *out, size_t outlen)
{
	size_t p = *at, o = 0, end = 0;
	int hops = 0;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -EPROTO;
		l = m[p];
		if ((l & 0xc0) == 0xc0) {
			size_t to;

			if (p + 1 >= len)
				return -EPROTO;
			to = (size_t)(l & 0x3f) << 8 | m[p + 1];
			if (!end)
				end = p + 2;
			/* Only backwards, and not forever: no loop can be made. */
			if (to >= p || ++hops > 64)
				return -EPROTO;
			p = to;
			continue;
		}
		if (l & 0xc0)
			return -EPROTO;
		if (!l) {
			p++;
			break;
		}
		if (p + 1 + l > len || o + l + 2 > outlen)
			return -EPROTO;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)m[p + 1 + i];

			out[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		p += 1 + l;
	}
	out[o] = '\0';
	*at = end ? end : p;
	return 0;
}

int fw_dns_answer(const uint8_t *m, size_t len, uint16_t id, const char *host, int family,
		  struct fw_dns_result *out)
{
	uint16_t qd, an, want = family == AF_INET6 ? T_AAAA : T_A;
	size_t at = HDR, alen = family == AF_INET6 ? 16 : 4;
	char name[FW_HOST_MAX + 2];

	memset(out, 0, sizeof(*out));
	out->ttl = UINT32_MAX;
	if (len < HDR || get16(m) != id || !(m[2] & 0x80))
		return -EPROTO; /* not a response to this query */
	qd = get16(m + 4);
	an = get16(m + 6);
	if (qd != 1 || read_name(m, len, &at, name, sizeof(name)) || strcmp(name, host) ||
	    at + 4 > len || get16(m + at) != want || get16(m + at + 2) != C_IN)
		return -EPROTO; /* not the question asked */
	at += 4;
	out->rcode = m[3] & 0x0f;
	if (out->rcode)
		return 0; /* NXDOMAIN, SERVFAIL...: no addresses */
	for (unsigned i = 0; i < an; i++) {
		uint16_t type, class, rdlen;
		uint32_t ttl;

		if (read_name(m, len, &at, name, sizeof(name)) || at + 10 > len)
			return -EPROTO;
		type = get16(m + at);
		class = get16(m + at + 2);
		ttl = get32(m + at + 4);
		rdlen = get16(m + at + 8);
		at += 10;
		if (at + rdlen > len)
			return -EPROTO;
		/* A CNAME's target comes with its records in the same answer:
		 * records of the type asked, of class IN, are the addresses. */
		if (type == want && class == C_IN && rdlen == alen && out->n < FW_DNS_MAX_ADDRS) {
			memcpy(out->addr[out->n++], m + at, alen);
			if (ttl < out->ttl)
				out->ttl = ttl;
		}
		at += rdlen;
	}
	if (!out->n)
		out->ttl = 0;
	return 0;
}
