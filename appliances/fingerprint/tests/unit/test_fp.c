/* test_fp.c - the fingerprint appliance's trust: the sealed templates
 * (vault.c: every byte of a sealed file matters, a file opens only as the
 * user and finger it was sealed for and under its own key), the signer
 * (signer.c: a counter that survives a restart and never goes back) and
 * the guest side's checker (fpcheck.c: nothing believed before the
 * signature verifies; nonce, caller, user, finger, time and counter
 * compared). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fpd.h"

static const uint8_t key1[32] = { 1, 2, 3 }, key2[32] = { 3, 2, 1 };
static const char print_data[] = "a serialized print, as libfprint makes one";

static void test_seal_roundtrip(void **state)
{
	struct vapp_buf sealed = { 0 }, out = { 0 };
	uint64_t when = 0;

	(void)state;
	assert_int_equal(vault_seal(key1, "alice", 7, 1234567, print_data, sizeof(print_data),
				    &sealed), 0);
	assert_int_equal(sealed.len, 13 + 12 + sizeof(print_data) + 16);
	/* The print is not in the file in the clear. */
	assert_null(memmem(sealed.p, sealed.len, "serialized", 10));
	assert_int_equal(vault_unseal(key1, "alice", 7, sealed.p, sealed.len, &out, &when), 0);
	assert_int_equal(out.len, sizeof(print_data));
	assert_memory_equal(out.p, print_data, sizeof(print_data));
	assert_int_equal(when, 1234567);
	vapp_buf_free(&sealed);
	vapp_buf_free(&out);
}

/* Any byte changed: refused. Another user, finger or key: refused. */
static void test_seal_refusals(void **state)
{
	struct vapp_buf sealed = { 0 }, out = { 0 };

	(void)state;
	assert_int_equal(vault_seal(key1, "alice", 7, 1, print_data, sizeof(print_data), &sealed), 0);
	for (size_t i = 0; i < sealed.len; i++) {
		sealed.p[i] ^= 0x01;
		assert_int_equal(vault_unseal(key1, "alice", 7, sealed.p, sealed.len, &out, NULL),
				 -EBADMSG);
		sealed.p[i] ^= 0x01;
	}
	assert_int_equal(vault_unseal(key1, "bob", 7, sealed.p, sealed.len, &out, NULL), -EBADMSG);
	assert_int_equal(vault_unseal(key1, "alice", 6, sealed.p, sealed.len, &out, NULL), -EBADMSG);
	assert_int_equal(vault_unseal(key2, "alice", 7, sealed.p, sealed.len, &out, NULL), -EBADMSG);
	for (size_t n = 0; n < sealed.len; n += 7)
		assert_int_equal(vault_unseal(key1, "alice", 7, sealed.p, n, &out, NULL), -EBADMSG);
	/* Names that are not names. */
	assert_int_equal(vault_unseal(key1, "../x", 7, sealed.p, sealed.len, &out, NULL), -EINVAL);
	assert_int_equal(vault_unseal(key1, "alice", 11, sealed.p, sealed.len, &out, NULL), -EINVAL);
	assert_int_equal(vault_seal(key1, "a/b", 1, 1, print_data, 4, &out), -EINVAL);
	assert_int_equal(vault_seal(key1, "alice", 0, 1, print_data, 4, &out), -EINVAL);
	assert_int_equal(vault_seal(key1, "alice", 1, 1, print_data, 0, &out), -EINVAL);
	/* Still opens once put back. */
	assert_int_equal(vault_unseal(key1, "alice", 7, sealed.p, sealed.len, &out, NULL), 0);
	vapp_buf_free(&sealed);
	vapp_buf_free(&out);
}

static void test_user_names(void **state)
{
	(void)state;
	assert_true(fp_user_ok("alice"));
	assert_true(fp_user_ok("_svc.backup-1"));
	assert_true(fp_user_ok("abcdefghijklmnopqrstuvwxyz012345")); /* 32 */
	assert_false(fp_user_ok("abcdefghijklmnopqrstuvwxyz0123456"));
	assert_false(fp_user_ok(""));
	assert_false(fp_user_ok(NULL));
	assert_false(fp_user_ok("Alice"));
	assert_false(fp_user_ok("1alice"));
	assert_false(fp_user_ok(".."));
	assert_false(fp_user_ok("a/b"));
	assert_false(fp_user_ok("a b"));
	assert_false(fp_user_ok("al\nice"));
}

/* A vault on disk: put, get, list, delete; a damaged key is refused. */
static void test_vault_files(void **state)
{
	char dir[] = "/tmp/test_fp.XXXXXX", why[256], path[300];
	struct vault v;
	struct vault_entry e[4];
	struct vapp_buf out = { 0 };
	uint8_t first_key[32];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vault_open(&v, dir, why, sizeof(why)), 0);
	memcpy(first_key, v.key, 32);
	assert_int_equal(vault_put(&v, "alice", 7, print_data, sizeof(print_data)), 0);
	assert_int_equal(vault_put(&v, "bob", 1, print_data, 5), 0);
	assert_int_equal(vault_list(&v, e, 4), 2);
	/* Opened again: the same key, the templates open. */
	assert_int_equal(vault_open(&v, dir, why, sizeof(why)), 0);
	assert_memory_equal(v.key, first_key, 32);
	assert_int_equal(vault_get(&v, "alice", 7, &out, NULL), 0);
	assert_int_equal(vault_get(&v, "alice", 6, &out, NULL), -ENOENT);
	assert_int_equal(vault_delete(&v, "bob", 1), 0);
	assert_int_equal(vault_delete(&v, "bob", 1), -ENOENT);
	assert_int_equal(vault_list(&v, e, 4), 1);
	assert_string_equal(e[0].user, "alice");
	assert_int_equal(e[0].finger, 7);
	snprintf(path, sizeof(path), "%s/seal.key", dir);
	assert_int_equal(vapp_write_file_atomic(path, "short", 5, 0600), 0);
	assert_int_equal(vault_open(&v, dir, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "seal.key is damaged"));
	vapp_buf_free(&out);
	assert_int_equal(vapp_rm_rf(dir), 0);
}

