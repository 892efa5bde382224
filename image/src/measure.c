/*
 * measure.c - the SHA-256 chain over the files of an image that decide what
 * boots and how (kernel, initramfs, command lines, manifest), and its text
 * form (the `measurement` file). See measure.h; image/README.md has the
 * same recipe in shell.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "measure.h"
#include "measure_private.h"

const char *const measure_part_file[MEASURE_N_PARTS] = {
	[MEASURE_KERNEL] = "kernel",
	[MEASURE_INITRAMFS] = "initramfs",
	[MEASURE_CMDLINE_TCG] = "cmdline.tcg",
	[MEASURE_CMDLINE_KVM] = "cmdline.kvm",
	[MEASURE_CMDLINE_XEN] = "cmdline.xen",
	[MEASURE_MANIFEST] = "manifest.yaml",
	[MEASURE_SERVICES] = "services.desc",
};

void measure_hex(const uint8_t digest[MEASURE_DIGEST_LEN], char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < MEASURE_DIGEST_LEN; i++) {
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 0xf];
	}
	hex[MEASURE_HEX_LEN] = '\0';
}

int measure_file(const char *path, uint8_t out[MEASURE_DIGEST_LEN])
{
	/* A kernel is ~14 MiB: hashed in pieces rather than mapped or slurped. */
	uint64_t size;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = mfile_hash(fd, -1, UINT64_MAX, out, &size);
	close(fd);
	return ret;
}

int measure_extend(uint8_t pcr[MEASURE_DIGEST_LEN], const uint8_t digest[MEASURE_DIGEST_LEN])
{
	uint8_t in[2 * MEASURE_DIGEST_LEN];
	unsigned int len = 0;

	memcpy(in, pcr, MEASURE_DIGEST_LEN);
	memcpy(in + MEASURE_DIGEST_LEN, digest, MEASURE_DIGEST_LEN);
	if (!EVP_Digest(in, sizeof(in), pcr, &len, EVP_sha256(), NULL) || len != MEASURE_DIGEST_LEN)
		return -EIO;
	return 0;
}

int measure_chain(struct measurement *m)
{
	memset(m->chain, 0, sizeof(m->chain));
	for (int i = 0; i < MEASURE_N_PARTS; i++) {
		int ret = measure_extend(m->chain, m->part[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int measure_dir(const char *dir, struct measurement *m)
{
	char path[PATH_MAX];

	for (int i = 0; i < MEASURE_N_PARTS; i++) {
		int ret;

		if (snprintf(path, sizeof(path), "%s/%s", dir, measure_part_file[i]) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		ret = measure_file(path, m->part[i]);
		if (ret < 0)
			return ret;
	}
	return measure_chain(m);
}

/* The label of line i + 2: a part's file name, then "chain". */
static const char *line_label(int i)
{
	return i < MEASURE_N_PARTS ? measure_part_file[i] : "chain";
}

void measurement_format(const struct measurement *m, char *buf)
{
	char hex[MEASURE_HEX_LEN + 1];
	size_t off;

	off = (size_t)sprintf(buf, "%s\n", MEASURE_MAGIC);
	for (int i = 0; i <= MEASURE_N_PARTS; i++) {
		measure_hex(i < MEASURE_N_PARTS ? m->part[i] : m->chain, hex);
		off += (size_t)sprintf(buf + off, "%s %s\n", line_label(i), hex);
	}
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase too: one measurement, one text */
}

/* Parses "LABEL <64 lowercase hex>\n" at *p (end at @p end) into @p out. */
static int parse_line(const char **p, const char *end, const char *label, uint8_t *out)
{
	size_t llen = strlen(label);
	const char *s = *p;

	if ((size_t)(end - s) < llen + 1 + MEASURE_HEX_LEN + 1)
		return -EBADMSG;
	if (memcmp(s, label, llen) || s[llen] != ' ')
		return -EBADMSG;
	s += llen + 1;
	for (size_t i = 0; i < MEASURE_DIGEST_LEN; i++) {
		int hi = unhex(s[2 * i]), lo = unhex(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	s += MEASURE_HEX_LEN;
	if (*s != '\n')
		return -EBADMSG;
	*p = s + 1;
	return 0;
}

int measurement_parse(const char *text, size_t len, struct measurement *m, int *line)
{
	const char *p = text, *end = text + len;
	size_t mlen = strlen(MEASURE_MAGIC);

	*line = 1;
	if (len < mlen + 1 || memcmp(p, MEASURE_MAGIC, mlen) || p[mlen] != '\n')
		return -EBADMSG;
	p += mlen + 1;
	for (int i = 0; i <= MEASURE_N_PARTS; i++) {
		uint8_t *digest = i < MEASURE_N_PARTS ? m->part[i] : m->chain;

		*line = i + 2;
		if (parse_line(&p, end, line_label(i), digest) < 0)
			return -EBADMSG;
	}
	if (p != end) {
		*line = MEASURE_N_PARTS + 3; /* something after the chain line */
		return -EBADMSG;
	}
	*line = 0;
	return 0;
}
