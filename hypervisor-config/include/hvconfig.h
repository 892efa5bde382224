/*
 * hvconfig.h - one manifest, three ways to run it: a QEMU command line, a
 * libvirt domain XML and a Xen xl.cfg (libvapp-hvconfig).
 *
 * The generators are pure: model + parameters in, text out, nothing read or
 * started. What is only known when an appliance runs (its run folder, the
 * accelerator, tap and bridge names) is written as a ${NAME} placeholder
 * that the runtime replaces at launch, with hv_expand() or its own code:
 *
 *   ${IMAGE_DIR}     the image folder (kernel, initramfs)
 *   ${RUN_DIR}       the run folder: NAME.sock per channel, vapp.ctl.sock,
 *                    console.log, state.img, qmp.sock
 *   ${ACCEL}         QEMU accelerator: kvm or tcg
 *   ${VIRT_TYPE}     libvirt <domain type>: kvm or qemu
 *   ${TAP_<nic>}     the tap device of NIC <nic> (QEMU, libvirt)
 *   ${BRIDGE_<nic>}  the bridge NIC <nic> joins (Xen vif)
 *
 * A placeholder's value must not need escaping in any of the three formats
 * (no , " ' < > & \ $ or control characters): hv_expand() refuses such a
 * value, so a substituted file stays as well-formed as the template.
 * Values given in struct hv_params instead are escaped by each generator.
 *
 * Error convention: functions returning a pointer return NULL and set errno
 * (EINVAL for a model the generators cannot express, ENOMEM); functions
 * returning int return 0 or -errno.
 */
#ifndef VAPP_HVCONFIG_H
#define VAPP_HVCONFIG_H

#include <stddef.h>

#include "manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The run-time values; every NULL field means its placeholder above. */
struct hv_params {
	const char *kernel;      /* default "${IMAGE_DIR}/kernel" */
	const char *initrd;      /* default "${IMAGE_DIR}/initramfs" */
	const char *cmdline;     /* default hv_cmdline(m, the generator's backend) */
	const char *run_dir;     /* default "${RUN_DIR}" */
	const char *accel;       /* default "${ACCEL}" */
	const char *virt_type;   /* default "${VIRT_TYPE}" */
	const char *console_log; /* default RUN_DIR "/console.log" */
	const char *state_image; /* default RUN_DIR "/state.img" */
	const char *qemu;        /* argv[0], default "qemu-system-x86_64" */
	/* Indexed like m->nics; the array or any entry may be NULL. */
	const char *const *taps;    /* default "${TAP_<nic name>}" */
	/* QEMU only: NIC i's tap as an open fd QEMU inherits (tap,fd=N)
	 * instead of one it opens by name; NULL or a negative entry: by name. */
	const int *tap_fds;
	const char *const *bridges; /* default "${BRIDGE_<nic name>}" */
	/* QEMU with devices.sound: what the sound card plays into and records
	 * from, -audiodev's backend: "none", "alsa", or "wav" into audio_file;
	 * default "${AUDIODEV}". */
	const char *audiodev;
	const char *audio_file;  /* "wav"'s file, default RUN_DIR "/speaker.wav" */
	/* Xen: a PV domain even where the manifest would have PVH (a host
	 * without HVM, such as Xen under QEMU's TCG). */
	bool xen_pv;
	/* Xen: the state disk's hotplug script (xl.cfg's script=); NULL:
	 * none named, so xl runs dom0's own "block" on state_image. */
	const char *xen_disk_script;
};

/* The virtio-serial port every appliance has besides its own channels. */
#define HV_CTL_CHANNEL "vapp.ctl"

/* The backends an image carries a kernel command line for. */
enum hv_backend {
	HV_BACKEND_TCG, /* QEMU, emulated CPU */
	HV_BACKEND_KVM, /* QEMU with KVM */
	HV_BACKEND_XEN, /* Xen PV or PVH domU */
	HV_N_BACKENDS,
};

