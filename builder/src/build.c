/*
 * build.c - builder_build(): the kernel, the initramfs and the small files
 * of an image folder, from a validated manifest.
 *
 * Inside the initramfs (what vapp-init and the runtime agree on):
 *   /init                 vapp-init
 *   /bin/busybox + links  one symlink per applet (busybox --list-full);
 *                         none with the manifest's `busybox: false`
 *   binaries, files       where the manifest puts them
 *   shared libraries      the ELF closure of /init, BusyBox, the binaries and
 *                         the files that are ELF objects (plugins)
 *   /lib/modules/VERSION/ the modules asked for and their dependencies
 *   /etc/vapp/modules     their paths in load order, one a line
 *   /etc/vapp/modules.xen what a vchan server needs under Xen (xen-evtchn,
 *                         xen-gntalloc), loaded by vapp-init only there;
 *                         absent when the kernel has no such modules
 *   /etc/vapp/daemon      the daemon's argv, one a line
 *   /etc/vapp/restart     always|on-failure|never, then the first back-off in ms
 *   /etc/vapp/state       "SIZE_MIB MOUNTPOINT" when there is a state volume
 *   /etc/vapp/channels    the manifest's channel names, one a line (vapp.ctl,
 *                         always there, is not listed)
 *   /etc/vapp/name        the appliance's name (the guest's host name)
 *   /etc/vapp/settings    the settings the host may send, one a line (only
 *                         when the manifest lists any)
 *   /etc/vapp/manifest.yaml, /etc/vapp/proto/NAME.proto
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "vrpc_dyn.h"
#include "cpio.h"
#include "elfdeps.h"
#include "kernel.h"
#include "manifest.h"
#include "modules.h"
#include "vapp_util.h"

#define DEFAULT_KERNEL_PKG "linux-image-cloud-amd64"
#define DEFAULT_BUSYBOX "/bin/busybox"

struct build {
	const struct manifest *m;
	const struct build_opts *o;
	struct build_result *r;
	struct cpio *cpio;
	struct kernel_src k;
	const char *vmlinuz;
};

static int fail(struct build *b, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct build *b, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->r->error, sizeof(b->r->error), fmt, ap);
	va_end(ap);
	return ret;
}

static void progress(struct build *b, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void progress(struct build *b, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (!b->o->progress)
		return;
	fprintf(b->o->progress, "  %-7s ", what);
	va_start(ap, fmt);
	vfprintf(b->o->progress, fmt, ap);
	va_end(ap);
	fputc('\n', b->o->progress);
	fflush(b->o->progress);
}

static int get_kernel(struct build *b)
{
	const struct manifest *m = b->m;
	int ret;

	if (m->kernel.cmdline && strchr(m->kernel.cmdline, '\n'))
		return fail(b, -EINVAL, "kernel.cmdline holds a newline");
	if (m->kernel.path) {
		/* A kernel of one's own has no module tree we could trust to
		 * match it: its modules are to be built in. */
		if (m->kernel.n_modules)
			return fail(b, -EINVAL,
				    "kernel.path %s: kernel.modules cannot be used with a kernel "
				    "path (build them into that kernel)", m->kernel.path);
		b->vmlinuz = m->kernel.path;
		return 0;
	}
	if (m->kernel.tree) {
		ret = builder_kernel_tree(m->kernel.tree, &b->k, b->r->error, sizeof(b->r->error));
		if (ret)
			return ret;
		snprintf(b->r->kernel_version, sizeof(b->r->kernel_version), "%s", b->k.version);
		b->vmlinuz = b->k.vmlinuz;
		return 0;
	}
	ret = kernel_fetch(m->kernel.package ? m->kernel.package : DEFAULT_KERNEL_PKG,
			   b->o->cache_dir, b->o->progress, &b->k, b->r->error,
			   sizeof(b->r->error));
	if (ret)
		return ret;
	snprintf(b->r->kernel_version, sizeof(b->r->kernel_version), "%s", b->k.version);
	snprintf(b->r->kernel_package, sizeof(b->r->kernel_package), "%s", b->k.package);
	b->vmlinuz = b->k.vmlinuz;
	return 0;
}

