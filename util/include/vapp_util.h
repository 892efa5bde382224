/*
 * vapp_util.h - libvapp-util, the project's small helpers in one place: a
 * growable byte buffer, whole-file reads and atomic writes, mkdir -p,
 * rm -rf, running a host tool (apt-get, dpkg-deb, protoc) with a bounded
 * wait, and an appliance's NICs (netif.c). Every name starts with vapp_.
 *
 * Error convention: 0 (or a count) or -errno; pointers are NULL with errno.
 */
#ifndef VAPP_UTIL_H
#define VAPP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vapp_buf {
	uint8_t *p;
	size_t len, cap;
};

int vapp_buf_reserve(struct vapp_buf *b, size_t more);
int vapp_buf_add(struct vapp_buf *b, const void *data, size_t len);
int vapp_buf_printf(struct vapp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vapp_buf_free(struct vapp_buf *b);

/* Reads all of @p path into @p b (appended). @return 0 or -errno. */
int vapp_read_file(const char *path, struct vapp_buf *b);
/* The same for a regular file of at most @p max bytes (checked on the open
 * fd, before reading). @return 0, -EINVAL (not a regular file), -EFBIG, or
 * -errno. */
int vapp_read_file_max(const char *path, size_t max, struct vapp_buf *b);
/* Writes all @p len bytes to @p fd (short writes and EINTR resumed).
 * @return 0 or -errno. */
int vapp_write_all(int fd, const void *data, size_t len);
/* Writes @p len bytes to @p path through PATH.tmp and rename(), both
 * fsync'd (the file, then its folder): durable when it returns 0. */
int vapp_write_file_atomic(const char *path, const void *data, size_t len, uint32_t mode);
/* fsync() of the folder @p dir: what a rename() in it did reaches the disk.
 * @return 0 or -errno. */
int vapp_fsync_dir(const char *dir);
/* mkdir -p -m @p mode: folders it adds above the last get 0755; existing
 * folders are fine. @return 0 or -errno. */
int vapp_mkdir_p(const char *path, uint32_t mode);
/* rm -rf, for our own temporary folders under the cache only. */
int vapp_rm_rf(const char *path);
struct iovec;
/* sendmsg() of @p iov with @p fd (SCM_RIGHTS) when it is >= 0, retried on
 * EINTR, never raising SIGPIPE. @return the bytes sent, or -errno. */
ssize_t vapp_send_fd(int sock, struct iovec *iov, int iovcnt, int fd);
/* The first line of @p path, without its newline, into @p buf (cut to
 * @p len). @return 0, -EIO (empty), or -errno. */
int vapp_read_line(const char *path, char *buf, size_t len);
/* Writes @p text to the existing file @p path in one write(), as a sysfs
 * or proc control file wants it (no create, no truncate). @return 0,
 * -EIO when only part was taken, or -errno. */
int vapp_write_text(const char *path, const char *text);
/* Monotonic clock in milliseconds, for deadlines and timeouts. */
uint64_t vapp_now_ms(void);
/* The wall clock, in milliseconds since 1970 (for what is dated, not timed). */
uint64_t vapp_unix_ms(void);
/* Writes a human message into the caller's @p err buffer (NULL or 0: nothing);
 * truncation is harmless, the text is for people. */
void vapp_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* malloc'd "a/b"; NULL on ENOMEM. */
char *vapp_path_join(const char *a, const char *b);

/**
 * Runs argv[0] (looked up in PATH) with stdin /dev/null, in @p cwd (NULL:
 * ours), and kills it after @p timeout_s seconds: a hung apt never hangs a
 * build. Its stdout is appended to @p out when not NULL (else discarded);
 * stderr is kept in @p err (truncated) for the error message.
 * @return the exit status (0..255), or -ETIMEDOUT, -errno.
 */
int vapp_run_cmd(char *const argv[], const char *cwd, int timeout_s, struct vapp_buf *out,
	    char *err, size_t errlen);

/* netif.c: an appliance's NICs, from inside it (needs CAP_NET_ADMIN). */
/** Finds an interface by name or by MAC ("52:54:00:12:34:56"): its name
 * into @p ifname. @return 0 or -ENODEV, -errno. */
int vapp_netif_find(const char *spec, char *ifname, size_t len);
/** The same, waiting up to @p timeout_ms for it (its driver may still be
 * probing), looking every 50 ms. */
int vapp_netif_wait(const char *spec, char *ifname, size_t len, int timeout_ms);
/** "A" or "A/N", IPv6 when it holds a ':', else IPv4: its family, the
 * address (network byte order, room for an IPv6 one in @p addr) and the
 * prefix length (the whole address without "/N"). @return 0 or -EINVAL. */
int vapp_cidr_parse(const char *cidr, int *family, void *addr, unsigned long *plen);
/** Brings @p ifname up, with the address @p cidr, IPv4 ("10.0.0.2/24") or
 * IPv6 ("fd99:1::2/64", no duplicate address detection); NULL: none.
 * Call it once per address. @return 0, -EINVAL (not an address), -errno. */
int vapp_netif_up(const char *ifname, const char *cidr);
/** The default route via @p gateway, IPv4 or IPv6 (an existing one is fine). */
int vapp_route_default(const char *gateway);

#endif /* VAPP_UTIL_H */
