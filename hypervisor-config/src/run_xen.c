/* run_xen.c - the Xen backend's command lines (see hvrun.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hvrun.h"

/* Xen's own domid limit: DOMID_FIRST_RESERVED. */
#define DOMID_MAX 0x7FEF

/* A domain name as vapp gives them ([a-z0-9-], "vapp-" and an appliance's
 * name of 63 at most), so it needs no quoting in xl's config syntax. */
static int safe_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > 68)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

/* A xenstore path: absolute, printable, no empty components. */
static int safe_path(const char *s)
{
	if (!s || s[0] != '/' || strstr(s, "//") || strlen(s) > 3072)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/-_.@", *p)))
			return 0;
	return 1;
}

static char **argv_of(int n, ...)
{
	char **v = calloc((size_t)n + 1, sizeof(*v));
	va_list ap;

	if (!v)
		return NULL;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		v[i] = strdup(va_arg(ap, const char *));
		if (!v[i]) {
			va_end(ap);
			hv_argv_free(v);
			errno = ENOMEM;
			return NULL;
		}
	}
	va_end(ap);
	return v;
}

char **hv_xen_create_argv(const char *cfg_path, const char *domain_name)
{
	char name[80];

	if (!safe_name(domain_name) || !cfg_path || !cfg_path[0]) {
		errno = EINVAL;
		return NULL;
	}
	/* Paused, for vappd to set the domain's vapp.ctl keys and open its
	 * console first; in the foreground (-F): xl stays until the domain is
	 * gone (it watches @releaseDomain), so its exit is the domain's death.
	 * Once created it says "Waiting for domain NAME (domid N) to die".
	 * The name on the command line overrides the file's, so one image
	 * can run under several names. */
	snprintf(name, sizeof(name), "name=\"%s\"", domain_name);
	return argv_of(6, "xl", "create", "-p", "-F", cfg_path, name);
}

char **hv_xen_domid_argv(const char *domain_name)
{
	if (!safe_name(domain_name)) {
		errno = EINVAL;
		return NULL;
	}
	return argv_of(3, "xl", "domid", domain_name);
}

char **hv_xen_stop_argv(const char *domain_name, int force)
{
	if (!safe_name(domain_name)) {
		errno = EINVAL;
		return NULL;
	}
	return force ? argv_of(3, "xl", "destroy", domain_name)
		     : argv_of(4, "xl", "shutdown", "-w", domain_name);
}

char **hv_xen_vchan_mkdir_argv(const char *path)
{
	if (!safe_path(path)) {
		errno = EINVAL;
		return NULL;
	}
	return argv_of(3, "xenstore-write", path, "");
}

char **hv_xen_vchan_chmod_argv(const char *path, uint32_t server, uint32_t client)
{
	char owner[16], reader[16];

	/* dom0 as either end would be vappd granting itself: refused. */
	if (!safe_path(path) || !server || !client || server == client || server > DOMID_MAX ||
	    client > DOMID_MAX) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(owner, sizeof(owner), "n%u", server);
	snprintf(reader, sizeof(reader), "r%u", client);
	return argv_of(5, "xenstore-chmod", "-r", path, owner, reader);
}

int hv_xen_parse_domid(const char *text, uint32_t *domid)
{
	unsigned long v = 0;
	const char *p = text;

	if (!p || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > DOMID_MAX)
			return -EINVAL;
	}
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*domid = (uint32_t)v;
	return 0;
}

int hv_xen_parse_created(const char *text, const char *domain_name, uint32_t *domid)
{
	char head[100], num[16];
	const char *p, *end;
	size_t n;

	if (!safe_name(domain_name) || !text)
		return -EINVAL;
	snprintf(head, sizeof(head), "Waiting for domain %s (domid ", domain_name);
	for (p = text; (p = strstr(p, head)); p++) {
		if (p != text && p[-1] != '\n')
			continue;
		p += strlen(head);
		if (!strchr(p, '\n'))
			return -ENOENT; /* the line is still being written */
		end = strstr(p, ") to die");
		n = end ? (size_t)(end - p) : 0;
		if (!n || n >= sizeof(num) || memchr(p, '\n', n))
			return -EINVAL;
		memcpy(num, p, n);
		num[n] = 0;
		return hv_xen_parse_domid(num, domid);
	}
	return -ENOENT;
}
