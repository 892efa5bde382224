/* test_firewall.c - the firewall daemon's parts that need no kernel: rule
 * checks (each refusal names its field), ids, the nftables JSON made from the
 * typed model (no caller text in it), the state file (round trip, atomic
 * replace, hostile files refused) and the nflog packet parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <linux/netlink.h>

#include "fw.h"

typedef Vapp__Firewall__V1__Rule Rule;

static Rule mkrule(int proto, const char *dest, uint32_t pmin, uint32_t pmax, int action)
{
	Rule r = VAPP__FIREWALL__V1__RULE__INIT;

	r.protocol = proto;
	r.destination = (char *)dest;
	r.port_min = pmin;
	r.port_max = pmax;
	r.action = action;
	return r;
}

#define TCP VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP
#define UDP VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_UDP
#define ICMP VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ICMP
#define ANY VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_ANY
#define ACCEPT VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT
#define DROP VAPP__FIREWALL__V1__ACTION__ACTION_DROP

/* Checks that @p r is refused with a reason starting with @p field. */
static void refused(Rule r, const char *field)
{
	struct fw_rule out;
	char why[FW_REASON_LEN] = "";

	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), -EINVAL);
	if (strncmp(why, field, strlen(field))) {
		print_error("expected a reason about %s, got \"%s\"\n", field, why);
		fail();
	}
}

static void test_rule_refusals(void **state)
{
	refused(mkrule(TCP, "", 70000, 0, ACCEPT), "rule.port_min:");
	refused(mkrule(TCP, "", 80, 70000, ACCEPT), "rule.port_max:");
	refused(mkrule(TCP, "", 90, 80, ACCEPT), "rule.port_max:");
	refused(mkrule(TCP, "", 0, 80, ACCEPT), "rule.port_min:");
	refused(mkrule(ICMP, "", 1, 0, DROP), "rule.port_min:");
	refused(mkrule(ANY, "", 53, 0, DROP), "rule.port_min:");
	refused(mkrule(9, "", 0, 0, DROP), "rule.protocol:");
	refused(mkrule(TCP, "", 0, 0, 0), "rule.action:");
	refused(mkrule(TCP, "", 0, 0, 7), "rule.action:");
	refused(mkrule(TCP, "example.com", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.0.0.1; flush ruleset", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.0.0.1 ", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.0.0.0/33", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.0.0.0/-1", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.0.0.0/", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.0.0.0/8x", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "10.1.0.0/8", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "2001:db8::1/129", 0, 0, DROP), "rule.destination:");
	refused(mkrule(TCP, "2001:db8::1/32", 0, 0, DROP), "rule.destination:");
	char longdest[200];
	memset(longdest, '1', sizeof(longdest) - 1);
	longdest[sizeof(longdest) - 1] = '\0';
	refused(mkrule(TCP, longdest, 0, 0, DROP), "rule.destination:");
}

static void test_rule_accepted(void **state)
{
	struct fw_rule out;
	char why[FW_REASON_LEN], buf[64];
	Rule r = mkrule(UDP, "2001:db8::/32", 5000, 5010, DROP);

	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), 0);
	assert_int_equal(out.family, AF_INET6);
	assert_int_equal(out.plen, 32);
	assert_int_equal(out.port_min, 5000);
	assert_int_equal(out.port_max, 5010);
	fw_rule_dest_str(&out, buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::/32");

	r = mkrule(TCP, "192.0.2.7", 443, 0, ACCEPT);
	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), 0);
	assert_int_equal(out.plen, 32);
	assert_int_equal(out.port_max, 443);
	r = mkrule(ANY, "0.0.0.0/0", 0, 0, ACCEPT);
	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), 0);
	assert_int_equal(out.plen, 0);
}

static Vapp__Firewall__V1__Ruleset mkset(Rule **rules, size_t n, int policy)
{
	Vapp__Firewall__V1__Ruleset rs = VAPP__FIREWALL__V1__RULESET__INIT;

	rs.rules = rules;
	rs.n_rules = n;
	rs.default_policy = policy;
	return rs;
}