/*
 * Each backend in one place (src/backends.c): what the builder measures
 * for it, what it writes beside as a convenience, and what launches it.
 * Launching is hvrun.h's: hv_qemu_spawn() for tcg and kvm, the
 * hv_xen_*_argv() commands for xen.
 */
struct hv_backend_info {
	const char *name;         /* "tcg", "kvm", "xen": --accel's words */
	const char *cmdline_base; /* what its kernel command line starts with */
	const char *cmdline_file; /* the image's file of that command line: measured */
	const char *config_file;  /* qemu.args, libvirt.xml, xl.cfg: not measured */
	char *(*config)(const struct manifest *m, const struct hv_params *p);
	const char *launcher;     /* the program that runs it */
};
extern const struct hv_backend_info hv_backends[HV_N_BACKENDS];

/** The backend named @p name (its index into *@p which, may be NULL), or NULL. */
const struct hv_backend_info *hv_backend_find(const char *name, enum hv_backend *which);

/**
 * The kernel command line of @p m under @p backend: the console that
 * backend has (ttyS0 under QEMU, hvc0 under Xen), "panic=-1 quiet",
 * tsc_early_khz=2000000 under TCG only, then m->kernel.cmdline. The
 * builder measures one file per backend; this is the only place that
 * composes them.
 * @return a malloc'd string, or NULL (ENOMEM; EINVAL: no such backend).
 */
char *hv_cmdline(const struct manifest *m, enum hv_backend backend);

/**
 * The MAC address of NIC @p i: m->nics[i].mac, or one derived from the
 * appliance and NIC names (52:54:00:xx:xx:xx, stable across builds).
 * @param buf at least 18 bytes.
 */
void hv_nic_mac(const struct manifest *m, size_t i, char buf[18]);

/**
 * QEMU: -M microvm with virtio-*-device, or -M q35 with virtio-*-pci when
 * PCI passthrough (vfio-pci) or a USB controller (qemu-xhci) is asked for.
 * @param p may be NULL (all placeholders).
 * @return a NULL-terminated argv (argv[0] the QEMU binary) to free with
 *         hv_argv_free(), or NULL with errno set.
 */
char **hv_qemu_argv(const struct manifest *m, const struct hv_params *p);
void hv_argv_free(char **argv);

/**
 * libvirt: a <domain> document (virt-xml-validate accepts it once its
 * placeholders are replaced by absolute paths and names).
 * @return a malloc'd string, or NULL with errno set.
 */
char *hv_libvirt_xml(const struct manifest *m, const struct hv_params *p);

/**
 * Xen: an xl.cfg for a PVH domU (PV when m->hv.xen_type or p->xen_pv asks
 * for it, or when PCI passthrough is asked for: Xen 4.17 has none for PVH
 * domUs). No channel list: under Xen the channels are the appliance's
 * own vchans (see the file's comment).
 * @return a malloc'd string, or NULL with errno set.
 */
char *hv_xl_cfg(const struct manifest *m, const struct hv_params *p);

/**
 * Writes an image folder's run files into @p out_dir: the command line of
 * each backend (cmdline.tcg, cmdline.kvm, cmdline.xen: measured), and, as
 * conveniences for people and other tools (not measured, never read by
 * vappd), qemu.args (one argument per line, TCG's command line),
 * libvirt.xml (KVM's) and xl.cfg (Xen's), with every placeholder in place.
 * @return 0, or -errno (-EINVAL: an argument holds a newline).
 */
int hv_write_all(const struct manifest *m, const char *out_dir);

/**
 * Replaces every ${NAME} in @p text by its value in @p vars (terminated by
 * a {NULL, NULL} entry). An unknown ${NAME} is left as it is, so a caller
 * can check that none remains (strstr(out, "${")).
 * @return a malloc'd string, or NULL: EINVAL when a value holds a character
 *         that would need escaping (see above), ENOMEM.
 */
char *hv_expand(const char *text, const struct manifest_var *vars);

#ifdef __cplusplus
}
#endif
#endif /* VAPP_HVCONFIG_H */
