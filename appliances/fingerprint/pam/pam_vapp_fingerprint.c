/*
 * pam_vapp_fingerprint.c - a Linux guest's PAM module: the user is who
 * they say when the fingerprint appliance says so, in an assertion signed
 * with its pinned key, for this login's own nonce, fresh, and with a
 * counter above the last one accepted (fpclient.h does the asking and the
 * checking). Only "auth"; setcred does nothing.
 *
 *   auth sufficient pam_vapp_fingerprint.so [options]
 *
 *   addr=ADDR        the appliance (default serial:/dev/virtio-ports/vapp.fingerprint)
 *   key=FILE         its pinned key (default /etc/vapp/fingerprint.pub)
 *   counter=FILE     the last counter accepted (default /var/lib/vapp/fingerprint.counter)
 *   finger=NAME|N    which finger (default right-index)
 *   caller=LABEL     this guest's name as vappd gives it (default: not checked)
 *   image=HEX        the appliance image's measurement (default: not checked)
 *   timeout=SEC      for the whole question, the finger included (default 20)
 *
 * PAM_SUCCESS on a checked match; PAM_AUTH_ERR on a checked no-match or a
 * refused assertion (replayed, forged, stale, for another caller);
 * PAM_AUTHINFO_UNAVAIL when the appliance cannot be reached or does not
 * answer in time; PAM_SERVICE_ERR on a bad configuration. Each outcome is
 * logged (syslog, through pam_syslog).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <syslog.h>

#include "fpclient.h"

#define DEFAULT_ADDR "serial:/dev/virtio-ports/vapp.fingerprint"

/* @return 0, or -1 (said) on an option it does not know. */
static int parse(pam_handle_t *pamh, int argc, const char **argv, struct fp_ask *q)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "addr=", 5))
			q->addr = a + 5;
		else if (!strncmp(a, "key=", 4))
			q->key_file = a + 4;
		else if (!strncmp(a, "counter=", 8))
			q->counter_file = a + 8;
		else if (!strncmp(a, "caller=", 7))
			q->caller = a + 7;
		else if (!strncmp(a, "image=", 6))
			q->image = a + 6;
		else if (!strncmp(a, "finger=", 7) && (q->finger = fp_finger_of(a + 7)) > 0)
			;
		else if (!strncmp(a, "timeout=", 8) && atoi(a + 8) > 0 && atoi(a + 8) <= 600)
			q->timeout_ms = atoi(a + 8) * 1000;
		else {
			pam_syslog(pamh, LOG_ERR, "bad option: %s", a);
			return -1;
		}
	}
	return 0;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct fp_ask q = { .addr = DEFAULT_ADDR, .key_file = "/etc/vapp/fingerprint.pub",
			    .counter_file = "/var/lib/vapp/fingerprint.counter", .finger = 7,
			    .timeout_ms = 20000, .max_age_s = 60 };
	const char *user = NULL;
	struct fp_verdict v;
	char why[256];
	int err;

	(void)flags;
	if (parse(pamh, argc, argv, &q))
		return PAM_SERVICE_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !fp_user_ok(user)) {
		pam_syslog(pamh, LOG_NOTICE, "no user the appliance could know");
		return PAM_USER_UNKNOWN;
	}
	q.user = user;
	pam_info(pamh, "Place your %s on the fingerprint reader.", fp_finger_name(q.finger));
	err = fp_ask(&q, &v, why, sizeof(why));
	if (err == -ENOKEY) {
		pam_syslog(pamh, LOG_ERR, "%s", why);
		return PAM_SERVICE_ERR;
	}
	if (err == -EHOSTUNREACH || err == -ETIMEDOUT) {
		pam_syslog(pamh, LOG_NOTICE, "%s: the appliance did not answer: %s", user, why);
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (err) {
		pam_syslog(pamh, LOG_WARNING, "%s: refused: %s", user, why);
		return PAM_AUTH_ERR;
	}
	pam_syslog(pamh, LOG_INFO, "%s: %s (counter %llu)", user, v.match ? "a match" : "no match",
		   (unsigned long long)v.counter);
	return v.match ? PAM_SUCCESS : PAM_AUTH_ERR;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