static void test_ruleset_ids(void **state)
{
	Rule a = mkrule(TCP, "", 80, 0, ACCEPT), b = mkrule(UDP, "", 53, 0, DROP),
	     c = mkrule(ICMP, "", 0, 0, ACCEPT);
	Rule *rules[] = { &a, &b, &c };
	Vapp__Firewall__V1__Ruleset in;
	struct fw_ruleset cur, out;
	char why[FW_REASON_LEN] = "";

	fw_ruleset_init(&cur, FW_ACCEPT);
	cur.next_id = 10;
	cur.generation = 4;
	b.id = 42;
	in = mkset(rules, 3, DROP);
	assert_int_equal(fw_ruleset_from_pb(&in, &cur, &out, why, sizeof(why)), 0);
	/* Given ids stay; new ones start after the largest seen. */
	assert_int_equal(out.rules[1].id, 42);
	assert_int_equal(out.rules[0].id, 43);
	assert_int_equal(out.rules[2].id, 44);
	assert_int_equal(out.next_id, 45);
	assert_int_equal(out.generation, 5);
	assert_int_equal(out.policy, FW_DROP);
	fw_ruleset_fini(&out);

	/* The same id twice: refused, naming the second. */
	a.id = 42;
	assert_int_equal(fw_ruleset_from_pb(&in, &cur, &out, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ruleset.rules[1].id"));
	a.id = 0;
	/* A bad rule in the middle is named by its index. */
	c.port_min = 7;
	assert_int_equal(fw_ruleset_from_pb(&in, &cur, &out, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ruleset.rules[2].port_min"));
	c.port_min = 0;
	in.default_policy = 0;
	assert_int_equal(fw_ruleset_from_pb(&in, &cur, &out, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ruleset.default_policy"));
}

/* The JSON a rule becomes: canonical address text, numbers, our prefixes. */
/* The ICMP type and the comment: checked, kept, and the comment never in
 * the nftables text. */
static void test_icmp_and_comment(void **state)
{
	Vapp__Firewall__V1__IcmpMatch icmp = VAPP__FIREWALL__V1__ICMP_MATCH__INIT;
	struct fw_ifaces ifs = { .uplink = "eth0", .n_guests = 1,
				 .guests = { { .name = "guest", .ifname = "eth1" } } };
	struct fw_ruleset rs;
	const struct fw_ruleset *rsp[] = { &rs };
	struct fw_pb_rule back;
	struct fw_rule out;
	char why[FW_REASON_LEN], *doc;
	Rule r = mkrule(TCP, "", 0, 0, DROP);

	r.icmp = &icmp;
	refused(r, "rule.icmp:");
	r = mkrule(ICMP, "", 0, 0, DROP);
	icmp.type = 256;
	r.icmp = &icmp;
	refused(r, "rule.icmp.type:");
	icmp.type = 8;
	r.comment = "tab\there";
	refused(r, "rule.comment:");
	/* Printable, so kept: it is the user's; it never reaches nftables. */
	r.comment = "\"}]}, {\"flush\": {\"ruleset\": null}}, {\"x\": [{\"";
	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), 0);
	assert_true(out.has_icmp_type);
	assert_int_equal(out.icmp_type, 8);
	fw_rule_to_pb(&out, &back);
	assert_int_equal(back.rule.icmp->type, 8);
	assert_string_equal(back.rule.comment, r.comment);

	out.id = 4;
	fw_ruleset_init(&rs, FW_ACCEPT);
	rs.rules = &out;
	rs.n = 1;
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_non_null(doc);
	assert_non_null(strstr(doc, "{\"payload\":{\"base\":\"th\",\"offset\":0,\"len\":8}},"
				    "\"right\":8}"));
	assert_null(strstr(doc, "flush"));
	free(doc);

	/* Without a type, no type match; a zeroed rule has none. */
	r.icmp = NULL;
	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), 0);
	assert_false(out.has_icmp_type);
	fw_rule_to_pb(&out, &back);
	assert_null(back.rule.icmp);
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_null(strstr(doc, "\"th\""));
	free(doc);
}

/* The guest side's networks, which anti-spoofing keeps its sources to. */
static void test_net_prefix(void **state)
{
	char out[64];

	assert_int_equal(fw_net_prefix("10.99.2.1/24", out, sizeof(out)), 0);
	assert_string_equal(out, "10.99.2.0/24");
	assert_int_equal(fw_net_prefix("fd99:2::1/64", out, sizeof(out)), 0);
	assert_string_equal(out, "fd99:2::/64");
	assert_int_equal(fw_net_prefix("192.0.2.7", out, sizeof(out)), 0);
	assert_string_equal(out, "192.0.2.7/32");
	assert_int_equal(fw_net_prefix("10.0.0.1/33", out, sizeof(out)), -EINVAL);
	assert_int_equal(fw_net_prefix("10.0.0.1/-1", out, sizeof(out)), -EINVAL);
	assert_int_equal(fw_net_prefix("fd99::1/129", out, sizeof(out)), -EINVAL);
	assert_int_equal(fw_net_prefix("example.com/24", out, sizeof(out)), -EINVAL);
	assert_int_equal(fw_net_prefix("10.99.2.1/24", out, 8), -EINVAL);
}

#define AT(doc, s) (strstr(doc, s) ? strstr(doc, s) : "")

static void test_nft_json(void **state)
{
	struct fw_ifaces ifs = { .uplink = "eth0", .n_guests = 1,
				 .guests = { { .name = "guest", .ifname = "eth1",
					       .net4 = "10.99.2.0/24" } } };
	struct fw_ruleset rs;
	const struct fw_ruleset *rsp[] = { &rs };
	struct fw_rule r[3];
	char why[FW_REASON_LEN];
	Rule a = mkrule(TCP, "2001:0db8:0000::/32", 1000, 2000, ACCEPT),
	     b = mkrule(ICMP, "", 0, 0, DROP), c = mkrule(UDP, "10.0.0.0/8", 53, 0, DROP);
	char *doc;

	assert_int_equal(fw_rule_from_pb(&a, "a", &r[0], why, sizeof(why)), 0);
	assert_int_equal(fw_rule_from_pb(&b, "b", &r[1], why, sizeof(why)), 0);
	assert_int_equal(fw_rule_from_pb(&c, "c", &r[2], why, sizeof(why)), 0);
	r[0].id = 1;
	r[1].id = 2;
	r[2].id = 3;
	fw_ruleset_init(&rs, FW_DROP);
	rs.rules = r;
	rs.n = 3;
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_non_null(doc);
	/* It parses as JSON, and holds what it must. */
	json_object *root = json_tokener_parse(doc);
	assert_non_null(root);
	json_object_put(root);
	assert_non_null(strstr(doc, "\"addr\":\"2001:db8::\",\"len\":32"));
	assert_null(strstr(doc, "0db8"));
	assert_non_null(strstr(doc, "{\"range\":[1000,2000]}"));
	assert_non_null(strstr(doc, "\"comment\":\"id:2\""));
	assert_non_null(strstr(doc, "\"prefix\":\"fw:rule:3\""));
	assert_non_null(strstr(doc, "\"prefix\":\"fw:default\""));
	assert_null(strstr(doc, "fw:rule:1\"")); /* accept rules do not log */
	assert_non_null(strstr(doc, "\"policy\":\"drop\""));
	assert_non_null(strstr(doc, "\"right\":\"eth1\""));
	assert_non_null(strstr(doc, "{\"masquerade\":null}"));
	/* Anti-spoofing, first in the guest's chain: a source outside the
	 * guest's IPv4 network, and any IPv6 (the guest side has none). */
	assert_non_null(strstr(doc, "{\"match\":{\"op\":\"!=\",\"left\":{\"payload\":{\"protocol\":"
				    "\"ip\",\"field\":\"saddr\"}},\"right\":{\"prefix\":{\"addr\":"
				    "\"10.99.2.0\",\"len\":24}}}}"));
	assert_non_null(strstr(doc, "\"right\":\"ipv6\"}},{\"counter\":{\"packets\":0,\"bytes\":0}},{\"log\":{\"prefix\":\"fw:spoof\""));
	/* ... before the replies pass in that chain. */
	assert_non_null(strstr(doc, "\"chain\":\"from-guest\",\"expr\":[{\"match\":{\"op\":\"in\""));
	assert_true(strstr(doc, "fw:spoof") <
		    AT(doc, "\"chain\":\"from-guest\",\"expr\":[{\"match\":{\"op\":\"in\",\"left\":{\"ct\""));
	free(doc);

	/* Carried counters come back on the rule with that id. */
	struct fw_count kept[] = { { 3, 11, 222 } };
	struct fw_counts carry = { .g = { { .rules = kept, .n = 1, .policy = { 0, 5, 6 },
					    .spoof = { 0, 7, 8 } } } };
	doc = fw_nft_json(rsp, &ifs, &carry, NULL);
	assert_non_null(strstr(doc, "{\"counter\":{\"packets\":11,\"bytes\":222}},{\"log\":{\"prefix\":\"fw:rule:3\""));
	assert_non_null(strstr(doc, "{\"counter\":{\"packets\":5,\"bytes\":6}},{\"log\":{\"prefix\":\"fw:default\""));
	/* The spoof count, summed over both families, comes back once. */
	assert_non_null(strstr(doc, "{\"counter\":{\"packets\":7,\"bytes\":8}},{\"log\":{\"prefix\":\"fw:spoof\""));
	assert_non_null(strstr(doc, "{\"counter\":{\"packets\":0,\"bytes\":0}},{\"log\":{\"prefix\":\"fw:spoof\""));
	free(doc);
}

/* ---- DNS-named rules ---- */

static void test_host_names(void **state)
{
	Rule r = mkrule(TCP, "", 443, 0, ACCEPT);
	struct fw_rule out;
	char why[FW_REASON_LEN];

	assert_true(fw_host_name_ok("example.com"));
	assert_true(fw_host_name_ok("a"));
	assert_true(fw_host_name_ok("x-1.y_2.test"));
	assert_false(fw_host_name_ok(""));
	assert_false(fw_host_name_ok(".example.com"));
	assert_false(fw_host_name_ok("example.com."));
	assert_false(fw_host_name_ok("a..b"));
	assert_false(fw_host_name_ok("-a.b"));
	assert_false(fw_host_name_ok("a-.b"));
	assert_false(fw_host_name_ok("a b"));
	assert_false(fw_host_name_ok("a\"b"));
	assert_false(fw_host_name_ok("10.0.0.1/8"));
	char label[80];
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(fw_host_name_ok(label)); /* a 64-byte label */
	label[63] = '\0';
	assert_true(fw_host_name_ok(label));

	/* In a rule: lower-cased, never beside a destination. */
	r.host = "Web.Example.COM";
	assert_int_equal(fw_rule_from_pb(&r, "rule", &out, why, sizeof(why)), 0);
	assert_string_equal(out.host, "web.example.com");
	assert_int_equal(out.family, 0);
	r.destination = "10.0.0.1";
	refused(r, "rule.host: a rule names a destination or a host, not both");
	r.destination = "";
	r.host = "web/../x";
	refused(r, "rule.host:");
}

/* An answer: header (id, QR, rcode), the question, then @p n A records
 * "web.test" (by a pointer to the question's name) with TTL @p ttl. */
static size_t mkanswer(uint8_t *m, uint16_t id, uint8_t rcode, uint16_t type, int n, uint32_t ttl)
{
	static const uint8_t q[] = { 3, 'w', 'e', 'b', 4, 't', 'e', 's', 't', 0 };
	size_t at = 12;

	memset(m, 0, 512);
	m[0] = (uint8_t)(id >> 8);
	m[1] = (uint8_t)id;
	m[2] = 0x81;
	m[3] = 0x80 | rcode;
	m[5] = 1;
	m[7] = (uint8_t)n;
	memcpy(m + at, q, sizeof(q));
	at += sizeof(q);
	m[at + 1] = (uint8_t)type;
	m[at + 3] = 1;
	at += 4;
	for (int i = 0; i < n; i++) {
		size_t alen = type == 28 ? 16 : 4;

		m[at++] = 0xc0; /* pointer to the question's name */
		m[at++] = 12;
		m[at + 1] = (uint8_t)type;
		m[at + 3] = 1;
		m[at + 4] = (uint8_t)(ttl >> 24);
		m[at + 5] = (uint8_t)(ttl >> 16);
		m[at + 6] = (uint8_t)(ttl >> 8);
		m[at + 7] = (uint8_t)ttl;
		m[at + 9] = (uint8_t)alen;
		at += 10;
		memset(m + at, 0, alen);
		m[at] = 10;
		m[at + alen - 1] = (uint8_t)(i + 1);
		at += alen;
	}
	return at;
}

static void test_dns_wire(void **state)
{
	uint8_t q[300], m[512];
	struct fw_dns_result r;
	size_t len;
	int qlen;

	qlen = fw_dns_query(q, sizeof(q), 0xbeef, "web.test", AF_INET6);
	assert_int_equal(qlen, 12 + 10 + 4);
	assert_int_equal(q[0], 0xbe);
	assert_int_equal(q[1], 0xef);
	assert_memory_equal(q + 12, "\3web\4test\0\0\x1c\0\1", 14);
	assert_int_equal(fw_dns_query(q, 20, 1, "web.test", AF_INET), -EINVAL);
	assert_int_equal(fw_dns_query(q, sizeof(q), 1, "bad name", AF_INET), -EINVAL);

	/* Two A records: both addresses, the least TTL. */
	len = mkanswer(m, 0x1234, 0, 1, 2, 300);
	assert_int_equal(fw_dns_answer(m, len, 0x1234, "web.test", AF_INET, &r), 0);
	assert_int_equal(r.rcode, 0);
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.addr[0], "\x0a\0\0\x01", 4);
	assert_memory_equal(r.addr[1], "\x0a\0\0\x02", 4);
	assert_int_equal(r.ttl, 300);
	/* Not this query's: another id, another name, another type, a query. */
	assert_int_equal(fw_dns_answer(m, len, 0x1235, "web.test", AF_INET, &r), -EPROTO);
	assert_int_equal(fw_dns_answer(m, len, 0x1234, "web.tesu", AF_INET, &r), -EPROTO);
	assert_int_equal(fw_dns_answer(m, len, 0x1234, "web.test", AF_INET6, &r), -EPROTO);
	m[2] &= 0x7f;
	assert_int_equal(fw_dns_answer(m, len, 0x1234, "web.test", AF_INET, &r), -EPROTO);
	m[2] |= 0x80;
	/* Cut anywhere: never read past the end, never an address from it. */
	for (size_t cut = 0; cut < len; cut++) {
		int rc = fw_dns_answer(m, cut, 0x1234, "web.test", AF_INET, &r);

		assert_true(rc == -EPROTO || (rc == 0 && r.n < 2));
	}
	/* A pointer forwards (or to itself) could loop: refused. */
	m[12 + 10 + 4 + 1] = (uint8_t)(12 + 10 + 4);
	assert_int_equal(fw_dns_answer(m, len, 0x1234, "web.test", AF_INET, &r), -EPROTO);
	m[12 + 10 + 4 + 1] = 200;
	assert_int_equal(fw_dns_answer(m, len, 0x1234, "web.test", AF_INET, &r), -EPROTO);
	/* A record of the wrong length is no address. */
	len = mkanswer(m, 7, 0, 1, 1, 60);
	m[len - 4 - 1] = 5;
	assert_int_equal(fw_dns_answer(m, len, 7, "web.test", AF_INET, &r), -EPROTO);
	/* NXDOMAIN: an answer, no address. */
	len = mkanswer(m, 9, 3, 28, 0, 0);
	assert_int_equal(fw_dns_answer(m, len, 9, "web.test", AF_INET6, &r), 0);
	assert_int_equal(r.rcode, 3);
	assert_int_equal(r.n, 0);
	/* More records than kept: FW_DNS_MAX_ADDRS of them. */
	len = mkanswer(m, 5, 0, 1, 20, 9);
	assert_int_equal(fw_dns_answer(m, len, 5, "web.test", AF_INET, &r), 0);
	assert_int_equal(r.n, FW_DNS_MAX_ADDRS);
}

/* A host rule: one nft rule a family, matching the host's sets, which the
 * document makes first; counters summed back under the one id. */
static void test_nft_host_rule(void **state)
{
	struct fw_ifaces ifs = { .uplink = "eth0", .n_guests = 1,
				 .guests = { { .name = "alice", .ifname = "eth1",
					       .net4 = "10.99.2.0/24" } } };
	struct fw_ruleset rs;
	struct fw_rule r[2];
	char why[FW_REASON_LEN], *doc;
	Rule a = mkrule(TCP, "", 443, 0, ACCEPT), b = mkrule(ICMP, "", 0, 0, DROP);

	a.host = "web.test";
	b.host = "web.test";
	assert_int_equal(fw_rule_from_pb(&a, "a", &r[0], why, sizeof(why)), 0);
	assert_int_equal(fw_rule_from_pb(&b, "b", &r[1], why, sizeof(why)), 0);
	r[0].id = 1;
	r[1].id = 2;
	fw_ruleset_init(&rs, FW_DROP);
	rs.rules = r;
	rs.n = 2;
	doc = fw_nft_guest_json(&ifs, 0, &rs, NULL, NULL);
	assert_non_null(doc);
	json_object *root = json_tokener_parse(doc);
	assert_non_null(root);
	json_object_put(root);
	/* The sets, once for the two rules, before the chain is refilled. */
	const char *set4 = "{\"add\":{\"set\":{\"family\":\"inet\",\"table\":\"vapp_fw\",\"name\":\"h4-web.test\","
			   "\"type\":\"ipv4_addr\"}}}";
	assert_non_null(strstr(doc, set4));
	assert_null(strstr(strstr(doc, set4) + 1, set4));
	assert_non_null(strstr(doc, "\"name\":\"h6-web.test\",\"type\":\"ipv6_addr\""));
	assert_true(strstr(doc, "h6-web.test") < strstr(doc, "\"flush\""));
	/* Each family's rule matches its set; no uplink-only restriction (the
	 * name is a destination), ICMP by the family's protocol. */
	assert_non_null(strstr(doc, "\"comment\":\"id:1\",\"expr\":[{\"match\":{\"op\":\"==\",\"left\":"
				    "{\"payload\":{\"protocol\":\"ip\",\"field\":\"daddr\"}},\"right\":\"@h4-web.test\"}}"));
	assert_non_null(strstr(doc, "\"comment\":\"id:1\",\"expr\":[{\"match\":{\"op\":\"==\",\"left\":"
				    "{\"payload\":{\"protocol\":\"ip6\",\"field\":\"daddr\"}},\"right\":\"@h6-web.test\"}}"));
	assert_non_null(strstr(AT(doc, "\"right\":\"@h6-web.test\"}},{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"l4proto\"}},\"right\":58}}"),
			       "fw:rule:2"));
	free(doc);
}

/* Special DNS: the appliance's --dns server, port 53, alone. */
static void test_special_dns(void **state)
{
	struct fw_ifaces ifs = { .uplink = "eth0", .dns = "10.99.1.1", .n_guests = 1,
				 .guests = { { .name = "carol", .ifname = "eth3" } } };
	struct fw_ruleset rs;
	const struct fw_ruleset *rsp[] = { &rs };
	struct fw_rule r;
	struct fw_pb_rule back;
	char why[FW_REASON_LEN], *doc;
	Rule a = mkrule(ANY, "", 0, 0, ACCEPT);

	a.special = VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS;
	assert_int_equal(fw_rule_from_pb(&a, "rule", &r, why, sizeof(why)), 0);
	assert_true(r.dns);
	fw_rule_to_pb(&r, &back);
	assert_int_equal(back.rule.special, VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS);
	a.destination = "10.0.0.1";
	refused(a, "rule.special: a rule names a destination, a host or a special target, one only");
	a.destination = "";
	a.host = "web.test";
	refused(a, "rule.special: a rule names");
	a.host = "";
	a.protocol = UDP;
	a.port_min = 53;
	refused(a, "rule.special: DNS is port 53, give no port");
	a.port_min = 0;
	a.protocol = ICMP;
	refused(a, "rule.special: DNS is UDP or TCP");
	a.protocol = ANY;
	a.special = 7;
	refused(a, "rule.special: unknown special target 7");

	r.id = 3;
	fw_ruleset_init(&rs, FW_DROP);
	rs.rules = &r;
	rs.n = 1;
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_non_null(strstr(doc, "\"comment\":\"id:3\",\"expr\":[{\"match\":{\"op\":\"==\",\"left\":{\"payload\":"
				    "{\"protocol\":\"ip\",\"field\":\"daddr\"}},\"right\":\"10.99.1.1\"}},{\"match\":"
				    "{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"l4proto\"}},\"right\":{\"set\":[6,17]}}},"
				    "{\"match\":{\"op\":\"==\",\"left\":{\"payload\":{\"protocol\":\"th\",\"field\":"
				    "\"dport\"}},\"right\":53}}"));
	free(doc);
	/* No --dns: nothing to match, so no rule (it opens nothing). */
	ifs.dns[0] = '\0';
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_null(strstr(doc, "\"id:3\""));
	free(doc);
}

/* ---- port forwards ---- */

static Vapp__Firewall__V1__PortForward mkfwd(int proto, uint32_t port, const char *to, uint32_t to_port)
{
	Vapp__Firewall__V1__PortForward f = VAPP__FIREWALL__V1__PORT_FORWARD__INIT;

	f.protocol = proto;
	f.port = port;
	f.to_address = (char *)to;
	f.to_port = to_port;
	return f;
}

/* A ruleset of forwards @p f[0..n-1]: @return what fw_ruleset_from_pb says. */
static int with_forwards(Vapp__Firewall__V1__PortForward *f, size_t n, struct fw_ruleset *out,
			 char *why, size_t whylen)
{
	Vapp__Firewall__V1__PortForward *p[20];
	Vapp__Firewall__V1__Ruleset in = mkset(NULL, 0, DROP);

	for (size_t i = 0; i < n; i++)
		p[i] = &f[i];
	in.forwards = p;
	in.n_forwards = n;
	return fw_ruleset_from_pb(&in, NULL, out, why, whylen);
}

static void test_forwards(void **state)
{
	static const struct {
		int proto;
		uint32_t port;
		const char *to;
		uint32_t to_port;
		const char *want;
	} bad[] = {
		{ ICMP, 22, "10.99.3.2", 0, "ruleset.forwards[0].protocol: TCP or UDP" },
		{ ANY, 22, "10.99.3.2", 0, "ruleset.forwards[0].protocol" },
		{ TCP, 0, "10.99.3.2", 0, "ruleset.forwards[0].port: 0 is not a port" },
		{ TCP, 65536, "10.99.3.2", 0, "ruleset.forwards[0].port: 65536" },
		{ TCP, 22, "10.99.3.2", 70000, "ruleset.forwards[0].to_port: 70000" },
		{ TCP, 22, "fd99:3::2", 0, "ruleset.forwards[0].to_address: 'fd99:3::2' is not an IPv4" },
		{ TCP, 22, "10.99.3.0/24", 0, "ruleset.forwards[0].to_address" },
		{ TCP, 22, "", 0, "ruleset.forwards[0].to_address" },
	};
	struct fw_guest_if alice = { .name = "alice", .ifname = "eth1", .net4 = "10.99.2.0/24" },
			   bob = { .name = "bob", .ifname = "eth2", .net4 = "10.99.3.0/24" },
			   v6 = { .name = "six", .ifname = "eth3", .net6 = "fd99:3::/64" };
	Vapp__Firewall__V1__PortForward f[20];
	struct fw_ruleset a, b;
	char why[FW_REASON_LEN];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f[0] = mkfwd(bad[i].proto, bad[i].port, bad[i].to, bad[i].to_port);
		assert_int_equal(with_forwards(f, 1, &a, why, sizeof(why)), -EINVAL);
		if (!strstr(why, bad[i].want))
			fail_msg("forward %zu: '%s' does not say '%s'", i, why, bad[i].want);
	}
	/* The same uplink port twice; one protocol's port is not the other's. */
	f[0] = mkfwd(TCP, 2222, "10.99.3.2", 22);
	f[1] = mkfwd(UDP, 2222, "10.99.3.2", 0);
	f[2] = mkfwd(TCP, 2222, "10.99.3.3", 0);
	assert_int_equal(with_forwards(f, 3, &a, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ruleset.forwards[2].port: 2222 is forwarded by forwards[0] too"));
	for (size_t i = 0; i < 17; i++)
		f[i] = mkfwd(TCP, (uint32_t)(1000 + i), "10.99.3.2", 0);
	assert_int_equal(with_forwards(f, 17, &a, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "at most 16"));

	/* bob's: kept as numbers, to_port 0 is the port itself. */
	f[0] = mkfwd(TCP, 2222, "10.99.3.2", 22);
	f[1] = mkfwd(UDP, 5353, "10.99.3.9", 0);
	assert_int_equal(with_forwards(f, 2, &b, why, sizeof(why)), 0);
	assert_int_equal(b.n_fwd, 2);
	assert_int_equal(b.fwd[0].proto, FW_TCP);
	assert_int_equal(b.fwd[0].to_port, 22);
	assert_int_equal(b.fwd[1].to_port, 5353);
	assert_memory_equal(b.fwd[1].to, "\x0a\x63\x03\x09", 4);
	assert_int_equal(fw_forwards_check(&b, &bob, NULL, 0, why, sizeof(why)), 0);
	/* Not into another guest's network, nor a guest with no IPv4. */
	assert_int_equal(fw_forwards_check(&b, &alice, NULL, 0, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "not in guest alice's network 10.99.2.0/24"));
	assert_int_equal(fw_forwards_check(&b, &v6, NULL, 0, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "guest six has no IPv4 network"));
	/* An uplink port another guest has is refused, NULL slots skipped. */
	f[0] = mkfwd(TCP, 2222, "10.99.2.7", 22);
	assert_int_equal(with_forwards(f, 1, &a, why, sizeof(why)), 0);
	const struct fw_ruleset *others[] = { NULL, &b };
	assert_int_equal(fw_forwards_check(&a, &alice, others, 2, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ruleset.forwards[0].port: 2222 is forwarded to another guest"));

	/* Back to messages, and through the store's bytes. */
	Vapp__Firewall__V1__Ruleset pb;
	assert_int_equal(fw_ruleset_to_pb(&b, NULL, &pb), 0);
	assert_int_equal(pb.n_forwards, 2);
	assert_string_equal(pb.forwards[0]->to_address, "10.99.3.2");
	assert_int_equal(pb.forwards[0]->to_port, 22);
	assert_int_equal(pb.forwards[1]->protocol, UDP);
	fw_ruleset_pb_free(&pb);

	/* In nftables: the DNAT in dnat-bob, the accept in fwd-bob, each
	 * chain entered from the uplink; a change flushes all three. */
	struct fw_ifaces ifs = { .uplink = "eth0", .n_guests = 2, .guests = { alice, bob } };
	struct fw_ruleset empty;
	const struct fw_ruleset *rsp[] = { &empty, &b };
	char *doc;

	fw_ruleset_init(&empty, FW_ACCEPT);
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_non_null(strstr(doc, "\"chain\":\"dnat-bob\",\"expr\":[{\"match\":{\"op\":\"==\",\"left\":{\"meta\":"
				    "{\"key\":\"l4proto\"}},\"right\":6}},{\"match\":{\"op\":\"==\",\"left\":{\"payload\":"
				    "{\"protocol\":\"tcp\",\"field\":\"dport\"}},\"right\":2222}},{\"dnat\":{\"family\":"
				    "\"ip\",\"addr\":\"10.99.3.2\",\"port\":22}}]"));
	assert_non_null(strstr(doc, "\"chain\":\"fwd-bob\",\"expr\":[{\"match\":{\"op\":\"in\",\"left\":{\"ct\":"
				    "{\"key\":\"status\"}},\"right\":\"dnat\"}},{\"match\":{\"op\":\"==\",\"left\":"
				    "{\"payload\":{\"protocol\":\"ip\",\"field\":\"daddr\"}},\"right\":\"10.99.3.2\"}}"));
	assert_non_null(strstr(doc, "\"chain\":\"prerouting\",\"expr\":[{\"match\":{\"op\":\"==\",\"left\":"
				    "{\"meta\":{\"key\":\"iifname\"}},\"right\":\"eth0\"}},{\"jump\":{\"target\":\"dnat-bob\"}}"));
	assert_non_null(strstr(doc, "\"right\":\"eth0\"}},{\"match\":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":"
				    "\"oifname\"}},\"right\":\"eth2\"}},{\"jump\":{\"target\":\"fwd-bob\"}}"));
	/* ... before the uplink's drop. */
	assert_true(strstr(doc, "\"target\":\"fwd-bob\"") < AT(doc, "\"comment\":\"uplink\""));
	assert_null(strstr(AT(doc, "\"chain\":\"dnat-alice\",\"expr\""), "10.99.3.2\",\"port\":22"));
	free(doc);
	doc = fw_nft_guest_json(&ifs, 1, &b, NULL, NULL);
	assert_non_null(strstr(doc, "{\"flush\":{\"chain\":{\"family\":\"inet\",\"table\":\"vapp_fw\",\"name\":\"dnat-bob\"}}}"));
	assert_non_null(strstr(doc, "{\"flush\":{\"chain\":{\"family\":\"inet\",\"table\":\"vapp_fw\",\"name\":\"fwd-bob\"}}}"));
	assert_non_null(strstr(doc, "\"dnat\":{\"family\":\"ip\",\"addr\":\"10.99.3.9\",\"port\":5353}"));
	free(doc);
}

/* ---- the state file ---- */

static char dir[64];

static int setup_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_firewall.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_file(const char *name, const void *buf, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_store(void **state)
{
	struct fw_ruleset rs, back;
	struct fw_rule r[2];
	char why[FW_REASON_LEN] = "", path[128];
	Rule a = mkrule(TCP, "192.0.2.0/24", 22, 0, ACCEPT), b = mkrule(ANY, "::1", 0, 0, DROP);

	assert_int_equal(fw_store_load(dir, "alice", true, &back, why, sizeof(why)), -ENOENT);
	assert_int_equal(fw_rule_from_pb(&a, "a", &r[0], why, sizeof(why)), 0);
	assert_int_equal(fw_rule_from_pb(&b, "b", &r[1], why, sizeof(why)), 0);
	r[0].id = 5;
	r[1].id = 9;
	fw_ruleset_init(&rs, FW_ACCEPT);
	rs.rules = r;
	rs.n = 2;
	rs.next_id = 17;
	rs.generation = 8;

	/* Prepared but not committed: the old state (none) is what loads. */
	assert_int_equal(fw_store_prepare(dir, "alice", &rs), 0);
	assert_int_equal(fw_store_load(dir, "alice", true, &back, why, sizeof(why)), -ENOENT);
	fw_store_abort(dir, "alice");
	snprintf(path, sizeof(path), "%s/ruleset-alice.pb.new", dir);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(fw_store_prepare(dir, "alice", &rs), 0);
	assert_int_equal(fw_store_commit(dir, "alice"), 0);
	/* Each guest's own file: bob has none. */
	assert_int_equal(fw_store_load(dir, "bob", false, &back, why, sizeof(why)), -ENOENT);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 2);
	assert_memory_equal(back.rules, r, sizeof(r));
	assert_int_equal(back.next_id, 17);
	assert_int_equal(back.generation, 8);
	assert_int_equal(back.policy, FW_ACCEPT);
	fw_ruleset_fini(&back);

	/* A crash after prepare of a newer one: the committed file still loads whole. */
	rs.n = 1;
	assert_int_equal(fw_store_prepare(dir, "alice", &rs), 0);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 2);
	fw_ruleset_fini(&back);

	/* A one-guest firewall's ruleset.pb of an earlier version serves the
	 * first guest (legacy) until it has its own file, and no other guest. */
	char old[128];
	snprintf(path, sizeof(path), "%s/ruleset-alice.pb", dir);
	snprintf(old, sizeof(old), "%s/ruleset.pb", dir);
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), -ENOENT);
	assert_int_equal(fw_store_load(dir, "alice", true, &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 2);
	fw_ruleset_fini(&back);
	rs.n = 1;
	assert_int_equal(fw_store_prepare(dir, "alice", &rs), 0);
	assert_int_equal(fw_store_commit(dir, "alice"), 0);
	assert_int_equal(fw_store_load(dir, "alice", true, &back, why, sizeof(why)), 0);
	assert_int_equal(back.n, 1);
	fw_ruleset_fini(&back);
	unlink(old);
}

/* Names become chain names, file names and vappd's guests: nothing else. */
static void test_guest_names(void **state)
{
	assert_true(fw_guest_name_ok("alice"));
	assert_true(fw_guest_name_ok("a"));
	assert_true(fw_guest_name_ok("work-vm_2"));
	assert_true(fw_guest_name_ok("0123456789abcde"));
	assert_false(fw_guest_name_ok("0123456789abcdef")); /* 16 */
	assert_false(fw_guest_name_ok(""));
	assert_false(fw_guest_name_ok("-x"));
	assert_false(fw_guest_name_ok("_x"));
	assert_false(fw_guest_name_ok("Alice"));
	assert_false(fw_guest_name_ok("../etc"));
	assert_false(fw_guest_name_ok("a b"));
	assert_false(fw_guest_name_ok("a\"b"));
	assert_false(fw_guest_name_ok("vapp.fw"));
	assert_false(fw_guest_name_ok("uid:0"));
}

/* Three guests: each its own chain, entered by its interface alone; an
 * accepting rule with no destination only out of the uplink; new flows to
 * another guest dropped last; counters carried per guest. */
static void test_nft_guests(void **state)
{
	struct fw_ifaces ifs = {
		.uplink = "eth0", .n_guests = 3,
		.guests = { { .name = "alice", .ifname = "eth1", .net4 = "10.99.2.0/24" },
			    { .name = "bob", .ifname = "eth2", .net4 = "10.99.3.0/24",
			      .net6 = "fd99:3::/64" },
			    { .name = "carol", .ifname = "eth3", .net4 = "10.99.4.0/24" } },
	};
	struct fw_ruleset ra, rb, rc;
	const struct fw_ruleset *rsp[] = { &ra, &rb, &rc };
	struct fw_rule a[2], b;
	char why[FW_REASON_LEN], *doc;
	const char *from_bob, *from_carol;
	Rule any = mkrule(TCP, "", 8080, 0, ACCEPT), lan = mkrule(ANY, "10.99.3.0/24", 0, 0, ACCEPT),
	     drop = mkrule(UDP, "", 53, 0, DROP);

	assert_int_equal(fw_rule_from_pb(&any, "a", &a[0], why, sizeof(why)), 0);
	assert_int_equal(fw_rule_from_pb(&lan, "a", &a[1], why, sizeof(why)), 0);
	assert_int_equal(fw_rule_from_pb(&drop, "b", &b, why, sizeof(why)), 0);
	a[0].id = 1;
	a[1].id = 2;
	b.id = 1; /* ids are each guest's own */
	fw_ruleset_init(&ra, FW_DROP);
	ra.rules = a;
	ra.n = 2;
	fw_ruleset_init(&rb, FW_ACCEPT);
	rb.rules = &b;
	rb.n = 1;
	fw_ruleset_init(&rc, FW_DROP);
	doc = fw_nft_json(rsp, &ifs, NULL, NULL);
	assert_non_null(doc);
	json_object *root = json_tokener_parse(doc);
	assert_non_null(root);
	json_object_put(root);
	/* Each guest's traffic jumps to its own chain by interface. */
	assert_non_null(strstr(doc, "\"right\":\"eth1\"}},{\"jump\":{\"target\":\"from-alice\"}}"));
	assert_non_null(strstr(doc, "\"right\":\"eth2\"}},{\"jump\":{\"target\":\"from-bob\"}}"));
	assert_non_null(strstr(doc, "\"right\":\"eth3\"}},{\"jump\":{\"target\":\"from-carol\"}}"));
	/* alice's port-8080 accept has no destination: only out of the
	 * uplink; her rule naming bob's network needs no interface. */
	assert_non_null(strstr(doc, "\"chain\":\"from-alice\",\"comment\":\"id:1\",\"expr\":[{\"match\""
				    ":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"oifname\"}},\"right\":\"eth0\"}}"));
	assert_non_null(strstr(doc, "\"chain\":\"from-alice\",\"comment\":\"id:2\",\"expr\":[{\"match\""
				    ":{\"op\":\"==\",\"left\":{\"payload\":{\"protocol\":\"ip\",\"field\":\"daddr\"}}"));
	/* bob's drop rule applies whatever the way out. */
	assert_non_null(strstr(doc, "\"chain\":\"from-bob\",\"comment\":\"id:1\",\"expr\":[{\"match\""
				    ":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"l4proto\"}}"));
	/* Each chain's sources are its own network. */
	from_bob = AT(doc, "\"chain\":\"from-bob\",\"comment\":\"spoof\"");
	from_carol = AT(doc, "\"chain\":\"from-carol\",\"comment\":\"spoof\"");
	assert_true(*from_bob && *from_carol);
	assert_non_null(strstr(from_bob, "\"addr\":\"10.99.3.0\",\"len\":24"));
	assert_true(strstr(from_bob, "\"addr\":\"10.99.3.0\"") < from_carol);
	assert_true(strstr(from_bob, "\"addr\":\"fd99:3::\",\"len\":64") < from_carol);
	assert_non_null(strstr(from_carol, "\"addr\":\"10.99.4.0\",\"len\":24"));
	/* The default policy only for the uplink; a drop for the rest. */
	assert_non_null(strstr(doc, "\"chain\":\"from-bob\",\"comment\":\"default\",\"expr\":[{\"match\""
				    ":{\"op\":\"==\",\"left\":{\"meta\":{\"key\":\"oifname\"}},\"right\":\"eth0\"}},"
				    "{\"counter\":{\"packets\":0,\"bytes\":0}},{\"accept\":null}"));
	assert_non_null(strstr(doc, "\"chain\":\"from-bob\",\"comment\":\"guest\",\"expr\":[{\"counter\""
				    ":{\"packets\":0,\"bytes\":0}},{\"log\":{\"prefix\":\"fw:guest\""));
	free(doc);

	/* Counters carried by guest and id: bob's rule 1 is not alice's. */
	struct fw_count ka[] = { { 1, 3, 30 } }, kb[] = { { 1, 4, 40 } };
	struct fw_counts carry = { .g = { { .rules = ka, .n = 1, .guest = { 0, 9, 90 } },
					  { .rules = kb, .n = 1, .spoof = { 0, 6, 60 } } } };
	doc = fw_nft_json(rsp, &ifs, &carry, NULL);
	assert_non_null(strstr(AT(doc, "\"chain\":\"from-alice\",\"comment\":\"id:1\""),
			       "{\"counter\":{\"packets\":3,\"bytes\":30}}"));
	assert_non_null(strstr(AT(doc, "\"chain\":\"from-bob\",\"comment\":\"id:1\""),
			       "{\"counter\":{\"packets\":4,\"bytes\":40}}"));
	assert_non_null(strstr(AT(doc, "\"chain\":\"from-alice\",\"comment\":\"guest\""),
			       "{\"counter\":{\"packets\":9,\"bytes\":90}}"));
	assert_non_null(strstr(AT(doc, "\"chain\":\"from-bob\",\"comment\":\"spoof\""),
			       "{\"counter\":{\"packets\":6,\"bytes\":60}}"));
	free(doc);

	/* A change to bob's rules: his chain flushed and refilled, in one
	 * document, his counters carried; nobody else's chain, no table. */
	doc = fw_nft_guest_json(&ifs, 1, &rb, &carry.g[1], NULL);
	assert_non_null(doc);
	const char *flush = "{\"nftables\":[{\"flush\":{\"chain\":{\"family\":\"inet\","
			    "\"table\":\"vapp_fw\",\"name\":\"from-bob\"}}}";
	assert_memory_equal(doc, flush, strlen(flush));
	assert_non_null(strstr(AT(doc, "\"chain\":\"from-bob\",\"comment\":\"id:1\""),
			       "{\"counter\":{\"packets\":4,\"bytes\":40}}"));
	assert_non_null(strstr(doc, "\"chain\":\"from-bob\",\"comment\":\"guest\""));
	assert_null(strstr(doc, "from-alice"));
	assert_null(strstr(doc, "from-carol"));
	assert_null(strstr(doc, "\"table\":{"));
	assert_null(strstr(doc, "\"forward\""));
	free(doc);
}

static void test_store_hostile(void **state)
{
	struct fw_ruleset back;
	char why[FW_REASON_LEN];
	uint8_t buf[64] = "VAPPFW1\n";

	write_file("ruleset-alice.pb", "garbage", 7);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), -EINVAL);
	/* Length beyond the file. */
	buf[12] = 200;
	write_file("ruleset-alice.pb", buf, 20);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "bad header or length"));
	/* Length that fits but a payload that does not decode. */
	buf[12] = 4;
	memset(buf + 16, 0xff, 4);
	write_file("ruleset-alice.pb", buf, 20);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), -EINVAL);
	/* A ruleset that decodes but holds a bad rule: refused by the same checks. */
	Rule a = mkrule(TCP, "10.0.0.0/33", 0, 0, DROP);
	Rule *rules[] = { &a };
	Vapp__Firewall__V1__Ruleset rs = mkset(rules, 1, DROP);
	size_t len = vapp__firewall__v1__ruleset__get_packed_size(&rs);
	uint8_t *f = calloc(1, 16 + len);
	memcpy(f, "VAPPFW1\n", 8);
	f[12] = (uint8_t)len;
	vapp__firewall__v1__ruleset__pack(&rs, f + 16);
	write_file("ruleset-alice.pb", f, 16 + len);
	free(f);
	assert_int_equal(fw_store_load(dir, "alice", false, &back, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "destination"));
}

