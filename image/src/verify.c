/*
 * verify.c - checks an image folder against its measurement and signature,
 * collecting every problem (vapp verify prints them; vappd refuses to launch).
 *
 * Everything in the folder is untrusted input: the measurement file is read
 * with a bound and only its canonical form is accepted, the signature must be
 * exactly 64 bytes, keys must be Ed25519.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure_private.h"

/* Room for a measurement file a little too long, so it can be called so. */
#define MEASUREMENT_READ_MAX 4096

struct verify_ctx {
	const char *dir;
	struct verify_report *r;
	bool oom;
	uint8_t *text;        /* the measurement file's bytes, NULL if unreadable */
	size_t text_len;
	bool parsed;          /* r->m holds what the file says */
	uint8_t sig[MEASURE_SIG_LEN];
	bool have_sig;
};

static void problem(struct verify_ctx *c, unsigned what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(struct verify_ctx *c, unsigned what, const char *fmt, ...)
{
	struct verify_report *r = c->r;
	char **p, *line;
	va_list ap;
	int n;

	r->failed |= what;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0) {
		c->oom = true;
		return;
	}
	p = realloc(r->problems, (r->n_problems + 1) * sizeof(*p));
	if (!p) {
		free(line);
		c->oom = true;
		return;
	}
	p[r->n_problems++] = line;
	r->problems = p;
}

static void read_measurement(struct verify_ctx *c)
{
	char path[PATH_MAX];
	int line, ret;

	ret = mfile_join(path, c->dir, "measurement");
	if (!ret)
		ret = mfile_read(path, MEASUREMENT_READ_MAX, &c->text, &c->text_len);
	if (ret == -EFBIG) {
		problem(c, VERIFY_MEASUREMENT, "measurement: longer than %d bytes: not a measurement",
			MEASUREMENT_READ_MAX);
		return;
	}
	if (ret) {
		problem(c, VERIFY_MEASUREMENT, "measurement: cannot read: %s", strerror(-ret));
		return;
	}
	if (c->text_len > strlen(MEASURE_MAGIC_V1) &&
	    !memcmp(c->text, MEASURE_MAGIC_V1 "\n", strlen(MEASURE_MAGIC_V1) + 1)) {
		problem(c, VERIFY_MEASUREMENT,
			"measurement: %s, the format that left the manifest and the command "
			"line of each backend unmeasured: rebuild the image", MEASURE_MAGIC_V1);
		return;
	}
	if (measurement_parse((const char *)c->text, c->text_len, &c->r->m, &line)) {
		problem(c, VERIFY_MEASUREMENT,
			"measurement: line %d is not what %s says it must be", line, MEASURE_MAGIC);
		memset(&c->r->m, 0, sizeof(c->r->m));
		return;
	}
	c->parsed = true;
}

static void check_parts(struct verify_ctx *c)
{
	char path[PATH_MAX], want[MEASURE_HEX_LEN + 1], have[MEASURE_HEX_LEN + 1];
	uint8_t digest[MEASURE_DIGEST_LEN];

	for (int i = 0; i < MEASURE_N_PARTS; i++) {
		const char *name = measure_part_file[i];
		int ret = mfile_join(path, c->dir, name);

		if (!ret)
			ret = measure_file(path, digest);
		if (ret) {
			problem(c, 1u << i, "%s: cannot read: %s", name, strerror(-ret));
			continue;
		}
		if (!c->parsed || !memcmp(digest, c->r->m.part[i], sizeof(digest)))
			continue;
		measure_hex(c->r->m.part[i], want);
		measure_hex(digest, have);
		problem(c, 1u << i, "%s: sha256 mismatch (measurement says %s, file is %s)", name,
			want, have);
	}
}

static void check_chain(struct verify_ctx *c)
{
	char want[MEASURE_HEX_LEN + 1], have[MEASURE_HEX_LEN + 1];
	struct measurement m;

	if (!c->parsed)
		return;
	m = c->r->m;
	if (measure_chain(&m)) {
		c->oom = true;
		return;
	}
	if (!memcmp(m.chain, c->r->m.chain, sizeof(m.chain)))
		return;
	measure_hex(c->r->m.chain, want);
	measure_hex(m.chain, have);
	problem(c, VERIFY_CHAIN,
		"measurement: chain does not follow from the part hashes (measurement says %s, "
		"computed %s)", want, have);
}

