/*
 * backends.c - the one table of backends (hvconfig.h, struct hv_backend_info):
 * each one's name, measured kernel command line and its file, and the
 * convenience config written beside it.
 */
#include <string.h>

#include "hv.h"

/*
 * One command line per backend, each measured into the image, since what
 * one needs is wrong for another:
 *   tcg  tsc_early_khz: under TCG the kernel's TSC calibration against the
 *        PIT stalls most boots of -M microvm; a fixed rate ends it.
 *   kvm  no tsc_early_khz: KVM's TSC runs at the host's rate and a fixed
 *        2 GHz would make the guest's clock wrong.
 *   xen  console=hvc0: PV and PVH guests have no UART, only the PV console.
 * reboot=t under QEMU: -M microvm has neither ACPI nor an i8042, so a
 * triple fault is the quick way to end the VM (QEMU runs with -no-reboot);
 * without it the kernel tries the others first, seconds each.
 */
const struct hv_backend_info hv_backends[HV_N_BACKENDS] = {
	[HV_BACKEND_TCG] = {
		.name = "tcg",
		.cmdline_base = "console=ttyS0 panic=-1 quiet tsc_early_khz=2000000 reboot=t",
		.cmdline_file = "cmdline.tcg",
		.config_file = "qemu.args",
		.config = hv_qemu_args_text,
		.launcher = "qemu-system-x86_64",
	},
	[HV_BACKEND_KVM] = {
		.name = "kvm",
		.cmdline_base = "console=ttyS0 panic=-1 quiet reboot=t",
		.cmdline_file = "cmdline.kvm",
		.config_file = "libvirt.xml",
		.config = hv_libvirt_xml,
		.launcher = "qemu-system-x86_64",
	},
	[HV_BACKEND_XEN] = {
		.name = "xen",
		.cmdline_base = "console=hvc0 panic=-1 quiet",
		.cmdline_file = "cmdline.xen",
		.config_file = "xl.cfg",
		.config = hv_xl_cfg,
		.launcher = "xl",
	},
};

const struct hv_backend_info *hv_backend_find(const char *name, enum hv_backend *which)
{
	for (int i = 0; name && i < HV_N_BACKENDS; i++)
		if (!strcmp(hv_backends[i].name, name)) {
			if (which)
				*which = (enum hv_backend)i;
			return &hv_backends[i];
		}
	return NULL;
}
