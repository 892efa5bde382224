/*
 * test_policy.c - libvapp-policy: first match wins, default deny, method
 * against service rules, tags and wildcards, and hostile input (very long
 * lines, NUL bytes, CRLF, control bytes, bad names given to policy_eval).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"

/* What the diag callback saw. */
struct diags {
	unsigned errors, warnings;
	unsigned last_line;
	char last[512];
	char all[8192];
};

static void diag(void *arg, const char *file, unsigned line, bool warning, const char *msg)
{
	struct diags *d = arg;
	size_t n = strlen(d->all);

	/* Every message is printable ASCII, whatever the input held. */
	for (const char *s = msg; *s; s++)
		assert_true(*s >= 0x20 && *s < 0x7f);
	assert_non_null(file);
	if (warning)
		d->warnings++;
	else
		d->errors++;
	d->last_line = line;
	snprintf(d->last, sizeof(d->last), "%s", msg);
	snprintf(d->all + n, sizeof(d->all) - n, "%u:%s%s\n", line, warning ? "w:" : "", msg);
}

static const char *const work_tags[] = { "work", "dev" };
static const struct policy_peer work_vm = { "work-vm", work_tags, 2 };
static const struct policy_peer home_vm = { "home-vm", NULL, 0 };
static const char *const fw_tags[] = { "net" };
static const struct policy_peer firewall = { "firewall", fw_tags, 1 };

#define FW "vapp.firewall.v1.Firewall"

/* Loads @p text as one file; asserts it loads cleanly unless @p want_ret. */
static struct policy *load(const char *text, int want_ret, struct diags *d)
{
	struct policy *p;

	memset(d, 0, sizeof(*d));
	p = policy_new(diag, d);
	assert_non_null(p);
	assert_int_equal(policy_load_text(p, "t.policy", text, strlen(text)), want_ret);
	return p;
}

/* The decision's line, or 0; asserts its action is @p want. */
static unsigned decide(const struct policy *p, const char *svc, const char *method,
		       const struct policy_peer *src, const struct policy_peer *dst,
		       enum policy_action want)
{
	struct policy_decision d;

	assert_int_equal(policy_eval(p, svc, method, src, dst, &d), 0);
	assert_int_equal(d.action, want);
	if (d.line == 0) {
		assert_int_equal(d.action, POLICY_DENY);
		assert_null(d.file);
	} else {
		assert_string_equal(d.file, "t.policy");
	}
	return d.line;
}

static void test_first_match_wins(void **state)
{
	struct diags d;
	struct policy *p;

	p = load(FW ".ListRules work-vm firewall allow\n"
		 FW ".ListRules work-vm firewall deny\n", 0, &d);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_ALLOW), 1);
	assert_int_equal(d.warnings, 1); /* line 2 can never match */
	policy_free(p);

	p = load(FW " @anyvm firewall deny\n"
		 FW ".ListRules @tag:work firewall allow\n", 0, &d);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_DENY), 1);
	policy_free(p);

	/* The narrower rule first: it decides its call, the wider one the rest. */
	p = load(FW ".ListRules @tag:work firewall allow\n"
		 FW " @anyvm firewall deny\n", 0, &d);
	assert_int_equal(d.warnings, 0);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_ALLOW), 1);
	assert_int_equal(decide(p, FW, "AddRule", &work_vm, &firewall, POLICY_DENY), 2);
	assert_int_equal(decide(p, FW, "ListRules", &home_vm, &firewall, POLICY_DENY), 2);
	policy_free(p);
}

static void test_default_deny(void **state)
{
	struct policy_decision dec;
	struct diags d;
	struct policy *p;

	p = load("", 0, &d);
	assert_int_equal(policy_rules(p), 0);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_DENY), 0);
	assert_int_equal(policy_eval(p, FW, "ListRules", &work_vm, &firewall, &dec), 0);
	assert_true(dec.log); /* a deny is logged */
	policy_free(p);

	p = load("# nothing but comments\n\n   \t\n", 0, &d);
	assert_int_equal(policy_rules(p), 0);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_DENY), 0);
	policy_free(p);

	p = load(FW " home-vm firewall allow\n"
		 "vapp.hello.v1.Greeter @anyvm @anyvm allow\n", 0, &d);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_DENY), 0);
	assert_int_equal(decide(p, FW, "ListRules", &home_vm, &firewall, POLICY_ALLOW), 1);
	/* A service whose name extends a rule's is another service. */
	assert_int_equal(decide(p, FW "2", "ListRules", &home_vm, &firewall, POLICY_DENY), 0);
	assert_int_equal(decide(p, "vapp.firewall.v1", "Firewall", &home_vm, &firewall,
				POLICY_DENY), 0);
	policy_free(p);
}

