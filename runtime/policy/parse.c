/*
 * parse.c - one policy line at a time into a rule (format in policy.h).
 * Files, text and the fuzzer all come through policy_feed_line(). One error
 * is reported per line, the first one met, reading left to right.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_private.h"

/* Fields a rule needs before its options, and the options there are (each
 * may be given once). */
#define RULE_FIELDS 4
#define RULE_OPTIONS 2

/* How a tag is written in a rule: "@tag:NAME". */
#define TAG_PREFIX "@tag:"
#define TAG_PREFIX_LEN (sizeof(TAG_PREFIX) - 1)

struct tok {
	const char *s;
	size_t len;
};

static const char name_rule[] =
	"letters, digits, '_', '.', '-', starting with a letter or digit, at most 63 bytes";

void policy_report(struct policy *p, unsigned line, bool warning, const char *fmt, ...)
{
	char msg[POLICY_MSG_MAX];
	va_list ap;

	if (warning)
		p->n_warnings++;
	else
		p->n_errors++;
	if (!p->diag)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->diag(p->arg, p->n_files ? p->files[p->n_files - 1] : "-", line, warning, msg);
}

struct policy *policy_new(policy_diag_fn *diag, void *arg)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->diag = diag;
	p->arg = arg;
	return p;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_rules; i++)
		free(p->rules[i].text);
	free(p->rules);
	for (unsigned i = 0; i < p->n_files; i++)
		free(p->files[i]);
	free(p->files);
	free(p);
}

int policy_begin_file(struct policy *p, const char *name)
{
	char **files, *copy;

	if (!p || !name)
		return -EINVAL;
	if (p->n_files == UINT_MAX)
		return -ENOMEM;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	files = reallocarray(p->files, p->n_files + 1, sizeof(*files));
	if (!files) {
		free(copy);
		return -ENOMEM;
	}
	files[p->n_files++] = copy;
	p->files = files;
	p->line = 0;
	return 0;
}

unsigned policy_errors(const struct policy *p) { return p ? p->n_errors : 0; }
unsigned policy_warnings(const struct policy *p) { return p ? p->n_warnings : 0; }
unsigned policy_rules(const struct policy *p) { return p ? p->n_rules : 0; }

/* Drops the comment and refuses bytes that have no place in a policy.
 * @return the length of what is left, or -EINVAL (reported). */
static ssize_t clean_line(struct policy *p, const char *buf, size_t len)
{
	const char *nul;

	if (len > POLICY_LINE_MAX) {
		policy_report(p, p->line, false, "line too long (more than %d bytes)",
			      POLICY_LINE_MAX);
		return -EINVAL;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	nul = memchr(buf, '\0', len);
	if (nul) {
		policy_report(p, p->line, false, "NUL byte at column %zu",
			      (size_t)(nul - buf) + 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '#' && (i == 0 || buf[i - 1] == ' ' || buf[i - 1] == '\t'))
			return (ssize_t)i;
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			policy_report(p, p->line, false, "control character \\x%02x at column %zu",
				      c, i + 1);
			return -EINVAL;
		}
	}
	return (ssize_t)len;
}

/* The next blank-separated token from *pos; false at the end. */
static bool next_tok(const char *buf, size_t len, size_t *pos, struct tok *t)
{
	size_t i = *pos;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (i == len)
		return false;
	t->s = buf + i;
	while (i < len && buf[i] != ' ' && buf[i] != '\t')
		i++;
	t->len = (size_t)(buf + i - t->s);
	*pos = i;
	return true;
}

static bool tok_is(const struct tok *t, const char *word)
{
	size_t n = strlen(word);

	return t->len == n && !memcmp(t->s, word, n);
}

static int parse_call(struct policy *p, const struct tok *t, struct rule *r, size_t *svc_len)
{
	char q[POLICY_MSG_MAX / 2];
	const char *method, *why;

	if (tok_is(t, "*")) {
		r->kind = CALL_ANY;
		return 0;
	}
	if (policy_call_split(t->s, t->len, svc_len, &method, &why)) {
		policy_quote(q, sizeof(q), t->s, t->len);
		policy_report(p, p->line, false, "bad service name '%s': %s", q, why);
		return -EINVAL;
	}
	r->kind = method ? CALL_METHOD : CALL_SERVICE;
	return 0;
}

static int parse_peer(struct policy *p, const struct tok *t, const char *field,
		      struct peer_pat *pat)
{
	const size_t tag_len = TAG_PREFIX_LEN;
	char q[POLICY_MSG_MAX / 2];

