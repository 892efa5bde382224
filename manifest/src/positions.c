/*
 * positions.c - one pass over libyaml's events, before libcyaml loads the
 * document, walking the schema of schema.c alongside. It does two things
 * libcyaml cannot: it records where every node is (so that a problem found
 * long after loading, "no such file", still points at its line), and it
 * reports every structural problem instead of stopping at the first.
 *
 * The recursion follows the schema, not the document, so its depth is
 * bounded by the schema's (five levels); whatever lies under an unknown key
 * is skipped by counting, without recursion.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "manifest_private.h"

#define PATH_MAX_LEN 512

struct walker {
	struct mctx *c;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool have_ev;
	bool stop; /* a syntax error: the events after it mean nothing */
};

int pos_add(struct mctx *c, const char *path, unsigned line, unsigned col, unsigned kline,
	    unsigned kcol)
{
	char *copy;

	if (c->n_pos == c->cap_pos) {
		size_t cap = c->cap_pos ? 2 * c->cap_pos : 64;
		struct mpos *p = realloc(c->pos, cap * sizeof(*p));

		if (!p)
			goto err_oom;
		c->pos = p;
		c->cap_pos = cap;
	}
	copy = strdup(path);
	if (!copy)
		goto err_oom;
	c->pos[c->n_pos++] = (struct mpos){ copy, line, col, kline, kcol };
	return 0;
err_oom:
	c->oom = true;
	return -ENOMEM;
}

static const struct mpos *pos_exact(const struct mctx *c, const char *path)
{
	/* Newest first: the walk asks about the node it has just recorded,
	 * and a key given twice is reported where it is given again. */
	for (size_t i = c->n_pos; i-- > 0;)
		if (!strcmp(c->pos[i].path, path))
			return &c->pos[i];
	return NULL;
}

const struct mpos *pos_find(const struct mctx *c, const char *path)
{
	char buf[PATH_MAX_LEN];
	const struct mpos *p;

	if (!path)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		char *dot, *bracket;

		p = pos_exact(c, buf);
		if (p || !buf[0])
			return p;
		/* Up one level: "a.b[2]" -> "a.b" -> "a" -> "". */
		dot = strrchr(buf, '.');
		bracket = strrchr(buf, '[');
		if (bracket && (!dot || bracket > dot))
			*bracket = '\0';
		else if (dot)
			*dot = '\0';
		else
			buf[0] = '\0';
	}
}

static void syntax_error(struct walker *w)
{
	yaml_parser_t *p = &w->parser;

	if (p->error == YAML_MEMORY_ERROR) {
		w->c->oom = true;
	} else if (p->context) {
		diag_error_at(w->c, p->problem_mark.line + 1, p->problem_mark.column + 1, NULL,
			      "YAML syntax: %s (%s that starts on line %zu)",
			      p->problem ? p->problem : "error", p->context, p->context_mark.line + 1);
	} else {
		diag_error_at(w->c, p->problem_mark.line + 1, p->problem_mark.column + 1, NULL,
			      "YAML syntax: %s", p->problem ? p->problem : "error");
	}
	w->stop = true;
}

/* Replaces the current event with the next one. @return false at an error. */
static bool next(struct walker *w)
{
	if (w->stop || w->c->oom)
		return false;
	if (w->have_ev)
		yaml_event_delete(&w->ev);
	w->have_ev = false;
	if (!yaml_parser_parse(&w->parser, &w->ev)) {
		syntax_error(w);
		return false;
	}
	w->have_ev = true;
	return true;
}

/* Skips the node that starts with the current event, however deep. */
static bool skip(struct walker *w)
{
	unsigned depth = 0;

	do {
		switch (w->ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			depth++;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (!depth)
			return true;
	} while (next(w));
	return false;
}

static const char *kind_of_event(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_SCALAR_EVENT:
		if (!ev->data.scalar.length && ev->data.scalar.plain_implicit)
			return "nothing";
		return "a single value";
	default:
		return "something else";
	}
}

static const char *kind_of_schema(const cyaml_schema_value_t *s)
{
	switch (s->type) {
	case CYAML_MAPPING:
		return "a mapping";
	case CYAML_SEQUENCE:
		return "a list";
	case CYAML_BOOL:
		return "true or false";
	case CYAML_UINT:
		return "a whole number";
	default:
		return "a single value";
	}
}

