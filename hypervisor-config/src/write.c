/*
 * write.c - the three config files of an image folder, and the run-time
 * substitution of their placeholders.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"

/* qemu.args: one argument per line, so an argument cannot hold a newline. */
static char *qemu_args_text(const struct manifest *m, const struct hv_params *p)
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

static const struct hv_generator {
	const char *file;
	char *(*gen)(const struct manifest *m, const struct hv_params *p);
} generators[] = {
	{ "qemu.args", qemu_args_text },
	{ "libvirt.xml", hv_libvirt_xml },
	{ "xl.cfg", hv_xl_cfg },
};

/* Writes @p text to DIR/NAME through a temporary file and a rename, so a
 * reader never sees half a file. @return 0 or -errno. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4096 + 8];
	size_t len = strlen(text), done = 0;
	int fd, err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto err_unlink;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0) {
		fd = -1;
		err = -errno;
		goto err_unlink;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		err = -errno;
		goto err_unlink;
	}
	return 0;

err_unlink:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

/* The measured command line the builder wrote, if it did. */
static int read_cmdline(const char *dir, char **out)
{
	char path[4096];
	struct sbuf b = { 0 };
	char chunk[1024];
	size_t n;
	FILE *f;

	*out = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/cmdline", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		for (size_t i = 0; i < n; i++)
			sb_putc(&b, chunk[i] ? chunk[i] : ' ');
	if (ferror(f))
		sb_fail(&b, EIO);
	fclose(f);
	/* The file has no trailing newline by contract; tolerate one. */
	if (!b.err && b.len && b.s[b.len - 1] == '\n')
		b.s[--b.len] = '\0';
	*out = sb_finish(&b);
	return *out ? 0 : -errno;
}

int hv_write_all(const struct manifest *m, const char *out_dir)
{
	struct hv_params p = { 0 };
	char *cmdline, *text;
	size_t i;
	int err;

	err = read_cmdline(out_dir, &cmdline);
	if (err)
		return err;
	p.cmdline = cmdline;
	for (i = 0; i < sizeof(generators) / sizeof(generators[0]); i++) {
		text = generators[i].gen(m, &p);
		if (!text) {
			err = -errno;
			break;
		}
		err = write_file(out_dir, generators[i].file, text);
		free(text);
		if (err)
			break;
	}
	free(cmdline);
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
