/*
 * validate.c - the checks that need more than one value, or the file system:
 * everything a build would trip over, found before any build starts.
 * Single-value formats (names, MACs, PCI addresses) are here too, since they
 * are what a user gets wrong. Devices and services are in validate_devices.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest_private.h"
#include "validate.h"

bool vchar_ok(const char *s, const char *extra, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && !(i && strchr(extra, ch)))
			return false;
	}
	return true;
}

bool vcheck_file(struct mctx *c, const char *key, const char *path, bool exec)
{
	struct stat st;

	if (!path)
		return false; /* its ${NAME} was already reported */
	if (c->image)
		return false; /* the build checked it; this host need not have it */
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			diag_error(c, key, "no such file: %s", path);
		else
			diag_error(c, key, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		/* Never opened: a FIFO or a device could block or never end. */
		diag_error(c, key, "not a regular file: %s", path);
	} else if (exec && !(st.st_mode & 0111)) {
		diag_error(c, key, "not executable: %s", path);
	} else {
		return true;
	}
	return false;
}

/* An absolute, normalised path in the image: "/a/b", no "//", ".", "..". */
bool vimage_path_ok(const char *p)
{
	if (p[0] != '/' || !p[1] || p[strlen(p) - 1] == '/' || strstr(p, "//") ||
	    strstr(p, "/./") || strstr(p, "/../"))
		return false;
	size_t n = strlen(p);

	if ((n >= 2 && !strcmp(p + n - 2, "/.")) || (n >= 3 && !strcmp(p + n - 3, "/..")))
		return false;
	return !strchr(p, '\n');
}

static void check_name(struct mctx *c, const struct manifest *m)
{
	if (m->name && !vchar_ok(m->name, "-", 1, 63))
		diag_error(c, "name",
			   "'%.64s' is not a valid appliance name: 1 to 63 lowercase letters, "
			   "digits and '-', starting with a letter or digit",
			   m->name);
	if (m->version && !vchar_ok(m->version, ".+~_-", 1, 64))
		diag_error(c, "version",
			   "'%.64s' is not a valid version: letters, digits and . + ~ _ -", m->version);
}

/* A kernel tree (kernel/build.sh's output) has its image and one module
 * folder; one not built yet says how to build it. */
static void vcheck_tree(struct mctx *c, const char *key, const char *tree)
{
	char path[4096];
	struct stat st;

	if (!tree || c->image)
		return; /* unresolved, or an image's: the build checked it */
	if (snprintf(path, sizeof(path), "%s/vmlinuz", tree) >= (int)sizeof(path)) {
		diag_error(c, key, "the path is too long");
		return;
	}
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		diag_error(c, key, "%.200s has no kernel image (vmlinuz): build the tree first "
			   "(make kernel, or kernel/build.sh)", tree);
}

static void check_kernel(struct mctx *c, const struct manifest *m, const struct raw_manifest *raw)
{
	const struct manifest_kernel *k = &m->kernel;
	char key[64], other[64];

	if (raw->kernel && !!raw->kernel->package + !!raw->kernel->path + !!raw->kernel->tree > 1)
		diag_error(c, raw->kernel->tree ? "kernel.tree" : "kernel.path",
			   "give one of kernel.package, kernel.path and kernel.tree");
	else if (raw->kernel && raw->kernel->path)
		vcheck_file(c, "kernel.path", k->path, false);
	else if (raw->kernel && raw->kernel->tree)
		vcheck_tree(c, "kernel.tree", k->tree);
	if (k->package && !vchar_ok(k->package, "+.-", 2, 128))
		diag_error(c, "kernel.package", "'%.64s' is not a Debian package name", k->package);
	/* The cloud kernel is built without USB host controller drivers. */
	if (m->usb && k->package && !strcmp(k->package, "linux-image-cloud-amd64"))
		diag_error(c, "kernel.package",
			   "devices.usb needs a kernel with USB drivers: linux-image-cloud-amd64 "
			   "has none (leave kernel.package out, or say linux-image-amd64)");
	/* ... and without any sound support. */
	if (m->sound && k->package && !strcmp(k->package, "linux-image-cloud-amd64"))
		diag_error(c, "kernel.package",
			   "devices.sound needs a kernel with sound: linux-image-cloud-amd64 "
			   "has none (leave kernel.package out, or say linux-image-amd64)");
	if (k->cmdline && strchr(k->cmdline, '\n'))
		diag_error(c, "kernel.cmdline", "the kernel command line must be one line");
	for (size_t i = 0; i < k->n_modules; i++) {
		const char *mod = k->modules[i];
		size_t n = strlen(mod);

		snprintf(key, sizeof(key), "kernel.modules[%zu]", i);
		if (n > 3 && !strcmp(mod + n - 3, ".ko")) {
			diag_error(c, key, "give the module's name without .ko: '%.*s'", (int)(n - 3),
				   mod);
			continue;
		}
		if (!n || n > 64 || strspn(mod, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						"0123456789_-") != n) {
			diag_error(c, key, "'%.64s' is not a kernel module name", mod);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(k->modules[j], mod)) {
				snprintf(other, sizeof(other), "kernel.modules[%zu]", j);
				diag_error(c, key, "module '%s' is listed twice (also %s)", mod, other);
				break;
			}
	}
}

