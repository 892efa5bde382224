/*
 * test_fw_import.c - vapp-fw's Qubes rule lists (cli/qubes_rules.c): a
 * sample list as `qvm-firewall VM list --raw` writes it becomes the typed
 * rules it says, which the daemon's own checks (fw_ruleset_from_pb)
 * accept, and comes back out of the daemon's form (fw_ruleset_to_pb) as
 * the same text; every kind of mistake is refused with its line and
 * column, all of them reported, and nothing taken; hostile bytes are
 * quoted, never echoed raw.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fw.h"
#include "qubes_rules.h"

/* A list as Qubes writes it, in its canonical order, the policy last. */
static const char sample[] =
	"action=accept dst4=192.0.2.0/24 proto=tcp dstports=443-443 comment=web\n"
	"action=accept dst6=2001:db8::/32 proto=udp dstports=53-53\n"
	"action=accept proto=icmp icmptype=8\n"
	"action=drop dst4=198.51.100.7 proto=tcp dstports=1000-2000\n"
	"action=accept dst6=2001:db8::1 proto=icmp icmptype=128 comment=ping six\n"
	"action=drop\n";

static Vapp__Firewall__V1__Ruleset *import_ok(const char *text)
{
	char err[2048];
	Vapp__Firewall__V1__Ruleset *rs = fw_qubes_import(text, strlen(text), "t", err, sizeof(err));

	if (!rs)
		fail_msg("import refused: %s", err);
	return rs;
}

static void test_sample(void **state)
{
	Vapp__Firewall__V1__Ruleset *rs = import_ok(sample);
	Vapp__Firewall__V1__Ruleset back;
	struct fw_ruleset model;
	char why[FW_REASON_LEN], *text;

	assert_int_equal(rs->n_rules, 5);
	assert_int_equal(rs->default_policy, VAPP__FIREWALL__V1__ACTION__ACTION_DROP);
	assert_string_equal(rs->rules[0]->destination, "192.0.2.0/24");
	assert_int_equal(rs->rules[0]->protocol, VAPP__FIREWALL__V1__PROTOCOL__PROTOCOL_TCP);
	assert_int_equal(rs->rules[0]->port_min, 443);
	assert_int_equal(rs->rules[0]->port_max, 0);
	assert_string_equal(rs->rules[0]->comment, "web");
	assert_int_equal(rs->rules[2]->icmp->type, 8);
	assert_string_equal(rs->rules[2]->destination, "");
	assert_int_equal(rs->rules[3]->action, VAPP__FIREWALL__V1__ACTION__ACTION_DROP);
	assert_int_equal(rs->rules[3]->port_max, 2000);
	assert_string_equal(rs->rules[4]->comment, "ping six");

	/* The daemon takes it as it is, and gives the same list back. */
	assert_int_equal(fw_ruleset_from_pb(rs, NULL, &model, why, sizeof(why)), 0);
	assert_true(model.rules[2].has_icmp_type);
	assert_int_equal(model.rules[2].icmp_type, 8);
	assert_false(model.rules[0].has_icmp_type);
	assert_int_equal(fw_ruleset_to_pb(&model, NULL, &back), 0);
	text = fw_qubes_export(&back);
	assert_non_null(text);
	assert_string_equal(text, sample);
	free(text);
	fw_ruleset_pb_free(&back);
	fw_ruleset_fini(&model);
	fw_qubes_free(rs);
}

/* Blank and '#' lines, CRLF, keys in any order, dsthost= with an address,
 * a single port, no closing policy (drop), a bare action in the middle. */
static void test_forms(void **state)
{
	Vapp__Firewall__V1__Ruleset *rs;
	char *text;

	rs = import_ok("# from work-vm\r\n\r\n  proto=udp action=accept dstports=53 dsthost=192.0.2.53\r\n"
		       "action=accept\n"
		       "action=drop proto=tcp\n");
	assert_int_equal(rs->n_rules, 3);
	assert_string_equal(rs->rules[0]->destination, "192.0.2.53");
	assert_int_equal(rs->rules[0]->port_min, 53);
	assert_int_equal(rs->default_policy, VAPP__FIREWALL__V1__ACTION__ACTION_DROP);
	text = fw_qubes_export(rs);
	assert_string_equal(text, "action=accept dst4=192.0.2.53 proto=udp dstports=53-53\n"
				  "action=accept\n"
				  "action=drop proto=tcp\n"
				  "action=drop\n");
	free(text);
	fw_qubes_free(rs);

	/* dsthost= with a name: the rule's host, lower case, and back; an
	 * expire= Unix time kept. */
	rs = import_ok("action=accept proto=tcp dsthost=Web.Example.COM dstports=443-443 expire=1900000000\n");
	assert_int_equal(rs->n_rules, 1);
	assert_string_equal(rs->rules[0]->host, "web.example.com");
	assert_string_equal(rs->rules[0]->destination, "");
	assert_int_equal(rs->rules[0]->expire, 1900000000);
	text = fw_qubes_export(rs);
	assert_string_equal(text, "action=accept dsthost=web.example.com proto=tcp dstports=443-443 "
				  "expire=1900000000\naction=drop\n");
	free(text);
	fw_qubes_free(rs);

	/* specialtarget=dns, and back. */
	rs = import_ok("action=accept specialtarget=dns\naction=drop\n");
	assert_int_equal(rs->n_rules, 1);
	assert_int_equal(rs->rules[0]->special, VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS);
	text = fw_qubes_export(rs);
	assert_string_equal(text, "action=accept specialtarget=dns\naction=drop\n");
	free(text);
	fw_qubes_free(rs);

	rs = import_ok("action=accept\n");
	assert_int_equal(rs->n_rules, 0);
	assert_int_equal(rs->default_policy, VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT);
	fw_qubes_free(rs);
	rs = import_ok("");
	assert_int_equal(rs->n_rules, 0);
	assert_int_equal(rs->default_policy, VAPP__FIREWALL__V1__ACTION__ACTION_DROP);
	fw_qubes_free(rs);
}

