/*
 * fpcheck.h - checking the fingerprint appliance's signed assertions, on
 * the guest side (vapp-fp, pam_vapp_fingerprint.so; anything that must
 * believe a "yes" only when the appliance said it, now, to this caller).
 *
 * An assertion is a vapp.fingerprint.v1.SignedAssertion: the Assertion's
 * bytes and an Ed25519 signature over FP_SIG_CONTEXT followed by them.
 * fp_check() verifies the signature with the appliance's public key
 * (pinned by the caller: GetPublicKey once, at setup), and only then reads
 * the assertion and compares it with what the caller expects: the nonce it
 * sent, its own label, the user and finger it asked about, the time, and
 * a counter above the last one it accepted (a replayed assertion has an
 * old one).
 */
#ifndef VAPP_FPCHECK_H
#define VAPP_FPCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FP_SIG_CONTEXT "vapp-fp-assertion-v1" /* and its NUL: 21 bytes */
#define FP_SIG_CONTEXT_LEN (sizeof(FP_SIG_CONTEXT))
#define FP_SERVICE "vapp.fingerprint.v1"
#define FP_PUBKEY_LEN 32
#define FP_SIG_LEN 64
#define FP_NONCE_MIN 16
#define FP_NONCE_MAX 64
#define FP_USER_MAX 32
#define FP_ASSERTION_MAX 4096 /* a SignedAssertion is far smaller */

struct fp_expect {
	const uint8_t *nonce;     /* the one sent: required */
	size_t nonce_len;
	const char *caller;       /* this guest's label as vappd names it; NULL: any */
	const char *user;         /* Verify: the user asked about; NULL: any (Identify) */
	int finger;               /* 1-10; 0: any */
	const char *measurement;  /* the image expected; NULL: any */
	uint64_t now_unix_ms;     /* the checker's clock */
	uint64_t max_age_ms;      /* the assertion's time within [now - max_age, now + max_age] */
	uint64_t last_counter;    /* the counter must be above it (0: the first) */
};

struct fp_verdict {
	bool match;
	char user[FP_USER_MAX + 1];
	int finger;
	uint64_t counter;
	uint64_t time_unix_ms;
	char caller[64];
};

/** Checks the serialized SignedAssertion @p msg (@p len bytes) against the
 * appliance's key @p pub and @p want. @return 0 (then @p out says whether
 * it was a match), -EBADMSG (malformed, too long), -EPERM (the signature
 * does not verify: not from this appliance, or altered), -EINVAL (for
 * another nonce, caller, user, finger or image), -ESTALE (too old, from
 * the future, or a counter already seen: a replay). @p why gets one line. */
int fp_check(const uint8_t *msg, size_t len, const uint8_t pub[FP_PUBKEY_LEN],
	     const struct fp_expect *want, struct fp_verdict *out, char *why, size_t whylen);

/** A finger by name ("right-index") or number (1-10). @return 1-10, or -1. */
int fp_finger_of(const char *s);
/** "left-thumb" ... "right-little" for 1-10, else "". */
const char *fp_finger_name(int finger);

/** Is @p user a name the appliance takes: [a-z_][a-z0-9_.-]{0,31}? */
bool fp_user_ok(const char *user);

#endif
