/*
 * cpio.h - a deterministic initramfs: a tree built in memory, written as a
 * cpio "newc" archive (the format the Linux kernel unpacks, see the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst), then zstd.
 *
 * The archive depends only on what was added, never on the order or the host:
 * entries sorted by path (bytes, like LC_ALL=C sort), every missing parent
 * folder added as 0755, uid/gid 0, one mtime for all, inode numbers 1, 2, ...
 * in archive order, nlink 2 + subfolders for a folder and 1 otherwise.
 */
#ifndef VAPP_BUILDER_CPIO_H
#define VAPP_BUILDER_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "vapp_util.h"

struct cpio;

/* @return a new, empty tree whose entries all get @p mtime, or NULL (ENOMEM). */
struct cpio *cpio_new(uint32_t mtime);
void cpio_free(struct cpio *c);

/*
 * Adding. @p path is absolute or relative to the root ("/bin/sh" and
 * "bin/sh" are the same entry); ".", ".." and empty parts are refused
 * (-EINVAL). A path added twice is -EEXIST, unless it is the same folder.
 * Only the permission bits (07777) of @p mode are used.
 */
int cpio_add_dir(struct cpio *c, const char *path, uint32_t mode);
/* Copies @p len bytes of @p data. */
int cpio_add_data(struct cpio *c, const char *path, uint32_t mode, const void *data, size_t len);
/* Reads the regular file @p host_path (symlinks followed) now. */
int cpio_add_file(struct cpio *c, const char *path, uint32_t mode, const char *host_path);
int cpio_add_symlink(struct cpio *c, const char *path, const char *target);
int cpio_add_chardev(struct cpio *c, const char *path, uint32_t mode, uint32_t major,
		     uint32_t minor);

/* @return 1 when @p path has an entry (given, not implied), else 0. */
int cpio_has(const struct cpio *c, const char *path);

/**
 * Appends the archive (implied folders, sorted entries, TRAILER!!!) to @p out.
 * @param n_entries receives the number of entries, trailer excluded; may be NULL.
 * @return 0, -ENOTDIR (an entry under a path that is not a folder), -ENOMEM.
 */
int cpio_write(struct cpio *c, struct vapp_buf *out, size_t *n_entries);

/* The initramfs's compression: zstd level 19 with a 1 MiB window. The
 * kernel unpacks it with CONFIG_RD_ZSTD (Debian's kernels and the project's
 * small kernel have it) and allocates about the window to do so, which
 * matters in a 48 MiB VM; a larger window gains under 1% here. */
#define CPIO_ZSTD_LEVEL 19
#define CPIO_ZSTD_WINDOW_LOG 20

/**
 * zstd of @p len bytes at @p in as one frame, appended to @p out, with the
 * content size and a checksum in it: the same input gives the same bytes
 * with the same libzstd. @return 0, -ENOMEM or -EIO.
 */
int cpio_compress(const void *in, size_t len, struct vapp_buf *out);

#endif /* VAPP_BUILDER_CPIO_H */
