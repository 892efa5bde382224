/*
 * util.h - the builder's small helpers: a growable byte buffer, whole-file
 * reads and atomic writes, mkdir -p, and running a host tool (apt-get,
 * dpkg-deb, depmod) with a bounded wait.
 */
#ifndef VAPP_BUILDER_UTIL_H
#define VAPP_BUILDER_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *p;
	size_t len, cap;
};

int buf_reserve(struct buf *b, size_t more);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* Reads all of @p path into @p b (appended). @return 0 or -errno. */
int read_file(const char *path, struct buf *b);
/* Writes @p len bytes to @p path through PATH.tmp and rename(). */
int write_file_atomic(const char *path, const void *data, size_t len, uint32_t mode);
/* mkdir -p; existing folders are fine. */
int mkdir_p(const char *path, uint32_t mode);
/* rm -rf, for our own temporary folders under the cache only. */
int rm_rf(const char *path);
/* malloc'd "a/b"; NULL on ENOMEM. */
char *path_join(const char *a, const char *b);

/**
 * Runs argv[0] (looked up in PATH) with stdin /dev/null, in @p cwd (NULL:
 * ours), and kills it after @p timeout_s seconds: a hung apt never hangs a
 * build. Its stdout is appended to @p out when not NULL (else discarded);
 * stderr is kept in @p err (truncated) for the error message.
 * @return the exit status (0..255), or -ETIMEDOUT, -errno.
 */
int run_cmd(char *const argv[], const char *cwd, int timeout_s, struct buf *out,
	    char *err, size_t errlen);

#endif /* VAPP_BUILDER_UTIL_H */
