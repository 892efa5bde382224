/*
 * cpio.c - the initramfs writer: cpio newc, sorted, deterministic; then zstd.
 *
 * newc header (110 bytes): "070701" and 13 fields of 8 uppercase-insensitive
 * hex digits: ino mode uid gid nlink mtime filesize devmajor devminor
 * rdevmajor rdevminor namesize check. The name (with its NUL) follows and is
 * padded so that header + name is a multiple of 4; the data is padded to 4
 * too. The kernel rejects anything else ("junk in compressed archive").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "cpio.h"

struct cpio_entry {
	char *path;       /* normalised, no leading '/' */
	uint32_t mode;    /* type and permission bits */
	uint32_t nlink;
	uint32_t rmajor, rminor;
	uint8_t *data;    /* file contents or symlink target */
	size_t len;
	int implied;
};

struct cpio {
	struct cpio_entry *e;
	size_t n, cap;
	uint32_t mtime;
};

struct cpio *cpio_new(uint32_t mtime)
{
	struct cpio *c = calloc(1, sizeof(*c));

	if (c)
		c->mtime = mtime;
	return c;
}

static void entry_free(struct cpio_entry *e)
{
	free(e->path);
	free(e->data);
}

void cpio_free(struct cpio *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		entry_free(&c->e[i]);
	free(c->e);
	free(c);
}

/* "/usr//bin/x" is refused rather than repaired: a manifest path that needs
 * repairing is probably not what its author meant. */
static char *normalise(const char *path)
{
	const char *p = path;

	while (*p == '/')
		p++;
	if (!*p)
		return NULL;
	for (const char *s = p; *s;) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return NULL;
		s += n;
		if (*s == '/' && !*++s)
			return NULL;
	}
	return strdup(p);
}

static struct cpio_entry *find(const struct cpio *c, const char *path)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].path, path))
			return &c->e[i];
	return NULL;
}

int cpio_has(const struct cpio *c, const char *path)
{
	const struct cpio_entry *e;
	char *p = normalise(path);

	if (!p)
		return 0;
	e = find(c, p);
	free(p);
	return e && !e->implied;
}

/* Takes @p data (malloc'd) on success. */
static int add(struct cpio *c, const char *path, uint32_t mode, uint8_t *data, size_t len,
	       uint32_t rmajor, uint32_t rminor)
{
	struct cpio_entry *e;
	char *p = normalise(path);

	if (!p)
		return -EINVAL;
	e = find(c, p);
	if (e) {
		free(p);
		return S_ISDIR(mode) && S_ISDIR(e->mode) && e->mode == mode ? 0 : -EEXIST;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cpio_entry *ne = realloc(c->e, cap * sizeof(*ne));

		if (!ne) {
			free(p);
			return -ENOMEM;
		}
		c->e = ne;
		c->cap = cap;
	}
	c->e[c->n++] = (struct cpio_entry){
		.path = p, .mode = mode, .nlink = 1, .data = data, .len = len,
		.rmajor = rmajor, .rminor = rminor,
	};
	return 0;
}

int cpio_add_dir(struct cpio *c, const char *path, uint32_t mode)
{
	return add(c, path, S_IFDIR | (mode & 07777), NULL, 0, 0, 0);
}

int cpio_add_data(struct cpio *c, const char *path, uint32_t mode, const void *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	ret = add(c, path, S_IFREG | (mode & 07777), copy, len, 0, 0);
	if (ret)
		free(copy);
	return ret;
}

int cpio_add_file(struct cpio *c, const char *path, uint32_t mode, const char *host_path)
{
	struct vapp_buf b = { 0 };
	struct stat st;
	int ret;

	if (stat(host_path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	ret = vapp_read_file(host_path, &b);
	if (!ret)
		ret = cpio_add_data(c, path, mode, b.p, b.len);
	vapp_buf_free(&b);
	return ret;
}

int cpio_add_symlink(struct cpio *c, const char *path, const char *target)
{
	size_t len = strlen(target);
	uint8_t *copy;
	int ret;

	if (!len)
		return -EINVAL;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, target, len);
	/* Link permissions are ignored by Linux; 0777 is what lstat shows. */
	ret = add(c, path, S_IFLNK | 0777, copy, len, 0, 0);
	if (ret)
		free(copy);
	return ret;
}

int cpio_add_chardev(struct cpio *c, const char *path, uint32_t mode, uint32_t major,
		     uint32_t minor)
{
	return add(c, path, S_IFCHR | (mode & 07777), NULL, 0, major, minor);
}

/* Adds every missing parent of every entry, marked implied. */
static int add_parents(struct cpio *c)
{
	size_t n = c->n;

	for (size_t i = 0; i < n; i++) {
		char *p = strdup(c->e[i].path), *slash;

		if (!p)
			return -ENOMEM;
		while ((slash = strrchr(p, '/'))) {
			struct cpio_entry *e;
			int ret;

			*slash = '\0';
			e = find(c, p);
			if (e) {
				if (!S_ISDIR(e->mode)) {
					free(p);
					return -ENOTDIR;
				}
				break;
			}
			ret = add(c, p, S_IFDIR | 0755, NULL, 0, 0, 0);
			if (ret) {
				free(p);
				return ret;
			}
			c->e[c->n - 1].implied = 1;
		}
		free(p);
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct cpio_entry *)a)->path, ((const struct cpio_entry *)b)->path);
}