static yaml_event_type_t event_of_schema(const cyaml_schema_value_t *s)
{
	if (s->type == CYAML_MAPPING)
		return YAML_MAPPING_START_EVENT;
	if (s->type == CYAML_SEQUENCE)
		return YAML_SEQUENCE_START_EVENT;
	return YAML_SCALAR_EVENT;
}

static void check_enum(struct walker *w, const cyaml_schema_value_t *s, const char *path,
		       const char *v)
{
	const char *names[16], *hint;
	char list[256];
	size_t n = s->enumeration.count < 16 ? s->enumeration.count : 16, used = 0;

	for (size_t i = 0; i < n; i++) {
		names[i] = s->enumeration.strings[i].str;
		if (!strcmp(v, names[i]))
			return;
		used += snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	hint = diag_closest(v, names, n);
	if (hint)
		diag_error(w->c, path, "'%.64s' is not one of: %s; did you mean '%s'?", v, list, hint);
	else
		diag_error(w->c, path, "'%.64s' is not one of: %s", v, list);
}

/* The scalar values libcyaml converts itself: checked here as well so that
 * all of them are reported, not only the first libcyaml meets. */
static void check_scalar(struct walker *w, const cyaml_schema_value_t *s, const char *path)
{
	const char *v = (const char *)w->ev.data.scalar.value;
	static const char *const bools[] = { "true", "false", "yes", "no", "on", "off" };

	switch (s->type) {
	case CYAML_UINT: {
		unsigned long long max = s->data_size >= 8 ? ~0ULL : (1ULL << (8 * s->data_size)) - 1;
		unsigned long long x = 0;
		const char *q = v;

		if (!*q)
			goto err_uint;
		for (; *q; q++) {
			if (*q < '0' || *q > '9')
				goto err_uint;
			if (x > (max - (unsigned)(*q - '0')) / 10) {
				diag_error(w->c, path, "%.64s is too large (at most %llu)", v, max);
				return;
			}
			x = x * 10 + (unsigned)(*q - '0');
		}
		return;
err_uint:
		diag_error(w->c, path, "'%.64s' is not a whole number", v);
		return;
	}
	case CYAML_BOOL:
		for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
			if (!strcasecmp(v, bools[i]))
				return;
		diag_error(w->c, path, "'%.64s' is not true or false", v);
		return;
	case CYAML_ENUM:
		check_enum(w, s, path, v);
		return;
	default:
		return;
	}
}

static bool node(struct walker *w, const cyaml_schema_value_t *s, char *path, unsigned kline,
		 unsigned kcol);

static bool sequence(struct walker *w, const cyaml_schema_value_t *s, char *path)
{
	size_t plen = strlen(path);
	unsigned i = 0;

	while (next(w) && w->ev.type != YAML_SEQUENCE_END_EVENT) {
		if (i == s->sequence.max) {
			diag_error(w->c, path, "has more than %u entries", s->sequence.max);
			w->c->walk_errors++;
		}
		if (i++ >= s->sequence.max) {
			if (!skip(w))
				return false;
			continue;
		}
		snprintf(path + plen, PATH_MAX_LEN - plen, "[%u]", i - 1);
		if (!node(w, s->sequence.entry, path, 0, 0))
			return false;
		path[plen] = '\0';
	}
	if (w->stop || w->c->oom)
		return false;
	if (i < s->sequence.min) {
		diag_error(w->c, path, "needs at least %u entr%s", s->sequence.min,
			   s->sequence.min == 1 ? "y" : "ies");
		w->c->walk_errors++;
	}
	return true;
}

static void unknown_key(struct walker *w, const cyaml_schema_field_t *fields, const char *path,
			const char *key)
{
	const char *names[32], *hint;
	size_t n = 0;

	for (; fields[n].key && n < 32; n++)
		names[n] = fields[n].key;
	hint = diag_closest(key, names, n);
	if (hint)
		diag_error_key(w->c, path, "unknown key '%.64s'; did you mean '%s'?", key, hint);
	else
		diag_error_key(w->c, path, "unknown key '%.64s'", key);
	/* Not counted in walk_errors: libcyaml skips unknown keys, so the
	 * checks of the rest still run. */
}

static bool mapping(struct walker *w, const cyaml_schema_value_t *s, char *path)
{
	const cyaml_schema_field_t *fields = s->mapping.fields;
	unsigned line = w->ev.start_mark.line + 1, col = w->ev.start_mark.column + 1;
	size_t plen = strlen(path);
	uint64_t seen = 0;

	while (next(w) && w->ev.type != YAML_MAPPING_END_EVENT) {
		unsigned kl = w->ev.start_mark.line + 1, kc = w->ev.start_mark.column + 1;
		const char *key;
		size_t f;

		if (w->ev.type != YAML_SCALAR_EVENT) {
			diag_error_at(w->c, kl, kc, path, "a key must be a single word, not %s",
				      kind_of_event(&w->ev));
			w->c->walk_errors++;
			if (!skip(w) || !next(w) || !skip(w))
				return false;
			continue;
		}
		key = (const char *)w->ev.data.scalar.value;
		for (f = 0; fields[f].key && strcmp(fields[f].key, key); f++)
			;
		snprintf(path + plen, PATH_MAX_LEN - plen, "%s%.64s", plen ? "." : "", key);
		if (!fields[f].key || f >= 64 || (seen & (1ULL << f))) {
			if (pos_add(w->c, path, kl, kc, kl, kc))
				return false;
			if (!fields[f].key || f >= 64)
				unknown_key(w, fields, path, key);
			else {
				diag_error_key(w->c, path, "key '%s' given twice", key);
				w->c->walk_errors++;
			}
			if (!next(w) || !skip(w))
				return false;
		} else {
			seen |= 1ULL << f;
			if (!next(w) || !node(w, &fields[f].value, path, kl, kc))
				return false;
		}
		path[plen] = '\0';
	}
	if (w->stop || w->c->oom)
		return false;
	for (size_t f = 0; fields[f].key && f < 64; f++) {
		if ((fields[f].value.flags & CYAML_FLAG_OPTIONAL) || (seen & (1ULL << f)))
			continue;
		snprintf(path + plen, PATH_MAX_LEN - plen, "%s%s", plen ? "." : "", fields[f].key);
		diag_error_at(w->c, line, col, path, "missing required key '%s'", fields[f].key);
		w->c->walk_errors++;
		path[plen] = '\0';
	}
	return true;
}

/* The node that starts with the current event, at @p path. */
static bool node(struct walker *w, const cyaml_schema_value_t *s, char *path, unsigned kline,
		 unsigned kcol)
{
	unsigned line = w->ev.start_mark.line + 1, col = w->ev.start_mark.column + 1;

	if (pos_add(w->c, path, line, col, kline ? kline : line, kline ? kcol : col))
		return false;
	if (w->ev.type == YAML_ALIAS_EVENT) {
		diag_error(w->c, path, "YAML aliases (*name) are not allowed in a manifest");
		w->c->walk_errors++;
		return true;
	}
	if (w->ev.type != event_of_schema(s)) {
		diag_error(w->c, path, "expected %s, found %s", kind_of_schema(s),
			   kind_of_event(&w->ev));
		w->c->walk_errors++;
		return skip(w);
	}
	switch (s->type) {
	case CYAML_MAPPING:
		return mapping(w, s, path);
	case CYAML_SEQUENCE:
		return sequence(w, s, path);
	default: {
		size_t before = w->c->n_d;

		check_scalar(w, s, path);
		w->c->walk_errors += w->c->n_d - before;
		return true;
	}
	}
}

static bool document(struct walker *w)
{
	char path[PATH_MAX_LEN] = "";

	if (!next(w) || w->ev.type != YAML_STREAM_START_EVENT || !next(w))
		return false;
	if (w->ev.type == YAML_STREAM_END_EVENT) {
		diag_error_at(w->c, 0, 0, NULL, "the manifest is empty");
		w->c->walk_errors++;
		return true;
	}
	if (!next(w) || !node(w, &manifest_schema, path, 0, 0))
		return false;
	if (!next(w) || !next(w)) /* DOCUMENT_END, then STREAM_END or more */
		return false;
	if (w->ev.type == YAML_DOCUMENT_START_EVENT) {
		diag_error_at(w->c, w->ev.start_mark.line + 1, w->ev.start_mark.column + 1, NULL,
			      "a manifest is one YAML document; a second one starts here");
		w->c->walk_errors++;
	}
	return true;
}

int pos_walk(struct mctx *c, const unsigned char *buf, size_t len)
{
	struct walker w = { .c = c };

	if (!yaml_parser_initialize(&w.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&w.parser, buf, len);
	if (!document(&w) && w.stop)
		c->walk_errors++;
	if (w.have_ev)
		yaml_event_delete(&w.ev);
	yaml_parser_delete(&w.parser);
	return c->oom ? -ENOMEM : 0;
}