static void test_method_vs_service(void **state)
{
	struct diags d;
	struct policy *p;

	p = load(FW ".ListRules @anyvm firewall allow\n"
		 FW "/AddRule admin-vm firewall allow\n"
		 "legacy.ctl/* @anyvm firewall allow\n"
		 "legacy.ctl.Ctl/get_status @anyvm firewall allow\n"
		 "Greeter.SayHello @anyvm firewall allow\n"
		 FW " @anyvm firewall deny\n", 0, &d);
	assert_int_equal(policy_rules(p), 6);
	assert_int_equal(decide(p, FW, "ListRules", &home_vm, &firewall, POLICY_ALLOW), 1);
	/* Method names are case-sensitive, as protobuf's are. */
	assert_int_equal(decide(p, FW, "listRules", &home_vm, &firewall, POLICY_DENY), 6);
	assert_int_equal(decide(p, FW, "AddRule", &home_vm, &firewall, POLICY_DENY), 6);
	/* Line 3 is the service legacy.ctl, any method. */
	assert_int_equal(decide(p, "legacy.ctl", "reboot", &home_vm, &firewall, POLICY_ALLOW), 3);
	assert_int_equal(decide(p, "legacy.ctl.Ctl", "get_status", &home_vm, &firewall,
				POLICY_ALLOW), 4);
	assert_int_equal(decide(p, "legacy.ctl.Ctl", "reboot", &home_vm, &firewall,
				POLICY_DENY), 0);
	/* Without a package: service Greeter, method SayHello. */
	assert_int_equal(decide(p, "Greeter", "SayHello", &home_vm, &firewall, POLICY_ALLOW), 5);
	assert_int_equal(decide(p, "Greeter.SayHello", "X", &home_vm, &firewall, POLICY_DENY), 0);
	policy_free(p);

	/* A method rule and the same rule spelled with '/' are one rule. */
	p = load(FW "/ListRules @anyvm firewall deny\n"
		 FW ".ListRules @anyvm firewall allow\n", 0, &d);
	assert_int_equal(d.warnings, 1);
	assert_int_equal(d.last_line, 2);
	policy_free(p);
}

static void test_split_call(void **state)
{
	static const struct {
		const char *name, *service, *method; /* service NULL: refused */
	} cases[] = {
		{ "vapp.firewall.v1.Firewall", "vapp.firewall.v1.Firewall", NULL },
		{ "vapp.firewall.v1.Firewall.ListRules", "vapp.firewall.v1.Firewall", "ListRules" },
		{ "vapp.firewall.v1.Firewall/ListRules", "vapp.firewall.v1.Firewall", "ListRules" },
		{ "vapp.firewall.v1.Firewall/listRules", "vapp.firewall.v1.Firewall", "listRules" },
		{ "a.b/c", "a.b", "c" },
		{ "a.b/*", "a.b", NULL },
		{ "Svc", "Svc", NULL },
		{ "Svc.Method", "Svc", "Method" },
		{ "_p.Svc.M_2", "_p.Svc", "M_2" },
		{ "vapp.firewall.v1.firewall", NULL, NULL },
		{ "vapp.firewall.v1.Firewall.listRules", NULL, NULL },
		{ "vapp.firewall.v1.Firewall.ListRules.X", NULL, NULL },
		{ "vapp.Firewall.v1", NULL, NULL },
		{ "a..B", NULL, NULL },
		{ "a.B.", NULL, NULL },
		{ ".a.B", NULL, NULL },
		{ "a.B/", NULL, NULL },
		{ "/M", NULL, NULL },
		{ "a.B/c/d", NULL, NULL },
		{ "a.B/c.d", NULL, NULL },
		{ "a.B/**", NULL, NULL },
		{ "a.1b.C", NULL, NULL },
		{ "a-b.C", NULL, NULL },
		{ "", NULL, NULL },
		{ "*", NULL, NULL },
		{ "a.B c", NULL, NULL },
	};
	char svc[64];
	const char *method, *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = policy_split_call(cases[i].name, svc, &method, &why);

		if (!cases[i].service) {
			if (ret != -EINVAL)
				fail_msg("'%s' should be refused", cases[i].name);
			assert_non_null(why);
			continue;
		}
		if (ret)
			fail_msg("'%s' refused: %s", cases[i].name, why);
		assert_string_equal(svc, cases[i].service);
		if (cases[i].method)
			assert_string_equal(method, cases[i].method);
		else
			assert_null(method);
	}
}