/* A folder's nlink counts "." , its entry in the parent and each subfolder's "..". */
static void count_links(struct cpio *c)
{
	for (size_t i = 0; i < c->n; i++)
		c->e[i].nlink = S_ISDIR(c->e[i].mode) ? 2 : 1;
	for (size_t i = 0; i < c->n; i++) {
		const char *slash = strrchr(c->e[i].path, '/');
		struct cpio_entry key;
		struct cpio_entry *parent;
		char *pp;

		if (!S_ISDIR(c->e[i].mode) || !slash)
			continue;
		pp = strndup(c->e[i].path, (size_t)(slash - c->e[i].path));
		if (!pp)
			continue; /* only reached on ENOMEM; cpio_write checks again */
		key.path = pp;
		parent = bsearch(&key, c->e, c->n, sizeof(*c->e), by_path);
		if (parent)
			parent->nlink++;
		free(pp);
	}
}

static int pad4(struct vapp_buf *out)
{
	static const uint8_t zero[4];

	return vapp_buf_add(out, zero, (4 - out->len % 4) % 4);
}

static int put_header(struct vapp_buf *out, uint32_t ino, uint32_t mode, uint32_t nlink,
		      uint32_t mtime, size_t filesize, uint32_t rmajor, uint32_t rminor,
		      const char *name)
{
	size_t namesize = strlen(name) + 1;
	int ret;

	if (filesize > UINT32_MAX || namesize > UINT32_MAX)
		return -EFBIG;
	/* The archive starts at offset 0 of @p out's alignment; a caller that
	 * appends to a buffer not 4-aligned would break the padding. */
	ret = vapp_buf_printf(out, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			 ino, mode, 0u, 0u, nlink, mtime, (uint32_t)filesize, 0u, 0u, rmajor,
			 rminor, (uint32_t)namesize, 0u);
	if (!ret)
		ret = vapp_buf_add(out, name, namesize);
	if (!ret)
		ret = pad4(out);
	return ret;
}

int cpio_write(struct cpio *c, struct vapp_buf *out, size_t *n_entries)
{
	size_t start = out->len;
	int ret;

	if (start % 4)
		return -EINVAL;
	ret = add_parents(c);
	if (ret)
		return ret;
	if (c->n) /* qsort(NULL, 0, ...) is undefined */
		qsort(c->e, c->n, sizeof(*c->e), by_path);
	count_links(c);
	for (size_t i = 0; i < c->n; i++) {
		struct cpio_entry *e = &c->e[i];

		ret = put_header(out, (uint32_t)(i + 1), e->mode, e->nlink, c->mtime, e->len,
				 e->rmajor, e->rminor, e->path);
		if (!ret)
			ret = vapp_buf_add(out, e->data, e->len);
		if (!ret)
			ret = pad4(out);
		if (ret)
			goto err_truncate;
	}
	/* The trailer as GNU cpio and the kernel's gen_init_cpio write it. */
	ret = put_header(out, 0, 0, 1, 0, 0, 0, 0, "TRAILER!!!");
	if (ret)
		goto err_truncate;
	if (n_entries)
		*n_entries = c->n;
	return 0;

err_truncate:
	out->len = start;
	return ret;
}

int cpio_compress(const void *in, size_t len, struct vapp_buf *out)
{
	ZSTD_CCtx *z = ZSTD_createCCtx();
	size_t bound = ZSTD_compressBound(len), n;
	int ret = -ENOMEM;

	if (!z)
		return -ENOMEM;
	/* Level 19, a 1 MiB window (what the kernel allocates to unpack it),
	 * the size in the header and a checksum the kernel verifies; one
	 * thread, so the bytes depend on the input and libzstd alone. */
	if (ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, CPIO_ZSTD_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_windowLog, CPIO_ZSTD_WINDOW_LOG)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_contentSizeFlag, 1))) {
		ret = -EIO;
		goto out;
	}
	if (vapp_buf_reserve(out, bound))
		goto out;
	n = ZSTD_compress2(z, out->p + out->len, bound, in, len);
	if (ZSTD_isError(n)) {
		ret = -EIO;
		goto out;
	}
	out->len += n;
	ret = 0;
out:
	ZSTD_freeCCtx(z);
	return ret;
}
