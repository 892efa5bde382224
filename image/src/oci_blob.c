/*
 * oci_blob.c - blobs of an OCI layout: opened by digest without following
 * a symbolic link, copied while hashed, written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "measure_private.h"
#include "oci_private.h"
#include "vapp_util.h"

static int open_dir(int at, const char *name, int create)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(at, name, 0755) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

int oci_blobs_dir(int layout_fd, int create)
{
	int blobs = open_dir(layout_fd, "blobs", create), fd;

	if (blobs < 0)
		return blobs;
	fd = open_dir(blobs, "sha256", create);
	close(blobs);
	return fd;
}

int oci_blob_open(int layout_fd, const char *digest)
{
	int dir, fd;
	struct stat st;

	if (!oci_digest_valid(digest))
		return -EINVAL;
	if ((dir = oci_blobs_dir(layout_fd, 0)) < 0)
		return dir;
	/* O_NONBLOCK: a FIFO put there must not hang the reader. */
	fd = openat(dir, digest + 7, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dir);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static void digest_text(const unsigned char *md, char out[OCI_DIGEST_LEN + 1])
{
	memcpy(out, "sha256:", 7);
	measure_hex(md, out + 7);
}

int oci_copy_hashed(int in, int out, uint64_t max, char digest[OCI_DIGEST_LEN + 1],
		    uint64_t *size)
{
	uint8_t md[MEASURE_DIGEST_LEN];
	int rc = mfile_hash(in, out, max, md, size);

	if (!rc)
		digest_text(md, digest);
	return rc;
}

static int read_exact(int fd, char *buf, size_t len)
{
	for (size_t have = 0; have < len;) {
		ssize_t n = read(fd, buf + have, len - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* shrank since fstat */
		have += (size_t)n;
	}
	return 0;
}

static int sha256_text(const char *buf, size_t len, char digest[OCI_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != MEASURE_DIGEST_LEN)
		return -EIO;
	digest_text(md, digest);
	return 0;
}

/* A new blob: all of @p in (hashed as it is copied) or, when @p in < 0,
 * @p len bytes at @p buf, into a temporary file then renamed to its
 * digest. */
static int store(int layout_fd, int in, const void *buf, size_t len,
		 char digest[OCI_DIGEST_LEN + 1], uint64_t *size)
{
	char tmp[64];
	int dir, fd, rc;

	if ((dir = oci_blobs_dir(layout_fd, 1)) < 0)
		return dir;
	snprintf(tmp, sizeof(tmp), ".put-%ld", (long)getpid());
	unlinkat(dir, tmp, 0);
	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (in >= 0) {
		rc = oci_copy_hashed(in, fd, OCI_FILE_MAX, digest, size);
	} else {
		*size = len;
		if (!(rc = sha256_text(buf, len, digest)))
			rc = vapp_write_all(fd, buf, len);
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && renameat(dir, tmp, dir, digest + 7) < 0)
		rc = -errno;
	if (rc)
		unlinkat(dir, tmp, 0);
out:
	close(dir);
	return rc;
}

int oci_blob_put(int layout_fd, const void *buf, size_t len, char digest[OCI_DIGEST_LEN + 1])
{
	uint64_t size;

	return store(layout_fd, -1, buf, len, digest, &size);
}

int oci_blob_put_fd(int layout_fd, int in, struct oci_blob *b)
{
	return store(layout_fd, in, NULL, 0, b->digest, &b->size);
}

int oci_blob_read(int layout_fd, const struct oci_blob *b, const char *what, char **out,
		  char *err, size_t errlen)
{
	char got[OCI_DIGEST_LEN + 1];
	struct stat st;
	char *buf = NULL;
	int fd = oci_blob_open(layout_fd, b->digest), rc;

	*out = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "%s blob %s: %s", what, b->digest,
			 fd == -EINVAL ? "not a regular file" : strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != b->size || b->size > OCI_JSON_MAX) {
		snprintf(err, errlen, "%s blob %s: %lld bytes, its descriptor says %llu", what,
			 b->digest, (long long)st.st_size, (unsigned long long)b->size);
		close(fd);
		return -EBADMSG;
	}
	buf = malloc(b->size + 1);
	rc = buf ? read_exact(fd, buf, b->size) : -ENOMEM;
	close(fd);
	if (!rc)
		rc = sha256_text(buf, b->size, got);
	if (rc) {
		snprintf(err, errlen, "%s blob %s: %s", what, b->digest, strerror(-rc));
	} else if (strcmp(got, b->digest)) {
		snprintf(err, errlen, "%s blob %s: its content's digest is %s", what, b->digest,
			 got);
		rc = -EBADMSG;
	}
	if (rc) {
		free(buf);
		return rc;
	}
	buf[b->size] = 0;
	*out = buf;
	return 0;
}
