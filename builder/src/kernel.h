/*
 * kernel.h - a Debian kernel package, fetched and unpacked in the cache:
 *
 *   CACHE/debs/PACKAGE_VERSION_amd64.deb      apt-get download
 *   CACHE/kernel/META/root/                   dpkg-deb -x (never installed)
 *   CACHE/kernel/META/ok                      written last: the tree is whole
 *
 * the same layout tests/lib/guest.sh uses, so either fills the cache for the
 * other. Once a tree is there, apt is not asked again: a build does not
 * change under a manifest because the archive moved on.
 */
#ifndef VAPP_BUILDER_KERNEL_H
#define VAPP_BUILDER_KERNEL_H

#include <stdio.h>

struct kernel_src {
	char *vmlinuz;       /* the kernel image */
	char *moddir;        /* ROOT/lib/modules/VERSION, with modules.dep */
	char version[128];
	char package[128];   /* the versioned package behind a meta package */
};

/**
 * Makes @p pkg's kernel and module tree available under @p cache_dir,
 * downloading and unpacking it when it is not there yet, and running
 * depmod -b on the tree when it has no modules.dep.
 * @return 0 or -errno; @p err says what failed.
 */
int kernel_fetch(const char *pkg, const char *cache_dir, FILE *progress, struct kernel_src *k,
		 char *err, size_t errlen);
void kernel_src_free(struct kernel_src *k);

/**
 * A kernel build laid out as an unpacked package (kernel/build.sh's output,
 * a manifest's kernel.tree): @p tree/vmlinuz and the one module folder
 * @p tree/lib/modules/VERSION, which must have its modules.dep.
 * @return 0, or -ENOENT / -EINVAL; @p err says what is missing.
 */
int builder_kernel_tree(const char *tree, struct kernel_src *k, char *err, size_t errlen);

#endif /* VAPP_BUILDER_KERNEL_H */
