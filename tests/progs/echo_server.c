/*
 * echo_server - serves the Echo service (tests/proto/echo.proto) until
 * killed: on a listening address (tcp:127.0.0.1:PORT for the Windows client
 * test), or with --attach on one attached endpoint (serial:/dev/virtio-ports/
 * vrpc0 inside a test guest).
 *
 *   echo_server [--attach] ADDR
 *
 * Prints "ECHO-SERVER-READY ADDR" once it serves, so that a test watching
 * its output (or a guest's console) knows when to connect.
 */
#include <stdio.h>
#include <string.h>

#include "echo_service.h"

int main(int argc, char **argv)
{
	bool attach = argc == 3 && !strcmp(argv[1], "--attach");
	const char *addr = argv[argc - 1];
	struct echo_service echo;
	struct vrpc_server *srv;
	struct vrpc_loop *loop;
	int err;

	if (argc != 2 && !attach) {
		fprintf(stderr, "usage: %s [--attach] ADDR\n", argv[0]);
		return 2;
	}
	loop = vrpc_loop_new();
	srv = vrpc_server_new(NULL);
	if (!loop || !srv) {
		fprintf(stderr, "echo_server: out of memory\n");
		return 1;
	}
	echo_service_init(&echo, loop);
	err = vrpc_server_add_service(srv, &echo.base.base, echo_streaming);
	if (!err)
		err = attach ? vrpc_server_attach(srv, addr) : vrpc_server_listen(srv, addr);
	if (!err)
		err = vrpc_loop_add_server(loop, srv);
	if (!err) {
		printf("ECHO-SERVER-READY %s\n", addr);
		fflush(stdout);
		err = vrpc_loop_run(loop);
	}
	if (err)
		fprintf(stderr, "echo_server: %s: %s\n", addr, strerror(-err));
	vrpc_server_free(srv);
	echo_service_fini(&echo);
	vrpc_loop_free(loop);
	return err ? 1 : 0;
}
