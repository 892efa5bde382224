/*
 * call_image.c - the services of an image folder and their .proto files,
 * for `vapp call --image DIR` (see call_image.h).
 *
 * The manifest is read lightly, only `services: [{proto, name}]`, with
 * libyaml's event parser: the manifest library validates a manifest where
 * it was written (its binaries, its ${BUILD}), which an image folder copied
 * elsewhere no longer has. The image is input from elsewhere, so every
 * size and name from the cpio archive is checked before use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>
#include <zlib.h>

#include "call_image.h"

#define PROTO_PREFIX "etc/vapp/proto/"
/* A .proto bigger than this is not one; names longer than this neither. */
#define PROTO_MAX (1u << 20)
#define NAME_MAX_LEN 4096

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/* ---- manifest.yaml: services ---- */

struct yreader {
	yaml_parser_t p;
	yaml_event_t ev;
	bool have;
};

static int next(struct yreader *y)
{
	if (y->have)
		yaml_event_delete(&y->ev);
	y->have = false;
	if (!yaml_parser_parse(&y->p, &y->ev))
		return -EINVAL;
	y->have = true;
	return 0;
}

/* Consumes the node whose first event is current. */
static int skip_node(struct yreader *y)
{
	int depth = 0;

	do {
		if (y->ev.type == YAML_SEQUENCE_START_EVENT || y->ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (y->ev.type == YAML_SEQUENCE_END_EVENT || y->ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		if (depth > 0 && next(y))
			return -EINVAL;
	} while (depth > 0);
	return 0;
}

static bool is_scalar(const struct yreader *y, const char *s)
{
	return y->ev.type == YAML_SCALAR_EVENT && (!s || !strcmp((const char *)y->ev.data.scalar.value, s));
}

/* One `- proto: X\n  name: Y` entry. */
static int read_service(struct yreader *y, struct call_image *img)
{
	char *proto = NULL, *name = NULL, **slot;
	int ret = 0;

	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return skip_node(y);
	while (!ret && !(ret = next(y)) && y->ev.type != YAML_MAPPING_END_EVENT) {
		slot = is_scalar(y, "proto") ? &proto : is_scalar(y, "name") ? &name : NULL;
		if ((ret = next(y)))
			break;
		if (slot && is_scalar(y, NULL) && !*slot) {
			*slot = strdup((const char *)y->ev.data.scalar.value);
			ret = *slot ? 0 : -ENOMEM;
		} else {
			ret = skip_node(y);
		}
	}
	if (!ret && proto && name && img->n < CALL_IMAGE_MAX_SERVICES) {
		img->proto[img->n] = proto;
		img->service[img->n++] = name;
		return 0;
	}
	free(proto);
	free(name);
	return ret;
}

static int read_manifest(FILE *f, struct call_image *img)
{
	struct yreader y = { 0 };
	int ret;

	if (!yaml_parser_initialize(&y.p))
		return -ENOMEM;
	yaml_parser_set_input_file(&y.p, f);
	ret = next(&y); /* stream start */
	if (!ret)
		ret = next(&y); /* document start */
	if (!ret)
		ret = next(&y);
	if (!ret && y.ev.type != YAML_MAPPING_START_EVENT)
		ret = -EINVAL;
	while (!ret && !(ret = next(&y)) && y.ev.type != YAML_MAPPING_END_EVENT) {
		bool services = is_scalar(&y, "services");

		if ((ret = next(&y)))
			break;
		if (!services || y.ev.type != YAML_SEQUENCE_START_EVENT) {
			ret = skip_node(&y);
			continue;
		}
		while (!ret && !(ret = next(&y)) && y.ev.type != YAML_SEQUENCE_END_EVENT)
			ret = read_service(&y, img);
	}
	if (y.have)
		yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.p);
	return ret;
}

/* ---- initramfs.cpio.gz: /etc/vapp/proto/ ---- */

/* One 8-digit hex field of a newc header. */
static bool hex8(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	*out = v;
	return true;
}

static int gz_exact(gzFile gz, void *buf, size_t n)
{
	return gzread(gz, buf, (unsigned)n) == (int)n ? 0 : -EINVAL;
}

static int gz_skip(gzFile gz, size_t n)
{
	return n == 0 || gzseek(gz, (z_off_t)n, SEEK_CUR) >= 0 ? 0 : -EINVAL;
}

static int write_file(const char *dir, const char *name, const void *data, size_t n)
{
	char path[4200];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, data, n) != (ssize_t)n)
		ret = -EIO;
	close(fd);
	return ret;
}

/* The basename of a .proto under etc/vapp/proto/, or NULL for anything else. */
static const char *proto_entry(const char *name)
{
	const char *base;

	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/')
		name++;
	if (strncmp(name, PROTO_PREFIX, strlen(PROTO_PREFIX)))
		return NULL;
	base = name + strlen(PROTO_PREFIX);
	/* A plain file name: nothing the archive says may leave our folder. */
	if (!*base || strchr(base, '/') || !strcmp(base, "..") || !strcmp(base, "."))
		return NULL;
	return base;
}

