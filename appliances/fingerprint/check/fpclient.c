/*
 * fpclient.c - one checked question to the fingerprint appliance
 * (fpclient.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "vrpc.h"
#include "vapp_util.h"
#include "appliances/fingerprint/fingerprint.pb-c.h"
#include "fpclient.h"

int fp_load_key(const char *path, uint8_t key[FP_PUBKEY_LEN])
{
	char line[128];

	if (!path || vapp_read_line(path, line, sizeof(line)) ||
	    strlen(line) != 2 * FP_PUBKEY_LEN || strspn(line, "0123456789abcdef") != 2 * FP_PUBKEY_LEN)
		return -ENOKEY;
	for (size_t i = 0; i < FP_PUBKEY_LEN; i++)
		sscanf(line + 2 * i, "%2hhx", &key[i]);
	return 0;
}

static uint64_t last_counter(const char *file)
{
	char line[32];

	return file && !vapp_read_line(file, line, sizeof(line)) ? strtoull(line, NULL, 10) : 0;
}

static unsigned method(const char *name)
{
	const ProtobufCServiceDescriptor *sd = &vapp__fingerprint__v1__fingerprint__descriptor;

	return (unsigned)(protobuf_c_service_descriptor_get_method_by_name(sd, name) - sd->methods);
}

int fp_ask(const struct fp_ask *q, struct fp_verdict *v, char *why, size_t whylen)
{
	Vapp__Fingerprint__V1__VerifyRequest vr = VAPP__FINGERPRINT__V1__VERIFY_REQUEST__INIT;
	Vapp__Fingerprint__V1__IdentifyRequest ir = VAPP__FINGERPRINT__V1__IDENTIFY_REQUEST__INIT;
	struct vrpc_client_opts opts = { .connect_timeout_ms = q->timeout_ms < 5000 ? q->timeout_ms
										 : 5000 };
	uint8_t key[FP_PUBKEY_LEN], nonce[32], *packed = NULL;
	struct fp_expect want = { .nonce = nonce, .nonce_len = sizeof(nonce) };
	ProtobufCMessage *reply = NULL;
	struct vrpc_client *cli;
	char *msg = NULL, text[32];
	size_t len;
	int st, err;

	memset(v, 0, sizeof(*v));
	if (fp_load_key(q->key_file, key)) {
		snprintf(why, whylen, "%s: not a key pinned by 'vapp-fp pubkey'",
			 q->key_file ? q->key_file : "no key file");
		return -ENOKEY;
	}
	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		snprintf(why, whylen, "no random nonce");
		return -EIO;
	}
	cli = vrpc_client_open(q->addr, &vapp__fingerprint__v1__fingerprint__descriptor, &opts);
	if (!cli) {
		snprintf(why, whylen, "the appliance at %s cannot be reached: %s", q->addr,
			 strerror(errno));
		return -EHOSTUNREACH;
	}
	vr.user = (char *)q->user;
	vr.finger = (Vapp__Fingerprint__V1__Finger)q->finger;
	vr.nonce.data = ir.nonce.data = nonce;
	vr.nonce.len = ir.nonce.len = sizeof(nonce);
	st = q->user ? vrpc_client_call(cli, method("Verify"), &vr.base, &reply, q->timeout_ms, &msg)
		     : vrpc_client_call(cli, method("Identify"), &ir.base, &reply, q->timeout_ms, &msg);
	vrpc_client_close(cli);
	if (st != VRPC_OK) {
		snprintf(why, whylen, "%s: %s", vrpc_status_name(st), msg ? msg : "");
		free(msg);
		return st == VRPC_DEADLINE_EXCEEDED ? -ETIMEDOUT
		       : st == VRPC_UNAVAILABLE	    ? -EHOSTUNREACH
						    : -EACCES;
	}
	/* The checker reads the message as it came: packed again. */
	len = vapp__fingerprint__v1__signed_assertion__get_packed_size(
		(Vapp__Fingerprint__V1__SignedAssertion *)reply);
	packed = malloc(len ? len : 1);
	if (packed)
		vapp__fingerprint__v1__signed_assertion__pack(
			(Vapp__Fingerprint__V1__SignedAssertion *)reply, packed);
	protobuf_c_message_free_unpacked(reply, NULL);
	if (!packed)
		return -ENOMEM;
	want.caller = q->caller;
	want.measurement = q->image;
	want.user = q->user;
	want.finger = q->user ? q->finger : 0;
	want.now_unix_ms = vapp_unix_ms();
	want.max_age_ms = (uint64_t)(q->max_age_s > 0 ? q->max_age_s : 60) * 1000;
	want.last_counter = last_counter(q->counter_file);
	err = fp_check(packed, len, key, &want, v, why, whylen);
	free(packed);
	if (err)
		return err;
	/* Kept before it is believed: the same assertion never passes twice. */
	if (q->counter_file) {
		snprintf(text, sizeof(text), "%" PRIu64 "\n", v->counter);
		if (vapp_write_file_atomic(q->counter_file, text, strlen(text), 0600)) {
			snprintf(why, whylen, "cannot keep the counter in %s", q->counter_file);
			return -EIO;
		}
	}
	return 0;
}
