/*
 * sign.c - Ed25519 keys (PEM, OpenSSL 3 EVP) and signing an image folder's
 * measurement. Private key bytes live only in buffers that are wiped before
 * they are freed (OPENSSL_cleanse, BIO_s_secmem); EVP_PKEY_free wipes the
 * key itself.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "measure_private.h"

static void say(char err[MEASURE_ERR_LEN], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(char err[MEASURE_ERR_LEN], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, MEASURE_ERR_LEN, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for the last failure, and an empty queue for the next. */
static const char *ssl_reason(void)
{
	static __thread char buf[160];
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, sizeof(buf), "OpenSSL failed without a reason");
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* Without it, OpenSSL would prompt on the terminal for an encrypted key. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static int load_key(const char *path, bool private, EVP_PKEY **out, char err[MEASURE_ERR_LEN])
{
	EVP_PKEY *pk = NULL;
	uint8_t *buf;
	size_t len;
	BIO *bio;
	int ret;

	*out = NULL;
	ret = mfile_read(path, MKEY_FILE_MAX, &buf, &len);
	if (ret == -EFBIG) {
		say(err, "%s: larger than %d bytes: not a key", path, MKEY_FILE_MAX);
		return ret;
	}
	if (ret) {
		say(err, "%s: %s", path, strerror(-ret));
		return ret;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio) {
		ret = -ENOMEM;
		goto err_buf;
	}
	if (private)
		pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	else
		pk = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!pk) {
		say(err, "%s: not a PEM %s key (%s)%s", path, private ? "private" : "public",
		    ssl_reason(), private ? "; encrypted keys are not supported" : "");
		ret = -EINVAL;
		goto err_buf;
	}
	if (EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
		say(err, "%s: a %s key, not Ed25519", path, EVP_PKEY_get0_type_name(pk));
		EVP_PKEY_free(pk);
		ret = -EINVAL;
		goto err_buf;
	}
	*out = pk;
err_buf:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return ret;
}

int mkey_load_private(const char *path, EVP_PKEY **out, char err[MEASURE_ERR_LEN])
{
	return load_key(path, true, out, err);
}

int mkey_load_public(const char *path, EVP_PKEY **out, char err[MEASURE_ERR_LEN])
{
	return load_key(path, false, out, err);
}

int mkey_fingerprint(EVP_PKEY *pk, char out[8 + MEASURE_HEX_LEN])
{
	uint8_t raw[32], digest[MEASURE_DIGEST_LEN];
	size_t len = sizeof(raw);
	unsigned int dlen = 0;

	if (!EVP_PKEY_get_raw_public_key(pk, raw, &len) || len != sizeof(raw) ||
	    !EVP_Digest(raw, len, digest, &dlen, EVP_sha256(), NULL)) {
		ERR_clear_error();
		return -EIO;
	}
	memcpy(out, "SHA256:", 7);
	measure_hex(digest, out + 7);
	return 0;
}

int mkey_verify(EVP_PKEY *pk, const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return 0;
	/* Ed25519 is "pure": no digest is named, the message goes in whole. */
	ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* PEM text of @p pk's public half into a malloc'd buffer. */
static int public_pem(EVP_PKEY *pk, char **pem, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int ret = 0;

	if (!bio)
		return -ENOMEM;
	if (!PEM_write_bio_PUBKEY(bio, pk)) {
		ret = -EIO;
		goto err_bio;
	}
	n = BIO_get_mem_data(bio, &data);
	*pem = malloc((size_t)n);
	if (!*pem) {
		ret = -ENOMEM;
		goto err_bio;
	}
	memcpy(*pem, data, (size_t)n);
	*len = (size_t)n;
err_bio:
	BIO_free(bio);
	ERR_clear_error();
	return ret;
}

char *measure_pub_path(const char *priv_path)
{
	size_t n = strlen(priv_path);
	char *pub;

	if (n > 4 && !strcmp(priv_path + n - 4, ".pem")) {
		pub = strdup(priv_path);
		if (pub)
			memcpy(pub + n - 4, ".pub", 4);
		return pub;
	}
	if (asprintf(&pub, "%s.pub", priv_path) < 0)
		return NULL;
	return pub;
}

int measure_key_fingerprint(const char *pub_path, char *out, char err[MEASURE_ERR_LEN])
{
	EVP_PKEY *pk;
	int ret;

	ret = mkey_load_public(pub_path, &pk, err);
	if (ret)
		return ret;
	ret = mkey_fingerprint(pk, out);
	if (ret)
		say(err, "%s: cannot read the raw public key", pub_path);
	EVP_PKEY_free(pk);
	return ret;
}

int measure_keygen(const char *priv_path, const char *pub_path, char err[MEASURE_ERR_LEN])
{
	EVP_PKEY *pk;
	/* secmem: the PEM text is wiped when the BIO is freed. */
	BIO *priv = NULL;
	char *data, *pub = NULL;
	size_t pub_len = 0;
	long n;
	int ret;

	pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pk) {
		say(err, "cannot make an Ed25519 key: %s", ssl_reason());
		return -EIO;
	}
	priv = BIO_new(BIO_s_secmem());
	if (!priv) {
		ret = -ENOMEM;
		goto err_pk;
	}
	/* PKCS#8, unencrypted: a build machine signs without a person. */
	if (!PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL)) {
		say(err, "cannot encode the key: %s", ssl_reason());
		ret = -EIO;
		goto err_bio;
	}
	ret = public_pem(pk, &pub, &pub_len);
	if (ret) {
		say(err, "cannot encode the public key");
		goto err_bio;
	}
	n = BIO_get_mem_data(priv, &data);
	ret = mfile_create(priv_path, data, (size_t)n, 0600);
	if (ret) {
		say(err, "%s: %s", priv_path, strerror(-ret));
		goto err_pub;
	}
	ret = mfile_create(pub_path, pub, pub_len, 0644);
	if (ret) {
		say(err, "%s: %s", pub_path, strerror(-ret));
		/* Half a pair is worse than none. */
		unlink(priv_path);
	}
