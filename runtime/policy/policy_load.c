/* policy_load.c - whole texts and files, cut into lines for policy_feed_line(). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_private.h"

/* Keeps going after a bad line, so every error is reported; remembers that
 * there was one. -ENOMEM stops everything. */
static int feed(struct policy *p, const char *buf, size_t len, int *bad)
{
	int ret = policy_feed_line(p, buf, len);

	if (ret == -EINVAL)
		*bad = 1;
	return ret == -ENOMEM ? ret : 0;
}

int policy_load_text(struct policy *p, const char *name, const char *text, size_t len)
{
	size_t start = 0;
	int ret, bad = 0;

	if (!p || !name || (!text && len))
		return -EINVAL;
	ret = policy_begin_file(p, name);
	if (ret)
		return ret;
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - text) : len;

		ret = feed(p, text + start, end - start, &bad);
		if (ret)
			return ret;
		start = end + 1;
	}
	return bad ? -EINVAL : 0;
}

/*
 * getline() would hold a line of any length in memory; this keeps at most
 * POLICY_LINE_MAX + 1 bytes of one and drops the rest, which is enough for
 * policy_feed_line() to call it too long.
 */
static int read_lines(struct policy *p, FILE *f, char *buf, int *bad)
{
	size_t len = 0;
	int c, ret;

	while ((c = getc_unlocked(f)) != EOF) {
		if (c != '\n') {
			if (len <= POLICY_LINE_MAX)
				buf[len++] = (char)c;
			continue;
		}
		ret = feed(p, buf, len, bad);
		if (ret)
			return ret;
		len = 0;
	}
	if (ferror(f))
		return -EIO;
	/* The last line need not end in '\n'. */
	return len ? feed(p, buf, len, bad) : 0;
}

int policy_load_file(struct policy *p, const char *path)
{
	char *buf;
	FILE *f;
	int ret, bad = 0;

	if (!p || !path)
		return -EINVAL;
	ret = policy_begin_file(p, path);
	if (ret)
		return ret;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		policy_report(p, 0, false, "cannot read: %s", strerror(-ret));
		return ret;
	}
	buf = malloc(POLICY_LINE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto err_file;
	}
	ret = read_lines(p, f, buf, &bad);
	if (ret == -EIO)
		policy_report(p, 0, false, "read error");
	free(buf);
err_file:
	fclose(f);
	if (ret)
		return ret;
	return bad ? -EINVAL : 0;
}
