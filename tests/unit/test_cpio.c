/*
 * test_cpio.c - the initramfs writer: exact bytes of a tiny archive, the
 * format rules the Linux kernel's unpacker holds an archive to (newc magic,
 * 4-byte alignment of headers and data, TRAILER!!! last), sorting, implied
 * folders, link counts, and that the same tree gives the same bytes however
 * it was added, through zstd too.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader: the window the kernel must allocate */
#include <zstd.h>

#include <cmocka.h>

#include "cpio.h"

/* One parsed entry, read back by a reader that follows the kernel's rules
 * (init/initramfs.c) rather than our writer. */
struct ent {
	char name[256];
	uint32_t ino, mode, uid, gid, nlink, mtime, size, rmajor, rminor;
	const uint8_t *data;
};

static uint32_t hex8(const uint8_t *p)
{
	char tmp[9];

	memcpy(tmp, p, 8);
	tmp[8] = '\0';
	for (int i = 0; i < 8; i++)
		assert_true((tmp[i] >= '0' && tmp[i] <= '9') || (tmp[i] >= 'A' && tmp[i] <= 'F'));
	return (uint32_t)strtoul(tmp, NULL, 16);
}

/* @return the number of entries before the trailer; asserts every rule. */
static size_t parse(const struct vapp_buf *b, struct ent *out, size_t max)
{
	size_t off = 0, n = 0;

	assert_int_equal(b->len % 4, 0);
	for (;;) {
		const uint8_t *h = b->p + off;
		uint32_t namesize, check;
		struct ent e = { 0 };

		assert_int_equal(off % 4, 0);
		assert_true(off + 110 <= b->len);
		assert_memory_equal(h, "070701", 6);
		e.ino = hex8(h + 6);
		e.mode = hex8(h + 14);
		e.uid = hex8(h + 22);
		e.gid = hex8(h + 30);
		e.nlink = hex8(h + 38);
		e.mtime = hex8(h + 46);
		e.size = hex8(h + 54);
		assert_int_equal(hex8(h + 62), 0); /* devmajor */
		assert_int_equal(hex8(h + 70), 0); /* devminor */
		e.rmajor = hex8(h + 78);
		e.rminor = hex8(h + 86);
		namesize = hex8(h + 94);
		check = hex8(h + 102);
		assert_int_equal(check, 0);
		assert_true(namesize >= 2 && namesize < sizeof(e.name));
		assert_true(off + 110 + namesize <= b->len);
		assert_int_equal(h[110 + namesize - 1], '\0');
		memcpy(e.name, h + 110, namesize);
		assert_int_equal(strlen(e.name), namesize - 1);
		off += 110 + namesize;
		/* Padding to 4 after the name, zero bytes. */
		while (off % 4)
			assert_int_equal(b->p[off++], 0);
		if (!strcmp(e.name, "TRAILER!!!")) {
			assert_int_equal(e.size, 0);
			assert_int_equal(off, b->len);
			return n;
		}
		assert_true(off + e.size <= b->len);
		e.data = b->p + off;
		off += e.size;
		while (off % 4)
			assert_int_equal(b->p[off++], 0);
		assert_true(n < max);
		out[n++] = e;
	}
}

