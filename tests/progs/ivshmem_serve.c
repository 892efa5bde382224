/*
 * ivshmem_serve - vappd's ivshmem server (runtime/vappd/ivshmem.c) on its
 * own, for tests that start QEMUs with ivshmem-doorbell devices by hand:
 *
 *   ivshmem_serve APPLIANCE.sock GUEST.sock SIZE
 *
 * Serves one channel of SIZE bytes: a QEMU connecting on the first socket
 * is peer 0 (the ring's server), on the second peer 1, as under vappd.
 * Prints "IVSHMEM-READY" once both sockets listen, then a line per peer
 * that comes ("IVSHMEM-UP SIDE") or goes ("IVSHMEM-DOWN SIDE"). Runs until
 * killed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ivshmem.h"

int main(int argc, char **argv)
{
	struct vappd_ivshmem c;
	const char *paths[2];
	char err[256];

	if (argc != 4) {
		fprintf(stderr, "usage: ivshmem_serve APPLIANCE.sock GUEST.sock SIZE\n");
		return 2;
	}
	paths[0] = argv[1];
	paths[1] = argv[2];
	if (vappd_ivshmem_open(&c, paths, strtoul(argv[3], NULL, 0), err, sizeof(err))) {
		fprintf(stderr, "ivshmem_serve: %s\n", err);
		return 1;
	}
	printf("IVSHMEM-READY\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[4];

		for (int i = 0; i < 2; i++) {
			p[i] = (struct pollfd){ .fd = c.listen_fd[i], .events = POLLIN };
			p[2 + i] = (struct pollfd){ .fd = c.conn_fd[i], .events = POLLIN };
		}
		if (poll(p, 4, -1) < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < 2; i++) {
			if ((p[i].revents & POLLIN) && vappd_ivshmem_accept(&c, i) == 0)
				printf("IVSHMEM-UP %d\n", i);
			/* A QEMU sends nothing: readable means it hung up. */
			if (p[2 + i].revents) {
				vappd_ivshmem_drop(&c, i);
				printf("IVSHMEM-DOWN %d\n", i);
			}
		}
		fflush(stdout);
	}
}
