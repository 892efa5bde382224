/*
 * vhci.h - the guest kernel's side of USB/IP: a vhci-hcd port given a
 * socket, a device id and a speed, and taken back.
 */
#ifndef VAPP_VHCI_H
#define VAPP_VHCI_H

#include <stdint.h>

/** Attaches the device @p devid at @p speed on a free port of vhci_hcd.0
 * (a SuperSpeed port for speeds 5 and 6, else a high-speed one), the
 * kernel reading and writing USB/IP on @p sockfd. @return the port, or
 * -errno (-EBUSY: no free port; -ENOENT: no vhci-hcd). */
int vhci_attach(int sockfd, uint32_t devid, int speed);

/** Frees @p port: the guest sees the device unplugged. @return 0 or -errno. */
int vhci_detach(int port);

#endif