static int add_file(struct build *b, const char *dest, uint32_t mode, const char *src,
		    const char *what)
{
	int ret = cpio_add_file(b->cpio, dest, mode, src);

	if (ret == -EEXIST)
		return fail(b, ret, "%s %s: %s is in the image twice", what, src, dest);
	if (ret)
		return fail(b, ret, "%s %s -> %s: %s", what, src, dest, strerror(-ret));
	return 0;
}

static int add_text(struct build *b, const char *dest, const struct vapp_buf *t)
{
	int ret = cpio_add_data(b->cpio, dest, 0644, t->p, t->len);

	return ret ? fail(b, ret, "%s: %s", dest, strerror(-ret)) : 0;
}

static int add_skeleton(struct build *b)
{
	static const char *const dirs[] = { "bin", "dev", "etc", "etc/vapp", "lib", "proc",
					    "root", "run", "sbin", "sys", "usr/bin", "usr/sbin",
					    "var" };
	int ret = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !ret; i++)
		ret = cpio_add_dir(b->cpio, dirs[i], 0755);
	if (!ret)
		ret = cpio_add_dir(b->cpio, "tmp", 01777);
	/* The kernel opens /dev/console for /init's stdio before any devtmpfs
	 * is mounted; Debian's built-in initramfs has it, a custom kernel may not. */
	if (!ret)
		ret = cpio_add_chardev(b->cpio, "dev/console", 0600, 5, 1);
	return ret ? fail(b, ret, "initramfs skeleton: %s", strerror(-ret)) : 0;
}

/* Debug sections are most of an unstripped daemon (a -g build of
 * hello-server: 290 KB, 85 KB without) and nothing in an appliance reads
 * them; the program's code and symbols stay as they are. */
static int add_binary(struct build *b, const struct manifest_file *f)
{
	struct elf_info info;
	struct stat st;
	char *tmp = NULL;
	int ret, fd;

	if (b->o->keep_debug || elf_read_info(f->source, &info))
		return add_file(b, f->destination, f->mode ? f->mode : 0755, f->source, "binary");
	ret = info.is_elf;
	elf_info_free(&info);
	if (!ret)
		return add_file(b, f->destination, f->mode ? f->mode : 0755, f->source, "binary");
	if (asprintf(&tmp, "%s/.strip.XXXXXX", b->o->out_dir) < 0)
		return fail(b, -ENOMEM, "out of memory");
	fd = mkstemp(tmp);
	if (fd < 0) {
		ret = fail(b, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	{
		char *argv[] = { "strip", "--strip-debug", "-o", tmp, (char *)f->source, NULL };

		ret = vapp_run_cmd(argv, NULL, 60, NULL, b->r->error, sizeof(b->r->error));
	}
	if (ret) {
		fail(b, ret > 0 ? -EIO : ret, "strip --strip-debug %s failed", f->source);
		ret = ret > 0 ? -EIO : ret;
		goto err_unlink;
	}
	ret = add_file(b, f->destination, f->mode ? f->mode : 0755, tmp, "binary");
	if (!ret && stat(f->source, &st) == 0) {
		uint64_t before = (uint64_t)st.st_size;

		if (stat(tmp, &st) == 0 && before > (uint64_t)st.st_size)
			b->r->debug_stripped += before - (uint64_t)st.st_size;
	}
err_unlink:
	unlink(tmp);
out:
	free(tmp);
	return ret;
}

static int add_manifest_files(struct build *b)
{
	const struct manifest *m = b->m;
	int ret;

	for (size_t i = 0; i < m->n_binaries; i++) {
		ret = add_binary(b, &m->binaries[i]);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < m->n_files; i++) {
		const struct manifest_file *f = &m->files[i];

		ret = add_file(b, f->destination, f->mode ? f->mode : 0644, f->source, "file");
		if (ret)
			return ret;
	}
	b->r->n_binaries = m->n_binaries;
	b->r->n_files = m->n_files;
	return 0;
}

/* One symlink per applet, unless the manifest put a file there. */
static int add_applets(struct build *b, const char *busybox)
{
	char *argv[] = { (char *)busybox, "--list-full", NULL };
	struct vapp_buf out = { 0 };
	char *line, *save = NULL;
	int ret = vapp_run_cmd(argv, NULL, 30, &out, b->r->error, sizeof(b->r->error));

	if (ret == 0)
		ret = vapp_buf_add(&out, "", 1);
	if (ret) {
		vapp_buf_free(&out);
		return fail(b, ret > 0 ? -EIO : ret, "%s --list-full failed", busybox);
	}
	for (line = strtok_r((char *)out.p, "\n", &save); line && !ret;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "bin/busybox") || cpio_has(b->cpio, line))
			continue;
		ret = cpio_add_symlink(b->cpio, line, "/bin/busybox");
		if (ret)
			fail(b, ret, "applet link %s: %s", line, strerror(-ret));
		else
			b->r->n_applets++;
	}
	vapp_buf_free(&out);
	return ret;
}