/* ---- nflog ---- */

static size_t put_attr(uint8_t *p, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + len), .nla_type = type };

	memcpy(p, &a, sizeof(a));
	memcpy(p + NLA_HDRLEN, data, len);
	return NLA_ALIGN(NLA_HDRLEN + len);
}

/* A NFULNL_MSG_PACKET message carrying @p payload and @p prefix. */
static size_t mkmsg(uint8_t *buf, const char *prefix, const uint8_t *payload, uint16_t plen)
{
	struct nlmsghdr *nlh = (void *)buf;
	struct nfgenmsg g = { .nfgen_family = NFPROTO_IPV4 };
	size_t off = NLMSG_HDRLEN;

	memset(buf, 0, 512);
	memcpy(buf + off, &g, sizeof(g));
	off += NLMSG_ALIGN(sizeof(g));
	if (prefix)
		off += put_attr(buf + off, NFULA_PREFIX, prefix, (uint16_t)(strlen(prefix) + 1));
	if (payload)
		off += put_attr(buf + off, NFULA_PAYLOAD, payload, plen);
	nlh->nlmsg_len = (uint32_t)off;
	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	return off;
}

static void test_nflog_parse(void **state)
{
	uint8_t ip[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 99, 2, 2, 10, 99, 1, 1,
			   0x12, 0x34, 0x15, 0x4e, 0, 8, 0, 0 };
	uint8_t buf[512];
	struct fw_drop d;
	size_t len = mkmsg(buf, "fw:rule:4", ip, sizeof(ip));

	assert_int_equal(fw_nflog_parse(buf, len, &d), 0);
	assert_string_equal(d.reason, "rule");
	assert_int_equal(d.rule_id, 4);
	assert_int_equal(d.ip_proto, 17);
	assert_string_equal(d.src, "10.99.2.2");
	assert_string_equal(d.dst, "10.99.1.1");
	assert_int_equal(d.sport, 0x1234);
	assert_int_equal(d.dport, 5454);

	/* Truncated transport header: no ports, no over-read (ASan watches). */
	len = mkmsg(buf, "fw:default", ip, 22);
	assert_int_equal(fw_nflog_parse(buf, len, &d), 0);
	assert_string_equal(d.reason, "default");
	assert_int_equal(d.dport, 0);
	/* An IHL pointing past the payload. */
	ip[0] = 0x4f;
	len = mkmsg(buf, "fw:uplink", ip, sizeof(ip));
	assert_int_equal(fw_nflog_parse(buf, len, &d), 0);
	assert_string_equal(d.reason, "uplink");
	assert_int_equal(d.dport, 0);
	/* Too short for an IP header: addresses stay empty. */
	len = mkmsg(buf, "fw:rule:x", ip, 10);
	assert_int_equal(fw_nflog_parse(buf, len, &d), 0);
	assert_string_equal(d.reason, "unknown");
	assert_string_equal(d.src, "");
	/* A message length beyond the buffer, a wrong type. */
	len = mkmsg(buf, NULL, NULL, 0);
	assert_int_equal(fw_nflog_parse(buf, len - 1, &d), -EINVAL);
	((struct nlmsghdr *)buf)->nlmsg_type = 3;
	assert_int_equal(fw_nflog_parse(buf, len, &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_refusals),
		cmocka_unit_test(test_rule_accepted),
		cmocka_unit_test(test_ruleset_ids),
		cmocka_unit_test(test_net_prefix),
		cmocka_unit_test(test_nft_json),
		cmocka_unit_test(test_icmp_and_comment),
		cmocka_unit_test(test_guest_names),
		cmocka_unit_test(test_nft_guests),
		cmocka_unit_test(test_host_names),
		cmocka_unit_test(test_dns_wire),
		cmocka_unit_test(test_nft_host_rule),
		cmocka_unit_test(test_forwards),
		cmocka_unit_test(test_special_dns),
		cmocka_unit_test_setup_teardown(test_store, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_store_hostile, setup_dir, teardown_dir),
		cmocka_unit_test(test_nflog_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
