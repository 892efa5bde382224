/*
 * test_oci.c - an image folder through an OCI layout and back (oci.h):
 * byte-identical layouts from one image, other tags kept, and the reader
 * against hostile layouts: index.json and manifests bent every way, blobs
 * flipped, grown, swapped for links and FIFOs, a consistent layout whose
 * kernel is another (the layout passes, verify_image() refuses it).
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

#include "measure.h"
#include "oci.h"

struct fixture {
	char dir[64];
	char img[PATH_MAX], lay[PATH_MAX], out[PATH_MAX];
	char key[PATH_MAX], pub[PATH_MAX];
	char err[OCI_ERR_LEN];
};

static void join(char *out, const char *dir, const char *name)
{
	assert_true(snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char p[PATH_MAX];
	int fd;

	join(p, dir, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* A whole file, NUL-terminated; free it. */
static char *read_file(const char *dir, const char *name, size_t *len)
{
	char p[PATH_MAX], *buf;
	struct stat st;
	int fd;

	join(p, dir, name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	buf[st.st_size] = 0;
	if (len)
		*len = (size_t)st.st_size;
	return buf;
}

static void sha256_digest(const void *buf, size_t len, char out[OCI_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_true(EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL));
	memcpy(out, "sha256:", 7);
	measure_hex(md, out + 7);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[MEASURE_ERR_LEN];
	struct measure_result res;
	static const char *const parts[][2] = {
		{ "kernel", "a kernel, not really" },
		{ "initramfs", "an initramfs" },
		{ "cmdline.tcg", "console=ttyS0 tsc_early_khz=2000000" },
		{ "cmdline.kvm", "console=ttyS0" },
		{ "cmdline.xen", "console=hvc0" },
		{ "manifest.yaml", "name: oci-test\nversion: 1.2.3\n" },
		{ "services.desc", "" },
		{ "qemu.args", "qemu-system-x86_64\n" },
	};

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/vapp-oci.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	join(f->img, f->dir, "img");
	join(f->lay, f->dir, "layout");
	join(f->out, f->dir, "out");
	join(f->key, f->dir, "vendor.pem");
	join(f->pub, f->dir, "vendor.pub");
	if (measure_keygen(f->key, f->pub, err) || mkdir(f->img, 0755))
		return -1;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		write_file(f->img, parts[i][0], parts[i][1], strlen(parts[i][1]));
	if (measure_and_sign(f->img, f->key, NULL, &res) || mkdir(f->out, 0700))
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

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void export(struct fixture *f, const char *layout, const char *tag)
{
	struct oci_export_opts o = { .tag = tag, .name = "oci-test", .version = "1.2.3" };

	if (oci_export(f->img, layout, &o, f->err, sizeof(f->err)))
		fail_msg("oci_export: %s", f->err);
}

static int import(struct fixture *f, const char *tag, unsigned flags)
{
	int rc;

	run("rm -rf '%s' && mkdir '%s'", f->out, f->out);
	f->err[0] = 0;
	rc = oci_import(f->lay, tag, f->out, flags, f->err, sizeof(f->err));
	if (rc)
		printf("# refused: %s\n", f->err);
	return rc;
}

static int verified(const char *dir, const char *pub)
{
	const char *keys[] = { pub, NULL };
	struct verify_report r;
	int rc = verify_image(dir, keys, &r);

	verify_report_free(&r);
	return rc == 0;
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	char second[PATH_MAX];

	export(f, f->lay, "1.0");
	join(second, f->dir, "layout2");
	export(f, second, "1.0");
	/* One image, one layout, byte for byte. */
	assert_int_equal(run("diff -r '%s' '%s'", f->lay, second), 0);
	assert_int_equal(import(f, "1.0", 0), 0);
	assert_true(verified(f->out, f->pub));
	assert_int_equal(run("diff -r '%s' '%s'", f->img, f->out), 0);
	/* No tag: the only manifest. */
	assert_int_equal(import(f, NULL, 0), 0);
	/* vappd's form leaves the conveniences out. */
	assert_int_equal(import(f, "1.0", OCI_IMPORT_TRUSTED_ONLY), 0);
	assert_true(verified(f->out, f->pub));
	assert_int_not_equal(run("test -e '%s/qemu.args'", f->out), 0);
}

static void test_tags_kept(void **state)
{
	struct fixture *f = *state;
	char *index;

	export(f, f->lay, "a");
	export(f, f->lay, "b");
	export(f, f->lay, "a"); /* replaces a, keeps b */
	index = read_file(f->lay, "index.json", NULL);
	assert_non_null(strstr(index, "\"org.opencontainers.image.ref.name\":\"a\""));
	assert_non_null(strstr(index, "\"org.opencontainers.image.ref.name\":\"b\""));
	assert_null(strstr(strstr(index, "\"a\"") + 3, "\"a\""));
	free(index);
	assert_int_equal(import(f, "a", 0), 0);
	assert_int_equal(import(f, "b", 0), 0);
	assert_int_equal(import(f, "c", 0), -ENOENT);
	assert_non_null(strstr(f->err, "tags: b, a")); /* a was written again */
	assert_int_equal(import(f, NULL, 0), -ENOENT); /* which one? */
	assert_non_null(strstr(f->err, "say which tag"));
}

static const char *good_digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_index_refusals(void **state)
{
	static const struct {
		const char *json, *tag, *says;
	} cases[] = {
		{ "", NULL, "ends too early" },
		{ "[]", NULL, "not a JSON object" },
		{ "{\"schemaVersion\":2,\"manifests\":[]}", NULL, "no manifests" },
		{ "{\"schemaVersion\":1,\"manifests\":[]}", NULL, "schemaVersion" },
		{ "{\"schemaVersion\":\"2\"}", NULL, "schemaVersion" },
		{ "{\"schemaVersion\":2,\"mediaType\":\"x\",\"manifests\":[]}", NULL, "media type" },
		{ "{\"schemaVersion\":2,\"manifests\":{}}", NULL, "not a JSON array" },
		{ "{\"schemaVersion\":2,\"manifests\":[7]}", NULL, "not a JSON object" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:../../etc/passwd\",\"size\":1}]}",
		  NULL, "64 lowercase hex" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1}]}",
		  NULL, "64 lowercase hex" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":-1}]}",
		  NULL, "out of bounds" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1e3}]}",
		  NULL, "not a JSON int" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":99999999999999999999}]}",
		  NULL, "out of bounds" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]}",
		  NULL, "no \"size\"" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1}]}",
		  NULL, "media type" },
		{ "{\"schemaVersion\":2,\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":\"v\\u0000x\"}}]}",
		  "v", "holds a NUL" },
		{ "{\"schemaVersion\":2,\"manifests\":[]} x", NULL, "JSON error at byte 35" },
		{ "{\"schemaVersion\":2,\"manifests\":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}", NULL, "JSON error" },
		{ "{\"schemaVersion\":2,\"x\":\"\xff\"}", NULL, "JSON error" },
		/* a tag that would drive the terminal is not quoted as it is */
		{ "{\"schemaVersion\":2,\"manifests\":[{\"annotations\":{\"org.opencontainers.image.ref.name\":\"\\u001b[2J\"}}]}",
		  "v", "tags: ?[2J)" },
	};
	struct oci_blob b;
	char err[OCI_ERR_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		if (oci_index_find(cases[i].json, strlen(cases[i].json), cases[i].tag, &b, err,
				   sizeof(err)) == 0)
			fail_msg("case %zu accepted: %s", i, cases[i].json);
		if (!strstr(err, cases[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i].says);
	}
	/* skopeo's own form: no mediaType at the top, trailing newline. */
	{
		char ok[512];

		snprintf(ok, sizeof(ok), "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
			 "\"%s\",\"digest\":\"%s\",\"size\":42,\"annotations\":{\"%s\":\"v1\"}}]}\n",
			 OCI_MANIFEST_TYPE, good_digest, OCI_ANN_REF);
		assert_int_equal(oci_index_find(ok, strlen(ok), "v1", &b, err, sizeof(err)), 0);
		assert_string_equal(b.digest, good_digest);
		assert_int_equal(b.size, 42);
		assert_int_equal(oci_index_find(ok, strlen(ok), "v2", &b, err, sizeof(err)), -ENOENT);
	}
}

