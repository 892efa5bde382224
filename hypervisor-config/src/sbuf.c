/*
 * sbuf.c - the string the generators build, and the escaping of each format.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

void sb_fail(struct sbuf *b, int err)
{
	if (!b->err)
		b->err = err;
}

static int sb_grow(struct sbuf *b, size_t more)
{
	size_t cap;
	char *s;

	if (b->err)
		return -1;
	if (more < b->cap - b->len)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= more) {
		if (cap > SIZE_MAX / 2) {
			sb_fail(b, ENOMEM);
			return -1;
		}
		cap *= 2;
	}
	s = realloc(b->s, cap);
	if (!s) {
		sb_fail(b, ENOMEM);
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (sb_grow(b, n) < 0)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_putc(struct sbuf *b, char c)
{
	sb_putn(b, &c, 1);
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb_fail(b, EINVAL);
		return;
	}
	if (sb_grow(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *sb_finish(struct sbuf *b)
{
	char *s;

	if (!b->err && !b->s)
		sb_puts(b, "");
	if (b->err) {
		errno = b->err;
		sb_release(b);
		return NULL;
	}
	s = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void sb_release(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

void sb_qemu_opt(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			sb_putc(b, ',');
		sb_putc(b, *s);
	}
}

void sb_xml(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': sb_puts(b, "&amp;"); break;
		case '<': sb_puts(b, "&lt;"); break;
		case '>': sb_puts(b, "&gt;"); break;
		case '"': sb_puts(b, "&quot;"); break;
		case '\'': sb_puts(b, "&apos;"); break;
		/* As references: a parser turns a literal tab or newline in
		 * an attribute value into a space (XML 1.0, 3.3.3). */
		case '\t': case '\n': case '\r': sb_printf(b, "&#%u;", c); break;
		default:
			/* XML 1.0 has no way at all to carry these, not even
			 * as character references. */
			if (c < 0x20 || c == 0x7f)
				sb_fail(b, EINVAL);
			else
				sb_putc(b, (char)c);
		}
	}
}

void sb_xl_str(struct sbuf *b, const char *s)
{
	sb_putc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		/* libxlu_cfg_l.l: a string ends at an unescaped quote or a
		 * newline; xlu__cfgl_dequote() knows \" \\ \n \t \r \xHH. */
		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sb_puts(b, "\\n");
		else if (c == '\t')
			sb_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(b, "\\x%02x", c);
		else
			sb_putc(b, (char)c);
	}
	sb_putc(b, '"');
}

void sb_xl_spec_val(struct sbuf *b, const char *s)
{
	const char *c;

	if (!*s || strchr(s, ','))
		sb_fail(b, EINVAL);
	for (c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			sb_fail(b, EINVAL);
	sb_puts(b, s);
}