err_pub:
	free(pub);
err_bio:
	BIO_free(priv);
err_pk:
	EVP_PKEY_free(pk);
	return ret;
}

static int mkdir_p(char *path, mode_t mode)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) < 0 && errno != EEXIST) {
			*p = '/';
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The development key at @p path, made the first time it is asked for. */
static int dev_key(const char *path, char err[MEASURE_ERR_LEN])
{
	char dir[PATH_MAX], *slash, *pub;
	struct stat st;
	int ret;

	if (stat(path, &st) == 0)
		return 0;
	if (errno != ENOENT) {
		say(err, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		/* Only its owner reads a folder of keys. */
		ret = mkdir_p(dir, 0700);
		if (ret) {
			say(err, "%s: %s", dir, strerror(-ret));
			return ret;
		}
	}
	pub = measure_pub_path(path);
	if (!pub)
		return -ENOMEM;
	ret = measure_keygen(path, pub, err);
	free(pub);
	/* Another build made it first: use theirs. */
	return ret == -EEXIST ? 0 : ret;
}

static int sign_text(EVP_PKEY *pk, const char *text, size_t len, uint8_t sig[MEASURE_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t sig_len = MEASURE_SIG_LEN;
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)text, len) != 1 ||
	    sig_len != MEASURE_SIG_LEN)
		ret = -EIO;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ret;
}

static int hash_parts(const char *dir, struct measure_result *res)
{
	char path[PATH_MAX];

	for (int i = 0; i < MEASURE_N_PARTS; i++) {
		int ret = mfile_join(path, dir, measure_part_file[i]);

		if (!ret)
			ret = measure_file(path, res->m.part[i]);
		if (ret) {
			say(res->err, "%s: %s", path, strerror(-ret));
			return ret;
		}
	}
	return measure_chain(&res->m);
}

/* Writes the three files; the measurement last, so that a folder with a
 * new measurement also has its signature. */
static int write_outputs(const char *dir, const char *text, const uint8_t *sig, EVP_PKEY *pk,
			 struct measure_result *res)
{
	static const char *const names[] = { "measurement.sig", "signer.pub", "measurement" };
	char path[PATH_MAX], *pem;
	size_t pem_len;
	int ret;

	ret = public_pem(pk, &pem, &pem_len);
	if (ret) {
		say(res->err, "cannot encode the public key");
		return ret;
	}
	for (int i = 0; i < 3 && !ret; i++) {
		ret = mfile_join(path, dir, names[i]);
		if (!ret && i == 0)
			ret = mfile_replace(path, sig, MEASURE_SIG_LEN, 0644);
		else if (!ret && i == 1)
			ret = mfile_replace(path, pem, pem_len, 0644);
		else if (!ret)
			ret = mfile_replace(path, text, MEASURE_TEXT_LEN, 0644);
		if (ret)
			say(res->err, "%s: %s", path, strerror(-ret));
	}
	free(pem);
	return ret;
}

int measure_and_sign(const char *dir, const char *key_path, const char *dev_key_path,
		     struct measure_result *res)
{
	char text[MEASURE_TEXT_LEN + 1];
	uint8_t sig[MEASURE_SIG_LEN];
	EVP_PKEY *pk;
	int ret;

	memset(res, 0, sizeof(*res));
	if (!key_path) {
		key_path = dev_key_path ? dev_key_path : MEASURE_DEV_KEY;
		res->dev_key = true;
		ret = dev_key(key_path, res->err);
		if (ret)
			return ret;
	}
	snprintf(res->key_path, sizeof(res->key_path), "%s", key_path);
	ret = hash_parts(dir, res);
	if (ret)
		return ret;
	measurement_format(&res->m, text);
	ret = mkey_load_private(key_path, &pk, res->err);
	if (ret)
		return ret;
	ret = sign_text(pk, text, MEASURE_TEXT_LEN, sig);
	if (ret) {
		say(res->err, "signing with %s failed", key_path);
		goto err_pk;
	}
	ret = write_outputs(dir, text, sig, pk, res);
	if (!ret && mkey_fingerprint(pk, res->fingerprint))
		snprintf(res->fingerprint, sizeof(res->fingerprint), "(unknown)");
err_pk:
	/* Frees and wipes the private key (OpenSSL clears Ed25519 key memory). */
	EVP_PKEY_free(pk);
	return ret;
}
