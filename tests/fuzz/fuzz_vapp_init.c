/* fuzz_vapp_init.c - vapp-init's readers (runtime/guest-init/initconf.c) on any
 * bytes: the /etc/vapp files (the first byte picks which one) and the
 * control-channel lines, fed in pieces as the port would deliver them, and
 * the settings those lines carry. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "initconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct initconf_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!l->v[i])
			__builtin_trap();
	if (l->v && l->v[l->n])
		__builtin_trap(); /* NULL-terminated */
}

/* No "", "." or ".." component: the mount point stays where it says. */
static int path_ok(const char *s)
{
	const char *c = s + 1, *e;
	size_t n;

	if (s[0] != '/')
		return 0;
	for (;;) {
		e = strchr(c, '/');
		n = e ? (size_t)(e - c) : strlen(c);
		if (!n || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (!e)
			return 1;
		c = e + 1;
	}
}

/* The input as host lines, each put to the settings of an image that takes
 * two: whatever the lines, no setting outgrows its bound, and none is taken
 * after the end. */
static void settings(const char *buf, size_t len)
{
	static const char names[] = "rules\nkey.pem\n";
	struct initconf_lines lines = { 0 };
	struct initconf_settings s;
	char line[INITCONF_LINE_MAX];
	bool ended = false;
	int r;

	if (initconf_settings_init(&s, names, sizeof(names) - 1) || s.n != 2)
		__builtin_trap();
	while (initconf_lines_feed(&lines, &buf, &len, line)) {
		if (!initconf_settings_is_line(line))
			continue;
		r = initconf_settings_line(&s, line);
		if (ended && r >= 0)
			__builtin_trap();
		if (r == 1)
			ended = true;
		for (size_t i = 0; i < s.n; i++)
			if (s.len[i] > INITCONF_SETTING_BYTES || (s.len[i] && !s.sent[i]))
				__builtin_trap();
	}
	initconf_settings_free(&s);
}

/* The input as host lines of direct channels: what is taken names one of
 * the image's channels and a peer that is a plain file name, and its file
 * holds one line per part, no blank or control byte in any. */
static void direct(const char *buf, size_t len)
{
	static const char chans_text[] = "vapp.rpc\n";
	struct initconf_lines lines = { 0 };
	struct initconf_list chans;
	struct initconf_direct d;
	char line[INITCONF_LINE_MAX], file[2 * INITCONF_LINE_MAX + 80];
	int n;

	if (initconf_parse_channels(chans_text, sizeof(chans_text) - 1, &chans))
		__builtin_trap();
	while (initconf_lines_feed(&lines, &buf, &len, line)) {
		if (!initconf_direct_is_line(line) || initconf_direct_line(line, &chans, &d))
			continue;
		if (strcmp(d.chan, "vapp.rpc") || !d.peer[0] || d.peer[0] == '.' ||
		    strchr(d.peer, '/'))
			__builtin_trap();
		if (d.end)
			continue;
		n = initconf_direct_file(&d, file, sizeof(file));
		if (n < 0)
			__builtin_trap();
		for (int i = 0; i < n; i++)
			if ((unsigned char)file[i] < 0x20 && file[i] != '\n')
				__builtin_trap();
	}
	initconf_list_free(&chans);
}

/* Every parser of vapp-init on the same input, one after another: a list. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct initconf_lines lines = { 0 };
	struct initconf_restart_policy rp;
	struct initconf_state st;
	struct initconf_list l;
	char name[INITCONF_NAME_MAX + 1], line[INITCONF_LINE_MAX];
	const char *buf, *p;
	size_t len, left, step;

	if (!size)
		return 0;
	buf = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 9) {
	case 0:
		if (!initconf_parse_list(buf, len, &l))
			check_list(&l);
		initconf_list_free(&l);
		break;
	case 1:
		if (!initconf_parse_channels(buf, len, &l)) {
			check_list(&l);
			for (size_t i = 0; i < l.n; i++)
				if (!initconf_port_name_ok(l.v[i]))
					__builtin_trap();
		}
		initconf_list_free(&l);
		break;
	case 2:
		if (!initconf_parse_argv(buf, len, &l)) {
			check_list(&l);
			if (!l.n || l.v[0][0] != '/')
				__builtin_trap();
		}
		initconf_list_free(&l);
		break;
	case 3:
		initconf_parse_restart(buf, len, &rp);
		break;
	case 4:
		if (!initconf_parse_state(buf, len, &st) &&
		    (!st.size_mib || !path_ok(st.mount)))
			__builtin_trap();
		break;
	case 5:
		if (!initconf_parse_name(buf, len, name) && strlen(name) > INITCONF_NAME_MAX)
			__builtin_trap();
		break;
	case 6:
		/* Pieces of 1..16 bytes, sized by the data itself. */
		p = buf;
		left = len;
		while (left) {
			step = 1 + (size_t)(p[0] & 15);
			if (step > left)
				step = left;
			size_t piece = step;
			const char *q = p;
			while (initconf_lines_feed(&lines, &q, &piece, line))
				if (strlen(line) >= INITCONF_LINE_MAX)
					__builtin_trap();
			p += step;
			left -= step;
		}
		break;
	case 7:
		settings(buf, len);
		break;
	case 8:
		direct(buf, len);
		break;
	}
	return 0;
}
