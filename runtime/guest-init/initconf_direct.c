/*
 * initconf_direct.c - the direct-channel lines the host sends on vapp.ctl
 * (see initconf.h). Pure: a line in, a checked record out. The host is
 * vappd, but PID 1 checks every line as if it were not: what it writes
 * becomes a file the daemon's libvrpc listens by.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "initconf.h"

#define LINE_OPEN "direct "
#define LINE_END "direct-end "

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9 and @p more]*, at most @p max bytes. */
static bool word_ok(const char *s, size_t n, size_t max, const char *more)
{
	if (!n || n > max || !alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(s[i]) && !memchr(more, s[i], strlen(more)))
			return false;
	return true;
}

/* The next blank-separated word of *@p p into @p out (at most @p max
 * bytes). @return its length, 0 at the end, -1 when too long. */
static int word(const char **p, char *out, size_t max)
{
	const char *s = *p, *e;

	while (*s == ' ')
		s++;
	e = strchr(s, ' ');
	if (!e)
		e = s + strlen(s);
	if ((size_t)(e - s) > max)
		return -1;
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	*p = e;
	return (int)(e - s);
}

bool initconf_direct_is_line(const char *line)
{
	return !strncmp(line, LINE_OPEN, strlen(LINE_OPEN)) ||
	       !strncmp(line, LINE_END, strlen(LINE_END));
}

static bool address_ok(const char *a)
{
	for (; *a; a++)
		if ((unsigned char)*a <= ' ' || (unsigned char)*a >= 0x7f)
			return false;
	return true;
}

int initconf_direct_line(const char *line, const struct initconf_list *chans,
			 struct initconf_direct *out)
{
	char svc[INITCONF_LINE_MAX];
	const char *p;
	size_t used = 0;
	int n, count = 0;

	memset(out, 0, sizeof(*out));
	out->end = !strncmp(line, LINE_END, strlen(LINE_END));
	p = line + strlen(out->end ? LINE_END : LINE_OPEN);
	if (word(&p, out->chan, INITCONF_NAME_MAX) <= 0 || !initconf_port_name_ok(out->chan) ||
	    !initconf_list_has(chans, out->chan))
		return -EINVAL;
	n = word(&p, out->peer, sizeof(out->peer) - 1);
	if (n <= 0 || !word_ok(out->peer, (size_t)n, sizeof(out->peer) - 1, "_.-"))
		return -EINVAL;
	if (out->end)
		return *p ? -EINVAL : 0;
	if (word(&p, out->address, sizeof(out->address) - 1) <= 0 || !address_ok(out->address))
		return -EINVAL;
	while ((n = word(&p, svc, sizeof(svc) - 1)) > 0) {
		/* SERVICE, or !METHOD: a method of the service before it that the
		 * peer may not call. */
		bool ok = svc[0] == '!' ? count && word_ok(svc + 1, (size_t)n - 1, 255, "_")
					: word_ok(svc, (size_t)n, 255, "_.");

		if (!ok || ++count > INITCONF_DIRECT_SERVICES)
			return -EINVAL;
		used += (size_t)snprintf(out->services + used, sizeof(out->services) - used,
					 "%s%s", used ? " " : "", svc);
	}
	return n < 0 || !count || *p ? -EINVAL : 0;
}

int initconf_direct_file(const struct initconf_direct *d, char *buf, size_t len)
{
	size_t used;
	int n = snprintf(buf, len, "%s\n%s\n", d->address, d->peer);

	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	used = (size_t)n;
	for (const char *s = d->services; *s; s++) {
		if (used + 2 >= len)
			return -ENOSPC;
		buf[used++] = *s == ' ' ? '\n' : *s;
	}
	buf[used++] = '\n';
	buf[used] = '\0';
	return (int)used;
}