/* @p s with the first @p from replaced by @p to; free it. */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	if (!at)
		fail_msg("'%s' not in the text", from);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	return out;
}

/* The manifest of @p f's layout (tag "1.0") as text, and its digest. */
static char *layout_manifest(struct fixture *f, char digest[OCI_DIGEST_LEN + 1])
{
	size_t len;
	char *index = read_file(f->lay, "index.json", &len), *text, path[PATH_MAX];
	struct oci_blob b;

	assert_int_equal(oci_index_find(index, len, "1.0", &b, f->err, sizeof(f->err)), 0);
	free(index);
	snprintf(path, sizeof(path), "blobs/sha256/%s", b.digest + 7);
	text = read_file(f->lay, path, NULL);
	memcpy(digest, b.digest, OCI_DIGEST_LEN + 1);
	return text;
}

static void test_manifest_refusals(void **state)
{
	struct fixture *f = *state;
	char digest[OCI_DIGEST_LEN + 1], *good;
	struct oci_manifest m;
	static const struct {
		const char *from, *to, *says;
	} cases[] = {
		{ "image.title\":\"kernel\"", "image.title\":\"../kernel\"", "not a file of an image" },
		{ "image.title\":\"kernel\"", "image.title\":\"/etc/shadow\"", "not a file of an image" },
		{ "image.title\":\"kernel\"", "image.title\":\"initramfs\"", "a second 'initramfs'" },
		{ "image.title\":\"kernel\"", "image.title\":\"qemu.args\"", "a second 'qemu.args'" },
		{ "image.title\":\"kernel\"", "image.title\":\"state.img\"", "not a file of an image" },
		{ "image.title\":\"kernel\"", "image.title\":\"kernel\\u0000x\"", "holds a NUL" },
		{ "image.title\":\"kernel\"", "image.titel\":\"kernel\"", "no org.opencontainers.image.title" },
		{ "image.title\":\"signer.pub\"", "image.title\":\"xl.cfg\"", "no layer holds 'signer.pub'" },
		{ "application/vnd.vapp.appliance.v1", "application/vnd.other.v1", "not a vapp image" },
		{ "\"artifactType\"", "\"artifactTyp\"", "not a vapp image" },
		{ "application/vnd.vapp.appliance.file.v1",
		  "application/vnd.oci.image.layer.v1.tar+gzip", "media type" },
		{ "application/vnd.vapp.appliance.config.v1+json",
		  "application/vnd.oci.image.config.v1+json", "media type" },
		{ "\"schemaVersion\":2", "\"schemaVersion\":3", "schemaVersion" },
		{ "\"size\":20", "\"size\":99999999999", "out of bounds" },
		{ "\"size\":20", "\"size\":20.0", "not a JSON int" },
		{ "\"size\":20", "\"size\":\"20\"", "not a JSON int" },
		{ "\"digest\":\"sha256:", "\"digest\":\"sha512:", "64 lowercase hex" },
		{ "\"dev.vapp.measurement\":\"", "\"dev.vapp.measurement\":\"X", "64 lowercase hex" },
		{ "vapp-measurement-v3", "vapp-measurement-v1", "this vapp reads" },
		{ "\"layers\":[", "\"layers\":{\"x\":[", "ends too early" },
		{ "\"annotations\":{\"org.opencontainers.image.title\":\"oci-test\"",
		  "\"annotationz\":{\"org.opencontainers.image.title\":\"oci-test\"", "no annotations" },
	};

	export(f, f->lay, "1.0");
	good = layout_manifest(f, digest);
	assert_int_equal(oci_manifest_parse(good, strlen(good), &m, f->err, sizeof(f->err)), 0);
	assert_int_equal(m.n_files, 11); /* 10 required, qemu.args */
	assert_string_equal(m.files[0].name, "kernel");
	assert_int_equal(m.files[0].size, 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *bad = subst(good, cases[i].from, cases[i].to);

		f->err[0] = 0;
		if (oci_manifest_parse(bad, strlen(bad), &m, f->err, sizeof(f->err)) == 0)
			fail_msg("case %zu accepted: %s", i, bad);
		if (!strstr(f->err, cases[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, f->err, cases[i].says);
		free(bad);
	}
	free(good);
}

/* Replaces the manifest of @p f's layout with @p text (the index follows). */
static void put_manifest(struct fixture *f, const char *old_digest, const char *text)
{
	char digest[OCI_DIGEST_LEN + 1], path[PATH_MAX], from[128], to[128], *index, *fixed;
	size_t old_len;
	char *old;

	snprintf(path, sizeof(path), "blobs/sha256/%s", old_digest + 7);
	old = read_file(f->lay, path, &old_len);
	free(old);
	sha256_digest(text, strlen(text), digest);
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	write_file(f->lay, path, text, strlen(text));
	index = read_file(f->lay, "index.json", NULL);
	snprintf(from, sizeof(from), "\"digest\":\"%s\",\"size\":%zu", old_digest, old_len);
	snprintf(to, sizeof(to), "\"digest\":\"%s\",\"size\":%zu", digest, strlen(text));
	fixed = subst(index, from, to);
	write_file(f->lay, "index.json", fixed, strlen(fixed));
	free(index);
	free(fixed);
}

/* The path of the blob holding file @p name. */
static void blob_of(struct fixture *f, const char *name, char *path)
{
	char digest[OCI_DIGEST_LEN + 1], *text = layout_manifest(f, digest);
	struct oci_manifest m;

	assert_int_equal(oci_manifest_parse(text, strlen(text), &m, f->err, sizeof(f->err)), 0);
	free(text);
	for (size_t i = 0; i < m.n_files; i++)
		if (!strcmp(m.files[i].name, name)) {
			assert_true(snprintf(path, PATH_MAX, "%s/blobs/sha256/%s", f->lay,
					     m.files[i].digest + 7) < PATH_MAX);
			return;
		}
	fail_msg("no blob for %s", name);
}

static void test_blob_attacks(void **state)
{
	struct fixture *f = *state;
	char kernel[PATH_MAX], path[PATH_MAX];

	export(f, f->lay, "1.0");
	blob_of(f, "kernel", kernel);

	/* One byte changed: refused, naming the blob and the file. */
	assert_int_equal(run("cp '%s' '%s.keep' && printf A | dd of='%s' bs=1 seek=3 "
			     "conv=notrunc 2>/dev/null", kernel, kernel, kernel), 0);
	assert_int_equal(import(f, "1.0", 0), -EBADMSG);
	assert_non_null(strstr(f->err, "(kernel): digest mismatch"));
	assert_non_null(strstr(f->err, strrchr(kernel, '/') + 1));
	assert_int_not_equal(run("test -e '%s/kernel'", f->out), 0);

	/* Longer than its descriptor says. */
	assert_int_equal(run("cp '%s.keep' '%s' && echo more >>'%s'", kernel, kernel, kernel), 0);
	assert_int_equal(import(f, "1.0", 0), -EBADMSG);
	assert_non_null(strstr(f->err, "the manifest says 20"));

	/* A symbolic link to the right bytes elsewhere is not followed. */
	assert_int_equal(run("rm '%s' && ln -s '%s.keep' '%s'", kernel, kernel, kernel), 0);
	assert_int_equal(import(f, "1.0", 0), -ELOOP);
	assert_non_null(strstr(f->err, "(kernel)"));

	/* A FIFO does not hang the reader. */
	assert_int_equal(run("rm '%s' && mkfifo '%s'", kernel, kernel), 0);
	assert_int_equal(import(f, "1.0", 0), -EINVAL);
	assert_non_null(strstr(f->err, "not a regular file"));

	/* Missing. */
	assert_int_equal(run("rm '%s'", kernel), 0);
	assert_int_equal(import(f, "1.0", 0), -ENOENT);
	assert_int_equal(run("mv '%s.keep' '%s'", kernel, kernel), 0);
	assert_int_equal(import(f, "1.0", 0), 0);

	/* A folder that already holds a file is not written through. */
	assert_int_equal(run("rm '%s/kernel' && ln -s /etc/hostname-nope '%s/kernel'", f->out,
			     f->out), 0);
	assert_int_equal(oci_import(f->lay, "1.0", f->out, 0, f->err, sizeof(f->err)), -EEXIST);
	assert_int_not_equal(run("test -e /etc/hostname-nope"), 0);

	/* No oci-layout, or another version. */
	join(path, f->lay, "oci-layout");
	write_file(f->lay, "oci-layout", "{\"imageLayoutVersion\":\"2.0.0\"}", 30);
	assert_int_equal(import(f, "1.0", 0), -EINVAL);
	assert_non_null(strstr(f->err, "imageLayoutVersion"));
	unlink(path);
	assert_int_equal(import(f, "1.0", 0), -ENOENT);
	assert_non_null(strstr(f->err, "not an OCI image layout"));
}

static void test_measurement_attacks(void **state)
{
	struct fixture *f = *state;
	char digest[OCI_DIGEST_LEN + 1], *text, *bad, ann[128], other[128], cfg[PATH_MAX];
	char kernel_digest[OCI_DIGEST_LEN + 1];
	static const char evil[] = "another kernel"; /* 14 bytes */

	export(f, f->lay, "1.0");
	text = layout_manifest(f, digest);

	/* The manifest announces another measurement than the one it brings. */
	{
		const char *at = strstr(text, "\"dev.vapp.measurement\":\"");

		assert_non_null(at);
		snprintf(ann, sizeof(ann), "%.*s", 24 + MEASURE_HEX_LEN, at);
		snprintf(other, sizeof(other), "\"dev.vapp.measurement\":\"%064d", 0);
	}
	bad = subst(text, ann, other);
	put_manifest(f, digest, bad);
	assert_int_equal(import(f, "1.0", 0), -EINVAL); /* the config says otherwise */
	assert_non_null(strstr(f->err, "config: measurement"));
	free(bad);

	/* A layout consistent in itself, with another kernel: the layout
	 * passes, the image does not. */
	export(f, f->lay, "1.0");
	free(text);
	text = layout_manifest(f, digest);
	sha256_digest(evil, strlen(evil), kernel_digest);
	snprintf(cfg, sizeof(cfg), "blobs/sha256/%s", kernel_digest + 7);
	write_file(f->lay, cfg, evil, strlen(evil));
	{
		char from[160], to[160];
		char kernel_old[PATH_MAX], *p1;

		blob_of(f, "kernel", kernel_old);
		snprintf(from, sizeof(from), "sha256:%s\",\"size\":20",
			 strrchr(kernel_old, '/') + 1);
		snprintf(to, sizeof(to), "%s\",\"size\":%zu", kernel_digest, strlen(evil));
		p1 = subst(text, from, to);
		put_manifest(f, digest, p1);
		free(p1);
	}
	assert_int_equal(import(f, "1.0", 0), 0);
	assert_false(verified(f->out, f->pub));
	{
		const char *keys[] = { f->pub, NULL };
		struct verify_report r;

		assert_int_equal(verify_image(f->out, keys, &r), -EBADMSG);
		assert_int_equal(r.failed, VERIFY_KERNEL);
		verify_report_free(&r);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tags_kept, setup, teardown),
		cmocka_unit_test(test_index_refusals),
		cmocka_unit_test_setup_teardown(test_manifest_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blob_attacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measurement_attacks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
