/* oci_private.h - what oci_json.c, oci_blob.c, oci_write.c and
 * oci_import.c share inside libvapp-image. */
#ifndef VAPP_OCI_PRIVATE_H
#define VAPP_OCI_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "oci.h"

/** Parses @p len bytes of a JSON object (at most OCI_JSON_MAX; trailing
 * white space allowed, nothing else), strictly and with bounded nesting.
 * @p what names the text in @p err. @return 0 or -EINVAL, -ENOMEM. */
int oci_json_parse(const char *what, const char *json, size_t len, struct json_object **out,
		   char *err, size_t errlen);

/** Is @p d "sha256:" and 64 lowercase hex? */
bool oci_digest_valid(const char *d);

/** LAYOUT/blobs/sha256 (made with @p create) as an fd, no symbolic link
 * followed. @return the fd or -errno. */
int oci_blobs_dir(int layout_fd, int create);

/** Opens LAYOUT/blobs/sha256/HEX of a valid @p digest for reading, no
 * symbolic link followed, a regular file. @return an fd or -errno. */
int oci_blob_open(int layout_fd, const char *digest);

/**
 * Copies @p in to @p out (when >= 0) while hashing, refusing more than
 * @p max bytes (-EFBIG). @return 0 or -errno; @p digest ("sha256:...") and
 * @p size get what was read.
 */
int oci_copy_hashed(int in, int out, uint64_t max, char digest[OCI_DIGEST_LEN + 1],
		    uint64_t *size);

/** Writes @p len bytes as a blob of @p layout_fd (atomically, 0644).
 * @return 0 or -errno; @p digest gets its digest. */
int oci_blob_put(int layout_fd, const void *buf, size_t len, char digest[OCI_DIGEST_LEN + 1]);

/** Copies all of @p in (at most OCI_FILE_MAX bytes) in as a blob of
 * @p layout_fd. @return 0 or -errno; @p b gets its digest and size. */
int oci_blob_put_fd(int layout_fd, int in, struct oci_blob *b);

/** Reads blob @p b whole (it is JSON: at most OCI_JSON_MAX) and checks its
 * size and digest. @return 0 or -errno (-EBADMSG: it does not match),
 * @p err naming the blob as @p what. *out is malloc'd, NUL-terminated. */
int oci_blob_read(int layout_fd, const struct oci_blob *b, const char *what, char **out,
		  char *err, size_t errlen);

#endif /* VAPP_OCI_PRIVATE_H */
