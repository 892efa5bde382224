/* fuzz_privsep.c - libFuzzer: arbitrary bytes as one datagram between
 * vappd's parent and its broker child (runtime/vappd/privsep.c); either side
 * may have been taken over. What the receiver accepts must be a message the
 * sender would send, and a type that needs an fd is never accepted without
 * one (none is sent here). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "privsep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sp[2] = { -1, -1 };
static struct vappd_ps_msg m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sz = 1 << 20;

	if (sp[0] < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp))
			abort();
		setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	if (!size || size > VAPPD_PS_HDR + VAPPD_PS_MAX)
		return 0;
	if (send(sp[0], data, size, 0) != (ssize_t)size)
		return 0;
	if (vappd_ps_recv(sp[1], &m))
		return 0;
	if (m.fd != -1 || m.type == VAPPD_PS_GATE || m.type == VAPPD_PS_UPSTREAM)
		abort();
	if (m.len != size - VAPPD_PS_HDR || m.payload[m.len])
		abort();
	if (vappd_ps_send(sp[0], m.type, m.payload, m.len, -1) || vappd_ps_recv(sp[1], &m))
		abort(); /* the sender must take what the receiver took */
	return 0;
}
