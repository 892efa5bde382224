/*
 * kvm_direct.h - under QEMU, the direct channels between guests and an
 * appliance (kvm_direct.c): one ivshmem pair per guest the policy grants.
 */
#ifndef VAPPD_KVM_DIRECT_H
#define VAPPD_KVM_DIRECT_H

#include <limits.h>
#include <stddef.h>

#include "ivshmem.h"
#include "vapp_util.h"

struct appliance;

/* The appliance's PCI slots for its pairs' devices: 0x10, 0x11, ... */
#define KVM_DIRECT_SLOT0 0x10
#define KVM_DIRECT_MAX 8
/* What vapp-init takes of a "direct" line (runtime/guest-init/initconf.h:
 * INITCONF_LINE_MAX less its NUL, INITCONF_DIRECT_SERVICES words). */
#define KVM_DIRECT_LINE_MAX 255
#define KVM_DIRECT_WORDS_MAX 16
/* Each pair's memory: room for two rings of 256 KiB (order 18). */
#define KVM_DIRECT_SIZE (1u << 20)

struct kvm_pair {
	char guest[64];
	char services[200];
	char addr[16];           /* the device in the appliance: 0000:00:SS.0 */
	char app_sock[108];      /* a unix socket path's most */
	char guest_sock[108];
	struct vappd_ivshmem ch;
	char line[1024];         /* as `vapp ps --long` shows it */
};

/**
 * At `vapp run`, after QEMU's argv is made: a pair for each --guest the
 * policy grants a whole service of @p a's channel directly, when the
 * manifest says devices.direct; their devices added to a->argv. Nothing
 * without a broker. @return 0, or -errno with @p err (nothing left open).
 */
int vappd_kvm_direct_open(struct appliance *a, char *err, size_t errlen);
/** The "direct ..." lines of vapp.ctl, one a pair, for each launch. */
void vappd_kvm_direct_text(const struct appliance *a, struct vapp_buf *b);
/** The pairs, one line each as `vapp ps --long` shows them (made now;
 *  valid until the next call): "GUEST ivshmem:ADDRESS GUEST_SOCKET
 *  (appliance [not] connected, guest [not] connected) SERVICE...". */
char **vappd_kvm_direct_lines(struct appliance *a);
/** Closes the pairs and removes their sockets. */
void vappd_kvm_direct_close(struct appliance *a);

#endif /* VAPPD_KVM_DIRECT_H */
