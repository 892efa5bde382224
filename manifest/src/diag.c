/*
 * diag.c - the problems found in one manifest: collected as they are found,
 * in whatever order the checks run, then sorted by place so that the user
 * reads them top to bottom. Each is one line:
 *     FILE:LINE:COL: what is wrong (key: KEY)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_private.h"

#define DIAG_MAX 100

void mctx_free(struct mctx *c)
{
	for (size_t i = 0; i < c->n_pos; i++)
		free(c->pos[i].path);
	free(c->pos);
	for (size_t i = 0; i < c->n_d; i++)
		free(c->d[i].text);
	free(c->d);
	free(c->dir);
	memset(c, 0, sizeof(*c));
}

void diag_verror_at(struct mctx *c, unsigned line, unsigned col, const char *path,
		    const char *fmt, va_list ap)
{
	char *msg = NULL, *text = NULL;
	int r;

	if (c->oom)
		return;
	/* Past this, more lines help no one, and a file of a million unknown
	 * keys must not cost a million lookups each. */
	if (c->n_d == DIAG_MAX) {
		c->truncated = true;
		return;
	}
	if (c->n_d == c->cap_d) {
		size_t cap = c->cap_d ? 2 * c->cap_d : 16;
		struct mdiag *d = realloc(c->d, cap * sizeof(*d));

		if (!d)
			goto err_oom;
		c->d = d;
		c->cap_d = cap;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		goto err_oom;
	if (line && path && *path)
		r = asprintf(&text, "%s:%u:%u: %s (key: %s)", c->file, line, col, msg, path);
	else if (line)
		r = asprintf(&text, "%s:%u:%u: %s", c->file, line, col, msg);
	else if (path && *path)
		r = asprintf(&text, "%s: %s (key: %s)", c->file, msg, path);
	else
		r = asprintf(&text, "%s: %s", c->file, msg);
	free(msg);
	if (r < 0)
		goto err_oom;
	c->d[c->n_d] = (struct mdiag){ .line = line, .col = col, .seq = c->n_d, .text = text };
	c->n_d++;
	return;
err_oom:
	c->oom = true;
}

void diag_error_at(struct mctx *c, unsigned line, unsigned col, const char *path,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_verror_at(c, line, col, path, fmt, ap);
	va_end(ap);
}

void diag_error(struct mctx *c, const char *path, const char *fmt, ...)
{
	const struct mpos *p = pos_find(c, path);
	va_list ap;

	va_start(ap, fmt);
	diag_verror_at(c, p ? p->line : 0, p ? p->col : 0, path, fmt, ap);
	va_end(ap);
}

void diag_error_key(struct mctx *c, const char *path, const char *fmt, ...)
{
	const struct mpos *p = pos_find(c, path);
	va_list ap;

	va_start(ap, fmt);
	diag_verror_at(c, p ? p->kline : 0, p ? p->kcol : 0, path, fmt, ap);
	va_end(ap);
}

static int by_place(const void *a, const void *b)
{
	const struct mdiag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int diag_finish(struct mctx *c, struct manifest_diag *out)
{
	char **lines, *last = NULL;
	size_t n = 0;

	if (c->oom)
		return -ENOMEM;
	if (!c->n_d)
		return 0;

	qsort(c->d, c->n_d, sizeof(*c->d), by_place);
	lines = calloc(out->n + c->n_d + 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < out->n; i++)
		lines[n++] = out->lines[i];
	for (size_t i = 0; i < c->n_d; i++) {
		/* Two checks may see the same fault (libcyaml and the walk). */
		if (last && !strcmp(c->d[i].text, last)) {
			free(c->d[i].text);
			continue;
		}
		last = lines[n++] = c->d[i].text;
	}
	c->n_d = 0;
	if (c->truncated && asprintf(&lines[n], "%s: more than %d problems; the rest are not "
						  "shown", c->file, DIAG_MAX) >= 0)
		n++;
	free(out->lines);
	out->lines = lines;
	out->n = n;
	return 0;
}

void manifest_diag_free(struct manifest_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->n; i++)
		free(diag->lines[i]);
	free(diag->lines);
	diag->lines = NULL;
	diag->n = 0;
}

/* Levenshtein distance, or 3 as soon as it is known to be more than 2:
 * only near misses make a useful hint. */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[64];

	if (la > 60 || lb > 60 || (la > lb ? la - lb : lb - la) > 2)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0], best;

		row[0] = i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j], v;

			v = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			diag = up;
			if (v < best)
				best = v;
		}
		if (best > 2)
			return 3;
	}
	return row[lb];
}

const char *diag_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned best_d = 3;

	for (size_t i = 0; i < n && cands[i]; i++) {
		unsigned d = distance(word, cands[i]);

		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	/* A one-letter word is "close" to every short key: no hint then. */
	if (best && strlen(word) <= best_d)
		return NULL;
	return best;
}