static void tiny_exact(void **state)
{
	static const char expected[] =
		"070701" "00000001" "000081A4" "00000000" "00000000" "00000001" "5F5E1000"
		"00000002" "00000000" "00000000" "00000000" "00000000" "00000002" "00000000"
		"a\0" "hi\0\0"
		"070701" "00000002" "0000A1FF" "00000000" "00000000" "00000001" "5F5E1000"
		"00000001" "00000000" "00000000" "00000000" "00000000" "00000002" "00000000"
		"b\0" "a\0\0\0"
		"070701" "00000000" "00000000" "00000000" "00000000" "00000001" "00000000"
		"00000000" "00000000" "00000000" "00000000" "00000000" "0000000B" "00000000"
		"TRAILER!!!\0\0\0\0"; /* name, NUL, padding to 124 */
	struct cpio *c = cpio_new(1600000000);
	struct vapp_buf b = { 0 };
	size_t n = 0;

	assert_non_null(c);
	/* Added out of order, with and without the leading '/'. */
	assert_int_equal(cpio_add_symlink(c, "/b", "a"), 0);
	assert_int_equal(cpio_add_data(c, "a", 0100644, "hi", 2), 0);
	assert_int_equal(cpio_write(c, &b, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(b.len, sizeof(expected) - 1);
	assert_memory_equal(b.p, expected, b.len);
	vapp_buf_free(&b);
	cpio_free(c);
}

/* Nothing but the trailer: what the kernel accepts as an empty archive. */
static void empty(void **state)
{
	struct cpio *c = cpio_new(5);
	struct vapp_buf b = { 0 };
	size_t n = 99;

	assert_int_equal(cpio_write(c, &b, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(b.len, 124);
	assert_int_equal(parse(&b, NULL, 0), 0);
	vapp_buf_free(&b);
	cpio_free(c);
	cpio_free(NULL);
}

static void sorted_implied_nlink(void **state)
{
	static const char *const names[] = { "a-b", "bin", "bin/sh", "dev", "dev/console", "usr",
					     "usr/bin", "usr/bin/z", "usr/lib", "usr/lib/x" };
	struct ent e[16];
	struct cpio *c = cpio_new(7);
	struct vapp_buf b = { 0 };
	size_t n;

	assert_non_null(c);
	assert_int_equal(cpio_add_data(c, "/usr/lib/x", 0755, "x", 1), 0);
	assert_int_equal(cpio_add_symlink(c, "bin/sh", "/bin/busybox"), 0);
	assert_int_equal(cpio_add_data(c, "usr/bin/z", 0644, "", 0), 0);
	assert_int_equal(cpio_add_data(c, "a-b", 0600, "ab", 2), 0);
	assert_int_equal(cpio_add_chardev(c, "dev/console", 0600, 5, 1), 0);
	assert_int_equal(cpio_add_dir(c, "usr", 0700), 0);
	assert_int_equal(cpio_write(c, &b, NULL), 0);
	n = parse(&b, e, 16);
	assert_int_equal(n, sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(e[i].name, names[i]);
		assert_int_equal(e[i].ino, i + 1);
		assert_int_equal(e[i].uid, 0);
		assert_int_equal(e[i].gid, 0);
		assert_int_equal(e[i].mtime, 7);
	}
	/* "a-b" sorts before "bin", and '-' (0x2d) before '/' (0x2f). */
	assert_int_equal(e[0].mode, S_IFREG | 0600);
	assert_memory_equal(e[0].data, "ab", 2);
	assert_int_equal(e[1].mode, S_IFDIR | 0755); /* implied */
	assert_int_equal(e[1].nlink, 2);
	assert_int_equal(e[2].mode, S_IFLNK | 0777);
	assert_int_equal(e[2].size, strlen("/bin/busybox"));
	assert_memory_equal(e[2].data, "/bin/busybox", e[2].size);
	assert_int_equal(e[4].mode, S_IFCHR | 0600);
	assert_int_equal(e[4].rmajor, 5);
	assert_int_equal(e[4].rminor, 1);
	assert_int_equal(e[5].mode, S_IFDIR | 0700); /* given, not implied */
	assert_int_equal(e[5].nlink, 4);             /* ., its name, bin/.., lib/.. */
	assert_int_equal(e[6].nlink, 2);
	assert_int_equal(e[7].nlink, 1);
	assert_int_equal(e[7].size, 0);
	vapp_buf_free(&b);
	cpio_free(c);
}

static struct cpio *tree(int reverse)
{
	static const char *const paths[] = { "init", "bin/busybox", "etc/vapp/daemon",
					     "lib/x86_64-linux-gnu/libc.so.6", "etc/a", "z" };
	size_t n = sizeof(paths) / sizeof(paths[0]);
	struct cpio *c = cpio_new(1700000000);

	assert_non_null(c);
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse ? n - 1 - k : k;

		assert_int_equal(cpio_add_data(c, paths[i], 0644, paths[i], strlen(paths[i])), 0);
	}
	return c;
}

/* Unpacks @p z as the kernel would: one frame, its size in the header, a
 * window no larger than CPIO_ZSTD_WINDOW_LOG, a checksum. */
static void unzstd_all(const struct vapp_buf *z, struct vapp_buf *out)
{
	ZSTD_frameHeader h;
	size_t n;

	assert_int_equal(ZSTD_getFrameHeader(&h, z->p, z->len), 0);
	assert_int_equal(h.frameType, ZSTD_frame);
	assert_true(h.frameContentSize != ZSTD_CONTENTSIZE_UNKNOWN);
	assert_true(h.windowSize <= (1ULL << CPIO_ZSTD_WINDOW_LOG));
	assert_true(h.checksumFlag);
	assert_int_equal(ZSTD_findFrameCompressedSize(z->p, z->len), z->len); /* nothing after it */
	assert_int_equal(vapp_buf_reserve(out, (size_t)h.frameContentSize), 0);
	n = ZSTD_decompress(out->p, (size_t)h.frameContentSize, z->p, z->len);
	assert_false(ZSTD_isError(n));
	out->len = n;
}

static void deterministic(void **state)
{
	struct cpio *c1 = tree(0), *c2 = tree(1);
	struct vapp_buf a = { 0 }, b = { 0 }, ga = { 0 }, gb = { 0 }, back = { 0 };
	/* zstd's frame magic, what the kernel's initramfs unpacker looks for */
	static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

	assert_int_equal(cpio_write(c1, &a, NULL), 0);
	assert_int_equal(cpio_write(c2, &b, NULL), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	assert_int_equal(cpio_compress(a.p, a.len, &ga), 0);
	assert_int_equal(cpio_compress(b.p, b.len, &gb), 0);
	assert_int_equal(ga.len, gb.len);
	assert_memory_equal(ga.p, gb.p, ga.len);
	assert_true(ga.len > sizeof(zstd_magic));
	assert_memory_equal(ga.p, zstd_magic, sizeof(zstd_magic));
	unzstd_all(&ga, &back);
	assert_int_equal(back.len, a.len);
	assert_memory_equal(back.p, a.p, a.len);
	vapp_buf_free(&a);
	vapp_buf_free(&b);
	vapp_buf_free(&ga);
	vapp_buf_free(&gb);
	vapp_buf_free(&back);
	cpio_free(c1);
	cpio_free(c2);
}

/* Different content or mtime must change the bytes: the determinism above
 * is not a writer that ignores its input. */
static void sensitive(void **state)
{
	struct cpio *c1 = cpio_new(1), *c2 = cpio_new(2), *c3 = cpio_new(1);
	struct vapp_buf a = { 0 }, b = { 0 }, d = { 0 };

	assert_int_equal(cpio_add_data(c1, "f", 0644, "x", 1), 0);
	assert_int_equal(cpio_add_data(c2, "f", 0644, "x", 1), 0);
	assert_int_equal(cpio_add_data(c3, "f", 0644, "y", 1), 0);
	assert_int_equal(cpio_write(c1, &a, NULL), 0);
	assert_int_equal(cpio_write(c2, &b, NULL), 0);
	assert_int_equal(cpio_write(c3, &d, NULL), 0);
	assert_int_equal(a.len, b.len);
	assert_true(memcmp(a.p, b.p, a.len) != 0);
	assert_true(memcmp(a.p, d.p, a.len) != 0);
	vapp_buf_free(&a);
	vapp_buf_free(&b);
	vapp_buf_free(&d);
	cpio_free(c1);
	cpio_free(c2);
	cpio_free(c3);
}

static void refusals(void **state)
{
	static const char *const bad[] = { "", "/", "a//b", "a/../b", "./a", "a/.", "a/", ".." };
	struct cpio *c = cpio_new(0);
	struct vapp_buf b = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cpio_add_data(c, bad[i], 0644, "", 0), -EINVAL);
	assert_int_equal(cpio_add_data(c, "f", 0644, "1", 1), 0);
	assert_int_equal(cpio_add_data(c, "/f", 0644, "2", 1), -EEXIST);
	assert_int_equal(cpio_add_symlink(c, "f", "x"), -EEXIST);
	assert_int_equal(cpio_add_dir(c, "d", 0755), 0);
	assert_int_equal(cpio_add_dir(c, "d", 0755), 0);
	assert_int_equal(cpio_add_dir(c, "d", 0700), -EEXIST);
	assert_int_equal(cpio_add_symlink(c, "l", ""), -EINVAL);
	assert_true(cpio_has(c, "/f"));
	assert_false(cpio_has(c, "g"));
	/* Something under a file cannot be unpacked: refused when written. */
	assert_int_equal(cpio_add_data(c, "f/g", 0644, "", 0), 0);
	assert_int_equal(cpio_write(c, &b, NULL), -ENOTDIR);
	assert_int_equal(b.len, 0);
	cpio_free(c);
}

static void host_file(void **state)
{
	char path[] = "/tmp/test_cpio.XXXXXX";
	struct cpio *c = cpio_new(0);
	struct vapp_buf b = { 0 };
	struct ent e[4];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	assert_int_equal(cpio_add_file(c, "bin/h", 0755, path), 0);
	assert_int_equal(cpio_add_file(c, "bin/none", 0755, "/nonexistent/x"), -ENOENT);
	assert_int_equal(cpio_add_file(c, "bin/dir", 0755, "/tmp"), -EINVAL);
	unlink(path);
	assert_int_equal(cpio_write(c, &b, NULL), 0);
	assert_int_equal(parse(&b, e, 4), 2);
	assert_string_equal(e[1].name, "bin/h");
	assert_int_equal(e[1].mode, S_IFREG | 0755);
	assert_memory_equal(e[1].data, "hello", 5);
	/* An archive must start 4-aligned in its buffer. */
	b.len = 2;
	assert_int_equal(cpio_write(c, &b, NULL), -EINVAL);
	vapp_buf_free(&b);
	cpio_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tiny_exact),
		cmocka_unit_test(empty),
		cmocka_unit_test(sorted_implied_nlink),
		cmocka_unit_test(deterministic),
		cmocka_unit_test(sensitive),
		cmocka_unit_test(refusals),
		cmocka_unit_test(host_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
