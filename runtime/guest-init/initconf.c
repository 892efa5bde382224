/*
 * initconf.c - the pure half of vapp-init (see initconf.h): every function
 * takes bytes and returns values, so the unit test runs it all on the host.
 * The files come from the image, which the measurement covers, but they are
 * still checked as if hostile: a broken image must end the VM with a reason,
 * not crash PID 1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "initconf.h"

/* Calls @p fn on each line of @p buf (no newline; the last line may lack
 * one). A NUL byte is refused: the files are text, and a NUL would cut an
 * argument short without anyone noticing. */
static int for_each_line(const char *buf, size_t len,
			 int (*fn)(const char *line, size_t n, void *arg), void *arg)
{
	size_t start = 0, i;
	int err;

	if (memchr(buf, '\0', len))
		return -EINVAL;
	for (i = 0; i <= len; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		if (i == len && start == len)
			break; /* the file ended with a newline */
		err = fn(buf + start, i - start, arg);
		if (err)
			return err;
		start = i + 1;
	}
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_blank((*s)[*n - 1]))
		(*n)--;
}

static int list_add(struct initconf_list *l, const char *s, size_t n)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	l->v = v;
	v[l->n] = strndup(s, n);
	if (!v[l->n])
		return -ENOMEM;
	v[++l->n] = NULL;
	return 0;
}

void initconf_list_free(struct initconf_list *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

bool initconf_list_has(const struct initconf_list *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], name))
			return true;
	return false;
}

struct list_ctx {
	struct initconf_list *l;
	bool channels;
};

static int list_line(const char *s, size_t n, void *arg)
{
	struct list_ctx *c = arg;
	char name[INITCONF_NAME_MAX + 1];

	trim(&s, &n);
	if (!n || s[0] == '#')
		return 0;
	if (n >= INITCONF_LINE_MAX)
		return -EINVAL;
	if (c->channels) {
		if (n > INITCONF_NAME_MAX)
			return -EINVAL;
		memcpy(name, s, n);
		name[n] = '\0';
		if (!initconf_port_name_ok(name))
			return -EINVAL;
		if (initconf_list_has(c->l, name))
			return 0; /* once is enough to wait for it */
	}
	return list_add(c->l, s, n);
}

static int parse_list(const char *buf, size_t len, struct initconf_list *out, bool channels)
{
	struct list_ctx c = { out, channels };
	int err;

	out->v = NULL;
	out->n = 0;
	err = for_each_line(buf, len, list_line, &c);
	if (err)
		goto err_list;
	/* An empty list is still a NULL-terminated vector. */
	if (!out->v && !(out->v = calloc(1, sizeof(*out->v)))) {
		err = -ENOMEM;
		goto err_list;
	}
	return 0;
err_list:
	initconf_list_free(out);
	return err;
}

int initconf_parse_list(const char *buf, size_t len, struct initconf_list *out)
{
	return parse_list(buf, len, out, false);
}

int initconf_parse_channels(const char *buf, size_t len, struct initconf_list *out)
{
	return parse_list(buf, len, out, true);
}

static int argv_line(const char *s, size_t n, void *arg)
{
	if (n >= INITCONF_LINE_MAX * 16)
		return -EINVAL;
	return list_add(arg, s, n);
}

int initconf_parse_argv(const char *buf, size_t len, struct initconf_list *out)
{
	int err;

	out->v = NULL;
	out->n = 0;
	err = for_each_line(buf, len, argv_line, out);
	if (!err && (!out->n || out->v[0][0] != '/'))
		err = -EINVAL;
	if (err)
		initconf_list_free(out);
	return err;
}

static const char *const restart_names[] = {
	[INITCONF_RESTART_ALWAYS] = "always",
	[INITCONF_RESTART_ON_FAILURE] = "on-failure",
	[INITCONF_RESTART_NEVER] = "never",
};

const char *initconf_restart_name(enum initconf_restart r)
{
	if ((size_t)r >= sizeof(restart_names) / sizeof(restart_names[0]))
		return "?";
	return restart_names[r];
}

bool initconf_should_restart(enum initconf_restart r, int status)
{
	return r == INITCONF_RESTART_ALWAYS || (r == INITCONF_RESTART_ON_FAILURE && status != 0);
}

