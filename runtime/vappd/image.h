/*
 * image.h - what vappd reads from an image folder (builder's layout, see
 * builder/include/measure.h and the image contract): the few facts of the
 * manifest the runtime needs, and a private copy of the folder to verify
 * and run, so that nothing can change the files between the check and the
 * boot (verify_image() warns of exactly that).
 */
#ifndef VAPPD_IMAGE_H
#define VAPPD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

/* The manifest's runtime facts. The image's manifest.yaml cannot go
 * through manifest_load(): its relative paths (binaries, .proto files)
 * pointed into the build tree, and the loader checks that they exist. */
struct image_info {
	char *name;         /* the manifest's name */
	uint32_t state_mib; /* state.size in MiB; 0: no state volume */
	char *service;      /* the first service's full name, NULL if none */
	char *channel;      /* its channel */
	enum manifest_restart restart;
};

/**
 * Reads those facts from manifest YAML text (untrusted: any bytes).
 * @return 0, or -EINVAL with @p err saying what is missing or malformed,
 *         -ENOMEM.
 */
int image_info_parse(const char *yaml, size_t len, struct image_info *out, char *err,
		     size_t errlen);
void image_info_free(struct image_info *info);

/* The files an image folder must have to be run (copied in this order),
 * and the ones copied when present. */
extern const char *const image_files[];
extern const char *const image_optional_files[];

/**
 * Copies the image folder @p src into @p dst (created, mode 0700; files
 * 0600). @return 0 or -errno, with @p err naming the file.
 */
int image_copy(const char *src, const char *dst, char *err, size_t errlen);

/** Reads a whole small file (at most @p max bytes). @return 0 or -errno
 * (-EFBIG past @p max); *buf malloc'd, NUL-terminated past *len. */
int read_small_file(const char *path, size_t max, char **buf, size_t *len);

#endif /* VAPPD_IMAGE_H */