/* A library reached by two names (the interpreter as /lib64/ld-linux... and
 * as libc's DT_NEEDED) is stored once; the later name links to the first. */
static int add_closure(struct build *b, const char *busybox)
{
	const struct manifest *m = b->m;
	struct elf_closure c;
	const char **progs;
	size_t n = 0;
	int ret;

	progs = calloc(m->n_binaries + m->n_files + 2, sizeof(*progs));
	if (!progs)
		return fail(b, -ENOMEM, "out of memory");
	progs[n++] = b->o->init_path;
	if (busybox)
		progs[n++] = busybox;
	for (size_t i = 0; i < m->n_binaries; i++)
		progs[n++] = m->binaries[i].source;
	/* A file that is an ELF object (a plugin a program dlopen()s) brings
	 * its libraries too; any other file has none. */
	for (size_t i = 0; i < m->n_files; i++)
		progs[n++] = m->files[i].source;
	ret = elf_closure(progs, n, NULL, &c, b->r->error, sizeof(b->r->error));
	free(progs);
	if (ret)
		return ret;
	for (size_t i = 0; i < c.n && !ret; i++) {
		const struct elf_lib *l = &c.libs[i];
		const char *first = NULL;

		if (cpio_has(b->cpio, l->image_path))
			continue; /* the manifest's own copy wins */
		for (size_t j = 0; j < i && !first; j++)
			if (!strcmp(c.libs[j].host_path, l->host_path))
				first = c.libs[j].image_path;
		if (first)
			ret = cpio_add_symlink(b->cpio, l->image_path, first);
		else
			ret = add_file(b, l->image_path, 0755, l->host_path, "library");
		if (ret)
			fail(b, ret, "library %s: %s", l->image_path, strerror(-ret));
	}
	b->r->n_libraries = c.n;
	elf_closure_free(&c);
	return ret;
}

/* xz- or zstd-compressed modules are stored uncompressed: BusyBox insmod
 * passes the file as it is, and the kernel may not decompress modules. */
static int add_module(struct build *b, const char *rel, struct vapp_buf *list)
{
	size_t n = strlen(rel);
	const char *tool = NULL;
	char *src = vapp_path_join(b->k.moddir, rel), *dest = NULL;
	int ret = -ENOMEM;

	if (!src)
		goto out;
	if (n > 7 && !strcmp(rel + n - 7, ".ko.zst")) {
		tool = "zstd";
		n -= 4;
	} else if (n > 6 && !strcmp(rel + n - 6, ".ko.xz")) {
		tool = "xz";
		n -= 3;
	}
	if (asprintf(&dest, "/lib/modules/%s/%.*s", b->k.version, (int)n, rel) < 0) {
		dest = NULL;
		goto out;
	}
	if (tool) {
		char *argv[] = { (char *)tool, "-dc", src, NULL };
		struct vapp_buf data = { 0 };

		ret = vapp_run_cmd(argv, NULL, 60, &data, b->r->error, sizeof(b->r->error));
		if (ret == 0)
			ret = cpio_add_data(b->cpio, dest, 0644, data.p, data.len);
		vapp_buf_free(&data);
		if (ret)
			fail(b, ret > 0 ? -EIO : ret, "%s -dc %s failed", tool, src);
		ret = ret > 0 ? -EIO : ret;
	} else {
		ret = add_file(b, dest, 0644, src, "module");
	}
	if (!ret)
		ret = vapp_buf_printf(list, "%s\n", dest);
out:
	free(src);
	free(dest);
	return ret;
}

/* The modules the manifest names, plus the file system of the state
 * volume: ext2, which ext4 mounts, built into the cloud kernel but a module
 * of the generic one, which a vendor should not have to know. That module
 * needs crc32c, named only as a soft dependency (modules.softdep): it is
 * added when ext4 is a module (@p fs_module). */