/* One wrong line each: FILE:LINE:COL and what, nothing returned. */
static void test_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "proto=tcp\n", "t:1:1: no action=" },
		{ "action=allow\n", "t:1:1: action=allow: accept or drop" },
		{ "action=accept dst4=2001:db8::1\n", "t:1:15: dst4=2001:db8::1: not an IPv4" },
		{ "action=accept dst4=10.0.0.1/8\n", "t:1:15: dst4=10.0.0.1/8: host bits set" },
		{ "action=accept dst4=10.0.0.0/33\n", "t:1:15: dst4=10.0.0.0/33: not an IPv4" },
		{ "action=accept dsthost=-x.example\n", "t:1:15: dsthost=-x.example: not an address, a prefix or a host name" },
		{ "action=accept dsthost=a..b\n", "t:1:15: dsthost=a..b: not an address" },
		{ "action=accept proto=sctp\n", "t:1:15: proto=sctp: tcp, udp or icmp" },
		{ "action=accept proto=tcp dstports=0-80\n", "t:1:25: dstports=0-80: not a port" },
		{ "action=accept proto=tcp dstports=90-80\n", "t:1:25: dstports=90-80: not a port" },
		{ "action=accept dstports=80\n", "t:1:15: dstports= needs proto=tcp or proto=udp" },
		{ "action=accept proto=icmp icmptype=256\n", "t:1:26: icmptype=256: not an ICMP" },
		{ "action=accept proto=tcp icmptype=8\n", "t:1:25: icmptype= needs proto=icmp" },
		{ "action=accept specialtarget=ntp\n", "t:1:15: specialtarget=ntp: only dns" },
		{ "action=accept expire=+600\n", "t:1:15: expire=+600: not a Unix time" },
		{ "action=accept expire=0\n", "t:1:15: expire=0: not a Unix time" },
		{ "action=accept expire=99999999999999999999\n", "t:1:15: expire=99999999999999999999: not a Unix time" },
		{ "action=accept specialtarget=ntp\n", "t:1:15: specialtarget=ntp: only dns" },
		{ "action=accept action=drop\n", "t:1:15: action= given twice (first at column 1)" },
		{ "action=accept dst4=192.0.2.1 dst6=::1\n", "t:1:30: one destination a rule" },
		{ "action=accept frobnicate\n", "t:1:15: 'frobnicate' is not one of" },
		{ "action=accept colour=red\n", "t:1:15: 'colour=red' is not one of" },
		{ "\n\naction=accept comment=a\x01" "b\n", "t:3:24: comment: not printable ASCII" },
		{ "action=accept comment=01234567890123456789012345678901234567890123456789"
		  "012345678901234\n", "t:1:15: comment: longer than 64 bytes" },
		{ "action=accept dst4=\x1b[31m\n", "t:1:15: dst4=\\x1b[31m: not an IPv4" },
	};
	char err[2048];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Vapp__Firewall__V1__Ruleset *rs =
			fw_qubes_import(bad[i].text, strlen(bad[i].text), "t", err, sizeof(err));

		if (rs || strncmp(err, bad[i].want, strlen(bad[i].want)))
			fail_msg("case %zu: want \"%s\", got %s\"%s\"", i, bad[i].want,
				 rs ? "a ruleset and " : "", err);
	}
}

/* Every wrong line is reported, not just the first; a good line among them
 * changes nothing. */
static void test_all_errors(void **state)
{
	static const char text[] = "action=accept dst4=192.0.2.0/24\n"
				   "action=maybe\n"
				   "action=accept proto=tcp\n"
				   "action=drop proto=udp dstports=99999\n";
	char err[2048];

	assert_null(fw_qubes_import(text, sizeof(text) - 1, "rules.txt", err, sizeof(err)));
	assert_non_null(strstr(err, "rules.txt:2:1: action=maybe"));
	assert_non_null(strstr(err, "rules.txt:4:23: dstports=99999"));
	assert_null(strstr(err, "rules.txt:1:"));
	assert_null(strstr(err, "rules.txt:3:"));
}

/* More rules than the appliance holds; NUL bytes; a small error buffer. */
static void test_limits(void **state)
{
	size_t n = 1100, len = 0;
	char *text = malloc(n * 32), err[64];

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "action=drop proto=tcp\n");
	assert_null(fw_qubes_import(text, len, "t", err, sizeof(err)));
	assert_non_null(strstr(err, "more than 1024 rules"));
	free(text);
	assert_null(fw_qubes_import("action=accept\0 proto=tcp\n", 25, "t", err, sizeof(err)));
	assert_true(strlen(err) < sizeof(err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
