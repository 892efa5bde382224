/*
 * initconf_settings.c - the settings the host sends on vapp.ctl, taken a
 * line at a time (see initconf.h). Pure: bytes in, buffers out. The host is
 * vappd, but PID 1 checks every line as if it were not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "initconf.h"

#define LINE_PREFIX "setting "
#define LINE_END "settings-end"

int initconf_settings_init(struct initconf_settings *s, const char *buf, size_t len)
{
	struct initconf_list names;
	int err;

	memset(s, 0, sizeof(*s));
	err = initconf_parse_channels(buf, len, &names);
	if (err)
		return err;
	if (names.n > INITCONF_SETTINGS_MAX) {
		initconf_list_free(&names);
		return -EINVAL;
	}
	/* The list's strings become the settings' names. */
	for (size_t i = 0; i < names.n; i++)
		s->name[i] = names.v[i];
	s->n = names.n;
	free(names.v);
	return 0;
}

bool initconf_settings_is_line(const char *line)
{
	return !strncmp(line, LINE_PREFIX, strlen(LINE_PREFIX)) || !strcmp(line, LINE_END);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the bytes @p hex spells to setting @p i. */
static int take_hex(struct initconf_settings *s, size_t i, const char *hex)
{
	size_t n = strlen(hex), add = n / 2;
	unsigned char *d;

	if (n % 2 || s->len[i] + add > INITCONF_SETTING_BYTES)
		return -EINVAL;
	for (size_t k = 0; k < n; k++)
		if (hex_digit(hex[k]) < 0)
			return -EINVAL;
	d = realloc(s->data[i], s->len[i] + add + 1);
	if (!d)
		return -ENOMEM;
	s->data[i] = d;
	for (size_t k = 0; k < add; k++)
		d[s->len[i] + k] = (unsigned char)(hex_digit(hex[2 * k]) << 4 | hex_digit(hex[2 * k + 1]));
	s->len[i] += add;
	return 0;
}

int initconf_settings_line(struct initconf_settings *s, const char *line)
{
	const char *name, *sp;
	size_t i;
	int err;

	if (s->ended)
		return -EINVAL; /* settings are given once a boot */
	if (!strcmp(line, LINE_END)) {
		s->ended = true;
		return 1;
	}
	if (strncmp(line, LINE_PREFIX, strlen(LINE_PREFIX)))
		return -EINVAL;
	name = line + strlen(LINE_PREFIX);
	sp = strchr(name, ' ');
	if (!sp)
		return -EINVAL;
	for (i = 0; i < s->n; i++)
		if (strlen(s->name[i]) == (size_t)(sp - name) && !strncmp(s->name[i], name, (size_t)(sp - name)))
			break;
	if (i == s->n)
		return -EINVAL; /* not a setting this image takes */
	s->sent[i] = true;
	if (s->bad[i])
		return -EINVAL;
	err = take_hex(s, i, sp + 1);
	if (err == -EINVAL)
		s->bad[i] = true;
	return err;
}

void initconf_settings_free(struct initconf_settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->name[i]);
		free(s->data[i]);
	}
	memset(s, 0, sizeof(*s));
}
