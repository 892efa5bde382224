/*
 * manifest.h - an appliance manifest: the validated model every later step
 * (builder/, hypervisor-config/, runtime/) reads.
 *
 * A manifest is YAML, read through libcyaml's schema (manifest/src/schema.c),
 * then checked as a whole (manifest/src/validate.c). The YAML form is
 * documented in manifest/README.md; examples/hello/manifest.yaml is the
 * smallest complete one.
 *
 * Paths in the manifest are relative to the manifest's own folder unless
 * absolute. A path may use ${NAME} for a variable given to the loader
 * (`vapp build -D BUILD=build/san`); only those and nothing from the
 * environment, so a manifest means the same thing on every machine.
 *
 * Error convention: manifest_load() returns NULL and fills a list of
 * diagnostics, each "FILE:LINE:COL: what is wrong (key: KEY)".
 */
#ifndef VAPP_MANIFEST_H
#define VAPP_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum manifest_restart {
	MANIFEST_RESTART_ALWAYS = 0, /* default */
	MANIFEST_RESTART_ON_FAILURE,
	MANIFEST_RESTART_NEVER,
};

enum manifest_nic_role {
	MANIFEST_NIC_UPLINK,
	MANIFEST_NIC_GUEST,
};

enum manifest_xen_type {
	MANIFEST_XEN_PVH = 0, /* default */
	MANIFEST_XEN_PV,
};

struct manifest_kernel {
	char *package;      /* Debian package, default "linux-image-cloud-amd64";
			     * "linux-image-amd64" when USB is asked for */
	char *path;         /* a kernel image instead of the package (resolved) */
	char *tree;         /* a kernel build laid out as a package: TREE/vmlinuz
			     * and TREE/lib/modules/VERSION (resolved) */
	char *cmdline;      /* extra kernel command line, may be NULL */
	char **modules;     /* module names (without .ko), NULL-terminated */
	size_t n_modules;
};

struct manifest_file {
	char *source;       /* resolved path on the build host */
	char *destination;  /* absolute path in the image */
	uint32_t mode;      /* default 0644 (0755 for binaries) */
};

struct manifest_daemon {
	char **argv;        /* argv[0] is an absolute path in the image */
	size_t argc;
	enum manifest_restart restart;
	uint32_t restart_delay_ms; /* first back-off, doubled up to 30 s; default 500 */
	/* The files the host may hand the daemon at each launch (vappd
	 * --setting): names, manifest_setting_name_ok(). With any, the daemon
	 * starts only once the host has sent what it has. */
	char **settings;
	size_t n_settings;
};

struct manifest_service {
	char *proto;        /* resolved path of the .proto file */
	char *name;         /* full service name, "vapp.hello.v1.Greeter" */
	char *channel;      /* name of the channel it is offered on */
};

struct manifest_channel {
	char *name;         /* virtio-serial port name, e.g. "vapp.rpc" */
};

struct manifest_nic {
	char *name;         /* as the appliance sees it, default "eth0", "eth1"... */
	enum manifest_nic_role role;
	char *mac;          /* "52:54:00:..." or NULL for a derived one */
	char *guest;        /* role guest: the guest VM behind it (vappd names the
			     * host's tap after it), or NULL */
};

/* A NIC's guest: 1..MANIFEST_NIC_GUEST_MAX of a-z 0-9 '-' '_'. */
#define MANIFEST_NIC_GUEST_MAX 8

struct manifest_pci {
	char *address;      /* "0000:01:00.0" (domain:bus:slot.function) */
};

struct manifest_state {
	uint32_t size_mib;  /* 0: no state volume */
	char *mount;        /* default "/var/lib/vapp" */
};

/* Extra settings passed through to one hypervisor's config as they are. */
struct manifest_hv_extra {
	char **qemu_args;   /* appended to the QEMU command line */
	size_t n_qemu_args;
	enum manifest_xen_type xen_type;
	char **xen_lines;   /* appended to xl.cfg ("key = value" lines) */
	size_t n_xen_lines;
	char *libvirt_xml;  /* an XML fragment added inside <devices>, may be NULL */
};

struct manifest {
	char *file;         /* the manifest's path, as given */
	char *dir;          /* its folder: relative paths start here */
	char *name;         /* [a-z0-9][a-z0-9-]{0,62} */
	char *version;
	char *vendor;
	char *description;
	struct manifest_kernel kernel;
	uint32_t vcpus;     /* default 1 */
	uint32_t memory_mib; /* default 128 (the stock cloud kernel needs 96) */
	bool busybox;       /* default true: /bin/busybox, /bin/sh and the other
			     * applets, and mke2fs for a blank state volume */
	struct manifest_file *binaries; /* shared-library closure added by the builder */
	size_t n_binaries;
	struct manifest_file *files;
	size_t n_files;
	struct manifest_daemon daemon;
	struct manifest_service *services;
	size_t n_services;
	struct manifest_channel *channels;
	size_t n_channels;
	struct manifest_nic *nics;
	size_t n_nics;
	bool usb;           /* a USB controller (qemu-xhci) */
	bool sound;         /* a sound card (Intel HDA, a duplex codec) */
	bool direct;        /* takes direct channels from guests: under QEMU an
			     * ivshmem-doorbell device per paired guest */
	struct manifest_pci *pci;
	size_t n_pci;
	struct manifest_state state;
	char *signing_key;  /* resolved path of the Ed25519 private key (PEM), may be NULL */
	struct manifest_hv_extra hv;
};

/* What went wrong in a manifest: all of it, not just the first problem. */
struct manifest_diag {
	char **lines;       /* "FILE:LINE:COL: message (key: KEY)" */
	size_t n;
};

/* A variable a manifest may use as ${NAME}. */
struct manifest_var {
	const char *name;
	const char *value;
};

/**
 * Reads and validates @p path: the schema (unknown keys, types), then the
 * whole (missing files, impossible values, duplicate channel names, a
 * service without its .proto or channel ...). Nothing is built.
 * @param vars NULL-terminated by a {NULL, NULL} entry; may be NULL.
 * @param diag receives every problem found; free with manifest_diag_free().
 * @return the model, or NULL when there is at least one problem (errno
 *         EINVAL), the file cannot be read (errno as open() set it, and a
 *         diagnostic says so), or memory ran out (ENOMEM).
 */
struct manifest *manifest_load(const char *path, const struct manifest_var *vars,
			       struct manifest_diag *diag);
/**
 * Reads the manifest an image carries (its measured manifest.yaml), from
 * @p buf: untrusted bytes, any of them. The same schema and checks as
 * manifest_load(), less those that need the build host: paths of files,
 * the kernel, .proto files and the signing key are kept as written, never
 * opened, and ${NAME} in them is not expanded. @p file only names the
 * document in diagnostics.
 * @return the model, or NULL (errno EINVAL with @p diag filled in, EFBIG
 *         past 1 MiB, ENOMEM).
 */
struct manifest *manifest_load_image(const char *file, const void *buf, size_t len,
				     struct manifest_diag *diag);
void manifest_free(struct manifest *m);
void manifest_diag_free(struct manifest_diag *diag);

const char *manifest_restart_name(enum manifest_restart r);
/* A setting's name, which is also its file name in the appliance:
 * [A-Za-z0-9._-], 1 to 63 bytes, not starting with '.'. */
bool manifest_setting_name_ok(const char *name);
const char *manifest_nic_role_name(enum manifest_nic_role r);

#ifdef __cplusplus
}
#endif
#endif /* VAPP_MANIFEST_H */
