/* hostport.c - parsing of "HOST:PORT" (see hostport.h). Portable C only: the
 * Windows build compiles it too. */
#include <errno.h>
#include <string.h>

#include "hostport.h"

/* Characters a name or an address may hold. Anything else (spaces, control
 * characters, '/', '@') is a typo or an attempt to smuggle something into a
 * resolver, and is refused here rather than by getaddrinfo(). */
static int host_char_ok(char c, int bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	if (c == '.' || c == '-' || c == '_')
		return 1;
	return bracketed && (c == ':' || c == '%');
}

static int parse_port(const char *s, char out[6])
{
	size_t n = strlen(s);
	unsigned long v = 0;

	/* At most 5 digits, so the value cannot overflow before the check;
	 * no leading zero, so that one port has one spelling. */
	if (n == 0 || n > 5 || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	memcpy(out, s, n + 1);
	return 0;
}

int hostport_parse(const char *s, struct hostport *hp)
{
	const char *host = s, *end;
	int bracketed = s[0] == '[';
	size_t n;

	if (bracketed) {
		host = s + 1;
		end = strchr(host, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
	} else {
		end = strchr(s, ':');
		/* A second colon is an IPv6 address without its brackets. */
		if (!end || strchr(end + 1, ':'))
			return -EINVAL;
	}
	n = (size_t)(end - host);
	if (n == 0 || n > HOSTPORT_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!host_char_ok(host[i], bracketed))
			return -EINVAL;
	memcpy(hp->host, host, n);
	hp->host[n] = '\0';
	return parse_port(end + 1 + bracketed, hp->port);
}