static char **module_names(const struct manifest *m, bool fs_module, size_t *n)
{
	char **names = calloc(m->kernel.n_modules + 2, sizeof(*names));
	bool fs = m->state.size_mib > 0;

	if (!names)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < m->kernel.n_modules; i++) {
		char name[256];

		if (strlen(m->kernel.modules[i]) < sizeof(name)) {
			module_name(m->kernel.modules[i], name);
			fs = fs && strcmp(name, "ext4") != 0;
		}
		names[(*n)++] = m->kernel.modules[i];
	}
	if (fs)
		names[(*n)++] = (char *)"ext4";
	if (fs_module)
		names[(*n)++] = (char *)"crc32c_generic";
	return names;
}

static bool plan_has(const struct mod_plan *plan, const char *name)
{
	char got[256];

	for (size_t i = 0; i < plan->n; i++) {
		if (strlen(plan->paths[i]) < sizeof(got)) {
			module_name(plan->paths[i], got);
			if (!strcmp(got, name))
				return true;
		}
	}
	return false;
}

static int resolve(struct build *b, bool fs_module, struct mod_plan *plan)
{
	size_t n;
	char **names = module_names(b->m, fs_module, &n);
	int ret;

	if (!names)
		return fail(b, -ENOMEM, "out of memory");
	ret = modules_resolve(b->k.moddir, names, n, plan, b->r->error, sizeof(b->r->error));
	free(names);
	return ret;
}

/* Resolves the names, again with ext4's soft dependency when ext4 turned
 * out to be a module. */
static int plan_modules(struct build *b, struct mod_plan *plan)
{
	int ret = resolve(b, false, plan);

	if (ret || !b->m->state.size_mib || !plan_has(plan, "ext4"))
		return ret;
	mod_plan_free(plan);
	return resolve(b, true, plan);
}

/* The modules an appliance's "chan:" channels need under Xen (a vchan
 * server: event channels and grant allocation), and its state volume
 * (Xen's block front end), in every image whose kernel has them, since the
 * same image runs under QEMU/KVM and Xen. A kernel without them (built in,
 * or no Xen) gets no list. Those the manifest's own list holds already
 * (@p have) are not added again. */
static int add_xen_modules(struct build *b, const struct mod_plan *have)
{
	static char *const names[] = { "xen_evtchn", "xen_gntalloc", "xen_blkfront" };
	struct mod_plan plan;
	struct vapp_buf list = { 0 };
	size_t n = b->m->state.size_mib ? 3 : 2;
	char err[256];
	int ret = 0;

	if (!b->k.moddir || modules_resolve(b->k.moddir, names, n, &plan, err, sizeof(err)))
		return 0;
	for (size_t i = 0; i < plan.n && !ret; i++) {
		char name[256];

		if (strlen(plan.paths[i]) >= sizeof(name))
			continue;
		module_name(plan.paths[i], name);
		if (!have || !plan_has(have, name))
			ret = add_module(b, plan.paths[i], &list);
	}
	if (!ret && list.len)
		ret = add_text(b, "/etc/vapp/modules.xen", &list);
	mod_plan_free(&plan);
	vapp_buf_free(&list);
	return ret;
}

static int add_modules(struct build *b)
{
	struct mod_plan plan;
	struct vapp_buf list = { 0 };
	int ret = 0;

	/* A kernel.path has no module folder: its drivers are built in. */
	if (b->k.moddir && !(ret = plan_modules(b, &plan))) {
		for (size_t i = 0; i < plan.n && !ret; i++)
			ret = add_module(b, plan.paths[i], &list);
		b->r->n_modules = plan.n;
		b->r->n_builtin = plan.n_builtin;
		if (!ret)
			ret = add_xen_modules(b, &plan);
		mod_plan_free(&plan);
	}
	if (!ret)
		ret = add_text(b, "/etc/vapp/modules", &list);
	vapp_buf_free(&list);
	return ret;
}

/* One value a line: a newline inside one would shift every later line. */
static int add_line(struct build *b, struct vapp_buf *t, const char *what, const char *s)
{
	if (strchr(s, '\n'))
		return fail(b, -EINVAL, "%s \"%s\" holds a newline", what, s);
	return vapp_buf_printf(t, "%s\n", s);
}

