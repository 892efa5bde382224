/*
 * image.h - what vappd takes from an image folder: a private copy of its
 * measured files (measure.h), so that nothing can change them between the
 * check and the boot (verify_image() warns of exactly that), and the facts
 * of its measured manifest.
 */
#ifndef VAPPD_IMAGE_H
#define VAPPD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/* The image's manifest and the facts the runtime uses most; the strings
 * point into @c m. */
struct image_info {
	struct manifest *m; /* manifest_load_image() of the verified copy */
	const char *name;   /* the manifest's name */
	uint32_t state_mib; /* state.size in MiB; 0: no state volume */
	const char *service; /* the first service's full name, NULL if none */
	const char *channel; /* its channel */
	enum manifest_restart restart;
};

/**
 * Loads manifest YAML text (untrusted: any bytes) with manifest/'s loader.
 * @return 0, or -EINVAL with @p err giving the first problems (FILE:LINE:
 *         COL: what), -ENOMEM.
 */
int image_info_parse(const char *yaml, size_t len, struct image_info *out, char *err,
		     size_t errlen);
void image_info_free(struct image_info *info);

/* The files copied from an image folder, i = 0, 1, ... until NULL: the
 * measured parts (measure_part_file), then measurement, measurement.sig,
 * signer.pub. */
const char *vappd_image_file(size_t i);

/**
 * Copies the image folder @p src into @p dst (created, mode 0700; files
 * 0600). @return 0 or -errno, with @p err naming the file.
 */
int image_copy(const char *src, const char *dst, char *err, size_t errlen);

/** Reads a whole small file (at most @p max bytes). @return 0 or -errno
 * (-EFBIG past @p max); *buf malloc'd, NUL-terminated past *len. */
int read_small_file(const char *path, size_t max, char **buf, size_t *len);

#endif /* VAPPD_IMAGE_H */
