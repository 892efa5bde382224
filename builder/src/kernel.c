/* kernel.c - fetch and unpack a Debian kernel package into the cache. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel.h"
#include "vapp_util.h"

/* Bounds on the host tools: a download over a slow mirror, an unpack. */
#define APT_TIMEOUT_S 900
#define TOOL_TIMEOUT_S 300

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* A package name goes to apt as one argv element, but a name beginning with
 * '-' would still be read as an option. */
static int valid_pkg(const char *pkg)
{
	if (!pkg[0] || !((pkg[0] >= 'a' && pkg[0] <= 'z') || (pkg[0] >= '0' && pkg[0] <= '9')))
		return 0;
	for (const char *s = pkg; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("+-.", *s)))
			return 0;
	return strlen(pkg) < 100;
}

/* linux-image-cloud-amd64 depends on linux-image-6.1.0-NN-cloud-amd64,
 * which holds the files; a versioned name is its own answer. */
static int real_package(const char *pkg, char *real, size_t len, char *err, size_t errlen)
{
	char *argv[] = { "apt-cache", "depends", "--no-recommends", "--no-suggests",
			 (char *)pkg, NULL };
	struct vapp_buf out = { 0 };
	char *line, *save = NULL;
	int ret;

	if (!strncmp(pkg, "linux-image-", 12) && pkg[12] >= '0' && pkg[12] <= '9') {
		snprintf(real, len, "%s", pkg);
		return 0;
	}
	ret = vapp_run_cmd(argv, NULL, TOOL_TIMEOUT_S, &out, err, errlen);
	if (ret == 0)
		ret = vapp_buf_add(&out, "", 1);
	if (ret) {
		vapp_buf_free(&out);
		if (ret > 0)
			snprintf(err, errlen, "apt-cache depends %s failed (status %d)", pkg, ret);
		return ret > 0 ? -EIO : ret;
	}
	ret = -ENOENT;
	for (line = strtok_r((char *)out.p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char dep[128];

		if (sscanf(line, " Depends: %127s", dep) == 1 && !strncmp(dep, "linux-image-", 12) &&
		    dep[12] >= '0' && dep[12] <= '9') {
			snprintf(real, len, "%s", dep);
			ret = 0;
			break;
		}
	}
	if (ret)
		snprintf(err, errlen, "%s: no linux-image-VERSION package among its dependencies", pkg);
	vapp_buf_free(&out);
	return ret;
}

/* The newest CACHE/debs/REAL_*.deb (by name), malloc'd, or NULL. */
static char *find_deb(const char *debs, const char *real)
{
	struct dirent *de;
	char *best = NULL;
	size_t n = strlen(real);
	DIR *d = opendir(debs);

	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (strncmp(de->d_name, real, n) || de->d_name[n] != '_' || l < 4 ||
		    strcmp(de->d_name + l - 4, ".deb"))
			continue;
		if (!best || strcmp(de->d_name, best) > 0) {
			free(best);
			best = strdup(de->d_name);
		}
	}
	closedir(d);
	if (best) {
		char *full = vapp_path_join(debs, best);

		free(best);
		best = full;
	}
	return best;
}

static int download(const char *pkg, const char *cache_dir, FILE *progress, char **deb,
		    char *err, size_t errlen)
{
	char real[128], *debs = vapp_path_join(cache_dir, "debs");
	char *argv[] = { "apt-get", "download", "-q", real, NULL };
	int ret;

	if (!debs)
		return -ENOMEM;
	ret = real_package(pkg, real, sizeof(real), err, errlen);
	if (ret)
		goto out;
	ret = vapp_mkdir_p(debs, 0755);
	if (ret) {
		snprintf(err, errlen, "%s: %s", debs, strerror(-ret));
		goto out;
	}
	*deb = find_deb(debs, real);
	if (*deb)
		goto out;
	if (progress)
		fprintf(progress, "  FETCH   %s (apt-get download)\n", real), fflush(progress);
	ret = vapp_run_cmd(argv, debs, APT_TIMEOUT_S, NULL, err, errlen);
	if (ret) {
		if (ret > 0 || ret == -ETIMEDOUT) {
			/* apt's own message, if any, is already in err; add what failed. */
			size_t used = strlen(err);

			while (used && (err[used - 1] == '\n' || err[used - 1] == ' '))
				err[--used] = '\0';
			snprintf(err + used, errlen - used, "%sapt-get download %s %s",
				 used ? ": " : "", real,
				 ret == -ETIMEDOUT ? "timed out" : "failed");
		}
		ret = ret > 0 ? -EIO : ret;
		goto out;
	}
	*deb = find_deb(debs, real);
	if (!*deb) {
		snprintf(err, errlen, "apt-get download %s left no .deb in %s", real, debs);
		ret = -EIO;
	}
out:
	free(debs);
	return ret;
}

