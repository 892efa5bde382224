/*
 * fpcheck.c - the guest side's check of a signed assertion (fpcheck.h).
 * Nothing in the message is believed before the signature verifies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "appliances/fingerprint/fingerprint.pb-c.h"
#include "fpcheck.h"

static const char *const fingers[] = {
	"left-thumb", "left-index", "left-middle", "left-ring", "left-little",
	"right-thumb", "right-index", "right-middle", "right-ring", "right-little",
};

int fp_finger_of(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (!*end && end != s)
		return n >= 1 && n <= 10 ? (int)n : -1;
	for (int i = 0; i < 10; i++)
		if (!strcmp(s, fingers[i]))
			return i + 1;
	return -1;
}

const char *fp_finger_name(int finger)
{
	return finger >= 1 && finger <= 10 ? fingers[finger - 1] : "";
}

bool fp_user_ok(const char *user)
{
	size_t n = user ? strlen(user) : 0;

	if (n == 0 || n > FP_USER_MAX || !((user[0] >= 'a' && user[0] <= 'z') || user[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = user[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool signature_ok(const uint8_t *data, size_t len, const uint8_t *sig,
			 const uint8_t pub[FP_PUBKEY_LEN])
{
	uint8_t buf[FP_SIG_CONTEXT_LEN + FP_ASSERTION_MAX];
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, FP_PUBKEY_LEN);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = false;

	if (key && ctx && len <= FP_ASSERTION_MAX) {
		memcpy(buf, FP_SIG_CONTEXT, FP_SIG_CONTEXT_LEN);
		memcpy(buf + FP_SIG_CONTEXT_LEN, data, len);
		ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		     EVP_DigestVerify(ctx, sig, FP_SIG_LEN, buf, FP_SIG_CONTEXT_LEN + len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

#define SAY(code, ...)                                   \
	do {                                             \
		snprintf(why, whylen, __VA_ARGS__);      \
		err = (code);                            \
		goto out;                                \
	} while (0)

int fp_check(const uint8_t *msg, size_t len, const uint8_t pub[FP_PUBKEY_LEN],
	     const struct fp_expect *want, struct fp_verdict *out, char *why, size_t whylen)
{
	Vapp__Fingerprint__V1__SignedAssertion *sa = NULL;
	Vapp__Fingerprint__V1__Assertion *a = NULL;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!msg || len > FP_ASSERTION_MAX)
		SAY(-EBADMSG, "the assertion is too long (%zu bytes)", len);
	sa = vapp__fingerprint__v1__signed_assertion__unpack(NULL, len, msg);
	if (!sa || sa->signature.len != FP_SIG_LEN || !sa->assertion.data ||
	    sa->assertion.len > FP_ASSERTION_MAX)
		SAY(-EBADMSG, "not a signed assertion");
	if (!signature_ok(sa->assertion.data, sa->assertion.len, sa->signature.data, pub))
		SAY(-EPERM, "the signature does not verify with the appliance's key");
	/* From here the appliance said it. */
	a = vapp__fingerprint__v1__assertion__unpack(NULL, sa->assertion.len, sa->assertion.data);
	if (!a || strcmp(a->service, FP_SERVICE))
		SAY(-EBADMSG, "a signed message that is not an assertion");
	if (a->result != VAPP__FINGERPRINT__V1__RESULT__MATCH &&
	    a->result != VAPP__FINGERPRINT__V1__RESULT__NO_MATCH)
		SAY(-EBADMSG, "an assertion without a result");
	if (!want->nonce || a->nonce.len != want->nonce_len ||
	    memcmp(a->nonce.data, want->nonce, want->nonce_len))
		SAY(-EINVAL, "the assertion answers another nonce");
	if (want->caller && strcmp(a->caller, want->caller))
		SAY(-EINVAL, "the assertion was given to \"%.63s\", not \"%.63s\"", a->caller,
		    want->caller);
	if (want->user && strcmp(a->user, want->user))
		SAY(-EINVAL, "the assertion is about another user");
	if (want->finger && (int)a->finger != want->finger)
		SAY(-EINVAL, "the assertion is about another finger");
	if (want->measurement && strcmp(a->measurement, want->measurement))
		SAY(-EINVAL, "the assertion comes from another appliance image (%.12s..., not %.12s...)",
		    a->measurement[0] ? a->measurement : "none", want->measurement);
	if (a->counter <= want->last_counter)
		SAY(-ESTALE, "counter %llu, not above %llu: a replayed assertion",
		    (unsigned long long)a->counter, (unsigned long long)want->last_counter);
	if (a->time_unix_ms + want->max_age_ms < want->now_unix_ms ||
	    a->time_unix_ms > want->now_unix_ms + want->max_age_ms)
		SAY(-ESTALE, "the assertion's time is %lld ms from now",
		    (long long)(a->time_unix_ms - want->now_unix_ms));
	out->match = a->result == VAPP__FINGERPRINT__V1__RESULT__MATCH;
	snprintf(out->user, sizeof(out->user), "%s", fp_user_ok(a->user) ? a->user : "");
	out->finger = (int)a->finger;
	out->counter = a->counter;
	out->time_unix_ms = a->time_unix_ms;
	snprintf(out->caller, sizeof(out->caller), "%s", a->caller);
	snprintf(why, whylen, "%s", out->match ? "a match" : "no match");
out:
	if (a)
		vapp__fingerprint__v1__assertion__free_unpacked(a, NULL);
	if (sa)
		vapp__fingerprint__v1__signed_assertion__free_unpacked(sa, NULL);
	return err;
}
