/*
 * image.c - the manifest's runtime facts (libyaml's document API: the
 * loader shares aliased nodes instead of expanding them, so a hostile
 * manifest cannot blow up), and the private copy of an image folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "image.h"

#define MANIFEST_MAX_BYTES (1u << 20)

const char *const image_files[] = {
	"kernel", "initramfs.cpio.gz", "cmdline", "measurement", "measurement.sig",
	"signer.pub", "qemu.args", "manifest.yaml", NULL,
};
const char *const image_optional_files[] = { "xl.cfg", "libvirt.xml", NULL };

static void say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The value of @p key in mapping @p map, or NULL. */
static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);

		if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
		    !memcmp(k->data.scalar.value, key, k->data.scalar.length))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A scalar's text, copied (scalars may hold NUL bytes: refused). */
static int scalar(yaml_node_t *n, char **out)
{
	if (!n)
		return 0;
	if (n->type != YAML_SCALAR_NODE || memchr(n->data.scalar.value, 0, n->data.scalar.length))
		return -EINVAL;
	*out = strndup((const char *)n->data.scalar.value, n->data.scalar.length);
	return *out ? 0 : -ENOMEM;
}

/* As the manifest reads sizes: "64", "64M", "64MiB", "2G", "2GiB" -> MiB. */
static int size_mib(const char *s, uint32_t *out)
{
	unsigned long long v = 0;
	const char *q = s;

	if (*q < '0' || *q > '9')
		return -EINVAL;
	for (; *q >= '0' && *q <= '9'; q++) {
		v = v * 10 + (unsigned)(*q - '0');
		if (v > (1ULL << 40))
			return -ERANGE;
	}
	while (*q == ' ')
		q++;
	if (!strcmp(q, "G") || !strcmp(q, "GiB"))
		v *= 1024;
	else if (*q && strcmp(q, "M") && strcmp(q, "MiB"))
		return -EINVAL;
	if (v > 1024 * 1024)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static int read_facts(yaml_document_t *doc, struct image_info *info, char *err, size_t errlen)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *n, *svc;
	char *s = NULL;
	int rc;

	if (!root || root->type != YAML_MAPPING_NODE) {
		say(err, errlen, "manifest.yaml: not a mapping");
		return -EINVAL;
	}
	if ((rc = scalar(map_get(doc, root, "name"), &info->name)) || !info->name) {
		say(err, errlen, "manifest.yaml: no name");
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	rc = scalar(map_get(doc, map_get(doc, root, "state"), "size"), &s);
	if (!rc && s && size_mib(s, &info->state_mib) < 0) {
		say(err, errlen, "manifest.yaml: state.size '%.32s' is not a size", s);
		rc = -EINVAL;
	}
	free(s);
	s = NULL;
	if (rc)
		return rc;
	rc = scalar(map_get(doc, map_get(doc, root, "daemon"), "restart"), &s);
	if (!rc && s) {
		if (!strcmp(s, "always"))
			info->restart = MANIFEST_RESTART_ALWAYS;
		else if (!strcmp(s, "on-failure"))
			info->restart = MANIFEST_RESTART_ON_FAILURE;
		else if (!strcmp(s, "never"))
			info->restart = MANIFEST_RESTART_NEVER;
		else {
			say(err, errlen, "manifest.yaml: daemon.restart '%.32s' is unknown", s);
			rc = -EINVAL;
		}
	}
	free(s);
	if (rc)
		return rc;
	n = map_get(doc, root, "services");
	if (!n)
		return 0;
	if (n->type != YAML_SEQUENCE_NODE) {
		say(err, errlen, "manifest.yaml: services is not a list");
		return -EINVAL;
	}
	if (n->data.sequence.items.start == n->data.sequence.items.top)
		return 0;
	svc = yaml_document_get_node(doc, *n->data.sequence.items.start);
	if ((rc = scalar(map_get(doc, svc, "name"), &info->service)) ||
	    (rc = scalar(map_get(doc, svc, "channel"), &info->channel)))
		return rc;
	if (!info->service || !info->channel) {
		say(err, errlen, "manifest.yaml: services[0] needs a name and a channel");
		return -EINVAL;
	}
	return 0;
}

int image_info_parse(const char *yaml, size_t len, struct image_info *info, char *err,
		     size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int rc;

	memset(info, 0, sizeof(*info));
	if (len > MANIFEST_MAX_BYTES) {
		say(err, errlen, "manifest.yaml: over %u bytes", MANIFEST_MAX_BYTES);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		say(err, errlen, "manifest.yaml:%zu: %s", parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	rc = read_facts(&doc, info, err, errlen);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (rc)
		image_info_free(info);
	return rc;
}

void image_info_free(struct image_info *info)
{
	if (!info)
		return;
	free(info->name);
	free(info->service);
	free(info->channel);
	memset(info, 0, sizeof(*info));
}

int read_small_file(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;
	char *b;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		int err = !S_ISREG(st.st_mode) ? -EINVAL : -EFBIG;

		close(fd);
		return err;
	}
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	b[got] = 0;
	*buf = b;
	*len = got;
	return 0;
}

/* The image folder is hostile: no symlink is followed, a FIFO or device
 * cannot block the open, and a size is refused before a byte is copied
 * (a sparse 10 GiB file costs nothing to make). */
#define IMAGE_FILE_MAX ((off_t)1 << 30)
#define IMAGE_TOTAL_MAX ((off_t)3 << 29)

static int copy_one(const char *src, const char *dst, off_t *total)
{
	int in = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), out, err = 0;
	struct stat st;

	if (in < 0)
		return -errno; /* ELOOP for a symlink */
	if (fstat(in, &st) < 0) {
		err = -errno;
		goto err_in;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto err_in;
	}
	if (st.st_size > IMAGE_FILE_MAX || st.st_size > IMAGE_TOTAL_MAX - *total) {
		err = -EFBIG;
		goto err_in;
	}
	*total += st.st_size;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		err = -errno;
		goto err_in;
	}
	for (off_t left = st.st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, left > (1 << 30) ? (1 << 30) : (size_t)left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		left -= n;
	}
	if (close(out) < 0 && !err)
		err = -errno;
err_in:
	close(in);
	return err;
}

int image_copy(const char *src, const char *dst, char *err, size_t errlen)
{
	char from[4096], to[4096];
	off_t total = 0;
	int rc;

	if (mkdir(dst, 0700) < 0 && errno != EEXIST) {
		rc = -errno;
		say(err, errlen, "%s: %s", dst, strerror(-rc));
		return rc;
	}
	for (int opt = 0; opt < 2; opt++) {
		const char *const *files = opt ? image_optional_files : image_files;

		for (size_t i = 0; files[i]; i++) {
			snprintf(from, sizeof(from), "%s/%s", src, files[i]);
			snprintf(to, sizeof(to), "%s/%s", dst, files[i]);
			rc = copy_one(from, to, &total);
			if (rc == -ENOENT && opt)
				continue;
			if (rc) {
				say(err, errlen, "%s: %s", from, strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}