/* Unpacks @p deb into DIR.tmp.PID/root, then renames it to DIR, so that a
 * build that dies half-way leaves no tree that looks whole. */
static int unpack(const char *deb, const char *dir, FILE *progress, char *err, size_t errlen)
{
	char *tmp = NULL, *root = NULL, *ok = NULL;
	int ret = -ENOMEM;

	if (asprintf(&tmp, "%s.tmp.%d", dir, (int)getpid()) < 0) {
		tmp = NULL;
		goto out;
	}
	root = vapp_path_join(tmp, "root");
	ok = vapp_path_join(tmp, "ok");
	if (!root || !ok)
		goto out;
	vapp_rm_rf(tmp);
	ret = vapp_mkdir_p(tmp, 0755);
	if (ret) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(-ret));
		goto out;
	}
	if (progress)
		fprintf(progress, "  UNPACK  %s\n", deb), fflush(progress);
	{
		char *argv[] = { "dpkg-deb", "-x", (char *)deb, root, NULL };

		ret = vapp_run_cmd(argv, NULL, TOOL_TIMEOUT_S, NULL, err, errlen);
	}
	if (ret) {
		if (ret > 0)
			snprintf(err, errlen, "dpkg-deb -x %s failed (status %d)", deb, ret);
		ret = ret > 0 ? -EIO : ret;
		goto err_tmp;
	}
	ret = vapp_write_file_atomic(ok, "", 0, 0644);
	if (ret)
		goto err_tmp;
	/* guest.sh may have filled it meanwhile; its tree is as good as ours. */
	if (exists(dir)) {
		char *dir_ok = vapp_path_join(dir, "ok");
		int whole = dir_ok && exists(dir_ok);

		free(dir_ok);
		if (whole)
			goto err_tmp;
		vapp_rm_rf(dir);
	}
	if (rename(tmp, dir) < 0) {
		ret = -errno;
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		goto err_tmp;
	}
	goto out;

err_tmp:
	vapp_rm_rf(tmp);
out:
	free(tmp);
	free(root);
	free(ok);
	return ret;
}

/* ROOT/boot/vmlinuz-VERSION: the one kernel of the package. */
static int find_kernel(const char *root, struct kernel_src *k, char *err, size_t errlen)
{
	char *boot = vapp_path_join(root, "boot");
	struct dirent *de;
	DIR *d;
	int ret = -ENOENT;

	if (!boot)
		return -ENOMEM;
	d = opendir(boot);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, "vmlinuz-", 8) || strlen(de->d_name + 8) > 100)
			continue;
		snprintf(k->version, sizeof(k->version), "%s", de->d_name + 8);
		k->vmlinuz = vapp_path_join(boot, de->d_name);
		ret = k->vmlinuz ? 0 : -ENOMEM;
		break;
	}
	if (d)
		closedir(d);
	if (ret == -ENOENT)
		snprintf(err, errlen, "no vmlinuz-* in %s", boot);
	free(boot);
	return ret;
}

static int ensure_depmod(const char *root, struct kernel_src *k, char *err, size_t errlen)
{
	char *dep = vapp_path_join(k->moddir, "modules.dep");
	char *argv[] = { "depmod", "-b", (char *)root, k->version, NULL };
	int ret = 0;

	if (!dep)
		return -ENOMEM;
	if (!exists(dep)) {
		ret = vapp_run_cmd(argv, NULL, TOOL_TIMEOUT_S, NULL, err, errlen);
		if (ret > 0)
			snprintf(err, errlen, "depmod -b %s %s failed (status %d)", root, k->version,
				 ret);
		ret = ret > 0 ? -EIO : ret;
	}
	free(dep);
	return ret;
}

