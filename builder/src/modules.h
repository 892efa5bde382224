/*
 * modules.h - which kernel module files an image needs: the modules a
 * manifest names plus everything they depend on, per modules.dep (made by
 * depmod on the unpacked package, which ships none), dependencies first.
 */
#ifndef VAPP_BUILDER_MODULES_H
#define VAPP_BUILDER_MODULES_H

#include <stddef.h>

struct mod_plan {
	char **paths;     /* relative to the module folder, load order */
	size_t n;
	size_t n_builtin; /* names asked for that are built into the kernel */
};

/* "virtio-net", "virtio_net.ko.xz" -> "virtio_net" (what the kernel calls it),
 * written into @p out (at least strlen(name) + 1 bytes). */
void module_name(const char *name, char *out);

/**
 * Resolves @p names against @p moddir/modules.dep and modules.builtin.
 * A name that is neither a module nor built in is an error.
 * @return 0, -ENOENT (modules.dep missing, or an unknown module: @p err names
 *         it), -EINVAL (a malformed modules.dep line), -ENOMEM.
 */
int modules_resolve(const char *moddir, char *const *names, size_t n, struct mod_plan *plan,
		    char *err, size_t errlen);
void mod_plan_free(struct mod_plan *plan);

#endif /* VAPP_BUILDER_MODULES_H */
