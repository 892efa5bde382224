/*
 * signer.c - the appliance's Ed25519 key and its signed assertions.
 *
 * DIR/sign.key holds the key's 32-byte seed (mode 0600), made at first
 * boot inside the appliance; GetPublicKey exports the public half. Each
 * assertion carries a counter, one more than the last, written durably
 * (DIR/counter) before the assertion leaves: after a crash or a reboot the
 * counter never goes back, so a checker that keeps the last counter it
 * accepted refuses a replayed assertion.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "fpd.h"

static int load_or_make_key(struct signer *s, char *why, size_t whylen)
{
	char path[300];
	struct vapp_buf b = { 0 };
	uint8_t seed[32];
	size_t publen = FP_PUBKEY_LEN;
	int err;

	snprintf(path, sizeof(path), "%s/sign.key", s->dir);
	err = vapp_read_file_max(path, 64, &b);
	if (!err && b.len == sizeof(seed)) {
		memcpy(seed, b.p, sizeof(seed));
	} else if (!err) {
		vapp_errf(why, whylen, "%s is damaged (%zu bytes, not 32)", path, b.len);
		err = -EBADMSG;
	} else if (err == -ENOENT) {
		err = RAND_bytes(seed, sizeof(seed)) == 1 ? 0 : -EIO;
		if (!err)
			err = vapp_write_file_atomic(path, seed, sizeof(seed), 0600);
		if (err)
			vapp_errf(why, whylen, "%s: %s", path, strerror(-err));
	} else {
		vapp_errf(why, whylen, "%s: %s", path, strerror(-err));
	}
	if (b.p)
		explicit_bzero(b.p, b.len);
	vapp_buf_free(&b);
	if (err)
		return err;
	s->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	explicit_bzero(seed, sizeof(seed));
	if (!s->key || EVP_PKEY_get_raw_public_key(s->key, s->pub, &publen) != 1) {
		vapp_errf(why, whylen, "the signing key cannot be used");
		return -EIO;
	}
	return 0;
}

/* The measurement as vappd gave it: 64 hex digits, else "". */
static void load_measurement(struct signer *s, const char *file)
{
	char line[128];
	size_t n;

	s->measurement[0] = '\0';
	if (!file || vapp_read_line(file, line, sizeof(line)))
		return;
	n = strspn(line, "0123456789abcdef");
	if (n == 64 && line[n] == '\0')
		snprintf(s->measurement, sizeof(s->measurement), "%.64s", line);
}

int signer_open(struct signer *s, const char *dir, const char *measurement_file, char *why,
		size_t whylen)
{
	char path[300], line[32], *end;
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	if ((err = load_or_make_key(s, why, whylen)))
		return err;
	snprintf(path, sizeof(path), "%s/counter", dir);
	err = vapp_read_line(path, line, sizeof(line));
	if (!err) {
		s->counter = strtoull(line, &end, 10);
		if (end == line || *end) {
			vapp_errf(why, whylen, "%s is damaged: no assertion is signed until it "
				  "is repaired (a counter must never go back)", path);
			signer_close(s);
			return -EBADMSG;
		}
	} else if (err != -ENOENT) {
		vapp_errf(why, whylen, "%s: %s", path, strerror(-err));
		signer_close(s);
		return err;
	}
	snprintf(s->measurement_file, sizeof(s->measurement_file), "%s",
		 measurement_file ? measurement_file : "");
	load_measurement(s, measurement_file);
	return 0;
}

int signer_sign(struct signer *s, Vapp__Fingerprint__V1__Assertion *a, struct vapp_buf *out,
		uint8_t sig[FP_SIG_LEN])
{
	char path[300], text[32];
	size_t len, siglen = FP_SIG_LEN;
	EVP_MD_CTX *ctx;
	int err, ok;

	/* The counter first, durably: an assertion never reuses one. */
	snprintf(path, sizeof(path), "%s/counter", s->dir);
	snprintf(text, sizeof(text), "%" PRIu64 "\n", s->counter + 1);
	if ((err = vapp_write_file_atomic(path, text, strlen(text), 0600)))
		return err;
	s->counter++;
	/* vappd says it over vapp.ctl, maybe after this daemon started. */
	if (!s->measurement[0])
		load_measurement(s, s->measurement_file[0] ? s->measurement_file : NULL);
	a->service = (char *)FP_SERVICE;
	a->counter = s->counter;
	a->time_unix_ms = vapp_unix_ms();
	a->measurement = s->measurement;
	len = vapp__fingerprint__v1__assertion__get_packed_size(a);
	if (len > FP_ASSERTION_MAX)
		return -E2BIG;
	/* What is signed: the context, then the assertion; out keeps both and
	 * says only the assertion's part. */
	out->len = 0;
	if (vapp_buf_reserve(out, FP_SIG_CONTEXT_LEN + len))
		return -ENOMEM;
	memcpy(out->p, FP_SIG_CONTEXT, FP_SIG_CONTEXT_LEN);
	vapp__fingerprint__v1__assertion__pack(a, out->p + FP_SIG_CONTEXT_LEN);
	if (!(ctx = EVP_MD_CTX_new()))
		return -ENOMEM;
	ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->key) == 1 &&
	     EVP_DigestSign(ctx, sig, &siglen, out->p, FP_SIG_CONTEXT_LEN + len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || siglen != FP_SIG_LEN)
		return -EIO;
	memmove(out->p, out->p + FP_SIG_CONTEXT_LEN, len);
	out->len = len;
	return 0;
}

void signer_close(struct signer *s)
{
	EVP_PKEY_free(s->key);
	s->key = NULL;
}