static void test_tags(void **state)
{
	static const char *const tag_named_like[] = { "home-vm" };
	static const struct policy_peer tagged_home = { "other", tag_named_like, 1 };
	static const struct policy_peer named_work = { "work", NULL, 0 };
	struct diags d;
	struct policy *p;

	p = load(FW " @tag:dev @tag:net allow\n"
		 FW " @tag:work firewall deny\n"
		 FW " work firewall deny\n"
		 FW " home-vm @tag:net allow\n", 0, &d);
	assert_int_equal(d.warnings, 0);
	/* work-vm has tags work and dev: the second tag matches too. */
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_ALLOW), 1);
	/* The target's tag counts: the same guest to an untagged target. */
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &(struct policy_peer){ .name = "firewall" },
				POLICY_DENY), 2);
	/* A name is not a tag, a tag is not a name. */
	assert_int_equal(decide(p, FW, "ListRules", &named_work, &firewall, POLICY_DENY), 3);
	assert_int_equal(decide(p, FW, "ListRules", &tagged_home, &firewall, POLICY_DENY), 0);
	assert_int_equal(decide(p, FW, "ListRules", &home_vm, &firewall, POLICY_ALLOW), 4);
	policy_free(p);
}

static void test_wildcard(void **state)
{
	struct policy_decision dec;
	struct diags d;
	struct policy *p;

	p = load("* admin-vm @anyvm allow log=yes\n"
		 "* @anyvm @anyvm deny log=no\n"
		 FW " home-vm firewall allow\n", 0, &d);
	assert_int_equal(decide(p, "x.y.Z", "Anything", &(struct policy_peer){ .name = "admin-vm" },
				&(struct policy_peer){ .name = "whatever" }, POLICY_ALLOW), 1);
	assert_int_equal(policy_eval(p, FW, "ListRules", &home_vm, &firewall, &dec), 0);
	assert_int_equal(dec.line, 2);
	assert_int_equal(dec.action, POLICY_DENY);
	assert_false(dec.log); /* log=no */
	/* The catch-all shadows line 3, which is worth a warning. */
	assert_int_equal(d.warnings, 1);
	assert_int_equal(d.last_line, 3);
	policy_free(p);

	/* '*' is for services only. */
	p = load(FW " * firewall allow\n", -EINVAL, &d);
	assert_int_equal(d.errors, 1);
	assert_non_null(strstr(d.last, "@anyvm"));
	policy_free(p);
}

static void test_log_option(void **state)
{
	struct policy_decision dec;
	struct diags d;
	struct policy *p;

	p = load(FW ".A @anyvm @anyvm allow\n"
		 FW ".B @anyvm @anyvm allow log=yes\n"
		 FW ".C @anyvm @anyvm deny\n"
		 FW ".D @anyvm @anyvm deny log=no\n", 0, &d);
	static const struct { const char *m; bool log; } want[] = {
		{ "A", false }, { "B", true }, { "C", true }, { "D", false }, { "E", true },
	};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(policy_eval(p, FW, want[i].m, &home_vm, &firewall, &dec), 0);
		assert_int_equal(dec.log, want[i].log);
	}
	policy_free(p);
}

/* direct=yes: only on a whole-service allow, and only when that rule is
 * the first about the whole service for the pair; method rules before it
 * still decide their methods (the denied ones are given for the appliance
 * to refuse); calls through the broker decided as ever. */
