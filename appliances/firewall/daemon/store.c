/*
 * store.c - each guest's ruleset in the state volume, as
 * DIR/ruleset-NAME.pb (a one-guest firewall of an earlier version kept
 * DIR/ruleset.pb: read for the first guest until it has a file of its own):
 *
 *   "VAPPFW1\n"   8 bytes of magic
 *   next_id       u32 little-endian (ids are never handed out twice)
 *   length        u32 little-endian, then a vapp.firewall.v1.Ruleset
 *
 * A change is written to ruleset-NAME.pb.new and fsync'd, put in force,
 * then renamed over ruleset-NAME.pb and the folder fsync'd: rename(2) replaces the
 * name atomically, so after a crash at any point the file holds the old
 * ruleset or the new one, never a mix (and never a half-written file).
 *
 * The file is read back as untrusted input: length checked against the file
 * size, the message unpacked by protobuf-c, then every rule checked again by
 * the same code that checks an RPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw.h"
#include "vapp_util.h"

#define MAGIC "VAPPFW1\n"
#define HDR 16
#define MAX_FILE (1u << 20)

/* DIR/ruleset-GUEST.pb and then SUFFIX; GUEST NULL: DIR/ruleset.pb. */
static void path_of(char *buf, size_t len, const char *dir, const char *guest, const char *suffix)
{
	if (guest)
		snprintf(buf, len, "%s/ruleset-%s.pb%s", dir, guest, suffix);
	else
		snprintf(buf, len, "%s/ruleset.pb%s", dir, suffix);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int fw_store_prepare(const char *dir, const char *guest, const struct fw_ruleset *rs)
{
	Vapp__Firewall__V1__Ruleset pb;
	char tmp[512];
	uint8_t *buf;
	size_t len;
	int fd, err;

	err = fw_ruleset_to_pb(rs, NULL, &pb);
	if (err)
		return err;
	len = vapp__firewall__v1__ruleset__get_packed_size(&pb);
	buf = malloc(HDR + len);
	if (!buf) {
		fw_ruleset_pb_free(&pb);
		return -ENOMEM;
	}
	memcpy(buf, MAGIC, 8);
	put32(buf + 8, rs->next_id);
	put32(buf + 12, (uint32_t)len);
	vapp__firewall__v1__ruleset__pack(&pb, buf + HDR);
	fw_ruleset_pb_free(&pb);

	path_of(tmp, sizeof(tmp), dir, guest, ".new");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto err_buf;
	}
	err = vapp_write_all(fd, buf, HDR + len);
	/* The data must be on disk before the rename can make it the ruleset. */
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	if (err)
		unlink(tmp);
err_buf:
	free(buf);
	return err;
}

int fw_store_commit(const char *dir, const char *guest)
{
	char tmp[512], dst[512];

	path_of(tmp, sizeof(tmp), dir, guest, ".new");
	path_of(dst, sizeof(dst), dir, guest, "");
	if (rename(tmp, dst) < 0)
		return -errno;
	/* The rename itself lives in the folder: sync it too. */
	return vapp_fsync_dir(dir);
}

void fw_store_abort(const char *dir, const char *guest)
{
	char tmp[512];

	path_of(tmp, sizeof(tmp), dir, guest, ".new");
	unlink(tmp);
}

static int read_file(const char *path, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EINVAL;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*outlen = got;
	return 0;
}

int fw_store_parse(const uint8_t *buf, size_t len, struct fw_ruleset *rs, char *why,
		   size_t whylen)
{
	Vapp__Firewall__V1__Ruleset *pb;
	uint32_t plen, next;
	int err;

	/* Copy the header fields, then check them against what was read. */
	plen = len >= HDR ? get32(buf + 12) : 0;
	next = len >= HDR ? get32(buf + 8) : 0;
	if (len < HDR || memcmp(buf, MAGIC, 8) || plen != len - HDR) {
		snprintf(why, whylen, "not a ruleset file (bad header or length)");
		return -EINVAL;
	}
	pb = vapp__firewall__v1__ruleset__unpack(NULL, plen, buf + HDR);
	if (!pb) {
		snprintf(why, whylen, "the ruleset does not decode");
		return -EINVAL;
	}
	err = fw_ruleset_from_pb(pb, NULL, rs, why, whylen);
	if (!err) {
		if (next > rs->next_id)
			rs->next_id = next;
		rs->generation = pb->generation;
	}
	vapp__firewall__v1__ruleset__free_unpacked(pb, NULL);
	return err;
}

int fw_store_load(const char *dir, const char *guest, bool legacy, struct fw_ruleset *rs,
		  char *why, size_t whylen)
{
	char path[512], reason[FW_REASON_LEN];
	uint8_t *buf = NULL;
	size_t len = 0;
	int err;

	path_of(path, sizeof(path), dir, guest, "");
	err = read_file(path, &buf, &len);
	if (err == -ENOENT && legacy) {
		path_of(path, sizeof(path), dir, NULL, "");
		err = read_file(path, &buf, &len);
	}
	if (err == -ENOENT)
		return err;
	if (err) {
		snprintf(why, whylen, "%s: %s", path, strerror(-err));
		return -EINVAL;
	}
	err = fw_store_parse(buf, len, rs, reason, sizeof(reason));
	free(buf);
	if (err)
		snprintf(why, whylen, "%s: %s", path, reason);
	return err;
}
