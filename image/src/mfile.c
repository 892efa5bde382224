/*
 * mfile.c - small whole files for the measurement code: read with a bound,
 * written so that a reader never sees half of one (a crash while signing
 * must not leave a measurement that matches no signature, or half a key).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "measure_private.h"
#include "vapp_util.h"

int mfile_join(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

int mfile_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	uint8_t *b;
	size_t have = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* One byte more than allowed tells "too long" from "exactly max". */
	b = malloc(max + 2);
	if (!b) {
		ret = -ENOMEM;
		goto err_fd;
	}
	for (;;) {
		ssize_t n = read(fd, b + have, max + 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto err_buf;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			ret = -EFBIG;
			goto err_buf;
		}
	}
	close(fd);
	b[have] = 0;
	*buf = b;
	*len = have;
	return 0;
err_buf:
	/* It may have been a private key. */
	OPENSSL_cleanse(b, max + 2);
	free(b);
err_fd:
	close(fd);
	return ret;
}

/* Writes a temporary file beside @p path; its name goes to @p tmp. */
static int write_temp(const char *path, char *tmp, const void *buf, size_t len, mode_t mode)
{
	int fd, ret;

	if (snprintf(tmp, PATH_MAX, "%s.tmp.XXXXXX", path) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 from the start */
	if (fd < 0)
		return -errno;
	ret = vapp_write_all(fd, buf, len);
	if (!ret && fchmod(fd, mode) < 0)
		ret = -errno;
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int mfile_replace(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int ret;

	ret = write_temp(path, tmp, buf, len, mode);
	if (ret)
		return ret;
	if (rename(tmp, path) < 0) {
		ret = -errno;
		unlink(tmp);
	}
	return ret;
}

int mfile_create(const char *path, const void *buf, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int ret = 0;

	ret = write_temp(path, tmp, buf, len, mode);
	if (ret)
		return ret;
	/* link(2), unlike rename(2), fails when the name exists: two builds
	 * making the development key at once both end up with the same one. */
	if (link(tmp, path) < 0)
		ret = -errno;
	unlink(tmp);
	return ret;
}

int mfile_hash(int in, int out, uint64_t max, uint8_t md[MEASURE_DIGEST_LEN], uint64_t *size)
{
	uint8_t buf[65536];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ret = 0;

	*size = 0;
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > max - *size) {
			ret = -EFBIG;
			goto out;
		}
		*size += (uint64_t)n;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			ret = -EIO;
			goto out;
		}
		if (out >= 0 && (ret = vapp_write_all(out, buf, (size_t)n)))
			goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, md, &len) || len != MEASURE_DIGEST_LEN)
		ret = -EIO;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}