/* A decimal number in [lo, hi], all of s[0..n). */
static int parse_u32(const char *s, size_t n, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (!n || n > 10)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

struct restart_ctx {
	struct initconf_restart_policy *p;
	unsigned int line;
};

static int restart_line(const char *s, size_t n, void *arg)
{
	struct restart_ctx *c = arg;
	size_t i;

	trim(&s, &n);
	switch (c->line++) {
	case 0:
		for (i = 0; i < sizeof(restart_names) / sizeof(restart_names[0]); i++) {
			if (strlen(restart_names[i]) == n && !memcmp(s, restart_names[i], n)) {
				c->p->when = (enum initconf_restart)i;
				return 0;
			}
		}
		return -EINVAL;
	case 1:
		if (!n)
			return 0;
		return parse_u32(s, n, 0, 3600u * 1000, &c->p->first_ms);
	default:
		return n ? -EINVAL : 0;
	}
}

int initconf_parse_restart(const char *buf, size_t len, struct initconf_restart_policy *out)
{
	struct restart_ctx c = { out, 0 };
	int err;

	out->when = INITCONF_RESTART_ALWAYS;
	out->first_ms = INITCONF_BACKOFF_DEFAULT_MS;
	err = for_each_line(buf, len, restart_line, &c);
	if (!err && !c.line)
		err = -EINVAL; /* an empty file says nothing: a builder bug */
	if (err) {
		out->when = INITCONF_RESTART_ALWAYS;
		out->first_ms = INITCONF_BACKOFF_DEFAULT_MS;
	}
	return err;
}

/* An absolute path with no "." or ".." component and no "//", not "/",
 * no blanks or control characters (the line is "SIZE PATH"). */
static bool mount_path_ok(const char *s, size_t n)
{
	size_t i, start;

	if (n < 2 || s[0] != '/' || s[n - 1] == '/')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	for (start = 1, i = 1; i <= n; i++) {
		if (i < n && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			return false;
		start = i + 1;
	}
	return true;
}

int initconf_parse_state(const char *buf, size_t len, struct initconf_state *out)
{
	const char *s = buf, *sp;
	size_t n = len;
	int err;

	memset(out, 0, sizeof(*out));
	if (memchr(buf, '\0', len))
		return -EINVAL;
	if (n && s[n - 1] == '\n')
		n--;
	if (memchr(s, '\n', n))
		return -EINVAL; /* one line only */
	trim(&s, &n);
	sp = memchr(s, ' ', n);
	if (!sp)
		return -EINVAL;
	err = parse_u32(s, (size_t)(sp - s), 1, 1u << 20, &out->size_mib);
	if (err)
		goto err_state;
	n -= (size_t)(sp - s) + 1;
	s = sp + 1;
	trim(&s, &n);
	err = -EINVAL;
	if (n >= sizeof(out->mount) || !mount_path_ok(s, n))
		goto err_state;
	memcpy(out->mount, s, n);
	out->mount[n] = '\0';
	return 0;
err_state:
	memset(out, 0, sizeof(*out));
	return err;
}

static bool host_name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || n > INITCONF_NAME_MAX || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

int initconf_parse_name(const char *buf, size_t len, char out[INITCONF_NAME_MAX + 1])
{
	const char *s = buf;
	size_t n = len;

	out[0] = '\0';
	if (memchr(buf, '\0', len))
		return -EINVAL;
	if (n && s[n - 1] == '\n')
		n--;
	if (!host_name_ok(s, n))
		return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

bool initconf_port_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || n > INITCONF_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

void initconf_backoff_init(struct initconf_backoff *b, uint32_t first_ms)
{
	if (first_ms < 1)
		first_ms = 1;
	if (first_ms > INITCONF_BACKOFF_CAP_MS)
		first_ms = INITCONF_BACKOFF_CAP_MS;
	b->first_ms = first_ms;
	b->cur_ms = 0;
}

uint32_t initconf_backoff_next(struct initconf_backoff *b, uint64_t ran_ms)
{
	if (!b->cur_ms || ran_ms >= INITCONF_BACKOFF_RESET_MS)
		b->cur_ms = b->first_ms;
	else if (b->cur_ms >= INITCONF_BACKOFF_CAP_MS / 2)
		b->cur_ms = INITCONF_BACKOFF_CAP_MS;
	else
		b->cur_ms *= 2;
	return b->cur_ms;
}

int initconf_lines_feed(struct initconf_lines *l, const char **data, size_t *len,
			char line[INITCONF_LINE_MAX])
{
	while (*len) {
		char c = **data;

		(*data)++;
		(*len)--;
		if (c == '\n') {
			bool drop = l->overlong;
			size_t n = l->len;

			l->len = 0;
			l->overlong = false;
			if (drop)
				continue;
			if (n && l->buf[n - 1] == '\r')
				n--;
			memcpy(line, l->buf, n);
			line[n] = '\0';
			return 1;
		}
		if (l->overlong)
			continue;
		/* One byte kept for the NUL; a NUL inside a line spoils it. */
		if (l->len == sizeof(l->buf) - 1 || c == '\0') {
			l->overlong = true;
			continue;
		}
		l->buf[l->len++] = c;
	}
	return 0;
}

/* ext2/3/4: the superblock is at 1024, its s_magic (0xEF53, little-endian)
 * 56 bytes in. */
#define EXT_MAGIC_OFF (1024 + 56)

enum initconf_disk initconf_disk_kind(const uint8_t *buf, size_t len)
{
	size_t i;

	if (len > EXT_MAGIC_OFF + 1 && buf[EXT_MAGIC_OFF] == 0x53 && buf[EXT_MAGIC_OFF + 1] == 0xef)
		return INITCONF_DISK_EXT;
	/* A short read proves nothing about the rest: only a full probe of
	 * zeros means blank. */
	if (len < INITCONF_DISK_PROBE)
		return INITCONF_DISK_UNKNOWN;
	for (i = 0; i < INITCONF_DISK_PROBE; i++)
		if (buf[i])
			return INITCONF_DISK_UNKNOWN;
	return INITCONF_DISK_BLANK;
}