/* Spelled here rather than taken from the manifest library, so that the
 * builder links without it (its tests build a manifest by hand). */
static const char *restart_name(enum manifest_restart r)
{
	switch (r) {
	case MANIFEST_RESTART_ON_FAILURE:
		return "on-failure";
	case MANIFEST_RESTART_NEVER:
		return "never";
	case MANIFEST_RESTART_ALWAYS:
	default:
		return "always";
	}
}

static int add_config(struct build *b)
{
	const struct manifest *m = b->m;
	struct vapp_buf t = { 0 };
	int ret = 0;

	for (size_t i = 0; i < m->daemon.argc && !ret; i++)
		ret = add_line(b, &t, "daemon argument", m->daemon.argv[i]);
	if (!ret)
		ret = add_text(b, "/etc/vapp/daemon", &t);
	t.len = 0;
	if (!ret)
		ret = vapp_buf_printf(&t, "%s\n%u\n", restart_name(m->daemon.restart),
				 m->daemon.restart_delay_ms);
	if (!ret)
		ret = add_text(b, "/etc/vapp/restart", &t);
	t.len = 0;
	if (!ret && m->state.size_mib) {
		const char *mnt = m->state.mount ? m->state.mount : "/var/lib/vapp";

		ret = strchr(mnt, ' ') ? fail(b, -EINVAL, "state mount \"%s\" holds a space", mnt)
				       : vapp_buf_printf(&t, "%u %s\n", m->state.size_mib, mnt);
		if (!ret)
			ret = add_text(b, "/etc/vapp/state", &t);
		t.len = 0;
	}
	for (size_t i = 0; i < m->n_channels && !ret; i++)
		ret = add_line(b, &t, "channel", m->channels[i].name);
	if (!ret)
		ret = add_text(b, "/etc/vapp/channels", &t);
	t.len = 0;
	if (!ret)
		ret = add_line(b, &t, "name", m->name);
	if (!ret)
		ret = add_text(b, "/etc/vapp/name", &t);
	t.len = 0;
	for (size_t i = 0; i < m->daemon.n_settings && !ret; i++)
		ret = add_line(b, &t, "setting", m->daemon.settings[i]);
	if (!ret && m->daemon.n_settings)
		ret = add_text(b, "/etc/vapp/settings", &t);
	vapp_buf_free(&t);
	return ret;
}

/* The image describes itself: the manifest and its services' .proto files. */
static int add_self(struct build *b)
{
	const struct manifest *m = b->m;
	int ret;

	ret = add_file(b, "/etc/vapp/manifest.yaml", 0644, m->file, "manifest");
	for (size_t i = 0; i < m->n_services && !ret; i++) {
		const char *proto = m->services[i].proto;
		const char *base = strrchr(proto, '/');
		char *dest;
		int seen = 0;

		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(m->services[j].proto, proto);
		if (seen)
			continue;
		if (asprintf(&dest, "/etc/vapp/proto/%s", base ? base + 1 : proto) < 0)
			return fail(b, -ENOMEM, "out of memory");
		ret = add_file(b, dest, 0644, proto, "service .proto");
		free(dest);
		b->r->n_protos++;
	}
	return ret;
}

static int write_out(struct build *b, const char *name, const void *data, size_t len)
{
	char *path = vapp_path_join(b->o->out_dir, name);
	int ret;

	if (!path)
		return fail(b, -ENOMEM, "out of memory");
	ret = vapp_write_file_atomic(path, data, len, 0644);
	if (ret)
		fail(b, ret, "%s: %s", path, strerror(-ret));
	free(path);
	return ret;
}

static int copy_out(struct build *b, const char *name, const char *src, uint64_t *size)
{
	struct vapp_buf data = { 0 };
	int ret = vapp_read_file(src, &data);

	if (ret)
		fail(b, ret, "%s: %s", src, strerror(-ret));
	else
		ret = write_out(b, name, data.p, data.len);
	if (!ret && size)
		*size = data.len;
	vapp_buf_free(&data);
	return ret;
}