/* Every /etc/vapp/proto/ file of the image into @p out_dir. @return how many. */
static int unpack_protos(const char *image, const char *out_dir)
{
	char hdr[110], *name = NULL, *data = NULL;
	size_t off = 0;
	int found = 0, ret = 0;
	gzFile gz = gzopen(image, "rb");

	if (!gz)
		return -errno ? -errno : -ENOMEM;
	for (;;) {
		uint32_t size, namesize, mode;
		const char *base;

		ret = gz_exact(gz, hdr, sizeof(hdr));
		if (ret || (memcmp(hdr, "070701", 6) && memcmp(hdr, "070702", 6)) ||
		    !hex8(hdr + 14, &mode) || !hex8(hdr + 54, &size) || !hex8(hdr + 94, &namesize) ||
		    namesize == 0 || namesize > NAME_MAX_LEN) {
			ret = -EINVAL;
			break;
		}
		off += sizeof(hdr);
		free(name);
		name = malloc(namesize);
		if (!name) {
			ret = -ENOMEM;
			break;
		}
		ret = gz_exact(gz, name, namesize);
		if (ret)
			break;
		name[namesize - 1] = '\0';
		off += namesize;
		ret = gz_skip(gz, (4 - off % 4) % 4);
		off += (4 - off % 4) % 4;
		if (ret || !strcmp(name, "TRAILER!!!"))
			break;
		base = proto_entry(name);
		if (base && S_ISREG(mode) && size <= PROTO_MAX) {
			free(data);
			data = malloc(size ? size : 1);
			ret = data ? gz_exact(gz, data, size) : -ENOMEM;
			if (!ret)
				ret = write_file(out_dir, base, data, size);
			found += !ret;
		} else {
			ret = gz_skip(gz, size);
		}
		off += size;
		if (!ret)
			ret = gz_skip(gz, (4 - off % 4) % 4);
		off += (4 - off % 4) % 4;
		if (ret)
			break;
	}
	free(name);
	free(data);
	gzclose(gz);
	return ret ? ret : found;
}

/* ---- putting it together ---- */

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The folder holding every service's .proto (by basename), or -ENOENT. */
static int find_folder(struct call_image *img, const char *dir, const char *sub)
{
	char path[4200];
	size_t i;

	for (i = 0; i < img->n; i++) {
		const char *base = strrchr(img->proto[i], '/');

		snprintf(path, sizeof(path), "%s%s/%s", dir, sub, base ? base + 1 : img->proto[i]);
		if (!readable(path))
			return -ENOENT;
	}
	snprintf(path, sizeof(path), "%s%s", dir, sub);
	img->include = strdup(path);
	return img->include ? 0 : -ENOMEM;
}

/* Makes each img->proto[i] the path of its file in img->include. */
static int point_protos(struct call_image *img)
{
	for (size_t i = 0; i < img->n; i++) {
		const char *base = strrchr(img->proto[i], '/');
		char *p;

		if (asprintf(&p, "%s/%s", img->include, base ? base + 1 : img->proto[i]) < 0)
			return -ENOMEM;
		free(img->proto[i]);
		img->proto[i] = p;
	}
	return 0;
}

int call_image_open(const char *dir, struct call_image *img, char *err, size_t errlen)
{
	char path[4200];
	FILE *f;
	int ret;

	memset(img, 0, sizeof(*img));
	snprintf(path, sizeof(path), "%s/manifest.yaml", dir);
	f = fopen(path, "re");
	if (!f)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	ret = read_manifest(f, img);
	fclose(f);
	if (ret)
		return fail(err, errlen, ret, "%s: %s", path,
			    ret == -ENOMEM ? "out of memory" : "not a manifest that can be read");
	if (img->n == 0)
		return fail(err, errlen, -ENOENT, "%s: no services", path);
	if (!find_folder(img, dir, "/proto") || !find_folder(img, dir, ""))
		return point_protos(img);

	snprintf(img->tmpdir, sizeof(img->tmpdir), "/tmp/vapp-call.XXXXXX");
	if (!mkdtemp(img->tmpdir)) {
		img->tmpdir[0] = '\0';
		return fail(err, errlen, -errno, "temporary folder: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/initramfs.cpio.gz", dir);
	ret = unpack_protos(path, img->tmpdir);
	if (ret < 0)
		return fail(err, errlen, ret, "%s: cannot read its /etc/vapp/proto/ (%s)", path,
			    ret == -EINVAL ? "not a gzip'd cpio newc archive" : strerror(-ret));
	ret = find_folder(img, img->tmpdir, "");
	if (ret)
		return fail(err, errlen, ret, "%s: the .proto of a service is in neither %s/proto/, "
			    "%s/ nor the image's /etc/vapp/proto/", dir, dir, dir);
	return point_protos(img);
}

void call_image_close(struct call_image *img)
{
	if (img->tmpdir[0]) {
		DIR *dp = opendir(img->tmpdir);
		struct dirent *de;

		/* Only files were unpacked there, imports included. */
		while (dp && (de = readdir(dp)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dirfd(dp), de->d_name, 0);
		if (dp)
			closedir(dp);
		rmdir(img->tmpdir);
	}
	for (size_t i = 0; i < img->n; i++) {
		free(img->proto[i]);
		free(img->service[i]);
	}
	free(img->include);
	memset(img, 0, sizeof(*img));
}