	policy_quote(q, sizeof(q), t->s, t->len);
	if (tok_is(t, "@anyvm")) {
		pat->kind = PEER_ANY;
		return 0;
	}
	if (t->len >= tag_len && !memcmp(t->s, TAG_PREFIX, tag_len)) {
		pat->kind = PEER_TAG;
		if (t->len == tag_len) {
			policy_report(p, p->line, false, "%s '@tag:' has no tag name", field);
			return -EINVAL;
		}
		if (policy_is_peer_name(t->s + tag_len, t->len - tag_len))
			return 0;
		policy_report(p, p->line, false, "bad tag name in %s '%s' (%s)", field, q,
			      name_rule);
		return -EINVAL;
	}
	if (t->s[0] == '@') {
		policy_report(p, p->line, false, "unknown %s '%s' (known: @anyvm, @tag:NAME)",
			      field, q);
		return -EINVAL;
	}
	if (tok_is(t, "*")) {
		policy_report(p, p->line, false,
			      "'*' as %s: '*' is for services only; anyone is @anyvm", field);
		return -EINVAL;
	}
	pat->kind = PEER_NAME;
	if (policy_is_peer_name(t->s, t->len))
		return 0;
	policy_report(p, p->line, false, "bad %s name '%s' (%s)", field, q, name_rule);
	return -EINVAL;
}

static int parse_action(struct policy *p, const struct tok *t, struct rule *r)
{
	char q[POLICY_MSG_MAX / 2];

	if (tok_is(t, "allow")) {
		r->action = POLICY_ALLOW;
		return 0;
	}
	if (tok_is(t, "deny")) {
		r->action = POLICY_DENY;
		return 0;
	}
	policy_quote(q, sizeof(q), t->s, t->len);
	/* qrexec's third action; vappd has no one to ask. */
	if (tok_is(t, "ask"))
		policy_report(p, p->line, false,
			      "unknown action 'ask': vappd cannot ask anyone (allow or deny)");
	else
		policy_report(p, p->line, false, "unknown action '%s' (allow or deny)", q);
	return -EINVAL;
}

static int parse_option(struct policy *p, const struct tok *t, struct rule *r)
{
	const char *eq = memchr(t->s, '=', t->len);
	char q[POLICY_MSG_MAX / 2];
	struct tok key, val;
	int *slot;

	policy_quote(q, sizeof(q), t->s, t->len);
	if (!eq || eq == t->s) {
		policy_report(p, p->line, false,
			      "trailing junk '%s' after the action (options are key=value)", q);
		return -EINVAL;
	}
	key = (struct tok){ t->s, (size_t)(eq - t->s) };
	val = (struct tok){ eq + 1, t->len - key.len - 1 };
	if (!tok_is(&key, "log") && !tok_is(&key, "direct")) {
		policy_quote(q, sizeof(q), key.s, key.len);
		policy_report(p, p->line, false, "unknown option '%s' (known: log, direct)", q);
		return -EINVAL;
	}
	slot = tok_is(&key, "log") ? &r->log : &r->direct;
	if (*slot >= 0) {
		policy_report(p, p->line, false, "option '%s' given twice",
			      slot == &r->log ? "log" : "direct");
		return -EINVAL;
	}
	if (tok_is(&val, "yes") || tok_is(&val, "no")) {
		*slot = tok_is(&val, "yes");
		return 0;
	}
	policy_quote(q, sizeof(q), val.s, val.len);
	policy_report(p, p->line, false, "%s='%s': expected %s=yes or %s=no",
		      slot == &r->log ? "log" : "direct", q, slot == &r->log ? "log" : "direct",
		      slot == &r->log ? "log" : "direct");
	return -EINVAL;
}

/* direct=yes hands the peer's calls to the appliance itself, past the
 * broker: only for what the broker would never refuse, a whole service
 * allowed. */
static int check_direct(struct policy *p, const struct rule *r)
{
	if (r->direct != 1 || (r->kind == CALL_SERVICE && r->action == POLICY_ALLOW))
		return 0;
	policy_report(p, p->line, false, "direct=yes is for a rule that allows a whole service "
		      "(SERVICE or SERVICE/*, not a method or '*')");
	return -EINVAL;
}

/* Appends @p len bytes of @p s to @p *o, NUL-terminated; @return where it starts. */
static const char *put(char **o, const char *s, size_t len)
{
	char *start = *o;

	memcpy(start, s, len);
	start[len] = '\0';
	*o = start + len + 1;
	return start;
}

/* A peer's name, or a tag's without its prefix; NULL for @anyvm. */
static const char *put_peer(char **o, const struct peer_pat *pat, const struct tok *t)
{
	if (pat->kind == PEER_ANY)
		return NULL;
	if (pat->kind == PEER_TAG)
		return put(o, t->s + TAG_PREFIX_LEN, t->len - TAG_PREFIX_LEN);
	return put(o, t->s, t->len);
}

/*
 * One allocation: the rule's text (its fields joined by one space), then
 * the service, the method and the two peer names, each NUL-terminated.
 * Every byte was checked printable by now.
 */