int kernel_fetch(const char *pkg, const char *cache_dir, FILE *progress, struct kernel_src *k,
		 char *err, size_t errlen)
{
	char *dir = NULL, *ok = NULL, *root = NULL, *deb = NULL, *kdir = NULL;
	int ret = -ENOMEM;

	memset(k, 0, sizeof(*k));
	if (!valid_pkg(pkg)) {
		snprintf(err, errlen, "kernel package \"%s\" is not a Debian package name", pkg);
		return -EINVAL;
	}
	kdir = vapp_path_join(cache_dir, "kernel");
	dir = kdir ? vapp_path_join(kdir, pkg) : NULL;
	ok = dir ? vapp_path_join(dir, "ok") : NULL;
	root = dir ? vapp_path_join(dir, "root") : NULL;
	if (!root)
		goto out;
	if (!exists(ok)) {
		ret = download(pkg, cache_dir, progress, &deb, err, errlen);
		if (!ret)
			ret = vapp_mkdir_p(kdir, 0755);
		if (!ret)
			ret = unpack(deb, dir, progress, err, errlen);
		if (ret)
			goto out;
	}
	ret = find_kernel(root, k, err, errlen);
	if (ret)
		goto out;
	snprintf(k->package, sizeof(k->package), "linux-image-%.100s", k->version);
	if (asprintf(&k->moddir, "%s/lib/modules/%s", root, k->version) < 0) {
		k->moddir = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = ensure_depmod(root, k, err, errlen);
out:
	if (ret)
		kernel_src_free(k);
	free(kdir);
	free(dir);
	free(ok);
	free(root);
	free(deb);
	return ret;
}

int builder_kernel_tree(const char *tree, struct kernel_src *k, char *err, size_t errlen)
{
	char *mods = vapp_path_join(tree, "lib/modules"), *dep = NULL;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	memset(k, 0, sizeof(*k));
	k->vmlinuz = vapp_path_join(tree, "vmlinuz");
	if (!k->vmlinuz || !mods) {
		ret = -ENOMEM;
		goto out;
	}
	if (!exists(k->vmlinuz)) {
		snprintf(err, errlen, "kernel.tree %s has no vmlinuz: build it (make kernel)", tree);
		ret = -ENOENT;
		goto out;
	}
	d = opendir(mods);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (k->version[0]) {
			snprintf(err, errlen, "kernel.tree %s: more than one folder in lib/modules "
				 "(%s, %s)", tree, k->version, de->d_name);
			ret = -EINVAL;
			break;
		}
		if (strlen(de->d_name) >= sizeof(k->version)) {
			snprintf(err, errlen, "kernel.tree %s: lib/modules/%.64s...: name too long",
				 tree, de->d_name);
			ret = -EINVAL;
			break;
		}
		memcpy(k->version, de->d_name, strlen(de->d_name) + 1);
	}
	if (d)
		closedir(d);
	if (!ret && !k->version[0]) {
		snprintf(err, errlen, "kernel.tree %s has no lib/modules/VERSION folder", tree);
		ret = -ENOENT;
	}
	if (!ret) {
		k->moddir = vapp_path_join(mods, k->version);
		dep = k->moddir ? vapp_path_join(k->moddir, "modules.dep") : NULL;
		if (!dep)
			ret = -ENOMEM;
	}
	if (!ret && !exists(dep)) {
		snprintf(err, errlen, "kernel.tree %s: %s has no modules.dep (run depmod)", tree,
			 k->moddir);
		ret = -ENOENT;
	}
out:
	free(mods);
	free(dep);
	if (ret)
		kernel_src_free(k);
	return ret;
}

void kernel_src_free(struct kernel_src *k)
{
	if (!k)
		return;
	free(k->vmlinuz);
	free(k->moddir);
	k->vmlinuz = k->moddir = NULL;
}
