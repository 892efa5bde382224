/*
 * fpclient.h - asking the fingerprint appliance and believing only a
 * checked answer: one call (Verify, or Identify), a fresh random nonce, the
 * signed assertion checked with fp_check() against the key pinned in a
 * file, and the counter kept in a file so that a replay is refused. What
 * vapp-fp verify/identify and pam_vapp_fingerprint.so both do.
 */
#ifndef VAPP_FPCLIENT_H
#define VAPP_FPCLIENT_H

#include "fpcheck.h"

struct fp_ask {
	const char *addr;          /* the appliance: serial:/dev/virtio-ports/vapp.fingerprint */
	const char *key_file;      /* its key, 64 hex digits (vapp-fp pubkey FILE) */
	const char *user;          /* Verify USER's FINGER; NULL: Identify */
	int finger;
	const char *caller;        /* this guest's name as vappd gives it; NULL: any */
	const char *image;         /* the image's measurement chain; NULL: any */
	const char *counter_file;  /* the last counter accepted; NULL: none kept */
	int timeout_ms;            /* the whole call, a finger included */
	int max_age_s;             /* the assertion's time, from ours */
};

/** Asks and checks. @return 0 with @p v (v->match: a checked match), or:
 * -ENOKEY (no usable key file), -EHOSTUNREACH (the appliance cannot be
 * reached), -ETIMEDOUT (no answer in time), -EACCES (the appliance or the
 * policy refused the call), -EPERM, -EINVAL, -ESTALE, -EBADMSG (the
 * assertion refused: fp_check()). @p why says which, in words. */
int fp_ask(const struct fp_ask *q, struct fp_verdict *v, char *why, size_t whylen);

/** Reads a key pinned as 64 hex digits. @return 0 or -ENOKEY. */
int fp_load_key(const char *path, uint8_t key[FP_PUBKEY_LEN]);

#endif
