/*
 * eval.c - deciding a call: the first rule that matches it, else a deny.
 * Also the cover relation the parser's shadow warning uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_private.h"

static const char *const action_name[] = { [POLICY_DENY] = "deny", [POLICY_ALLOW] = "allow" };

static bool has_tag(const struct policy_peer *peer, const char *tag)
{
	for (size_t i = 0; i < peer->n_tags; i++)
		if (!strcmp(peer->tags[i], tag))
			return true;
	return false;
}

/* Appends "; " and a formatted reason to @p why (truncation is harmless:
 * the reason is for people). Without a @p why, as when no one asks for an
 * explanation, it costs nothing: a call's decision never formats text. */
__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t size, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (!why)
		return;
	n = strnlen(why, size);
	if (n + 3 >= size)
		return;
	if (n) {
		memcpy(why + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(why + n, size - n, fmt, ap);
	va_end(ap);
}

static bool call_matches(const struct rule *r, const char *service, const char *method,
			 char *why, size_t size)
{
	switch (r->kind) {
	case CALL_ANY:
		say(why, size, "any service");
		return true;
	case CALL_SERVICE:
		if (strcmp(r->service, service)) {
			say(why, size, "another service (%s)", r->service);
			return false;
		}
		say(why, size, "every method of %s", service);
		return true;
	case CALL_METHOD:
		if (strcmp(r->service, service)) {
			say(why, size, "another service (%s)", r->service);
			return false;
		}
		if (strcmp(r->method, method)) {
			say(why, size, "another method (%s)", r->method);
			return false;
		}
		say(why, size, "method %s", method);
		return true;
	}
	return false;
}

static bool peer_matches(const struct peer_pat *pat, const struct policy_peer *peer,
			 const char *field, char *why, size_t size)
{
	switch (pat->kind) {
	case PEER_ANY:
		say(why, size, "any %s", field);
		return true;
	case PEER_NAME:
		if (strcmp(pat->name, peer->name)) {
			say(why, size, "%s %s is not %s", field, peer->name, pat->name);
			return false;
		}
		say(why, size, "%s is %s", field, peer->name);
		return true;
	case PEER_TAG:
		if (!has_tag(peer, pat->name)) {
			say(why, size, "%s %s has no tag %s", field, peer->name, pat->name);
			return false;
		}
		say(why, size, "%s %s has tag %s", field, peer->name, pat->name);
		return true;
	}
	return false;
}

bool policy_rule_matches(const struct rule *r, const char *service, const char *method,
			 const struct policy_peer *src, const struct policy_peer *dst, char *why,
			 size_t why_size)
{
	if (why)
		why[0] = '\0';
	/* Stops at the first field that differs: that is the reason. */
	return call_matches(r, service, method, why, why_size) &&
	       peer_matches(&r->src, src, "source", why, why_size) &&
	       peer_matches(&r->dst, dst, "target", why, why_size);
}

static bool call_covers(const struct rule *a, const struct rule *b)
{
	switch (a->kind) {
	case CALL_ANY:
		return true;
	case CALL_SERVICE:
		return b->kind != CALL_ANY && !strcmp(a->service, b->service);
	case CALL_METHOD:
		return b->kind == CALL_METHOD && !strcmp(a->service, b->service) &&
		       !strcmp(a->method, b->method);
	}
	return false;
}

/* A name never covers a tag nor a tag a name: which guests carry which tags
 * is vappd's configuration, unknown here. */
static bool peer_covers(const struct peer_pat *a, const struct peer_pat *b)
{
	if (a->kind == PEER_ANY)
		return true;
	return a->kind == b->kind && !strcmp(a->name, b->name);
}

bool policy_rule_covers(const struct rule *a, const struct rule *b)
{
	return call_covers(a, b) && peer_covers(&a->src, &b->src) && peer_covers(&a->dst, &b->dst);
}

/* Names from vappd's configuration, but checked like any input: a name
 * that no rule could ever spell must not slip through as "@anyvm only". */
static bool peer_valid(const struct policy_peer *peer)
{
	if (!peer || !peer->name)
		return false;
	if (!policy_is_peer_name(peer->name, strnlen(peer->name, POLICY_NAME_MAX + 1)))
		return false;
	if (peer->n_tags && !peer->tags)
		return false;
	for (size_t i = 0; i < peer->n_tags; i++)
		if (!peer->tags[i] ||
		    !policy_is_peer_name(peer->tags[i], strnlen(peer->tags[i], POLICY_NAME_MAX + 1)))
			return false;
	return true;
}

static bool call_valid(const char *service, const char *method)
{
	size_t n;

	if (!service || !method)
		return false;
	n = strnlen(service, POLICY_LINE_MAX + 1);
	if (n > POLICY_LINE_MAX || !policy_is_dotted(service, n))
		return false;
	n = strnlen(method, POLICY_LINE_MAX + 1);
	return n <= POLICY_LINE_MAX && policy_is_ident(method, n);
}

int policy_explain(const struct policy *p, const char *service, const char *method,
		   const struct policy_peer *src, const struct policy_peer *dst,
		   struct policy_decision *d, policy_trace_fn *trace, void *arg)
{
	char why[POLICY_MSG_MAX];

	if (!d)
		return -EINVAL;
	*d = (struct policy_decision){ .action = POLICY_DENY, .log = true };
	/* A policy that did not load whole denies everything (policy.h). */
	if (!p || p->n_errors)
		return -EINVAL;
	if (!call_valid(service, method) || !peer_valid(src) || !peer_valid(dst))
		return -EINVAL;
	for (unsigned i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		bool m = policy_rule_matches(r, service, method, src, dst, trace ? why : NULL,
					     sizeof(why));

		if (trace && (r->kind == CALL_ANY || !strcmp(r->service, service)))
			trace(arg, p->files[r->file], r->line, r->text, m, why);
		if (!m)
			continue;
		d->action = r->action;
		d->log = r->log >= 0 ? r->log : r->action == POLICY_DENY;
		d->file = p->files[r->file];
		d->line = r->line;
		return 0;
	}
	return 0;
}

int policy_eval(const struct policy *p, const char *service, const char *method,
		const struct policy_peer *src, const struct policy_peer *dst,
		struct policy_decision *d)
{
	return policy_explain(p, service, method, src, dst, d, NULL, NULL);
}

/* Does rule @p r apply to the pair and to @p service (any method)? */
static bool about(const struct rule *r, const char *service, const struct policy_peer *src,
		  const struct policy_peer *dst)
{
	return (r->kind == CALL_ANY || !strcmp(r->service, service)) &&
	       peer_matches(&r->src, src, "source", NULL, 0) &&
	       peer_matches(&r->dst, dst, "target", NULL, 0);
}

/* Was method @p i's method decided by a rule before it? (First match wins.) */
static bool decided_before(const struct policy *p, unsigned i, const char *service,
			   const struct policy_peer *src, const struct policy_peer *dst)
{
	for (unsigned j = 0; j < i; j++)
		if (p->rules[j].kind == CALL_METHOD && about(&p->rules[j], service, src, dst) &&
		    !strcmp(p->rules[j].method, p->rules[i].method))
			return true;
	return false;
}

bool policy_direct(const struct policy *p, const char *service, const struct policy_peer *src,
		   const struct policy_peer *dst, char *denied, size_t len)
{
	size_t used = 0;

	if (denied && len)
		denied[0] = '\0';
	if (!p || p->n_errors || !call_valid(service, "X") || !peer_valid(src) || !peer_valid(dst))
		return false;
	/* The first rule about the whole service decides it; method rules
	 * before it decide their methods. */
	for (unsigned i = 0; i < p->n_rules; i++) {
		const struct rule *r = &p->rules[i];
		int n;

		if (!about(r, service, src, dst))
			continue;
		if (r->kind != CALL_METHOD)
			return r->kind == CALL_SERVICE && r->action == POLICY_ALLOW && r->direct == 1;
		if (r->action != POLICY_DENY || decided_before(p, i, service, src, dst))
			continue;
		n = denied ? snprintf(denied + used, len - used, "%s%s", used ? " " : "", r->method)
			   : -1;
		if (n < 0 || (size_t)n >= len - used)
			return false;
		used += (size_t)n;
	}
	return false;
}

const char *policy_action_name(enum policy_action a)
{
	return a == POLICY_ALLOW ? action_name[POLICY_ALLOW] : action_name[POLICY_DENY];
}
