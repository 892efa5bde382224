/*
 * fuzz_policy.c - libFuzzer: arbitrary bytes as a policy, and a call to
 * decide. The input's first line is the call, "SERVICE.Method SOURCE
 * TARGET" (a peer may be NAME:TAG,TAG); the rest is the policy text.
 *
 * Checked beyond "no crash": text and line-at-a-time loading agree; every
 * message is printable ASCII and names a real line; a decision names a real
 * line and no match is a deny; the explain trace agrees with the decision;
 * and the deciding line, alone in a policy of its own, decides the call the
 * same way (a rule's match never depends on the rules around it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TAGS 4

struct peer {
	struct policy_peer p;
	char buf[POLICY_NAME_MAX * (MAX_TAGS + 1) + 8];
	const char *tags[MAX_TAGS];
};

struct seen {
	unsigned n_lines;
	unsigned traced, matched, last_line;
};

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_policy: %s\n", what);
	abort();
}

static void diag(void *arg, const char *file, unsigned line, bool warning, const char *msg)
{
	const struct seen *s = arg;

	if (line > s->n_lines)
		fail("a message names a line past the end");
	for (; *msg; msg++)
		if (*msg < 0x20 || *msg >= 0x7f)
			fail("a message holds a byte that is not printable ASCII");
}

static void trace(void *arg, const char *file, unsigned line, const char *text, bool matched,
		  const char *why)
{
	struct seen *s = arg;

	if (s->matched)
		fail("a rule was tried after one matched");
	s->traced++;
	s->matched += matched;
	s->last_line = line;
}

/* "NAME[:TAG,...]" -> a peer; false if it does not fit. */
static bool peer_parse(struct peer *pe, const char *s, size_t len)
{
	char *t, *save;

	if (len >= sizeof(pe->buf))
		return false;
	memcpy(pe->buf, s, len);
	pe->buf[len] = '\0';
	pe->p = (struct policy_peer){ .name = pe->buf, .tags = pe->tags };
	t = strchr(pe->buf, ':');
	if (!t)
		return true;
	*t = '\0';
	for (t = strtok_r(t + 1, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (pe->p.n_tags == MAX_TAGS)
			return false;
		pe->tags[pe->p.n_tags++] = t;
	}
	return true;
}

/* The @p n-th line (1-based) of @p text. */
static const char *nth_line(const char *text, size_t len, unsigned n, size_t *line_len)
{
	const char *s = text, *end = text + len, *nl;

	while (--n) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			fail("a decision names a line that does not exist");
		s = nl + 1;
	}
	nl = memchr(s, '\n', (size_t)(end - s));
	*line_len = nl ? (size_t)(nl - s) : (size_t)(end - s);
	return s;
}

static unsigned count_lines(const char *text, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len && text[len - 1] != '\n');
}

/* Decides the call with the deciding line alone: the same action, line 1. */
static void check_alone(const char *text, size_t len, const struct policy_decision *d,
			const char *svc, const char *method, const struct peer *src,
			const struct peer *dst)
{
	struct policy_decision d1;
	struct policy *p;
	size_t n;
	const char *line = nth_line(text, len, d->line, &n);

	p = policy_new(NULL, NULL);
	if (!p)
		abort();
	if (policy_feed_line(p, line, n) != 0)
		fail("the deciding line does not load alone");
	if (policy_eval(p, svc, method, &src->p, &dst->p, &d1) != 0)
		fail("the deciding line alone cannot decide");
	if (d1.line != 1 || d1.action != d->action || d1.log != d->log)
		fail("the deciding line alone decides otherwise");
	policy_free(p);
}

static void decide(const struct policy *p1, const struct policy *p2, const char *text,
		   size_t len, struct seen *s, const char *call, size_t call_len)
{
	struct policy_decision d1, d2;
	struct peer src, dst;
	const char *method, *why, *sp1, *sp2;
	char svc[256], callz[256];
	int r1, r2;

	sp1 = memchr(call, ' ', call_len);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', call_len - (size_t)(sp1 + 1 - call)) : NULL;
	if (!sp2 || (size_t)(sp1 - call) >= sizeof(callz))
		return;
	memcpy(callz, call, (size_t)(sp1 - call));
	callz[sp1 - call] = '\0';
	if (policy_split_call(callz, svc, &method, &why) || !method)
		return;
	if (!peer_parse(&src, sp1 + 1, (size_t)(sp2 - sp1 - 1)) ||
	    !peer_parse(&dst, sp2 + 1, call_len - (size_t)(sp2 + 1 - call)))
		return;
	r1 = policy_explain(p1, svc, method, &src.p, &dst.p, &d1, trace, s);
	r2 = policy_eval(p2, svc, method, &src.p, &dst.p, &d2);
	if (r1 != r2 || d1.action != d2.action || d1.line != d2.line || d1.log != d2.log)
		fail("text and line-at-a-time policies decide differently");
	if (d1.line == 0 && d1.action != POLICY_DENY)
		fail("no rule matched, yet the call is allowed");
	if (r1) {
		if (d1.action != POLICY_DENY || s->traced)
			fail("a refused evaluation did not deny");
		return;
	}
	if (d1.line > s->n_lines)
		fail("a decision names a line past the end");
	if (s->matched != (d1.line != 0) || (d1.line && s->last_line != d1.line))
		fail("the explain trace disagrees with the decision");
	if (d1.line)
		check_alone(text, len, &d1, svc, method, &src, &dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl = memchr(data, '\n', size);
	const char *text = nl ? nl + 1 : in + size;
	size_t len = size - (size_t)(text - in), call_len = nl ? (size_t)(nl - in) : size;
	struct seen s = { .n_lines = count_lines(text, len) };
	struct policy *p1, *p2;
	int r1, bad = 0;

	p1 = policy_new(diag, &s);
	p2 = policy_new(diag, &s);
	if (!p1 || !p2)
		abort();
	r1 = policy_load_text(p1, "fuzz", text, len);
	if (r1 != 0 && r1 != -EINVAL)
		fail("policy_load_text failed oddly");
	/* The same text cut into lines here. */
	if (policy_begin_file(p2, "fuzz"))
		abort();
	for (size_t start = 0; start < len;) {
		const char *e = memchr(text + start, '\n', len - start);
		size_t end = e ? (size_t)(e - text) : len;

		bad |= policy_feed_line(p2, text + start, end - start) == -EINVAL;
		start = end + 1;
	}
	if ((r1 == -EINVAL) != bad || policy_errors(p1) != policy_errors(p2) ||
	    policy_warnings(p1) != policy_warnings(p2) || policy_rules(p1) != policy_rules(p2))
		fail("text and line-at-a-time loading disagree");
	if (policy_rules(p1) > s.n_lines)
		fail("more rules than lines");
	decide(p1, p2, text, len, &s, in, call_len);
	policy_free(p1);
	policy_free(p2);
	return 0;
}
