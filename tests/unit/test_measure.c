/*
 * test_measure.c - the measurement chain against values computed outside
 * this code, signing round trips, wrong keys, and a flipped byte in each
 * file of an image folder, each named in verify_image()'s report.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "measure.h"

/*
 * The known answer: the seven parts below, computed with coreutils and xxd
 * (and checked again with Python's hashlib):
 *
 *   pcr=$(printf '%064d' 0)
 *   for s in abc '' 'console=ttyS0 panic=-1 tsc_early_khz=2000000' \
 *            'console=ttyS0 panic=-1' 'console=hvc0 panic=-1' 'name: kat' ''; do
 *     h=$(printf %s "$s" | sha256sum | cut -d' ' -f1)
 *     pcr=$(printf %s%s $pcr $h | xxd -r -p | sha256sum | cut -d' ' -f1)
 *   done
 */
#define KAT_KERNEL "abc"
#define KAT_INITRAMFS ""
#define KAT_CMDLINE "console=ttyS0 panic=-1"
#define KAT_CMDLINE_TCG "console=ttyS0 panic=-1 tsc_early_khz=2000000"
#define KAT_CMDLINE_XEN "console=hvc0 panic=-1"
#define KAT_MANIFEST "name: kat"
#define KAT_SERVICES "" /* no services: an empty FileDescriptorSet */
static const char kat_text[] =
	"vapp-measurement-v3\n"
	"kernel ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
	"initramfs e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
	"cmdline.tcg c470016e8335b013645ecf60f9358d7d9ef68c00b5364bfd02b0ebdb8900151d\n"
	"cmdline.kvm 3ea0407a8cdc71d6162918df7accac1babc7f2a9914eabf1b6583cf14eacb314\n"
	"cmdline.xen fa1980d36e71d301c390e0376b03334847e29f75b49561c4deb69af124d3b54e\n"
	"manifest.yaml 8fd1eaf52619594e3f59723dc61cf929be7e2871d2102f646144fac29a04d091\n"
	"services.desc e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
	"chain 28aece341c4c45a92fed2c6aa1fa1eedb5621911b8be947c1b73e2652ffe64a6\n";
/* The chain after the first part only: one extend of zeros. */
static const char kat_pcr1[] = "589f9ffed4c477966bfb8d41f37895b08c69047df8f911d6f3b57fbe08faee8d";

struct fixture {
	char dir[64];     /* scratch folder */
	char img[PATH_MAX];
	char key[PATH_MAX], pub[PATH_MAX];
	char key2[PATH_MAX], pub2[PATH_MAX];
};