static void test_direct_option(void **state)
{
	char denied[64];
	struct diags d;
	struct policy *p;

	p = load(FW " work-vm firewall allow direct=yes\n"
		 FW "/* @tag:dev firewall allow direct=yes log=no\n"
		 FW " home-vm firewall allow direct=no\n", 0, &d);
	strcpy(denied, "junk");
	assert_true(policy_direct(p, FW, &work_vm, &firewall, denied, sizeof(denied)));
	assert_string_equal(denied, "");
	assert_false(policy_direct(p, FW, &home_vm, &firewall, denied, sizeof(denied)));
	assert_false(policy_direct(p, "vapp.other.v1.Other", &work_vm, &firewall, denied,
				   sizeof(denied)));
	assert_false(policy_direct(p, FW, &firewall, &work_vm, denied, sizeof(denied)));
	assert_int_equal(decide(p, FW, "AddRule", &work_vm, &firewall, POLICY_ALLOW), 1);
	policy_free(p);

	/* Methods decided first: the denied ones listed (each once, first
	 * match winning), the allowed ones not; the whole service direct. */
	p = load(FW ".AddRule work-vm firewall deny\n"
		 FW ".ListRules work-vm firewall allow\n"
		 FW ".ListRules work-vm firewall deny\n"
		 FW ".DelRule @tag:dev firewall deny\n"
		 FW ".AddRule work-vm firewall deny\n"
		 FW ".Reset home-vm firewall deny\n"
		 FW " work-vm firewall allow direct=yes\n", 0, &d);
	assert_true(policy_direct(p, FW, &work_vm, &firewall, denied, sizeof(denied)));
	assert_string_equal(denied, "AddRule DelRule");
	assert_int_equal(decide(p, FW, "AddRule", &work_vm, &firewall, POLICY_DENY), 1);
	/* ... and no room to list them: no direct channel at all. */
	assert_false(policy_direct(p, FW, &work_vm, &firewall, denied, 10));
	assert_false(policy_direct(p, FW, &work_vm, &firewall, NULL, 0));
	policy_free(p);
	/* A deny of the whole service or a '*' first: no direct channel. */
	p = load(FW " work-vm firewall deny\n"
		 FW " work-vm firewall allow direct=yes\n", 0, &d);
	assert_false(policy_direct(p, FW, &work_vm, &firewall, denied, sizeof(denied)));
	policy_free(p);
	p = load("* @anyvm firewall deny\n"
		 FW " work-vm firewall allow direct=yes\n", 0, &d);
	assert_false(policy_direct(p, FW, &work_vm, &firewall, denied, sizeof(denied)));
	policy_free(p);
	/* Rules about other pairs or services before it do not matter. */
	p = load(FW ".AddRule home-vm firewall deny\n"
		 "vapp.other.v1.Other work-vm firewall deny\n"
		 FW " work-vm firewall allow direct=yes\n", 0, &d);
	assert_true(policy_direct(p, FW, &work_vm, &firewall, denied, sizeof(denied)));
	policy_free(p);

	static const char *const bad[] = {
		FW ".AddRule work-vm firewall allow direct=yes\n", /* one method */
		"* work-vm firewall allow direct=yes\n",            /* every service */
		FW " work-vm firewall deny direct=yes\n",
		FW " work-vm firewall allow direct=maybe\n",
		FW " work-vm firewall allow direct=yes direct=no\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = load(bad[i], -EINVAL, &d);
		assert_int_equal(d.errors, 1);
		assert_non_null(strstr(d.last, "direct"));
		assert_false(policy_direct(p, FW, &work_vm, &firewall, denied, sizeof(denied)));
		policy_free(p);
	}
	assert_false(policy_direct(NULL, FW, &work_vm, &firewall, denied, sizeof(denied)));
}

