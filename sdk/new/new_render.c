/*
 * new_render.c - vapp new: renders one template file (new_template.h has
 * the syntax). Line-based: a directive is a line of its own, so the output
 * keeps the template's layout exactly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "new_template.h"

#define MAX_LINES 4096

struct line {
	const char *s;
	size_t len; /* without the newline */
};

struct render {
	const struct new_template *t;
	struct line lines[MAX_LINES];
	size_t n;
	const struct new_service *svc;
	const struct new_method *m; /* inside {{each method}} */
	const struct new_var *vars;
	FILE *out;
	char *err;
	size_t errlen;
};

static int fail(struct render *r, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct render *r, size_t line, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	n = (size_t)snprintf(r->err, r->errlen, "template %s:%zu: ", r->t->name, line + 1);
	if (n >= r->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A directive line: "{{WORD[ ARG]}}" alone (blanks around). Copies WORD and
 * ARG out (both buffers @p size bytes); @return 1 if the line is one. */
static int directive(const struct line *l, char *word, char *arg, size_t size)
{
	const char *s = l->s, *e = l->s + l->len;
	size_t n;

	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e - s < 5 || strncmp(s, "{{", 2) || strncmp(e - 2, "}}", 2))
		return 0;
	s += 2;
	e -= 2;
	if (memchr(s, '{', (size_t)(e - s)) || memchr(s, '}', (size_t)(e - s)))
		return 0;
	n = strcspn(s, " }");
	if (n >= size || (size_t)(e - s) - n >= size)
		return 0;
	memcpy(word, s, n);
	word[n] = '\0';
	s += n;
	while (s < e && *s == ' ')
		s++;
	memcpy(arg, s, (size_t)(e - s));
	arg[e - s] = '\0';
	if (strcmp(word, "each") && strcmp(word, "if") && strcmp(word, "else") &&
	    strcmp(word, "end"))
		return 0;
	return 1;
}

static const char *lookup(const struct render *r, const char *key)
{
	const struct new_method *m = r->m;

	for (const struct new_var *v = r->vars; v->key; v++)
		if (!strcmp(v->key, key))
			return v->value;
	if (!strcmp(key, "service")) return r->svc->full;
	if (!strcmp(key, "service_short")) return r->svc->short_name;
	if (!strcmp(key, "service_c")) return r->svc->c;
	if (!strcmp(key, "service_lower")) return r->svc->lower;
	if (!strcmp(key, "service_upper")) return r->svc->upper;
	if (!m)
		return NULL;
	if (!strcmp(key, "method")) return m->name;
	if (!strcmp(key, "method_lower")) return m->lower;
	if (!strcmp(key, "in")) return m->in_full;
	if (!strcmp(key, "in_c")) return m->in_c;
	if (!strcmp(key, "in_lower")) return m->in_lower;
	if (!strcmp(key, "in_upper")) return m->in_upper;
	if (!strcmp(key, "out")) return m->out_full;
	if (!strcmp(key, "out_c")) return m->out_c;
	if (!strcmp(key, "out_lower")) return m->out_lower;
	if (!strcmp(key, "out_upper")) return m->out_upper;
	return NULL;
}

static int emit(struct render *r, size_t i)
{
	const struct line *l = &r->lines[i];
	const char *s = l->s, *e = l->s + l->len;

	while (s < e) {
		const char *open = memmem(s, (size_t)(e - s), "{{", 2), *close;
		char key[64];
		const char *val;

		if (!open) {
			fwrite(s, 1, (size_t)(e - s), r->out);
			break;
		}
		fwrite(s, 1, (size_t)(open - s), r->out);
		close = memmem(open + 2, (size_t)(e - open - 2), "}}", 2);
		if (!close || (size_t)(close - open - 2) >= sizeof(key))
			return fail(r, i, "unterminated or overlong {{");
		memcpy(key, open + 2, (size_t)(close - open - 2));
		key[close - open - 2] = '\0';
		if (!strcmp(key, "index") && r->m) {
			fprintf(r->out, "%u", r->m->index);
		} else {
			val = lookup(r, key);
			if (!val)
				return fail(r, i, "unknown variable {{%s}}%s", key,
					    r->m ? "" : " (outside {{each method}}?)");
			fputs(val, r->out);
		}
		s = close + 2;
	}
	fputc('\n', r->out);
	return 0;
}

static int cond(struct render *r, size_t i, const char *what, bool *holds)
{
	const struct new_service *s = r->svc;
	bool any_stream = false, any_unary = false;

	for (size_t k = 0; k < s->n_methods; k++) {
		any_stream |= s->methods[k].streaming;
		any_unary |= !s->methods[k].streaming;
	}
	if (!strcmp(what, "any_streaming")) {
		*holds = any_stream;
		return 0;
	}
	if (!strcmp(what, "any_unary")) {
		*holds = any_unary;
		return 0;
	}
	if (!r->m)
		return fail(r, i, "{{if %s}} outside {{each method}}", what);
	if (!strcmp(what, "streaming"))
		*holds = r->m->streaming;
	else if (!strcmp(what, "unary"))
		*holds = !r->m->streaming;
	else if (!strcmp(what, "first"))
		*holds = r->m->index == 0;
	else if (!strcmp(what, "last"))
		*holds = r->m->index + 1 == s->n_methods;
	else
		return fail(r, i, "unknown condition {{if %s}}", what);
	return 0;
}

/* Finds the {{end}} (and {{else}}) matching the block opened at @p open. */
static int match(struct render *r, size_t open, size_t *els, size_t *end)
{
	char word[32], arg[32];
	int depth = 0;

	*els = 0;
	for (size_t i = open + 1; i < r->n; i++) {
		if (!directive(&r->lines[i], word, arg, sizeof(word)))
			continue;
		if (!strcmp(word, "each") || !strcmp(word, "if")) {
			depth++;
		} else if (!strcmp(word, "else") && depth == 0) {
			if (*els)
				return fail(r, i, "a second {{else}}");
			*els = i;
		} else if (!strcmp(word, "end") && depth-- == 0) {
			*end = i;
			return 0;
		}
	}
	return fail(r, open, "no matching {{end}}");
}

static int render_range(struct render *r, size_t from, size_t to)
{
	char word[32], arg[32];
	size_t els = 0, end = 0;
	int ret;

	for (size_t i = from; i < to; i++) {
		if (!directive(&r->lines[i], word, arg, sizeof(word))) {
			ret = emit(r, i);
			if (ret)
				return ret;
			continue;
		}
		if (!strcmp(word, "else") || !strcmp(word, "end"))
			return fail(r, i, "{{%s}} without {{if}} or {{each}}", word);
		ret = match(r, i, &els, &end);
		if (ret)
			return ret;
		if (!strcmp(word, "each")) {
			if (strcmp(arg, "method") || r->m || els)
				return fail(r, i, "only {{each method}}, not nested, no {{else}}");
			for (size_t k = 0; k < r->svc->n_methods; k++) {
				r->m = &r->svc->methods[k];
				ret = render_range(r, i + 1, end);
				if (ret)
					return ret;
			}
			r->m = NULL;
		} else {
			bool holds = false;

			ret = cond(r, i, arg, &holds);
			if (ret)
				return ret;
			if (holds)
				ret = render_range(r, i + 1, els ? els : end);
			else if (els)
				ret = render_range(r, els + 1, end);
			if (ret)
				return ret;
		}
		i = end;
	}
	return 0;
}

int new_render(const struct new_template *t, const struct new_service *svc,
	       const struct new_var *vars, FILE *out, char *err, size_t errlen)
{
	struct render *r = calloc(1, sizeof(*r));
	const char *s = (const char *)t->data, *e = s + t->len;
	int ret;

	if (!r)
		return -ENOMEM;
	*r = (struct render){ .t = t, .svc = svc, .vars = vars, .out = out, .err = err,
			      .errlen = errlen };
	while (s < e) {
		const char *nl = memchr(s, '\n', (size_t)(e - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(e - s);

		if (r->n == MAX_LINES) {
			free(r);
			snprintf(err, errlen, "template %s: more than %d lines", t->name, MAX_LINES);
			return -EINVAL;
		}
		r->lines[r->n++] = (struct line){ s, len };
		s += len + (nl ? 1 : 0);
	}
	ret = render_range(r, 0, r->n);
	free(r);
	return ret;
}