static int write_initramfs(struct build *b)
{
	struct vapp_buf raw = { 0 }, z = { 0 };
	int ret = cpio_write(b->cpio, &raw, &b->r->n_entries);

	if (ret) {
		fail(b, ret, "initramfs: %s", strerror(-ret));
		goto out;
	}
	b->r->initramfs_raw = raw.len;
	progress(b, "ZSTD", "initramfs (%zu entries, %.1f MiB of cpio)",
		 b->r->n_entries, raw.len / 1048576.0);
	ret = cpio_compress(raw.p, raw.len, &z);
	if (ret) {
		fail(b, ret, "zstd: %s", strerror(-ret));
		goto out;
	}
	b->r->initramfs_size = z.len;
	ret = write_out(b, "initramfs", z.p, z.len);
out:
	vapp_buf_free(&raw);
	vapp_buf_free(&z);
	return ret;
}

/* services.desc: the manifest's services compiled once, by protoc, into
 * a FileDescriptorSet (empty without services), so that no protoc runs
 * when they are called. */
static int write_services(struct build *b)
{
	const char *protos[64];
	char err[1024] = "";
	void *set = NULL;
	size_t n = 0, len = 0;
	int ret;

	for (size_t i = 0; i < b->m->n_services && n < 63; i++) {
		bool seen = false;

		for (size_t j = 0; j < n; j++)
			seen |= !strcmp(protos[j], b->m->services[i].proto);
		if (!seen)
			protos[n++] = b->m->services[i].proto;
	}
	protos[n] = NULL;
	if (!n)
		return write_out(b, "services.desc", "", 0);
	progress(b, "PROTOC", "services.desc (%zu file%s)", n, n == 1 ? "" : "s");
	ret = vrpc_dyn_compile(protos, NULL, &set, &len, err, sizeof(err));
	if (ret)
		return fail(b, ret, "services: %s", err[0] ? err : strerror(-ret));
	ret = write_out(b, "services.desc", set, len);
	free(set);
	return ret;
}

static int check_opts(struct build *b)
{
	if (!b->o->out_dir || !b->o->cache_dir || !b->o->init_path)
		return fail(b, -EINVAL, "out_dir, cache_dir and init_path are required");
	if (b->o->source_date_epoch > UINT32_MAX)
		return fail(b, -ERANGE, "SOURCE_DATE_EPOCH %llu does not fit cpio's 32-bit mtime",
			    (unsigned long long)b->o->source_date_epoch);
	return 0;
}

int builder_build(const struct manifest *m, const struct build_opts *o, struct build_result *r)
{
	struct build b = { .m = m, .o = o, .r = r };
	/* NULL: the manifest leaves BusyBox out (no shell, no applets). */
	const char *busybox = !m->busybox ? NULL : o->busybox_path ? o->busybox_path : DEFAULT_BUSYBOX;
	int ret;

	memset(r, 0, sizeof(*r));
	ret = check_opts(&b);
	if (ret)
		return ret;
	ret = vapp_mkdir_p(o->out_dir, 0755);
	if (ret) {
		fail(&b, ret, "%s: %s", o->out_dir, strerror(-ret));
		goto out;
	}
	ret = get_kernel(&b);
	if (ret)
		goto out;
	b.cpio = cpio_new((uint32_t)o->source_date_epoch);
	if (!b.cpio) {
		ret = fail(&b, -ENOMEM, "out of memory");
		goto out;
	}
	/* The manifest's files first: applet links and libraries give way to them. */
	ret = add_skeleton(&b);
	if (!ret)
		ret = add_file(&b, "/init", 0755, o->init_path, "init");
	if (!ret && busybox)
		ret = add_file(&b, "/bin/busybox", 0755, busybox, "busybox");
	if (!ret)
		ret = add_manifest_files(&b);
	if (!ret)
		ret = add_closure(&b, busybox);
	if (!ret && busybox)
		ret = add_applets(&b, busybox);
	if (!ret)
		ret = add_modules(&b);
	if (!ret)
		ret = add_config(&b);
	if (!ret)
		ret = add_self(&b);
	if (ret)
		goto out;
	ret = write_initramfs(&b);
	if (!ret)
		ret = copy_out(&b, "kernel", b.vmlinuz, &r->kernel_size);
	if (!ret)
		ret = copy_out(&b, "manifest.yaml", m->file, NULL);
	if (!ret)
		ret = write_services(&b);
out:
	cpio_free(b.cpio);
	kernel_src_free(&b.k);
	return ret;
}
