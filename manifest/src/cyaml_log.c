/*
 * cyaml_log.c - libcyaml reports a load error only through its log
 * callback, as lines of text:
 *     Load: Invalid UINT value: '-1'
 *     Load: Backtrace:
 *       in mapping field 'x' (line: 2, column: 36)
 *       in sequence entry '2' (line: 2, column: 20)
 *       in mapping field 'ds' (line: 2, column: 5)
 * The backtrace, innermost first, gives the key path ("ds[1].x"); the place
 * is then looked up by that path like every other diagnostic's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_private.h"

/* libcyaml's own format strings, not ours: clang cannot see them. */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void cylog_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list ap)
{
	struct cylog *log = ctx;
	va_list copy;
	int n;

	if (!log || log->oom || level < CYAML_LOG_ERROR)
		return;
	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	if (log->len + (size_t)n + 1 > log->cap) {
		size_t cap = (log->len + (size_t)n + 1) * 2;
		char *t = realloc(log->text, cap);

		if (!t) {
			log->oom = true;
			return;
		}
		log->text = t;
		log->cap = cap;
	}
	vsnprintf(log->text + log->len, log->cap - log->len, fmt, ap);
	log->len += (size_t)n;
}

/* Builds "a.b[1].c" from the backtrace lines, which run innermost first. */
static void backtrace_path(char *lines[], size_t n, char *path, size_t size,
			   unsigned *line, unsigned *col)
{
	size_t used = 0;

	path[0] = '\0';
	*line = *col = 0;
	for (size_t i = n; i-- > 0;) {
		char name[128];
		unsigned l, c;
		int entry;

		if (sscanf(lines[i], " in mapping field '%127[^']' (line: %u, column: %u)", name,
			   &l, &c) == 3) {
			used += snprintf(path + used, size - used, "%s%s", used ? "." : "", name);
		} else if (sscanf(lines[i], " in sequence entry '%d' (line: %u, column: %u)", &entry,
				  &l, &c) == 3) {
			/* libcyaml counts entries from 1 */
			used += snprintf(path + used, size - used, "[%d]", entry - 1);
		} else {
			continue;
		}
		if (used >= size)
			used = size - 1;
		*line = l;
		*col = c;
	}
}

void cylog_report(struct mctx *c, const struct cylog *log)
{
	char *text, *lines[64], *msg = NULL, path[512];
	size_t n = 0;
	unsigned line, col;
	const struct mpos *p;

	if (!log->text || log->oom) {
		diag_error_at(c, 0, 0, NULL, "cannot be loaded (libcyaml gave no reason)");
		return;
	}
	text = strdup(log->text);
	if (!text) {
		c->oom = true;
		return;
	}
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < 64;
	     l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "Load: ", 6)) {
			if (!msg && strcmp(l + 6, "Backtrace:"))
				msg = l + 6;
		} else {
			lines[n++] = l;
		}
	}
	backtrace_path(lines, n, path, sizeof(path), &line, &col);
	p = pos_find(c, path);
	if (p && p->path[0]) {
		line = p->line;
		col = p->col;
	}
	diag_error_at(c, line, col, path, "%s", msg ? msg : "cannot be loaded");
	free(text);
}
