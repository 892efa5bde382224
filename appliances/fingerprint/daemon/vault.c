/*
 * vault.c - the enrolled templates, sealed. Each is a file
 * DIR/prints/USER/FINGER.tpl:
 *
 *   "VFPT" 0x01            magic and version (5 bytes)
 *   enrolled_ms            when it was enrolled (8 bytes, little-endian)
 *   nonce                  12 random bytes
 *   ciphertext             the serialized libfprint print, AES-256-GCM
 *   tag                    16 bytes
 *
 * The additional data is the first 13 bytes, the user, a NUL and the
 * finger: a file copied to another user's or finger's name does not open
 * (it is refused and said, never used), nor one whose bytes changed. The
 * key is DIR/seal.key, 32 random bytes made at first boot, mode 0600, on
 * the state volume: nothing leaves the appliance, and a guest reaches none
 * of it. At rest it is as safe as the state volume's image on the host
 * (the README says what a vTPM would add).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fpd.h"

#define MAGIC "VFPT\x01"
#define MAGIC_LEN 5
#define HDR_LEN (MAGIC_LEN + 8)
#define NONCE_LEN 12
#define TAG_LEN 16
#define PRINT_MAX (1u << 20)

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The additional data: the header, the user, a NUL, the finger. */
static size_t aad_of(const uint8_t *hdr, const char *user, int finger, uint8_t *aad)
{
	size_t n = strlen(user);

	memcpy(aad, hdr, HDR_LEN);
	memcpy(aad + HDR_LEN, user, n + 1);
	aad[HDR_LEN + n + 1] = (uint8_t)finger;
	return HDR_LEN + n + 2;
}

static bool name_ok(const char *user, int finger)
{
	return fp_user_ok(user) && finger >= 1 && finger <= FPD_FINGERS;
}

int vault_seal(const uint8_t key[32], const char *user, int finger, uint64_t enrolled_ms,
	       const void *print, size_t len, struct vapp_buf *out)
{
	uint8_t aad[HDR_LEN + FP_USER_MAX + 2], *p;
	EVP_CIPHER_CTX *c;
	int n, ok;

	if (!name_ok(user, finger) || len == 0 || len > PRINT_MAX)
		return -EINVAL;
	out->len = 0;
	if (vapp_buf_reserve(out, HDR_LEN + NONCE_LEN + len + TAG_LEN))
		return -ENOMEM;
	p = out->p;
	memcpy(p, MAGIC, MAGIC_LEN);
	put_le64(p + MAGIC_LEN, enrolled_ms);
	if (RAND_bytes(p + HDR_LEN, NONCE_LEN) != 1 || !(c = EVP_CIPHER_CTX_new()))
		return -EIO;
	ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, p + HDR_LEN) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad, (int)aad_of(p, user, finger, aad)) == 1 &&
	     EVP_EncryptUpdate(c, p + HDR_LEN + NONCE_LEN, &n, print, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, p + HDR_LEN + NONCE_LEN + n, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
				 p + HDR_LEN + NONCE_LEN + len) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return -EIO;
	out->len = HDR_LEN + NONCE_LEN + len + TAG_LEN;
	return 0;
}

int vault_unseal(const uint8_t key[32], const char *user, int finger, const uint8_t *in,
		 size_t len, struct vapp_buf *print, uint64_t *enrolled_ms)
{
	uint8_t aad[HDR_LEN + FP_USER_MAX + 2], tag[TAG_LEN];
	size_t clen;
	EVP_CIPHER_CTX *c;
	int n, ok;

	if (!name_ok(user, finger))
		return -EINVAL;
	if (len < HDR_LEN + NONCE_LEN + 1 + TAG_LEN || len > HDR_LEN + NONCE_LEN + PRINT_MAX + TAG_LEN ||
	    memcmp(in, MAGIC, MAGIC_LEN))
		return -EBADMSG;
	clen = len - HDR_LEN - NONCE_LEN - TAG_LEN;
	print->len = 0;
	if (vapp_buf_reserve(print, clen))
		return -ENOMEM;
	memcpy(tag, in + len - TAG_LEN, TAG_LEN);
	if (!(c = EVP_CIPHER_CTX_new()))
		return -ENOMEM;
	ok = EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, in + HDR_LEN) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, aad, (int)aad_of(in, user, finger, aad)) == 1 &&
	     EVP_DecryptUpdate(c, print->p, &n, in + HDR_LEN + NONCE_LEN, (int)clen) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
	     EVP_DecryptFinal_ex(c, print->p + n, &n) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		explicit_bzero(print->p, clen);
		return -EBADMSG;
	}
	print->len = clen;
	if (enrolled_ms)
		*enrolled_ms = get_le64(in + MAGIC_LEN);
	return 0;
}

