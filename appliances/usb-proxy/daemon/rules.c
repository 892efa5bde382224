/*
 * rules.c - the device rules (usbd.h): which guest may have which device.
 * Read whole before any is used: one bad line and none of the file is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usbd.h"

struct cursor {
	const char *name;
	int line;
	const char *start;        /* of the line */
	char *why;
	size_t whylen;
};

__attribute__((format(printf, 3, 4)))
static int say(struct cursor *c, const char *at, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->why, c->whylen, "%s:%d:%d: ", c->name, c->line, (int)(at - c->start) + 1);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < c->whylen)
		vsnprintf(c->why + n, c->whylen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool guest_ok(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || (s[i] == '.' && i > 0)))
			return false;
	return true;
}

/* Exactly N hex digits, or "*" (-1). */
static int hex_or_any(const char *s, size_t n, size_t digits, int *v)
{
	char buf[8];

	if (n == 1 && s[0] == '*') {
		*v = -1;
		return 0;
	}
	if (n != digits)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*v = (int)strtol(buf, NULL, 16);
	return 0;
}

static int parse_match(struct cursor *c, const char *s, size_t n, struct usb_rule *r)
{
	int v;

	if (n == 1 && s[0] == '*') {
		r->match = MATCH_ANY;
	} else if (n > 4 && !strncmp(s, "usb:", 4)) {
		const char *colon = memchr(s + 4, ':', n - 4);

		r->match = MATCH_ID;
		if (!colon || hex_or_any(s + 4, (size_t)(colon - s - 4), 4, &r->vendor) ||
		    hex_or_any(colon + 1, (size_t)(s + n - colon - 1), 4, &r->product))
			return say(c, s, "'%.*s': not usb:VVVV:PPPP (4 hex digits or * each)", (int)n, s);
	} else if (n > 6 && !strncmp(s, "class:", 6)) {
		r->match = MATCH_CLASS;
		if (hex_or_any(s + 6, n - 6, 2, &v) || v < 0)
			return say(c, s, "'%.*s': not class:HH (2 hex digits)", (int)n, s);
		r->cls = (uint8_t)v;
	} else if (n > 6 && !strncmp(s, "busid:", 6)) {
		r->match = MATCH_BUSID;
		if (n - 6 >= sizeof(r->busid))
			return say(c, s, "the busid is too long");
		memcpy(r->busid, s + 6, n - 6);
		r->busid[n - 6] = '\0';
		if (!usb_busid_ok(r->busid))
			return say(c, s + 6, "'%s' is not a busid (like 1-2 or 3-1.4)", r->busid);
	} else {
		return say(c, s, "'%.*s': a device is *, usb:VVVV:PPPP, class:HH or busid:B", (int)n, s);
	}
	return 0;
}

/* The next word of [*p, end): sets *w and *n; @return 0, or -1 at the end. */
static int word(const char **p, const char *end, const char **w, size_t *n)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
	if (*p == end)
		return -1;
	*w = *p;
	while (*p < end && **p != ' ' && **p != '\t')
		(*p)++;
	*n = (size_t)(*p - *w);
	return 0;
}

static int parse_line(struct cursor *c, const char *p, const char *end, struct usb_rules *out)
{
	const char *w;
	size_t n;
	struct usb_rule *r;
	const char *hash = memchr(p, '#', (size_t)(end - p));

	if (hash)
		end = hash;
	if (word(&p, end, &w, &n))
		return 0; /* empty or a comment */
	if (out->n == USB_RULES_MAX)
		return say(c, w, "more than %d rules", USB_RULES_MAX);
	r = &out->r[out->n];
	memset(r, 0, sizeof(*r));
	if (!guest_ok(w, n))
		return say(c, w, "'%.*s' is not a guest's name (a-z 0-9 . - _) or *", (int)n, w);
	memcpy(r->guest, w, n);
	if (word(&p, end, &w, &n))
		return say(c, p, "allow or deny is missing");
	if (n == 5 && !strncmp(w, "allow", 5))
		r->allow = true;
	else if (!(n == 4 && !strncmp(w, "deny", 4)))
		return say(c, w, "'%.*s': allow or deny", (int)n, w);
	if (word(&p, end, &w, &n))
		return say(c, p, "the device is missing (*, usb:VVVV:PPPP, class:HH or busid:B)");
	if (parse_match(c, w, n, r))
		return -EINVAL;
	if (!word(&p, end, &w, &n))
		return say(c, w, "'%.*s': one device a rule", (int)n, w);
	out->n++;
	return 0;
}

int usb_rules_parse(const char *text, size_t len, const char *name, struct usb_rules *out,
		    char *why, size_t whylen)
{
	struct usb_rules *tmp = calloc(1, sizeof(*tmp));
	struct cursor c = { .name = name, .why = why, .whylen = whylen };
	const char *p = text, *end = text + len;
	int err = 0;

	if (!tmp)
		return -ENOMEM;
	while (!err && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eol = nl ? nl : end;

		c.line++;
		c.start = p;
		if (memchr(p, '\0', (size_t)(eol - p)))
			err = say(&c, p, "a NUL byte");
		else
			err = parse_line(&c, p, eol, tmp);
		p = nl ? nl + 1 : end;
	}
	if (!err)
		*out = *tmp;
	free(tmp);
	return err;
}

static bool fits(const struct usb_rule *r, const char *guest, const struct usb_dev *d)
{
	if (strcmp(r->guest, "*") && strcmp(r->guest, guest))
		return false;
	switch (r->match) {
	case MATCH_ANY: return true;
	case MATCH_ID:
		return (r->vendor < 0 || r->vendor == d->vendor) &&
		       (r->product < 0 || r->product == d->product);
	case MATCH_CLASS: return usb_has_class(d, r->cls);
	case MATCH_BUSID: return !strcmp(r->busid, d->busid);
	}
	return false;
}

bool usb_rules_allow(const struct usb_rules *rules, const char *guest, const struct usb_dev *d,
		     int *rule)
{
	for (int i = 0; i < rules->n; i++)
		if (fits(&rules->r[i], guest, d)) {
			if (rule)
				*rule = i + 1;
			return rules->r[i].allow;
		}
	if (rule)
		*rule = 0;
	return false;
}
