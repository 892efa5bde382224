/*
 * oci_import.c - a tag of an OCI layout back into an image folder: every
 * blob checked against its descriptor as it is copied, only the image's
 * known file names written, the measurement the manifest announces held to
 * the measurement file it brings. verify_image() then decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci_private.h"

struct import {
	int layout_fd, out_fd;
	char *err;
	size_t errlen;
};

/* A small file of the layout itself, no symbolic link followed. */
static int read_top(struct import *im, const char *name, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd = openat(im->layout_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(im->err, im->errlen, "%s: %s%s", name, strerror(-rc),
			 rc == -ENOENT ? " (not an OCI image layout?)" : "");
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > OCI_JSON_MAX) {
		snprintf(im->err, im->errlen, "%s: not a regular file of at most %u bytes", name,
			 OCI_JSON_MAX);
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size) {
		snprintf(im->err, im->errlen, "%s: short read", name);
		free(buf);
		return -EIO;
	}
	buf[n] = 0;
	*out = buf;
	*len = (size_t)n;
	return 0;
}

static int check_layout_file(struct import *im)
{
	struct json_object *root, *v;
	char *text;
	size_t len;
	int rc;

	if ((rc = read_top(im, "oci-layout", &text, &len)))
		return rc;
	rc = oci_json_parse("oci-layout", text, len, &root, im->err, im->errlen);
	free(text);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(root, "imageLayoutVersion", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "1.0.0")) {
		snprintf(im->err, im->errlen, "oci-layout: imageLayoutVersion is not \"1.0.0\"");
		rc = -EINVAL;
	}
	json_object_put(root);
	return rc;
}

/* Blob @p b into OUT/NAME, refused unless it is exactly what @p b says. */
static int take_file(struct import *im, const struct oci_blob *b)
{
	char got[OCI_DIGEST_LEN + 1];
	uint64_t size = 0;
	struct stat st;
	int in = oci_blob_open(im->layout_fd, b->digest), out, rc;

	if (in < 0) {
		snprintf(im->err, im->errlen, "blob %s (%s): %s", b->digest, b->name,
			 in == -EINVAL ? "not a regular file" : strerror(-in));
		return in;
	}
	if (fstat(in, &st) < 0 || (uint64_t)st.st_size != b->size) {
		snprintf(im->err, im->errlen, "blob %s (%s): %lld bytes, the manifest says %llu",
			 b->digest, b->name, (long long)st.st_size, (unsigned long long)b->size);
		close(in);
		return -EBADMSG;
	}
	out = openat(im->out_fd, b->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0644);
	if (out < 0) {
		rc = -errno;
		snprintf(im->err, im->errlen, "%s: %s", b->name, strerror(-rc));
		close(in);
		return rc;
	}
	/* Bounded by the size the manifest gave: a blob that grows is cut
	 * short of nothing, it is refused. */
	rc = oci_copy_hashed(in, out, b->size, got, &size);
	if (close(out) < 0 && !rc)
		rc = -errno;
	close(in);
	if (rc == -EFBIG || (!rc && size != b->size)) {
		snprintf(im->err, im->errlen, "blob %s (%s): its size changed while read",
			 b->digest, b->name);
		rc = -EBADMSG;
	} else if (rc) {
		snprintf(im->err, im->errlen, "blob %s (%s): %s", b->digest, b->name, strerror(-rc));
	} else if (strcmp(got, b->digest)) {
		snprintf(im->err, im->errlen, "blob %s (%s): digest mismatch: its content is %s",
			 b->digest, b->name, got);
		rc = -EBADMSG;
	}
	if (rc)
		unlinkat(im->out_fd, b->name, 0);
	return rc;
}

/* The measurement file the layout brought must chain to what its manifest
 * announced. */
static int check_chain(struct import *im, const struct oci_manifest *m)
{
	char text[MEASURE_TEXT_LEN + 1], hex[MEASURE_HEX_LEN + 1];
	struct measurement meas;
	ssize_t n;
	int line = 0, fd = openat(im->out_fd, "measurement", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || measurement_parse(text, (size_t)n, &meas, &line)) {
		snprintf(im->err, im->errlen, "measurement:%d: not a measurement", line);
		return -EBADMSG;
	}
	measure_hex(meas.chain, hex);
	if (strcmp(hex, m->chain)) {
		snprintf(im->err, im->errlen, "the manifest's measurement %s is not its "
			 "measurement file's chain %s", m->chain, hex);
		return -EBADMSG;
	}
	return 0;
}

static int import(struct import *im, const char *tag, unsigned flags)
{
	struct oci_blob desc;
	struct oci_manifest *m = malloc(sizeof(*m));
	char *text = NULL;
	size_t len;
	int rc;

	if (!m)
		return -ENOMEM;
	if ((rc = check_layout_file(im)) || (rc = read_top(im, "index.json", &text, &len)))
		goto out;
	rc = oci_index_find(text, len, tag, &desc, im->err, im->errlen);
	free(text);
	text = NULL;
	if (rc || (rc = oci_blob_read(im->layout_fd, &desc, "manifest", &text, im->err,
				      im->errlen)))
		goto out;
	rc = oci_manifest_parse(text, desc.size, m, im->err, im->errlen);
	free(text);
	text = NULL;
	if (rc || (rc = oci_blob_read(im->layout_fd, &m->config, "config", &text, im->err,
				      im->errlen)) ||
	    (rc = oci_config_check(text, m->config.size, m->chain, im->err, im->errlen)))
		goto out;
	for (size_t i = 0; i < m->n_files; i++) {
		if ((flags & OCI_IMPORT_TRUSTED_ONLY) && !oci_file_required(m->files[i].name))
			continue;
		if ((rc = take_file(im, &m->files[i])))
			goto out;
	}
	rc = check_chain(im, m);
out:
	free(text);
	free(m);
	return rc;
}

int oci_import(const char *layout, const char *tag, const char *out_dir, unsigned flags,
	       char *err, size_t errlen)
{
	struct import im = { .err = err, .errlen = errlen, .out_fd = -1 };
	int rc;

	err[0] = 0;
	im.layout_fd = open(layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (im.layout_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", layout, strerror(-rc));
		return rc;
	}
	im.out_fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (im.out_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", out_dir, strerror(-rc));
	} else {
		rc = import(&im, tag, flags);
		close(im.out_fd);
	}
	close(im.layout_fd);
	if (rc && !err[0])
		snprintf(err, errlen, "%s: %s", layout, strerror(-rc));
	return rc;
}