/* One bad line makes the whole policy unusable: evaluating it denies. */
static void test_errors_fail_closed(void **state)
{
	struct policy_decision dec;
	struct diags d;
	struct policy *p;

	p = load(FW " @anyvm firewall allow\n"
		 FW " home-vm firewall dney\n", -EINVAL, &d);
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.last_line, 2);
	assert_int_equal(policy_errors(p), 1);
	dec.action = POLICY_ALLOW;
	assert_int_equal(policy_eval(p, FW, "ListRules", &work_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(dec.action, POLICY_DENY);
	assert_int_equal(dec.line, 0);
	policy_free(p);
}

/* Every error is found in one pass, one per line, with the right line. */
static void test_every_error_reported(void **state)
{
	struct diags d;
	struct policy *p;

	p = load("bad\n"
		 FW " a b allow\n"
		 FW " a b allow junk\n"
		 "\n"
		 FW " @tag: b allow extra junk\n"
		 FW " a b ALLOW", -EINVAL, &d);
	assert_int_equal(d.errors, 4);
	assert_string_equal(d.all,
			    "1:missing SOURCE, TARGET and action: a rule is SERVICE[.METHOD] "
			    "SOURCE TARGET allow|deny\n"
			    "3:trailing junk 'junk' after the action (options are key=value)\n"
			    "5:source '@tag:' has no tag name\n"
			    "6:unknown action 'ALLOW' (allow or deny)\n");
	assert_int_equal(policy_rules(p), 1);
	policy_free(p);
}

static char *long_line(size_t len, const char *rule)
{
	char *s = malloc(len + 1);
	size_t n = strlen(rule);

	assert_non_null(s);
	assert_true(n <= len);
	memcpy(s, rule, n);
	memset(s + n, ' ', len - n);
	s[len] = '\0';
	return s;
}

/* Each edge of the line limit (at, over, far over, in a comment, without a
 * newline) in sequence, on one parser: a list of cases, kept together. */
static void test_long_lines(void **state)
{
	char *max = long_line(POLICY_LINE_MAX, FW " work-vm firewall allow");
	char *over = long_line(POLICY_LINE_MAX + 1, FW " work-vm firewall allow");
	struct diags d;
	struct policy *p;

	p = policy_new(diag, &d);
	memset(&d, 0, sizeof(d));
	assert_int_equal(policy_feed_line(p, max, POLICY_LINE_MAX), 0);
	assert_int_equal(policy_feed_line(p, over, POLICY_LINE_MAX + 1), -EINVAL);
	assert_non_null(strstr(d.last, "too long"));
	assert_int_equal(d.last_line, 2);
	assert_int_equal(policy_rules(p), 1);
	policy_free(p);
	free(max);
	free(over);

	/* A megabyte on one line of a file: refused, and the reader holds at
	 * most one line's worth; the next line still has its own number. */
	{
		char path[] = "/tmp/test_policy.XXXXXX";
		int fd = mkstemp(path);
		FILE *f;

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		fputs("# one\n" FW " work-vm firewall allow ", f);
		for (int i = 0; i < 1 << 20; i++)
			fputc(i % 2 ? ' ' : 'x', f);
		fputs("\n" FW " home-vm firewall allow", f);
		assert_int_equal(fclose(f), 0);
		memset(&d, 0, sizeof(d));
		p = policy_new(diag, &d);
		assert_int_equal(policy_load_file(p, path), -EINVAL);
		assert_int_equal(d.errors, 1);
		assert_string_equal(d.all, "2:line too long (more than 4096 bytes)\n");
		assert_int_equal(policy_rules(p), 1);
		unlink(path);
		policy_free(p);
	}

	/* A long but fine line: a service name of 4000 bytes. */
	{
		char *svc = malloc(4100);

		assert_non_null(svc);
		memset(svc, 'a', 3990);
		strcpy(svc + 3990, ".Svc");
		max = malloc(4200);
		assert_non_null(max);
		snprintf(max, 4200, "%s @anyvm @anyvm allow", svc);
		p = load(max, 0, &d);
		assert_int_equal(decide(p, svc, "M", &home_vm, &firewall, POLICY_ALLOW), 1);
		/* Messages about long tokens are cut, not overlong. */
		policy_free(p);
		snprintf(max, 4200, "%s @anyvm @anyvm allw", svc);
		p = load(max, -EINVAL, &d);
		policy_free(p);
		snprintf(max, 4200, "%s @anyvm @anyvm allow", svc);
		max[5] = '-';
		p = load(max, -EINVAL, &d);
		assert_true(strlen(d.last) < 300);
		assert_non_null(strstr(d.last, "..."));
		policy_free(p);
		free(svc);
		free(max);
	}
}

static void test_nul_bytes(void **state)
{
	static const char text[] = FW " work-vm firewall allow\n"
				   FW " home-vm\0 firewall allow\n"
				   "# \0 in a comment\n"
				   FW "\0.X home-vm firewall allow\n";
	struct diags d;
	struct policy *p;

	memset(&d, 0, sizeof(d));
	p = policy_new(diag, &d);
	assert_int_equal(policy_load_text(p, "t.policy", text, sizeof(text) - 1), -EINVAL);
	assert_int_equal(d.errors, 3);
	assert_int_equal(d.last_line, 4);
	assert_non_null(strstr(d.all, "2:NUL byte at column 34\n"));
	/* The NUL did not cut the line short into a valid rule. */
	assert_int_equal(policy_rules(p), 1);
	policy_free(p);

	/* A NUL in the call given to policy_eval is C's end of string: the
	 * name before it is what is checked, never more. */
	p = load(FW " @anyvm @anyvm allow\n", 0, &d);
	assert_int_equal(decide(p, FW "\0.Evil", "ListRules", &home_vm, &firewall, POLICY_ALLOW),
			 1);
	policy_free(p);
}

static void test_crlf(void **state)
{
	static const char crlf[] = "# policy\r\n"
				   FW ".ListRules work-vm firewall allow\r\n"
				   "\r\n"
				   FW " @anyvm firewall deny log=no\r\n"
				   "* @anyvm @anyvm allow\r";
	struct policy_decision dec;
	struct diags d;
	struct policy *p;

	p = load(crlf, 0, &d);
	assert_int_equal(policy_rules(p), 3);
	assert_int_equal(decide(p, FW, "ListRules", &work_vm, &firewall, POLICY_ALLOW), 2);
	/* The CR did not stick to log=no, nor to the last line's action. */
	assert_int_equal(policy_eval(p, FW, "AddRule", &work_vm, &firewall, &dec), 0);
	assert_int_equal(dec.line, 4);
	assert_false(dec.log);
	assert_int_equal(decide(p, "a.B", "C", &work_vm, &firewall, POLICY_ALLOW), 5);
	policy_free(p);

	/* Only one CR, only at the end: any other is a control character. */
	p = load(FW " a b allow\r\r\n", -EINVAL, &d);
	assert_non_null(strstr(d.last, "control character \\x0d"));
	policy_free(p);
	p = load(FW "\ra b allow\n", -EINVAL, &d);
	policy_free(p);
}

static void test_hostile_bytes(void **state)
{
	struct diags d;
	struct policy *p;

	/* Escape sequences never reach the terminal: the diag callback
	 * asserts every message is printable. */
	p = load(FW " w\033[31m firewall allow\n"
		 FW " w\xff\xfe firewall allow\n"
		 FW " a b allow log=\xc3\xa9\n"
		 "\xef\xbb\xbf" FW " a b allow\n", -EINVAL, &d);
	assert_int_equal(d.errors, 4);
	assert_non_null(strstr(d.all, "2:bad source name 'w\\xff\\xfe'"));
	assert_non_null(strstr(d.all, "3:log='\\xc3\\xa9'"));
	policy_free(p);
}

static void test_eval_refuses_bad_input(void **state)
{
	static const char *const bad_tags[] = { "ok", "not ok" };
	static const char *const null_tag[] = { NULL };
	const struct policy_peer bad[] = {
		{ NULL, NULL, 0 },
		{ "", NULL, 0 },
		{ "a b", NULL, 0 },
		{ "@anyvm", NULL, 0 },
		{ "a234567890123456789012345678901234567890123456789012345678901234", NULL, 0 },
		{ "x", NULL, 1 },
		{ "x", bad_tags, 2 },
		{ "x", null_tag, 1 },
	};
	struct policy_decision dec;
	struct diags d;
	struct policy *p;

	p = load("* @anyvm @anyvm allow\n", 0, &d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(policy_eval(p, FW, "M", &bad[i], &firewall, &dec), -EINVAL);
		assert_int_equal(dec.action, POLICY_DENY);
		assert_int_equal(policy_eval(p, FW, "M", &firewall, &bad[i], &dec), -EINVAL);
		assert_int_equal(dec.action, POLICY_DENY);
	}
	assert_int_equal(policy_eval(p, NULL, "M", &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, FW, NULL, &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, FW, "", &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, FW, "A.B", &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, "a..B", "M", &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, "a.B\n", "M", &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, FW, "M", NULL, &firewall, &dec), -EINVAL);
	assert_int_equal(policy_eval(p, FW, "M", &home_vm, &firewall, NULL), -EINVAL);
	assert_int_equal(policy_eval(NULL, FW, "M", &home_vm, &firewall, &dec), -EINVAL);
	assert_int_equal(dec.action, POLICY_DENY);
	/* The longest name is fine. */
	assert_int_equal(policy_eval(p, FW, "M", &home_vm,
				     &(struct policy_peer){ .name = "a23456789012345678901234567890123456789"
							    "012345678901234567890123" },
				     &dec), 0);
	assert_int_equal(dec.action, POLICY_ALLOW);
	policy_free(p);
}

/* Several files are one policy; each line is known by its own file. */
static void test_files(void **state)
{
	struct policy_decision dec;
	struct diags d = { 0 };
	struct policy *p = policy_new(diag, &d);

	assert_non_null(p);
	assert_int_equal(policy_load_text(p, "10-first.policy", "# x\n" FW " @tag:work firewall deny\n",
					  strlen("# x\n" FW " @tag:work firewall deny\n")), 0);
	assert_int_equal(policy_load_text(p, "20-second.policy",
					  FW " @tag:work firewall allow\n" FW " @anyvm firewall allow\n",
					  strlen(FW " @tag:work firewall allow\n" FW " @anyvm firewall allow\n")),
			 0);
	assert_int_equal(d.warnings, 1);
	assert_non_null(strstr(d.all, "1:w:rule never matches: 10-first.policy:2 already denies"));
	assert_int_equal(policy_eval(p, FW, "M", &work_vm, &firewall, &dec), 0);
	assert_string_equal(dec.file, "10-first.policy");
	assert_int_equal(dec.line, 2);
	assert_int_equal(policy_eval(p, FW, "M", &home_vm, &firewall, &dec), 0);
	assert_string_equal(dec.file, "20-second.policy");
	assert_int_equal(dec.line, 2);
	assert_int_equal(dec.action, POLICY_ALLOW);
	policy_free(p);

	/* Lines fed with no file are file "-". */
	p = policy_new(NULL, NULL);
	assert_int_equal(policy_feed_line(p, FW " a b allow", strlen(FW " a b allow")), 0);
	assert_int_equal(policy_feed_line(p, NULL, 0), 0);
	assert_int_equal(policy_eval(p, FW, "M", &(struct policy_peer){ .name = "a" },
				     &(struct policy_peer){ .name = "b" }, &dec), 0);
	assert_string_equal(dec.file, "-");
	/* Without a diag callback problems are still counted. */
	assert_int_equal(policy_feed_line(p, "x", 1), -EINVAL);
	assert_int_equal(policy_errors(p), 1);
	policy_free(p);

	p = policy_new(NULL, NULL);
	assert_int_equal(policy_load_file(p, "/nonexistent/x.policy"), -ENOENT);
	assert_int_equal(policy_errors(p), 1);
	policy_free(p);
	policy_free(NULL);
}

static void count_trace(void *arg, const char *file, unsigned line, const char *text,
			bool matched, const char *why)
{
	unsigned *n = arg;

	assert_non_null(why);
	assert_non_null(text);
	n[0]++;
	n[1] = line;
	n[2] = matched;
}

static void test_explain(void **state)
{
	struct policy_decision dec;
	unsigned seen[3] = { 0 };
	struct diags d;
	struct policy *p;

	p = load("vapp.hello.v1.Greeter @anyvm @anyvm allow\n"
		 FW ".AddRule @anyvm firewall allow\n"
		 FW ".ListRules @tag:work firewall allow\n"
		 FW " @anyvm firewall deny\n"
		 "* @anyvm @anyvm allow\n", 0, &d);
	assert_int_equal(policy_explain(p, FW, "ListRules", &home_vm, &firewall, &dec, count_trace,
					seen), 0);
	/* Lines 2-4 are about the firewall; line 1 is left out. */
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], 4);
	assert_int_equal(seen[2], 1);
	assert_int_equal(dec.line, 4);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(policy_explain(p, "a.B", "C", &home_vm, &firewall, &dec, count_trace,
					seen), 0);
	assert_int_equal(seen[0], 1);
	assert_int_equal(seen[1], 5);
	policy_free(p);
}

static void test_too_many_rules(void **state)
{
	struct diags d = { 0 };
	struct policy *p = policy_new(diag, &d);
	char line[128];
	int n;

	assert_non_null(p);
	for (int i = 0; i < POLICY_RULES_MAX; i++) {
		n = snprintf(line, sizeof(line), FW " vm%d firewall allow", i);
		assert_int_equal(policy_feed_line(p, line, (size_t)n), 0);
	}
	assert_int_equal(d.warnings, 0);
	n = snprintf(line, sizeof(line), FW " one-more firewall allow");
	assert_int_equal(policy_feed_line(p, line, (size_t)n), -EINVAL);
	assert_non_null(strstr(d.last, "too many rules"));
	assert_int_equal(policy_rules(p), POLICY_RULES_MAX);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_method_vs_service),
		cmocka_unit_test(test_split_call),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_log_option),
		cmocka_unit_test(test_direct_option),
		cmocka_unit_test(test_errors_fail_closed),
		cmocka_unit_test(test_every_error_reported),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_eval_refuses_bad_input),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_too_many_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
