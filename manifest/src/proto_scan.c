/*
 * proto_scan.c - which services a .proto file declares, by a light scan of
 * its tokens: `package a.b.c;` and `service Name {`, with comments and
 * string literals skipped. Enough to catch a wrong service name or a wrong
 * file in a manifest; protoc-c remains the judge of the file itself.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest_private.h"

/* No .proto is anywhere near this; a larger file is not one. */
#define PROTO_MAX (4u << 20)

struct scan {
	const char *p, *end;
};

/* The next token: an identifier (dots allowed) or one punctuation byte;
 * @return its length, 0 at the end. */
static size_t token(struct scan *s, const char **tok)
{
	for (;;) {
		while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
					 *s->p == '\r'))
			s->p++;
		if (s->end - s->p >= 2 && s->p[0] == '/' && s->p[1] == '/') {
			while (s->p < s->end && *s->p != '\n')
				s->p++;
		} else if (s->end - s->p >= 2 && s->p[0] == '/' && s->p[1] == '*') {
			const char *q = s->p + 2;

			while (q + 1 < s->end && !(q[0] == '*' && q[1] == '/'))
				q++;
			s->p = q + 1 < s->end ? q + 2 : s->end;
		} else if (s->p < s->end && (*s->p == '"' || *s->p == '\'')) {
			char quote = *s->p++;

			while (s->p < s->end && *s->p != quote)
				s->p += (*s->p == '\\' && s->p + 1 < s->end) ? 2 : 1;
			if (s->p < s->end)
				s->p++;
		} else {
			break;
		}
	}
	if (s->p >= s->end)
		return 0;
	*tok = s->p;
	while (s->p < s->end && (*s->p == '_' || *s->p == '.' || (*s->p >= '0' && *s->p <= '9') ||
				 ((*s->p | 0x20) >= 'a' && (*s->p | 0x20) <= 'z')))
		s->p++;
	if (s->p == *tok)
		s->p++;
	return (size_t)(s->p - *tok);
}

static bool is(const char *tok, size_t n, const char *word)
{
	return n == strlen(word) && !memcmp(tok, word, n);
}

static bool is_ident(const char *tok, size_t n)
{
	return n && (*tok == '_' || ((*tok | 0x20) >= 'a' && (*tok | 0x20) <= 'z'));
}

static int read_all(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	int r = 0;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out_close;
	}
	if (st.st_size > PROTO_MAX) {
		r = -EFBIG;
		goto out_close;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		r = -ENOMEM;
		goto out_close;
	}
	/* The size seen by fstat bounds the read, whatever the file does. */
	*len = fread(*buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		r = -EIO;
		free(*buf);
		*buf = NULL;
	}
out_close:
	fclose(f);
	return r;
}

static int add_name(char ***names, size_t *n, const char *pkg, size_t pn, const char *svc,
		    size_t sn)
{
	char **v = realloc(*names, (*n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	*names = v;
	if (asprintf(&v[*n], "%.*s%s%.*s", (int)pn, pkg, pn ? "." : "", (int)sn, svc) < 0)
		return -ENOMEM;
	(*n)++;
	return 0;
}

int proto_services(const char *path, char ***names, size_t *n)
{
	const char *t[3], *pkg = "";
	size_t l[3], pn = 0;
	struct scan s;
	char *buf = NULL;
	size_t len = 0;
	int r;

	*names = NULL;
	*n = 0;
	r = read_all(path, &buf, &len);
	if (r < 0)
		return r;
	/* Two passes: `package` may come after a service in the file, and
	 * still names it. */
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		s = (struct scan){ buf, buf + len };
		l[0] = token(&s, &t[0]);
		l[1] = l[0] ? token(&s, &t[1]) : 0;
		while (l[1] && (l[2] = token(&s, &t[2]))) {
			if (!pass && is(t[0], l[0], "package") && is_ident(t[1], l[1]) &&
			    is(t[2], l[2], ";")) {
				pkg = t[1];
				pn = l[1];
			}
			if (pass && is(t[0], l[0], "service") && is_ident(t[1], l[1]) &&
			    is(t[2], l[2], "{")) {
				r = add_name(names, n, pkg, pn, t[1], l[1]);
				if (r < 0)
					break;
			}
			t[0] = t[1], l[0] = l[1];
			t[1] = t[2], l[1] = l[2];
		}
	}
	free(buf);
	if (r < 0) {
		proto_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return r;
}

void proto_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
