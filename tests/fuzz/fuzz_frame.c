/* fuzz_frame.c - libFuzzer: arbitrary bytes from a client into the server's
 * frame decoder and dispatcher (Echo service). The first input byte chooses
 * whether a valid HELLO goes first, so the fuzzer also reaches requests. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "echo_service.h"
#include "server.h"
#include "sock.h"
#include "wire.h"
#include "vchan-rpc/proto/vrpc/v1/hello.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t valid_hello(uint8_t *out, size_t cap)
{
	Vrpc__V1__Hello hello = VRPC__V1__HELLO__INIT;
	struct vrpc_hdr h = { .version = VRPC_VERSION, .type = VRPC_T_HELLO };

	hello.version_min = hello.version_max = VRPC_VERSION;
	hello.max_frame = 4096;
	hello.service = (char *)vrpc__test__echo__descriptor.name;
	h.length = (uint32_t)vrpc__v1__hello__get_packed_size(&hello);
	if (VRPC_HDR_SIZE + h.length > cap)
		abort();
	wire_encode_header(&h, out);
	vrpc__v1__hello__pack(&hello, out + VRPC_HDR_SIZE);
	return VRPC_HDR_SIZE + h.length;
}

static void drain(int fd)
{
	uint8_t sink[65536];

	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vrpc_server_opts opts = { .max_frame = 4096, .max_inflight = 16,
					 .max_send_queue = 1 << 16 };
	struct vrpc_server *srv = vrpc_server_new(&opts);
	struct echo_service echo;
	struct vrpc_transport *t;
	uint8_t hello[128];
	int sv[2];

	if (!srv || size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	echo_service_init(&echo, NULL);
	vrpc_server_add_service(srv, &echo.base.base, echo_streaming);
	sock_set_nonblock(sv[0]);
	sock_set_nonblock(sv[1]);
	t = sock_transport_new(&vrpc_transport_unix, sv[0]);
	if (!t || server_adopt(srv, t, false, false))
		abort();
	if (size && (data[0] & 1)) {
		size_t n = valid_hello(hello, sizeof(hello));

		if (write(sv[1], hello, n) != (ssize_t)n)
			abort();
	}
	if (size > 1 && write(sv[1], data + 1, size - 1) < 0)
		abort();
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 64 && srv->n_conns; i++) {
		vrpc_server_process(srv);
		drain(sv[1]);
	}
	vrpc_server_free(srv);
	echo_service_fini(&echo);
	close(sv[1]);
	return 0;
}
