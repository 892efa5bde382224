/*
 * builder.h - a validated manifest -> an appliance image folder:
 *
 *   kernel               the kernel image, from the Debian package (fetched
 *                        with apt-get download into the cache, unpacked
 *                        there, never installed) or the manifest's kernel.path
 *   initramfs            deterministic cpio newc + zstd (image/src/cpio.c)
 *   manifest.yaml        the manifest as given
 *
 * The kernel command lines (one per backend) and hypervisor configs
 * (hv_write_all()), then the measurement and signature (measure.h) are
 * written beside them by their own steps, which `vapp build` runs after
 * builder_build().
 *
 * Error convention: -errno; a message for a human is in result->error.
 */
#ifndef VAPP_BUILDER_H
#define VAPP_BUILDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct manifest;

/* Kernel + initramfs must stay under this: both are read whole into the VM's
 * memory at every boot, and an appliance runs beside the user's own guests. */
#define BUILDER_SIZE_BUDGET (16u << 20)

struct build_opts {
	const char *out_dir;      /* the image folder; created, files replaced */
	const char *cache_dir;    /* downloads and unpacked kernels ("build/cache") */
	const char *init_path;    /* becomes /init: the vapp-init binary */
	const char *busybox_path; /* static BusyBox; NULL: /bin/busybox */
	uint64_t source_date_epoch; /* every mtime in the initramfs */
	FILE *progress;           /* slow steps are reported here; NULL: quiet */
	int keep_debug;           /* 0: the manifest's ELF binaries go in without
				   * their debug sections (strip --strip-debug) */
};

struct build_result {
	char kernel_version[128]; /* "6.1.0-28-cloud-amd64"; "" for a kernel.path */
	char kernel_package[128]; /* the versioned package, "" for a kernel.path */
	uint64_t kernel_size;     /* bytes of out_dir/kernel */
	uint64_t initramfs_size;  /* bytes of out_dir/initramfs */
	uint64_t initramfs_raw;   /* bytes of the cpio archive before zstd */
	size_t n_entries;         /* cpio entries (directories, files, links) */
	size_t n_modules;         /* .ko files copied (dependencies included) */
	size_t n_builtin;         /* modules asked for (and the state volume's ext4) that are built in */
	size_t n_binaries;        /* the manifest's binaries */
	size_t n_libraries;       /* shared objects of their closure (interpreter too) */
	size_t n_files;           /* the manifest's files */
	size_t n_protos;          /* .proto files at /etc/vapp/proto/ */
	size_t n_applets;         /* BusyBox applet links */
	uint64_t debug_stripped;  /* bytes of debug sections left out */
	char error[512];          /* what went wrong, when builder_build() fails */
};

/**
 * Builds @p m into @p o->out_dir. Only the files named above are written;
 * the same manifest and inputs give the same bytes.
 * @param r filled in, also on failure (r->error).
 * @return 0, or -errno (-ENOENT a missing input, -EINVAL a module that does
 *         not exist or modules asked for with a kernel.path, -EIO a failed
 *         download or unpack, -ENOMEM).
 */
int builder_build(const struct manifest *m, const struct build_opts *o, struct build_result *r);

#ifdef __cplusplus
}
#endif
#endif /* VAPP_BUILDER_H */