static uint64_t unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A signed assertion as the appliance gives one. */
static size_t make(struct signer *s, const char *user, int finger, bool match, const uint8_t *nonce,
		   const char *caller, uint8_t *out)
{
	Vapp__Fingerprint__V1__Assertion a = VAPP__FINGERPRINT__V1__ASSERTION__INIT;
	Vapp__Fingerprint__V1__SignedAssertion sa = VAPP__FINGERPRINT__V1__SIGNED_ASSERTION__INIT;
	struct vapp_buf bytes = { 0 };
	uint8_t sig[FP_SIG_LEN];
	size_t len;

	a.result = match ? VAPP__FINGERPRINT__V1__RESULT__MATCH : VAPP__FINGERPRINT__V1__RESULT__NO_MATCH;
	a.user = (char *)user;
	a.finger = (Vapp__Fingerprint__V1__Finger)finger;
	a.nonce.data = (uint8_t *)nonce;
	a.nonce.len = 16;
	a.caller = (char *)caller;
	assert_int_equal(signer_sign(s, &a, &bytes, sig), 0);
	sa.assertion.data = bytes.p;
	sa.assertion.len = bytes.len;
	sa.signature.data = sig;
	sa.signature.len = FP_SIG_LEN;
	len = vapp__fingerprint__v1__signed_assertion__pack(&sa, out);
	vapp_buf_free(&bytes);
	return len;
}

static void test_assertions(void **state)
{
	char dir[] = "/tmp/test_fp.XXXXXX", why[256], mfile[300];
	static const uint8_t nonce[16] = "0123456789abcdef", other[16] = "fedcba9876543210";
	uint8_t msg[1024], bad[1024], wrong_pub[FP_PUBKEY_LEN] = { 0 };
	struct fp_expect want = { .nonce = nonce, .nonce_len = 16, .caller = "win",
				  .user = "alice", .finger = 7, .max_age_ms = 60000 };
	struct fp_verdict v;
	struct signer s;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(mfile, sizeof(mfile), "%s/measurement", dir);
	assert_int_equal(vapp_write_file_atomic(mfile, "ab", 2, 0644), 0); /* not 64 hex */
	assert_int_equal(signer_open(&s, dir, mfile, why, sizeof(why)), 0);
	assert_string_equal(s.measurement, "");
	want.now_unix_ms = unix_now();
	len = make(&s, "alice", 7, true, nonce, "win", msg);
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), 0);
	assert_true(v.match);
	assert_int_equal(v.counter, 1);
	assert_string_equal(v.user, "alice");
	assert_string_equal(v.caller, "win");
	/* Every byte flipped: never a verdict believed. */
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, msg, len);
		bad[i] ^= 0x20;
		assert_true(fp_check(bad, len, s.pub, &want, &v, why, sizeof(why)) < 0);
	}
	assert_int_equal(fp_check(msg, len, wrong_pub, &want, &v, why, sizeof(why)), -EPERM);
	/* Authentic, but not what we asked. */
	want.nonce = other;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -EINVAL);
	want.nonce = nonce;
	want.caller = "other-guest";
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -EINVAL);
	want.caller = "win";
	want.user = "bob";
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -EINVAL);
	want.user = "alice";
	want.finger = 6;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -EINVAL);
	want.finger = 7;
	want.measurement = "0000";
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -EINVAL);
	want.measurement = NULL;
	/* A replay: a counter not above the last one accepted. */
	want.last_counter = 1;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -ESTALE);
	assert_non_null(strstr(why, "replayed"));
	want.last_counter = 0;
	/* Too old, from the future. */
	want.now_unix_ms += 61000;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -ESTALE);
	want.now_unix_ms -= 122000;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), -ESTALE);
	want.now_unix_ms += 61000;
	/* Not a message; too long. */
	assert_int_equal(fp_check((const uint8_t *)"garbage", 7, s.pub, &want, &v, why, sizeof(why)),
			 -EBADMSG);
	assert_int_equal(fp_check(msg, FP_ASSERTION_MAX + 1, s.pub, &want, &v, why, sizeof(why)),
			 -EBADMSG);
	/* A no-match is a verdict too. */
	len = make(&s, "alice", 7, false, nonce, "win", msg);
	want.last_counter = 1;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), 0);
	assert_false(v.match);
	assert_int_equal(v.counter, 2);
	signer_close(&s);
	/* Opened again (a reboot): the same key, the counter goes on. */
	assert_int_equal(signer_open(&s, dir, NULL, why, sizeof(why)), 0);
	assert_int_equal(s.counter, 2);
	len = make(&s, "alice", 7, true, nonce, "win", msg);
	want.last_counter = 2;
	assert_int_equal(fp_check(msg, len, s.pub, &want, &v, why, sizeof(why)), 0);
	assert_int_equal(v.counter, 3);
	signer_close(&s);
	/* A damaged counter: nothing is signed until it is repaired. */
	snprintf(mfile, sizeof(mfile), "%s/counter", dir);
	assert_int_equal(vapp_write_file_atomic(mfile, "x\n", 2, 0600), 0);
	assert_int_equal(signer_open(&s, dir, NULL, why, sizeof(why)), -EBADMSG);
	assert_int_equal(vapp_rm_rf(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_seal_refusals),
		cmocka_unit_test(test_user_names),
		cmocka_unit_test(test_vault_files),
		cmocka_unit_test(test_assertions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
