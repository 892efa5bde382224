/*
 * measure_private.h - what sign.c and verify.c share: small files read
 * whole, files written atomically, Ed25519 keys from PEM. Not exported.
 */
#ifndef VAPP_MEASURE_PRIVATE_H
#define VAPP_MEASURE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "measure.h"

/* Key files are a few hundred bytes; anything bigger is not one. */
#define MKEY_FILE_MAX 16384

/**
 * Reads all of @p path, at most @p max bytes, into a malloc'd buffer (plus a
 * NUL not counted in *len). @return 0, -EFBIG when longer, or -errno.
 */
int mfile_read(const char *path, size_t max, uint8_t **buf, size_t *len);

/** Replaces @p path with @p len bytes (a temporary file then rename(2)). */
int mfile_replace(const char *path, const void *buf, size_t len, mode_t mode);

/** Creates @p path with @p len bytes, never replacing a file: -EEXIST. The
 * file appears whole or not at all (temporary file then link(2)). */
int mfile_create(const char *path, const void *buf, size_t len, mode_t mode);

/**
 * SHA-256 of all of @p in, read in pieces, each also written to @p out
 * when it is >= 0 (a copy hashed as it is made). More than @p max bytes:
 * -EFBIG. @return 0 or -errno; @p size gets the bytes read.
 */
int mfile_hash(int in, int out, uint64_t max, uint8_t md[MEASURE_DIGEST_LEN], uint64_t *size);

/** "DIR/NAME" into @p out (PATH_MAX bytes). @return 0 or -ENAMETOOLONG. */
int mfile_join(char *out, const char *dir, const char *name);

/* Ed25519 keys from PEM files; anything else is refused with a message. */
int mkey_load_private(const char *path, EVP_PKEY **out, char err[MEASURE_ERR_LEN]);
int mkey_load_public(const char *path, EVP_PKEY **out, char err[MEASURE_ERR_LEN]);
/** "SHA256:<hex of SHA-256 over the raw 32-byte public key>". */
int mkey_fingerprint(EVP_PKEY *pk, char out[8 + MEASURE_HEX_LEN]);
/** 1 when @p sig is @p pk's Ed25519 signature over @p msg, else 0. */
int mkey_verify(EVP_PKEY *pk, const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		size_t len);

#endif /* VAPP_MEASURE_PRIVATE_H */