static void path(char *out, const char *dir, const char *name)
{
	assert_true(snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char p[PATH_MAX];
	FILE *f;

	path(p, dir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Reads a whole small file; returns its length. */
static size_t read_file(const char *dir, const char *name, char *buf, size_t size)
{
	char p[PATH_MAX];
	size_t n;
	FILE *f;

	path(p, dir, name);
	f = fopen(p, "rb");
	assert_non_null(f);
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

static void flip_byte(const char *dir, const char *name, long off, uint8_t mask)
{
	char p[PATH_MAX];
	int c;
	FILE *f;

	path(p, dir, name);
	f = fopen(p, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	c = fgetc(f);
	assert_true(c != EOF);
	assert_int_equal(fseek(f, off, SEEK_SET), 0);
	fputc(c ^ mask, f);
	assert_int_equal(fclose(f), 0);
}

static void make_parts(const char *img)
{
	assert_int_equal(mkdir(img, 0755), 0);
	write_file(img, "kernel", KAT_KERNEL, strlen(KAT_KERNEL));
	write_file(img, "initramfs", KAT_INITRAMFS, strlen(KAT_INITRAMFS));
	write_file(img, "cmdline.tcg", KAT_CMDLINE_TCG, strlen(KAT_CMDLINE_TCG));
	write_file(img, "cmdline.kvm", KAT_CMDLINE, strlen(KAT_CMDLINE));
	write_file(img, "cmdline.xen", KAT_CMDLINE_XEN, strlen(KAT_CMDLINE_XEN));
	write_file(img, "manifest.yaml", KAT_MANIFEST, strlen(KAT_MANIFEST));
	write_file(img, "services.desc", KAT_SERVICES, strlen(KAT_SERVICES));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[MEASURE_ERR_LEN];
	struct measure_result res;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/vapp-measure.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	path(f->img, f->dir, "img");
	path(f->key, f->dir, "vendor.pem");
	path(f->pub, f->dir, "vendor.pub");
	path(f->key2, f->dir, "other.pem");
	path(f->pub2, f->dir, "other.pub");
	if (measure_keygen(f->key, f->pub, err) || measure_keygen(f->key2, f->pub2, err))
		return -1;
	make_parts(f->img);
	if (measure_and_sign(f->img, f->key, NULL, &res))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void test_known_answer(void **state)
{
	struct fixture *f = *state;
	char text[MEASURE_TEXT_LEN + 1], hex[MEASURE_HEX_LEN + 1];
	struct measurement m;
	uint8_t pcr[MEASURE_DIGEST_LEN] = { 0 };

	assert_int_equal(strlen(kat_text), MEASURE_TEXT_LEN);
	assert_int_equal(measure_dir(f->img, &m), 0);
	measurement_format(&m, text);
	assert_string_equal(text, kat_text);
	/* What measure_and_sign() wrote is the same text. */
	memset(text, 0, sizeof(text));
	assert_int_equal(read_file(f->img, "measurement", text, sizeof(text) - 1),
			 MEASURE_TEXT_LEN);
	assert_string_equal(text, kat_text);

	assert_int_equal(measure_extend(pcr, m.part[MEASURE_KERNEL]), 0);
	measure_hex(pcr, hex);
	assert_string_equal(hex, kat_pcr1);
}

static void test_parse(void **state)
{
	char text[MEASURE_TEXT_LEN + 8], again[MEASURE_TEXT_LEN + 1];
	struct measurement m;
	int line;

	assert_int_equal(measurement_parse(kat_text, strlen(kat_text), &m, &line), 0);
	assert_int_equal(line, 0);
	measurement_format(&m, again);
	assert_string_equal(again, kat_text);

	/* Each departure from the one canonical text, and the line it is on. */
	static const struct {
		size_t off;
		char c;
		int line;
	} bad[] = {
		{ 0, 'V', 1 },   /* magic */
		{ 19, ' ', 1 },  /* magic's newline */
		{ 27, 'A', 2 },  /* uppercase hex in kernel */
		{ 20, 'K', 2 },  /* label */
		{ 26, '\t', 2 }, /* separator */
		{ 120, 'g', 3 }, /* not hex in initramfs */
		{ 242, ' ', 4 }, /* cmdline.tcg's hex one short */
		{ 167, 'C', 4 }, /* label of cmdline.tcg */
		{ sizeof(kat_text) - 2, '\r', 9 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(text, kat_text, MEASURE_TEXT_LEN);
		text[bad[i].off] = bad[i].c;
		assert_int_equal(measurement_parse(text, MEASURE_TEXT_LEN, &m, &line), -EBADMSG);
		assert_int_equal(line, bad[i].line);
	}
	/* No trailing newline; something after the last line. */
	assert_int_equal(measurement_parse(kat_text, MEASURE_TEXT_LEN - 1, &m, &line), -EBADMSG);
	assert_int_equal(line, 9);
	memcpy(text, kat_text, MEASURE_TEXT_LEN);
	memcpy(text + MEASURE_TEXT_LEN, "x\n", 2);
	assert_int_equal(measurement_parse(text, MEASURE_TEXT_LEN + 2, &m, &line), -EBADMSG);
	assert_int_equal(line, 10);
	assert_int_equal(measurement_parse(text, 0, &m, &line), -EBADMSG);
}

static int has_problem(const struct verify_report *r, const char *prefix, const char *part)
{
	for (size_t i = 0; i < r->n_problems; i++)
		if (!strncmp(r->problems[i], prefix, strlen(prefix)) &&
		    (!part || strstr(r->problems[i], part)))
			return 1;
	return 0;
}

static void print_report(const struct verify_report *r)
{
	for (size_t i = 0; i < r->n_problems; i++)
		print_message("  problem: %s\n", r->problems[i]);
}

static void test_sign_round_trip(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = { f->pub, NULL };
	char a[4096], b[4096];
	struct verify_report r;
	struct stat st;
	size_t na, nb;

	/* The key pair: private 0600, public as signer.pub. */
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	na = read_file(f->dir, "vendor.pub", a, sizeof(a));
	nb = read_file(f->img, "signer.pub", b, sizeof(b));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	assert_non_null(strstr(a, "-----BEGIN PUBLIC KEY-----"));
	assert_int_equal(read_file(f->img, "measurement.sig", a, sizeof(a)), MEASURE_SIG_LEN);

	assert_int_equal(verify_image(f->img, keys, &r), 0);
	print_report(&r);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.n_problems, 0);
	assert_true(r.trusted);
	assert_int_equal(r.signer, 0);
	verify_report_free(&r);

	/* Without keys: signer.pub verifies, but that is no trust. */
	assert_int_equal(verify_image(f->img, NULL, &r), 0);
	assert_false(r.trusted);
	assert_int_equal(r.signer, -1);
	verify_report_free(&r);

	/* Ed25519 is deterministic: signing again gives the same bytes, so
	 * two builds of one manifest are byte-identical, signature included. */
	struct measure_result res;

	assert_int_equal(measure_and_sign(f->img, f->key, NULL, &res), 0);
	assert_false(res.dev_key);
	assert_int_equal(strncmp(res.fingerprint, "SHA256:", 7), 0);
	assert_int_equal(read_file(f->img, "measurement.sig", b, sizeof(b)), MEASURE_SIG_LEN);
	assert_memory_equal(a, b, MEASURE_SIG_LEN);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	const char *other[] = { f->pub2, NULL };
	const char *both[] = { f->pub2, f->pub, NULL };
	struct verify_report r;

	assert_int_equal(verify_image(f->img, other, &r), -EBADMSG);
	print_report(&r);
	assert_int_equal(r.failed, VERIFY_SIGNATURE);
	assert_false(r.trusted);
	assert_true(has_problem(&r, "measurement.sig:", "which is none of the 1 trusted keys"));
	verify_report_free(&r);

	/* Any one trusted key will do; signer says which. */
	assert_int_equal(verify_image(f->img, both, &r), 0);
	assert_true(r.trusted);
	assert_int_equal(r.signer, 1);
	verify_report_free(&r);

	/* signer.pub swapped for another key: the signature no longer fits. */
	char pem[4096];
	size_t n = read_file(f->dir, "other.pub", pem, sizeof(pem));

	write_file(f->img, "signer.pub", pem, n);
	assert_int_equal(verify_image(f->img, NULL, &r), -EBADMSG);
	assert_int_equal(r.failed, VERIFY_SIGNATURE);
	assert_true(has_problem(&r, "measurement.sig:", "signer.pub"));
	verify_report_free(&r);

	/* A key that is not a key. */
	const char *junk[] = { f->key, NULL }; /* a private key is no public key */

	assert_int_equal(verify_image(f->img, junk, &r), -EBADMSG);
	assert_true(r.failed & VERIFY_KEY);
	assert_true(has_problem(&r, f->key, "not a PEM public key"));
	verify_report_free(&r);
}

/* Flips one byte of @p file in a freshly signed image and expects exactly
 * the @p want bits, with a problem line that starts with @p prefix. */
static void expect_flip(struct fixture *f, const char *file, long off, uint8_t mask,
			unsigned want, const char *prefix, const char *part)
{
	const char *keys[] = { f->pub, NULL };
	struct measure_result res;
	struct verify_report r;

	assert_int_equal(measure_and_sign(f->img, f->key, NULL, &res), 0);
	flip_byte(f->img, file, off, mask);
	assert_int_equal(verify_image(f->img, keys, &r), -EBADMSG);
	print_message("flip %s[%ld]:\n", file, off);
	print_report(&r);
	assert_int_equal(r.failed, want);
	/* A good signature over a measurement the files do not match. */
	assert_int_equal(r.trusted, !(want & VERIFY_SIGNATURE));
	assert_true(has_problem(&r, prefix, part));
	verify_report_free(&r);
	/* Undo it: the folder verifies again. */
	flip_byte(f->img, file, off, mask);
	assert_int_equal(verify_image(f->img, keys, &r), 0);
	verify_report_free(&r);
}

static void test_flipped_parts(void **state)
{
	struct fixture *f = *state;

	expect_flip(f, "kernel", 1, 0x01, VERIFY_KERNEL, "kernel: sha256 mismatch",
		    "measurement says ba7816bf");
	expect_flip(f, "cmdline.kvm", 5, 0x20, VERIFY_CMDLINE_KVM, "cmdline.kvm: sha256 mismatch",
		    "measurement says 3ea0407a");
	expect_flip(f, "cmdline.tcg", 30, 0x01, VERIFY_CMDLINE_TCG, "cmdline.tcg: sha256 mismatch",
		    "measurement says c470016e");
	expect_flip(f, "cmdline.xen", 8, 0x01, VERIFY_CMDLINE_XEN, "cmdline.xen: sha256 mismatch",
		    NULL);
	/* What `vapp call` learns the service from: measured too. */
	write_file(f->img, "services.desc", "\x0a", 1);
	expect_flip(f, "services.desc", 0, 0x01, VERIFY_SERVICES, "services.desc: sha256 mismatch",
		    "file is");
	/* The manifest decides how vappd runs the image: measured too. */
	expect_flip(f, "manifest.yaml", 6, 0x01, VERIFY_MANIFEST, "manifest.yaml: sha256 mismatch",
		    "measurement says 8fd1eaf5");
	/* The initramfs is empty in the fixture: give it a byte first. */
	write_file(f->img, "initramfs", "\x1f", 1);
	expect_flip(f, "initramfs", 0, 0x80, VERIFY_INITRAMFS,
		    "initramfs: sha256 mismatch", "file is");
}

static void test_flipped_measurement(void **state)
{
	struct fixture *f = *state;

	/* A hex digit of the kernel's line turned into another hex digit
	 * ('b' ^ 1 = 'c'): the file parses, the kernel seems not to match
	 * it, the chain no longer follows from it, and the signature no
	 * longer covers it. */
	expect_flip(f, "measurement", 27, 0x01, VERIFY_KERNEL | VERIFY_CHAIN | VERIFY_SIGNATURE,
		    "measurement.sig: does not verify", "measurement or measurement.sig was altered");
	/* In the chain line: the chain no longer follows. */
	expect_flip(f, "measurement", MEASURE_TEXT_LEN - 2, 0x01,
		    VERIFY_CHAIN | VERIFY_SIGNATURE, "measurement: chain does not follow", NULL);
	/* In the magic: not a measurement at all. */
	expect_flip(f, "measurement", 3, 0x20, VERIFY_MEASUREMENT | VERIFY_SIGNATURE,
		    "measurement: line 1", NULL);
}

/* An image of the first format, which left the manifest and the other
 * backends' command lines unmeasured, is refused with what to do. */
static void test_v1_refused(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = { f->pub, NULL };
	static const char v1[] =
		"vapp-measurement-v1\n"
		"kernel ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
		"initramfs e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		"cmdline 3ea0407a8cdc71d6162918df7accac1babc7f2a9914eabf1b6583cf14eacb314\n"
		"chain d4da08399f16ee396157b140c35d24236ad6e5c6ff21119a292574c409ae7172\n";
	struct measure_result res;
	struct verify_report r;

	write_file(f->img, "measurement", v1, strlen(v1));
	assert_int_equal(verify_image(f->img, keys, &r), -EBADMSG);
	assert_true(r.failed & VERIFY_MEASUREMENT);
	assert_true(has_problem(&r, "measurement: vapp-measurement-v1", "rebuild the image"));
	verify_report_free(&r);
	assert_int_equal(measure_and_sign(f->img, f->key, NULL, &res), 0);
}

static void test_flipped_signature(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = { f->pub, NULL };
	struct verify_report r;
	char sig[MEASURE_SIG_LEN], longer[MEASURE_SIG_LEN + 1];

	expect_flip(f, "measurement.sig", 0, 0x01, VERIFY_SIGNATURE, "measurement.sig:",
		    "measurement.sig was altered");
	expect_flip(f, "measurement.sig", MEASURE_SIG_LEN - 1, 0x80, VERIFY_SIGNATURE,
		    "measurement.sig:", NULL);
	/* One byte short, one too many. */
	read_file(f->img, "measurement.sig", sig, sizeof(sig));
	write_file(f->img, "measurement.sig", sig, MEASURE_SIG_LEN - 1);
	assert_int_equal(verify_image(f->img, keys, &r), -EBADMSG);
	assert_int_equal(r.failed, VERIFY_SIGNATURE);
	assert_true(has_problem(&r, "measurement.sig: 63 bytes", NULL));
	verify_report_free(&r);
	memcpy(longer, sig, MEASURE_SIG_LEN);
	longer[MEASURE_SIG_LEN] = 0;
	write_file(f->img, "measurement.sig", longer, sizeof(longer));
	assert_int_equal(verify_image(f->img, keys, &r), -EBADMSG);
	assert_true(has_problem(&r, "measurement.sig: longer than 64 bytes", NULL));
	verify_report_free(&r);
}

static void test_missing_files(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = { f->pub, NULL };
	struct measure_result res;
	struct verify_report r;
	char p[PATH_MAX];

	assert_int_equal(measure_and_sign(f->img, f->key, NULL, &res), 0);
	path(p, f->img, "cmdline.xen");
	assert_int_equal(unlink(p), 0);
	path(p, f->img, "measurement.sig");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(verify_image(f->img, keys, &r), -EBADMSG);
	print_report(&r);
	assert_int_equal(r.failed, VERIFY_CMDLINE_XEN | VERIFY_SIGNATURE);
	assert_true(has_problem(&r, "cmdline.xen: cannot read", "No such file"));
	assert_true(has_problem(&r, "measurement.sig: cannot read", NULL));
	verify_report_free(&r);

	/* Signing needs every part, and names the one missing. */
	assert_int_equal(measure_and_sign(f->img, f->key, NULL, &res), -ENOENT);
	assert_non_null(strstr(res.err, "cmdline.xen"));
	write_file(f->img, "cmdline.xen", KAT_CMDLINE_XEN, strlen(KAT_CMDLINE_XEN));
	assert_int_equal(measure_and_sign(f->img, f->key, NULL, &res), 0);
}

static void test_dev_key(void **state)
{
	struct fixture *f = *state;
	char dev[PATH_MAX], a[1024], b[1024], pub[PATH_MAX];
	struct measure_result res;
	struct verify_report r;
	struct stat st;
	size_t na, nb;

	path(dev, f->dir, "cache/keys/dev.pem");
	assert_int_equal(measure_and_sign(f->img, NULL, dev, &res), 0);
	assert_true(res.dev_key);
	assert_string_equal(res.key_path, dev);
	assert_int_equal(stat(dev, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	path(pub, f->dir, "cache/keys");
	assert_int_equal(stat(pub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	na = read_file(f->img, "signer.pub", a, sizeof(a));

	/* The second build uses the same key, not a new one. */
	assert_int_equal(measure_and_sign(f->img, NULL, dev, &res), 0);
	nb = read_file(f->img, "signer.pub", b, sizeof(b));
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	path(pub, f->dir, "cache/keys/dev.pub");
	const char *keys[] = { pub, NULL };

	assert_int_equal(verify_image(f->img, keys, &r), 0);
	verify_report_free(&r);
}

static void test_bad_keys(void **state)
{
	struct fixture *f = *state;
	char err[MEASURE_ERR_LEN], ec[PATH_MAX], *pub;
	struct measure_result res;
	EVP_PKEY *pk;
	FILE *fp;

	/* keygen never overwrites. */
	assert_int_equal(measure_keygen(f->key, f->pub, err), -EEXIST);
	assert_non_null(strstr(err, "vendor.pem"));

	/* A public key where the private one should be. */
	assert_int_equal(measure_and_sign(f->img, f->pub, NULL, &res), -EINVAL);
	assert_non_null(strstr(res.err, "not a PEM private key"));

	/* A good key of the wrong kind. */
	path(ec, f->dir, "ec.pem");
	pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(pk);
	fp = fopen(ec, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL), 1);
	fclose(fp);
	EVP_PKEY_free(pk);
	assert_int_equal(measure_and_sign(f->img, ec, NULL, &res), -EINVAL);
	assert_non_null(strstr(res.err, "not Ed25519"));

	pub = measure_pub_path("a/b.pem");
	assert_string_equal(pub, "a/b.pub");
	free(pub);
	pub = measure_pub_path("key");
	assert_string_equal(pub, "key.pub");
	free(pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_known_answer, setup, teardown),
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_sign_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_measurement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dev_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