static void check_sizes(struct mctx *c, const struct manifest *m)
{
	if (m->vcpus < 1 || m->vcpus > 64)
		diag_error(c, "vcpus", "vcpus must be 1 to 64, not %u", m->vcpus);
	/* Below this the stock kernel does not get to /init. */
	if (m->memory_mib < 16)
		diag_error(c, "memory", "memory must be at least 16 MiB, not %u", m->memory_mib);
	if (m->state.mount && m->state.size_mib == 0)
		diag_error(c, "state.size", "a state volume needs a size of at least 1 MiB");
	if (m->state.mount && (!vimage_path_ok(m->state.mount) || !strcmp(m->state.mount, "/")))
		diag_error(c, "state.mount", "'%.64s' is not an absolute path in the image",
			   m->state.mount);
	else if (m->state.mount && vreserved(m->state.mount, true))
		diag_error(c, "state.mount", "cannot mount the state volume on %s",
			   m->state.mount);
}

/* Places vapp build writes itself, or the kernel owns. */
bool vreserved(const char *p, bool for_mount)
{
	static const char *const dirs[] = { "/etc/vapp", "/proc", "/sys", "/dev" };

	if (!for_mount && (!strcmp(p, "/init") || !strcmp(p, "/bin/busybox")))
		return true;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		size_t n = strlen(dirs[i]);

		if (!strncmp(p, dirs[i], n) && (!p[n] || p[n] == '/'))
			return true;
	}
	return false;
}

static void check_file_list(struct mctx *c, const struct manifest *m, bool binaries)
{
	const struct manifest_file *v = binaries ? m->binaries : m->files;
	size_t n = binaries ? m->n_binaries : m->n_files;
	const char *what = binaries ? "binaries" : "files";
	char key[64], other[64];

	for (size_t i = 0; i < n; i++) {
		const char *dst = v[i].destination;

		snprintf(key, sizeof(key), "%s[%zu].source", what, i);
		vcheck_file(c, key, v[i].source, binaries);
		if (!dst)
			continue;
		snprintf(key, sizeof(key), "%s[%zu].destination", what, i);
		if (!vimage_path_ok(dst)) {
			diag_error(c, key, "'%.64s' is not an absolute path in the image", dst);
			continue;
		}
		if (vreserved(dst, false)) {
			diag_error(c, key, "%s is written by vapp build itself", dst);
			continue;
		}
		/* Earlier entries: all binaries, then the files before this one. */
		for (size_t j = 0; j < m->n_binaries + (binaries ? 0 : i); j++) {
			const struct manifest_file *o = j < m->n_binaries ? &m->binaries[j]
									 : &m->files[j - m->n_binaries];

			if (binaries && j >= i)
				break;
			if (o->destination && !strcmp(o->destination, dst)) {
				snprintf(other, sizeof(other), "%s[%zu]",
					 j < m->n_binaries ? "binaries" : "files",
					 j < m->n_binaries ? j : j - m->n_binaries);
				diag_error(c, key, "%s is also the destination of %s", dst, other);
				break;
			}
		}
	}
}

static bool in_image(const struct manifest *m, const char *p)
{
	if (!strcmp(p, "/bin/busybox") || !strcmp(p, "/bin/sh"))
		return m->busybox;
	for (size_t i = 0; i < m->n_binaries; i++)
		if (m->binaries[i].destination && !strcmp(m->binaries[i].destination, p))
			return true;
	for (size_t i = 0; i < m->n_files; i++)
		if (m->files[i].destination && !strcmp(m->files[i].destination, p))
			return true;
	return false;
}

static void check_daemon(struct mctx *c, const struct manifest *m)
{
	const struct manifest_daemon *d = &m->daemon;
	char key[64];

	for (size_t i = 0; i < d->argc; i++) {
		snprintf(key, sizeof(key), "daemon.command[%zu]", i);
		/* /etc/vapp/daemon holds one argument per line. */
		if (strchr(d->argv[i], '\n'))
			diag_error(c, key, "an argument cannot hold a newline");
	}
	if (d->argc && d->argv[0][0] != '/')
		diag_error(c, "daemon.command[0]",
			   "the daemon must be an absolute path in the image, not '%.64s'",
			   d->argv[0]);
	else if (d->argc && !in_image(m, d->argv[0]))
		diag_error(c, "daemon.command[0]",
			   (!strcmp(d->argv[0], "/bin/sh") || !strcmp(d->argv[0], "/bin/busybox"))
				   ? "%.128s is BusyBox's, and busybox is false"
				   : "%.128s is not in the image: add it to binaries or files",
			   d->argv[0]);
	for (size_t i = 0; i < d->n_settings; i++) {
		snprintf(key, sizeof(key), "daemon.settings[%zu]", i);
		if (!manifest_setting_name_ok(d->settings[i])) {
			diag_error(c, key,
				   "'%.64s' is not a setting name: [A-Za-z0-9._-], 1 to 63, "
				   "not starting with '.' (it is a file name in the appliance)",
				   d->settings[i]);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->settings[j], d->settings[i])) {
				diag_error(c, key, "setting '%s' is listed twice (also daemon.settings[%zu])",
					   d->settings[i], j);
				break;
			}
	}
	if (d->n_settings > 16)
		diag_error(c, "daemon.settings", "at most 16 settings, not %zu", d->n_settings);
	if (d->restart_delay_ms < 1 || d->restart_delay_ms > 30000)
		diag_error(c, "daemon.restart_delay_ms",
			   "the first restart delay must be 1 to 30000 ms, not %u",
			   d->restart_delay_ms);
}

void validate(struct mctx *c, const struct manifest *m, const struct raw_manifest *raw)
{
	check_name(c, m);
	check_kernel(c, m, raw);
	check_sizes(c, m);
	check_file_list(c, m, true);
	check_file_list(c, m, false);
	check_daemon(c, m);
	if (raw->signing)
		vcheck_file(c, "signing.key", m->signing_key, false);
	validate_devices(c, m, raw);
}
