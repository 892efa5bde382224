/* fuzz_fp_assertion.c - libFuzzer: what a guest's checker gets back as a
 * signed assertion, from an appliance or from anyone in between. Without
 * the appliance's key nothing is accepted: a verdict from random bytes
 * would be a forged "yes". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t pub[FP_PUBKEY_LEN] = {
		0x10, 0xa6, 0xe4, 0x27, 0x54, 0x55, 0xee, 0x31, 0x4e, 0xa4, 0x95, 0xf5, 0x89, 0x99, 0x9c, 0x4b,
		0x54, 0x94, 0x67, 0xf3, 0x83, 0x53, 0xc5, 0x54, 0x2e, 0x1d, 0xb8, 0x9a, 0x7e, 0x21, 0xf2, 0x8f,
	};
	static const uint8_t nonce[16] = "0123456789abcdef";
	struct fp_expect want = { .nonce = nonce, .nonce_len = 16, .max_age_ms = 60000,
				  .now_unix_ms = 1 };
	struct fp_verdict v;
	char why[256];

	if (fp_check(data, size, pub, &want, &v, why, sizeof(why)) == 0)
		abort(); /* the key's owner signed nothing for this nonce */
	if (!memchr(why, '\0', sizeof(why)))
		abort();
	return 0;
}
