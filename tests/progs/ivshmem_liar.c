/*
 * ivshmem_liar - a hostile guest on a direct channel, for
 * tests/integration/vappd_direct.sh: it takes the ivshmem device as
 * libvrpc's client would, waits for the appliance's fresh ring, then
 * attaches with a lie, the producer index of the ring it writes a quarter
 * of 2^32 past what it wrote, rings the appliance and leaves without
 * saying goodbye (its live stays 1).
 *
 *   ivshmem_liar PCI-ADDRESS
 *
 * Prints "LIAR-ATTACHED" and exits 0 after two seconds; 1 when the device
 * or a fresh ring could not be had in ten.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ivshmem_dev.h"
#include "shm_ring.h"

int main(int argc, char **argv)
{
	struct ivshmem_dev d;
	struct vchan_interface *shr;
	int i;

	if (argc != 2) {
		fprintf(stderr, "usage: ivshmem_liar PCI-ADDRESS\n");
		return 2;
	}
	if (vrpc_ivshmem_dev_open(&d, argv[1]))
		return 1;
	shr = (struct vchan_interface *)d.mem;
	for (i = 0; i < 1000; i++) {
		if (__atomic_load_n(&shr->srv_live, __ATOMIC_ACQUIRE) == 1 &&
		    __atomic_load_n(&shr->cli_live, __ATOMIC_ACQUIRE) == 2)
			break;
		/* Knock, as a client does: the appliance lays out a fresh ring. */
		vrpc_ivshmem_dev_ring(&d, d.id ^ 1u, IVSHMEM_VEC_CONN);
		usleep(10000);
	}
	if (i == 1000) {
		fprintf(stderr, "ivshmem_liar: no fresh ring in 10 s\n");
		return 1;
	}
	__atomic_store_n(&shr->left.prod, shr->left.cons + 0x40000000u, __ATOMIC_RELEASE);
	__atomic_store_n(&shr->cli_live, 1, __ATOMIC_RELEASE);
	vrpc_ivshmem_dev_ring(&d, d.id ^ 1u, IVSHMEM_VEC_CONN);
	vrpc_ivshmem_dev_ring(&d, d.id ^ 1u, IVSHMEM_VEC_RING);
	printf("LIAR-ATTACHED\n");
	fflush(stdout);
	sleep(2);
	/* Gone without a word: the mapping goes with the process. */
	return 0;
}
