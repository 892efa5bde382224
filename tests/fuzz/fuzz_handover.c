/* fuzz_handover.c - libFuzzer: a relay upstream's handover blob, as a
 * confined broker receives it from vappd (vrpc_relay_upstream_import()).
 * The first input byte chooses between the bytes as they are and the bytes
 * as a HELLO_ACK behind a well-formed header, so the fuzzer also reaches
 * the HELLO_ACK's checks. Either way nothing may crash or leak, and the
 * socket is always taken. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vrpc_relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vrpc_relay_upstream *u = NULL;
	uint8_t *blob;
	size_t len;
	int sp[2];

	if (!size || size > VRPC_RELAY_HANDOVER_MAX)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		abort();
	blob = malloc(size + 16);
	if (data[0] & 1) {
		uint32_t n = (uint32_t)(size - 1);

		memcpy(blob, "VRH1\4unix", 9);
		for (int i = 0; i < 4; i++)
			blob[9 + i] = (uint8_t)(n >> (8 * i));
		memcpy(blob + 13, data + 1, size - 1);
		len = 13 + size - 1;
	} else {
		memcpy(blob, data + 1, size - 1);
		len = size - 1;
	}
	if (vrpc_relay_upstream_import(sp[0], blob, len, &u) == 0)
		vrpc_relay_upstream_free(u);
	else if (u)
		abort(); /* a failure leaves nothing */
	close(sp[1]);
	free(blob);
	return 0;
}