static void read_signature(struct verify_ctx *c)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	int ret;

	ret = mfile_join(path, c->dir, "measurement.sig");
	if (!ret)
		ret = mfile_read(path, MEASURE_SIG_LEN, &buf, &len);
	if (ret == -EFBIG) {
		problem(c, VERIFY_SIGNATURE,
			"measurement.sig: longer than %d bytes: not an Ed25519 signature",
			MEASURE_SIG_LEN);
		return;
	}
	if (ret) {
		problem(c, VERIFY_SIGNATURE, "measurement.sig: cannot read: %s", strerror(-ret));
		return;
	}
	if (len != MEASURE_SIG_LEN) {
		problem(c, VERIFY_SIGNATURE,
			"measurement.sig: %zu bytes, an Ed25519 signature has %d", len,
			MEASURE_SIG_LEN);
	} else {
		memcpy(c->sig, buf, MEASURE_SIG_LEN);
		c->have_sig = true;
	}
	free(buf);
}

/* 1 verified, 0 did not, -1 the key could not be used (a problem is noted). */
static int try_key(struct verify_ctx *c, const char *path, const char *label, char *fpr)
{
	char err[MEASURE_ERR_LEN];
	EVP_PKEY *pk;
	int ok;

	if (mkey_load_public(path, &pk, err)) {
		size_t n = strlen(path);

		/* err starts with the path; the folder's own files go by name. */
		if (!strncmp(err, path, n) && err[n] == ':')
			problem(c, VERIFY_KEY, "%s%s", label, err + n);
		else
			problem(c, VERIFY_KEY, "%s: %s", label, err);
		return -1;
	}
	ok = mkey_verify(pk, c->sig, MEASURE_SIG_LEN, c->text, c->text_len);
	if (fpr && mkey_fingerprint(pk, fpr))
		snprintf(fpr, 8 + MEASURE_HEX_LEN, "(unknown)");
	EVP_PKEY_free(pk);
	return ok;
}

static void check_signature(struct verify_ctx *c, const char *const *keys)
{
	char signer_pub[PATH_MAX], fpr[8 + MEASURE_HEX_LEN];
	size_t n = 0;

	if (!c->have_sig || !c->text)
		return; /* already a problem */
	if (mfile_join(signer_pub, c->dir, "signer.pub")) {
		problem(c, VERIFY_KEY, "signer.pub: path too long");
		return;
	}
	if (!keys || !keys[0]) {
		if (try_key(c, signer_pub, "signer.pub", NULL) == 0)
			problem(c, VERIFY_SIGNATURE,
				"measurement.sig: does not verify over measurement with signer.pub "
				"(measurement or measurement.sig was altered, or signer.pub replaced)");
		return;
	}
	for (; keys[n]; n++) {
		if (try_key(c, keys[n], keys[n], NULL) == 1) {
			c->r->trusted = true;
			c->r->signer = (int)n;
			return;
		}
	}
	/* Tell a foreign signer from a tampered folder: both are refused, but
	 * they call for different actions. */
	if (try_key(c, signer_pub, "signer.pub", fpr) == 1)
		problem(c, VERIFY_SIGNATURE,
			"measurement.sig: signed by signer.pub (%s), which is none of the %zu "
			"trusted keys", fpr, n);
	else
		problem(c, VERIFY_SIGNATURE,
			"measurement.sig: does not verify over measurement with any of the %zu "
			"trusted keys (measurement or measurement.sig was altered, or another key "
			"signed it)", n);
}

int verify_image(const char *dir, const char *const *trusted_keys, struct verify_report *report)
{
	struct verify_ctx c = { .dir = dir, .r = report };

	memset(report, 0, sizeof(*report));
	report->signer = -1;
	read_measurement(&c);
	check_parts(&c);
	check_chain(&c);
	read_signature(&c);
	check_signature(&c, trusted_keys);
	free(c.text);
	if (c.oom)
		return -ENOMEM;
	return report->failed ? -EBADMSG : 0;
}

void verify_report_free(struct verify_report *report)
{
	if (!report)
		return;
	for (size_t i = 0; i < report->n_problems; i++)
		free(report->problems[i]);
	free(report->problems);
	report->problems = NULL;
	report->n_problems = 0;
}