static int key_load_or_make(struct vault *v, char *why, size_t whylen)
{
	char path[300];
	struct vapp_buf b = { 0 };
	int err;

	snprintf(path, sizeof(path), "%s/seal.key", v->dir);
	err = vapp_read_file_max(path, 64, &b);
	if (!err) {
		if (b.len != sizeof(v->key)) {
			vapp_errf(why, whylen, "%s is damaged (%zu bytes, not 32): the templates "
				  "cannot be opened", path, b.len);
			vapp_buf_free(&b);
			return -EBADMSG;
		}
		memcpy(v->key, b.p, sizeof(v->key));
		explicit_bzero(b.p, b.len);
		vapp_buf_free(&b);
		return 0;
	}
	if (err != -ENOENT) {
		vapp_errf(why, whylen, "%s: %s", path, strerror(-err));
		return err;
	}
	if (RAND_bytes(v->key, sizeof(v->key)) != 1)
		return -EIO;
	err = vapp_write_file_atomic(path, v->key, sizeof(v->key), 0600);
	if (err)
		vapp_errf(why, whylen, "%s: %s", path, strerror(-err));
	return err;
}

int vault_open(struct vault *v, const char *dir, char *why, size_t whylen)
{
	char prints[300];
	int err;

	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	snprintf(prints, sizeof(prints), "%s/prints", dir);
	err = vapp_mkdir_p(prints, 0700);
	if (err) {
		vapp_errf(why, whylen, "%s: %s", prints, strerror(-err));
		return err;
	}
	return key_load_or_make(v, why, whylen);
}

static void path_of(const struct vault *v, const char *user, int finger, char *out, size_t len)
{
	snprintf(out, len, "%s/prints/%s/%d.tpl", v->dir, user, finger);
}

int vault_put(struct vault *v, const char *user, int finger, const void *print, size_t len)
{
	char dir[300], path[320];
	struct vapp_buf b = { 0 };
	int err;

	if (!name_ok(user, finger))
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/prints/%s", v->dir, user);
	err = vapp_mkdir_p(dir, 0700);
	if (!err)
		err = vault_seal(v->key, user, finger, vapp_unix_ms(), print, len, &b);
	path_of(v, user, finger, path, sizeof(path));
	if (!err)
		err = vapp_write_file_atomic(path, b.p, b.len, 0600);
	vapp_buf_free(&b);
	return err;
}

int vault_get(struct vault *v, const char *user, int finger, struct vapp_buf *print,
	      uint64_t *enrolled_ms)
{
	char path[320];
	struct vapp_buf b = { 0 };
	int err;

	if (!name_ok(user, finger))
		return -EINVAL;
	path_of(v, user, finger, path, sizeof(path));
	err = vapp_read_file_max(path, HDR_LEN + NONCE_LEN + PRINT_MAX + TAG_LEN, &b);
	if (err == -EFBIG)
		err = -EBADMSG;
	if (!err)
		err = vault_unseal(v->key, user, finger, b.p, b.len, print, enrolled_ms);
	vapp_buf_free(&b);
	return err;
}

int vault_delete(struct vault *v, const char *user, int finger)
{
	char path[320], dir[300];

	if (!name_ok(user, finger))
		return -EINVAL;
	path_of(v, user, finger, path, sizeof(path));
	if (unlink(path))
		return -errno;
	snprintf(dir, sizeof(dir), "%s/prints/%s", v->dir, user);
	if (rmdir(dir) == 0) { /* it was the user's last */
		snprintf(dir, sizeof(dir), "%s/prints", v->dir);
		return vapp_fsync_dir(dir);
	}
	return vapp_fsync_dir(dir);
}

size_t vault_list(struct vault *v, struct vault_entry *out, size_t max)
{
	char prints[300], dir[600];
	DIR *pd, *ud;
	struct dirent *pe, *fe;
	size_t n = 0;

	snprintf(prints, sizeof(prints), "%s/prints", v->dir);
	if (!(pd = opendir(prints)))
		return 0;
	while (n < max && (pe = readdir(pd))) {
		if (!fp_user_ok(pe->d_name))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", prints, pe->d_name);
		if (!(ud = opendir(dir)))
			continue;
		while (n < max && (fe = readdir(ud))) {
			char *end;
			long f = strtol(fe->d_name, &end, 10);

			if (end == fe->d_name || strcmp(end, ".tpl") || f < 1 || f > FPD_FINGERS)
				continue;
			snprintf(out[n].user, sizeof(out[n].user), "%.32s", pe->d_name);
			out[n].finger = (int)f;
			n++;
		}
		closedir(ud);
	}
	closedir(pd);
	return n;
}