static int fill_strings(struct rule *r, const struct tok *f, size_t n, size_t svc_len)
{
	size_t total = 0;
	char *o;

	for (size_t i = 0; i < n; i++)
		total += f[i].len + 1;
	/* The copies of fields 0-2 are never longer than the fields. */
	r->text = malloc(total + f[0].len + 1 + f[1].len + 1 + f[2].len + 1);
	if (!r->text)
		return -ENOMEM;
	o = r->text;
	for (size_t i = 0; i < n; i++) {
		memcpy(o, f[i].s, f[i].len);
		o += f[i].len;
		*o++ = i + 1 < n ? ' ' : '\0';
	}
	if (r->kind != CALL_ANY)
		r->service = put(&o, f[0].s, svc_len);
	if (r->kind == CALL_METHOD)
		r->method = put(&o, f[0].s + svc_len + 1, f[0].len - svc_len - 1);
	r->src.name = put_peer(&o, &r->src, &f[1]);
	r->dst.name = put_peer(&o, &r->dst, &f[2]);
	return 0;
}

/* Warns when an earlier rule decides every call that @p r would. */
static void check_shadow(struct policy *p, const struct rule *r)
{
	static const char *const verb[] = { [POLICY_DENY] = "denies", [POLICY_ALLOW] = "allows" };

	for (unsigned i = 0; i < p->n_rules; i++) {
		const struct rule *e = &p->rules[i];
		char where[POLICY_MSG_MAX / 2];
		size_t n;

		if (!policy_rule_covers(e, r))
			continue;
		/* File names come from whoever ran us: quoted like any input. */
		if (e->file == r->file) {
			snprintf(where, sizeof(where), "line %u", e->line);
		} else {
			policy_quote(where, sizeof(where) - 12, p->files[e->file],
				     strlen(p->files[e->file]));
			n = strlen(where);
			snprintf(where + n, sizeof(where) - n, ":%u", e->line);
		}
		if (e->action == r->action)
			policy_report(p, r->line, true,
				      "rule is redundant: %s already %s every call it covers",
				      where, verb[e->action]);
		else
			policy_report(p, r->line, true,
				      "rule never matches: %s already %s every call it covers",
				      where, verb[e->action]);
		return;
	}
}

static int add_rule(struct policy *p, struct rule *r)
{
	if (p->n_rules == POLICY_RULES_MAX) {
		policy_report(p, p->line, false, "too many rules (at most %d)", POLICY_RULES_MAX);
		return -EINVAL;
	}
	if (p->n_rules == p->cap_rules) {
		unsigned cap = p->cap_rules ? p->cap_rules * 2 : 16;
		struct rule *rules = reallocarray(p->rules, cap, sizeof(*rules));

		if (!rules)
			return -ENOMEM;
		p->rules = rules;
		p->cap_rules = cap;
	}
	check_shadow(p, r);
	p->rules[p->n_rules++] = *r;
	return 0;
}

static int parse_rule(struct policy *p, const char *buf, size_t len)
{
	static const char *const missing[RULE_FIELDS] = {
		[1] = "missing SOURCE, TARGET and action",
		[2] = "missing TARGET and action",
		[3] = "missing the action (allow or deny)",
	};
	struct tok f[RULE_FIELDS + RULE_OPTIONS];
	struct rule r = { .log = -1, .direct = -1, .file = p->n_files - 1, .line = p->line };
	size_t pos = 0, n = 0, svc_len = 0;
	int ret;

	while (n < RULE_FIELDS && next_tok(buf, len, &pos, &f[n]))
		n++;
	if (n == 0)
		return 0;
	if (n < RULE_FIELDS) {
		policy_report(p, p->line, false, "%s: a rule is SERVICE[.METHOD] SOURCE TARGET "
			      "allow|deny", missing[n]);
		return -EINVAL;
	}
	if (parse_call(p, &f[0], &r, &svc_len) || parse_peer(p, &f[1], "source", &r.src) ||
	    parse_peer(p, &f[2], "target", &r.dst) || parse_action(p, &f[3], &r))
		return -EINVAL;
	for (struct tok o; next_tok(buf, len, &pos, &o);) {
		if (parse_option(p, &o, &r))
			return -EINVAL;
		/* A second valid option would be a duplicate, refused above. */
		if (n < RULE_FIELDS + RULE_OPTIONS)
			f[n++] = o;
	}
	if (check_direct(p, &r))
		return -EINVAL;
	ret = fill_strings(&r, f, n, svc_len);
	if (ret)
		return ret;
	ret = add_rule(p, &r);
	if (ret)
		free(r.text);
	return ret;
}

int policy_feed_line(struct policy *p, const char *buf, size_t len)
{
	ssize_t n;
	int ret;

	if (!p || (!buf && len))
		return -EINVAL;
	if (!buf) /* memchr() and friends want a pointer even for 0 bytes */
		buf = "";
	if (!p->n_files) {
		ret = policy_begin_file(p, "-");
		if (ret)
			return ret;
	}
	if (p->line == UINT_MAX) {
		policy_report(p, p->line, false, "too many lines");
		return -EINVAL;
	}
	p->line++;
	n = clean_line(p, buf, len);
	if (n < 0)
		return (int)n;
	return parse_rule(p, buf, (size_t)n);
}
