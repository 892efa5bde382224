/*
 * write.c - the three config files of an image folder, and the run-time
 * substitution of their placeholders.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "vapp_util.h"

/* qemu.args: one argument per line, so an argument cannot hold a newline. */
char *hv_qemu_args_text(const struct manifest *m, const struct hv_params *p)
{
	struct sbuf b = { 0 };
	char **argv, **a;

	argv = hv_qemu_argv(m, p);
	if (!argv)
		return NULL;
	for (a = argv; *a; a++) {
		if (strchr(*a, '\n'))
			sb_fail(&b, EINVAL);
		sb_puts(&b, *a);
		sb_putc(&b, '\n');
	}
	hv_argv_free(argv);
	return sb_finish(&b);
}

static int write_in(const char *dir, const char *name, const char *text)
{
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return vapp_write_file_atomic(path, text, strlen(text), 0644);
}

/* A backend's two files: its measured command line (one line, no newline:
 * the file is the command line, byte for byte) and its config. */
static int write_backend(const struct manifest *m, enum hv_backend i, const char *out_dir)
{
	const struct hv_backend_info *be = &hv_backends[i];
	char *cmdline = hv_cmdline(m, i), *config;
	int err;

	if (!cmdline)
		return -errno;
	err = strchr(cmdline, '\n') ? -EINVAL : write_in(out_dir, be->cmdline_file, cmdline);
	free(cmdline);
	if (err)
		return err;
	config = be->config(m, NULL);
	if (!config)
		return -errno;
	err = write_in(out_dir, be->config_file, config);
	free(config);
	return err;
}

int hv_write_all(const struct manifest *m, const char *out_dir)
{
	int err = 0;

	for (int i = 0; i < HV_N_BACKENDS && !err; i++)
		err = write_backend(m, (enum hv_backend)i, out_dir);
	return err;
}

/* The characters that need escaping in one of QEMU options, XML, xl specs
 * (see hvconfig.h): a value holding one would change the file's meaning. */
static bool plain_value(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f || strchr(",\"'<>&\\$", *v))
			return false;
	return true;
}

char *hv_expand(const char *text, const struct manifest_var *vars)
{
	struct sbuf b = { 0 };
	const char *p = text, *end;
	size_t i;

	for (i = 0; vars && vars[i].name; i++)
		if (!vars[i].value || !plain_value(vars[i].value)) {
			errno = EINVAL;
			return NULL;
		}
	while (*p) {
		const struct manifest_var *v = NULL;

		if (p[0] != '$' || p[1] != '{' || !(end = strchr(p + 2, '}'))) {
			sb_putc(&b, *p++);
			continue;
		}
		for (i = 0; vars && vars[i].name; i++)
			if (strlen(vars[i].name) == (size_t)(end - p - 2) &&
			    !memcmp(vars[i].name, p + 2, (size_t)(end - p - 2)))
				v = &vars[i];
		if (v) {
			sb_puts(&b, v->value);
			p = end + 1;
		} else {
			sb_putc(&b, *p++);
		}
	}
	return sb_finish(&b);
}
