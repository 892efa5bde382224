/*
 * ivshmem_dev.h - private: QEMU's ivshmem-doorbell PCI device (1af4:1110)
 * as a program inside a VM sees it, opened through VFIO's no-IOMMU mode.
 *
 * The device is the VM's end of a direct channel: BAR2 is memory shared
 * with one other VM, BAR0 holds its own peer number (IVPosition, offset 8)
 * and the doorbell (offset 12: writing PEER << 16 | VECTOR interrupts that
 * vector of that peer), and it interrupts by MSI-X only, so no uio driver
 * can take its interrupts. VFIO can: each vector is delivered as an
 * eventfd. VFIO wants an IOMMU, which a small VM has not; its no-IOMMU
 * mode (CONFIG_VFIO_NOIOMMU, switched on here through the module
 * parameter) needs CAP_SYS_RAWIO and taints the kernel, and is safe here
 * because the device never does DMA: its memory is a BAR, not ours.
 *
 * Opening binds the device to vfio-pci when it is not (driver_override),
 * so the caller needs root and the vfio-pci module loaded. Nothing read
 * from the device decides more than what the caller then reads and writes
 * in BAR2, which the other VM can change at any time anyway.
 */
#ifndef VRPC_IVSHMEM_DEV_H
#define VRPC_IVSHMEM_DEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110
/* The vectors this project uses (vappd sets up two per peer). */
#define IVSHMEM_VEC_RING 0 /* the ring changed: data, room, a side's live */
#define IVSHMEM_VEC_CONN 1 /* a side attached or left */
#define IVSHMEM_NVEC 2

struct ivshmem_dev {
	char addr[16];            /* PCI address, 0000:00:05.0 */
	int container, group, device; /* VFIO's fds */
	volatile uint32_t *regs;  /* BAR0 mapped, or NULL: doorbell by pwrite */
	off_t regs_off;           /* BAR0 in the device fd */
	uint8_t *mem;             /* BAR2, shared with the other VM */
	size_t len;
	int efd[IVSHMEM_NVEC];    /* vector v of ours lands in efd[v] */
	uint32_t id;              /* our peer number */
};

/**
 * Opens the device at PCI address @p addr (DOMAIN:BUS:SLOT.FN), binding it
 * to vfio-pci if needed, maps BAR0 and BAR2, and routes its vectors to
 * fresh eventfds. On failure prints why on stderr ("vrpc ivshmem: ADDR:
 * ..."), leaves nothing open. @return 0, -ENODEV (no such device, or not
 * an ivshmem-doorbell), -ENOENT (no vfio-pci), or another -errno.
 */
int vrpc_ivshmem_dev_open(struct ivshmem_dev *d, const char *addr);

/** Interrupts vector @p vector of peer @p peer. */
void vrpc_ivshmem_dev_ring(struct ivshmem_dev *d, uint32_t peer, unsigned vector);

void vrpc_ivshmem_dev_close(struct ivshmem_dev *d);

#endif /* VRPC_IVSHMEM_DEV_H */
