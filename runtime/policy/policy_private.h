/* policy_private.h - libvapp-policy internals: the parsed rule and the name checks
 * that the parser (parse.c) and the evaluator (eval.c) share. */
#ifndef VAPP_POLICY_PRIVATE_H
#define VAPP_POLICY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

#define POLICY_MSG_MAX 320

enum call_kind {
	CALL_ANY,     /* '*' */
	CALL_SERVICE, /* every method of one service */
	CALL_METHOD,  /* one method */
};

enum peer_kind {
	PEER_ANY,  /* @anyvm */
	PEER_NAME, /* a guest or appliance by name */
	PEER_TAG,  /* @tag:NAME */
};

struct peer_pat {
	enum peer_kind kind;
	const char *name; /* the name or the tag; into rule->text's allocation */
};

struct rule {
	enum call_kind kind;
	const char *service; /* into text's allocation; NULL for CALL_ANY */
	const char *method;  /* likewise; NULL unless CALL_METHOD */
	struct peer_pat src, dst;
	enum policy_action action;
	int log; /* -1: the action's default */
	int direct; /* direct=: -1 not given, 0 no, 1 yes */
	unsigned file, line;
	/* The rule as written, fields joined by one space; the same allocation
	 * holds the strings above after its NUL. */
	char *text;
};

struct policy {
	policy_diag_fn *diag;
	void *arg;
	struct rule *rules;
	unsigned n_rules, cap_rules;
	char **files;
	unsigned n_files;
	unsigned line; /* in the current file */
	unsigned n_errors, n_warnings;
};

/* Name checks (names.c). Each takes a length, since input may hold NULs. */
bool policy_is_ident(const char *s, size_t len);
bool policy_is_dotted(const char *s, size_t len);
bool policy_is_peer_name(const char *s, size_t len);
/* Reads the dotted form of a call name: @return 0 with the service's length
 * in @p svc_len and the method (or NULL) in @p method; -EINVAL with a
 * reason in @p why. */
int policy_call_split(const char *s, size_t len, size_t *svc_len, const char **method,
		      const char **why);
/* Copies @p len bytes of @p s into @p out (@p size bytes, NUL-terminated) as
 * printable ASCII: other bytes become \xNN, a long token ends with "...". */
void policy_quote(char *out, size_t size, const char *s, size_t len);

/* Reports a problem at the current line (parse.c). */
void policy_report(struct policy *p, unsigned line, bool warning, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Does rule @p r decide this call (eval.c)? Writes the reason to @p why
 * (may be NULL). */
bool policy_rule_matches(const struct rule *r, const char *service, const char *method,
			 const struct policy_peer *src, const struct policy_peer *dst, char *why,
			 size_t why_size);
/* Does @p a match every call that @p b matches (eval.c)? */
bool policy_rule_covers(const struct rule *a, const struct rule *b);

#endif /* VAPP_POLICY_PRIVATE_H */
