/*
 * serial_echo_server - serves the Echo service (tests/proto/echo.proto) on
 * one attached endpoint, e.g. serial:/dev/virtio-ports/vrpc0 inside a test
 * guest, until killed.
 *
 *   serial_echo_server ADDR
 *
 * Prints "ECHO-SERVER-READY ADDR" once it serves, so that a test watching
 * the guest's console knows when to connect.
 */
#include <stdio.h>
#include <string.h>

#include "echo_service.h"

int main(int argc, char **argv)
{
	struct echo_service echo;
	struct vrpc_server *srv;
	struct vrpc_loop *loop;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDR\n", argv[0]);
		return 2;
	}
	loop = vrpc_loop_new();
	srv = vrpc_server_new(NULL);
	if (!loop || !srv) {
		fprintf(stderr, "serial_echo_server: out of memory\n");
		return 1;
	}
	echo_service_init(&echo, loop);
	err = vrpc_server_add_service(srv, &echo.base.base, echo_streaming);
	if (!err)
		err = vrpc_server_attach(srv, argv[1]);
	if (!err)
		err = vrpc_loop_add_server(loop, srv);
	if (!err) {
		printf("ECHO-SERVER-READY %s\n", argv[1]);
		fflush(stdout);
		err = vrpc_loop_run(loop);
	}
	if (err)
		fprintf(stderr, "serial_echo_server: %s: %s\n", argv[1], strerror(-err));
	vrpc_server_free(srv);
	echo_service_fini(&echo);
	vrpc_loop_free(loop);
	return err ? 1 : 0;
}
