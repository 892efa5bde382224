/* fuzz_fp_template.c - libFuzzer: a sealed template file as a hostile
 * state volume could hold it, opened as alice's right index. Anything but
 * the file sealed for that name under that key is refused; nothing may
 * crash or read past. The first byte picks the name it is opened as. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = { 0x42 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const users[] = { "alice", "bob", "../etc", "" };
	struct vapp_buf out = { 0 }, again = { 0 };
	uint64_t when;
	int err;

	if (size < 1)
		return 0;
	err = vault_unseal(key, users[data[0] % 4], 1 + data[0] % 11, data + 1, size - 1, &out, &when);
	if (err != 0 && err != -EBADMSG && err != -EINVAL && err != -ENOMEM)
		abort();
	if (!err) {
		/* Only a real seal opens: sealing it again must open the same. */
		if (vault_seal(key, users[data[0] % 4], 1 + data[0] % 11, when, out.p, out.len, &again) ||
		    vault_unseal(key, users[data[0] % 4], 1 + data[0] % 11, again.p, again.len, &out,
				 NULL))
			abort();
	}
	vapp_buf_free(&out);
	vapp_buf_free(&again);
	return 0;
}
