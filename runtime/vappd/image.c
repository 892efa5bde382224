/*
 * image.c - the private copy of an image folder, and the facts of its
 * measured manifest (read with manifest/'s own loader in image mode, the
 * one reader of the format).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "measure.h"
#include "vapp_util.h"

/* What vappd takes from an image folder: the measured parts and what
 * proves them. Nothing else there is copied, let alone read. */
static const char *const trust_files[] = { "measurement", "measurement.sig", "signer.pub" };
#define N_TRUST_FILES (sizeof(trust_files) / sizeof(trust_files[0]))

const char *vappd_image_file(size_t i)
{
	if (i < MEASURE_N_PARTS)
		return measure_part_file[i];
	i -= MEASURE_N_PARTS;
	return i < N_TRUST_FILES ? trust_files[i] : NULL;
}

/* The first problems of @p diag, "; "-separated, into @p err. */
static void say_diag(const struct manifest_diag *diag, char *err, size_t errlen)
{
	size_t used = 0;

	err[0] = 0;
	for (size_t i = 0; i < diag->n && i < 3 && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s%s", i ? "; " : "",
					 diag->lines[i]);
	if (!diag->n)
		vapp_errf(err, errlen, "manifest.yaml: %s", strerror(errno));
}

int image_info_parse(const char *yaml, size_t len, struct image_info *info, char *err,
		     size_t errlen)
{
	struct manifest_diag diag = { 0 };
	struct manifest *m;

	memset(info, 0, sizeof(*info));
	m = manifest_load_image("manifest.yaml", yaml, len, &diag);
	if (!m) {
		int e = errno;

		say_diag(&diag, err, errlen);
		manifest_diag_free(&diag);
		return e == ENOMEM ? -ENOMEM : -EINVAL;
	}
	manifest_diag_free(&diag);
	info->m = m;
	info->name = m->name;
	info->state_mib = m->state.size_mib;
	info->restart = m->daemon.restart;
	if (m->n_services) {
		info->service = m->services[0].name;
		info->channel = m->services[0].channel;
	}
	return 0;
}

void image_info_free(struct image_info *info)
{
	if (!info)
		return;
	manifest_free(info->m);
	memset(info, 0, sizeof(*info));
}

int read_small_file(const char *path, size_t max, char **buf, size_t *len)
{
	struct vapp_buf b = { 0 };
	int err = vapp_read_file_max(path, max, &b);

	if (!err)
		err = vapp_buf_add(&b, "", 1); /* NUL-terminated past *len */
	if (err) {
		vapp_buf_free(&b);
		return err;
	}
	*buf = (char *)b.p;
	*len = b.len - 1;
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
		vapp_errf(err, errlen, "%s: %s", dst, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; vappd_image_file(i); i++) {
		snprintf(from, sizeof(from), "%s/%s", src, vappd_image_file(i));
		snprintf(to, sizeof(to), "%s/%s", dst, vappd_image_file(i));
		rc = copy_one(from, to, &total);
		if (rc == -ENOENT) {
			vapp_errf(err, errlen, "%s: missing (an image of an older vapp, which measured "
					 "less? rebuild it)", from);
			return rc;
		}
		if (rc) {
			vapp_errf(err, errlen, "%s: %s", from, strerror(-rc));
			return rc;
		}
	}
	return 0;
}
