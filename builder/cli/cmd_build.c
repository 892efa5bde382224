/* cmd_build.c - vapp build: a manifest -> a measured, signed image folder. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder.h"
#include "cmd.h"
#include "hvconfig.h"
#include "manifest.h"
#include "measure.h"
#include "oci.h"

#ifndef VAPP_BUILD_DIR
#define VAPP_BUILD_DIR "build"
#endif
#define MAX_VARS 32

extern const struct vapp_cmd vapp_cmd_build;

struct args {
	const char *manifest, *out, *cache, *init, *busybox, *oci;
	bool keep_debug;
	struct manifest_var vars[MAX_VARS + 2];
	size_t n_vars;
	bool quiet;
	uint64_t epoch;
};

static int parse_define(struct args *a, char *def)
{
	char *eq = strchr(def, '=');

	if (!eq || eq == def)
		return cmd_usage_error(&vapp_cmd_build, "-D %s: expected NAME=VALUE", def);
	if (a->n_vars == MAX_VARS)
		return cmd_usage_error(&vapp_cmd_build, "more than %d -D variables", MAX_VARS);
	*eq = '\0';
	a->vars[a->n_vars++] = (struct manifest_var){ def, eq + 1 };
	return 0;
}

/* SOURCE_DATE_EPOCH (reproducible-builds.org): every mtime in the image. */
static int parse_epoch(struct args *a)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;

	a->epoch = 0;
	if (!s || !*s)
		return 0;
	errno = 0;
	a->epoch = strtoull(s, &end, 10);
	if (errno || *end || s[0] == '-' || a->epoch > UINT32_MAX)
		return cmd_usage_error(&vapp_cmd_build,
				       "SOURCE_DATE_EPOCH=%s: expected seconds since 1970 (32 bits)", s);
	return 0;
}

static int parse_args(struct args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "define", required_argument, NULL, 'D' },
		{ "cache", required_argument, NULL, 'c' },
		{ "init", required_argument, NULL, 'i' },
		{ "busybox", required_argument, NULL, 'b' },
		{ "keep-debug", no_argument, NULL, 'k' },
		{ "oci", required_argument, NULL, 'O' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_build = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "o:D:q", opts, NULL)) != -1) {
		switch (c) {
		case 'o': a->out = optarg; break;
		case 'c': a->cache = optarg; break;
		case 'i': a->init = optarg; break;
		case 'b': a->busybox = optarg; break;
		case 'q': a->quiet = true; break;
		case 'k': a->keep_debug = true; break;
		case 'O': a->oci = optarg; break;
		case 'D':
			ret = parse_define(a, optarg);
			if (ret)
				return ret;
			break;
		default:
			return cmd_usage_error(&vapp_cmd_build, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(&vapp_cmd_build, "expected one MANIFEST");
	if (a->oci) {
		char dir[PATH_MAX], tag[OCI_TAG_MAX + 1], err[OCI_ERR_LEN];

		if (oci_ref_split(a->oci, dir, tag, err, sizeof(err)))
			return cmd_usage_error(&vapp_cmd_build, "--oci %s", err);
	}
	a->manifest = argv[optind];
	for (size_t i = 0; i < a->n_vars; i++)
		have_build |= !strcmp(a->vars[i].name, "BUILD");
	if (!have_build)
		a->vars[a->n_vars++] = (struct manifest_var){ "BUILD", VAPP_BUILD_DIR };
	a->vars[a->n_vars] = (struct manifest_var){ NULL, NULL };
	return parse_epoch(a);
}

static const char *var(const struct args *a, const char *name)
{
	for (size_t i = 0; i < a->n_vars; i++)
		if (!strcmp(a->vars[i].name, name))
			return a->vars[i].value;
	return NULL;
}

static double mib(uint64_t n)
{
	return (double)n / (1024.0 * 1024.0);
}

static void summary(const struct manifest *m, const char *out, const struct build_result *r,
		    const struct measure_result *mr, const char *cmdline)
{
	uint64_t total = r->kernel_size + r->initramfs_size;
	char hex[MEASURE_HEX_LEN + 1];

	printf("vapp build: %s %s -> %s\n", m->name, m->version ? m->version : "", out);
	if (r->kernel_package[0])
		printf("  kernel      %7.2f MiB  %s (%s)\n", mib(r->kernel_size), r->kernel_package,
		       r->kernel_version);
	else if (m->kernel.tree)
		printf("  kernel      %7.2f MiB  %s (%s)\n", mib(r->kernel_size), m->kernel.tree,
		       r->kernel_version);
	else
		printf("  kernel      %7.2f MiB  %s\n", mib(r->kernel_size), m->kernel.path);
	printf("  initramfs   %7.2f MiB  %zu entries, %.2f MiB before zstd\n",
	       mib(r->initramfs_size), r->n_entries, mib(r->initramfs_raw));
	printf("  total       %7.2f MiB  of a %u MiB budget%s\n", mib(total),
	       BUILDER_SIZE_BUDGET >> 20, total > BUILDER_SIZE_BUDGET ? ": OVER BUDGET" : "");
	printf("  contents    %zu binar%s, %zu shared librar%s, %zu file%s, %zu module%s"
	       " (+%zu built in), %zu .proto, BusyBox with %zu applets\n",
	       r->n_binaries, r->n_binaries == 1 ? "y" : "ies", r->n_libraries,
	       r->n_libraries == 1 ? "y" : "ies", r->n_files, r->n_files == 1 ? "" : "s",
	       r->n_modules, r->n_modules == 1 ? "" : "s", r->n_builtin, r->n_protos,
	       r->n_applets);
	if (r->debug_stripped)
		printf("              %.2f MiB of debug sections left out of the binaries"
		       " (--keep-debug keeps them)\n", mib(r->debug_stripped));
	printf("  cmdline     %s  (cmdline.kvm; cmdline.tcg adds tsc_early_khz, cmdline.xen\n"
	       "              has console=hvc0 for ttyS0)\n", cmdline);
	printf("  measurement\n");
	for (int i = 0; i < MEASURE_N_PARTS; i++) {
		measure_hex(mr->m.part[i], hex);
		printf("    %-17s %s\n", measure_part_file[i], hex);
	}
	measure_hex(mr->m.chain, hex);
	printf("    %-17s %s\n", "chain", hex);
	printf("  signed by   %s (%s)%s\n", mr->key_path, mr->fingerprint,
	       mr->dev_key ? "  [development key: not for release]" : "");
}

/* --oci LAYOUT[:TAG]: the image just signed, as an OCI artefact too. */
static int export_oci(const struct args *a, const struct manifest *m, const char *out)
{
	char dir[PATH_MAX], tag[OCI_TAG_MAX + 1], err[OCI_ERR_LEN];
	struct oci_export_opts o = { .name = m->name, .version = m->version };

	if (oci_ref_split(a->oci, dir, tag, err, sizeof(err)) == 0) {
		o.tag = tag[0] ? tag : "latest";
		if (oci_export(out, dir, &o, err, sizeof(err)) == 0) {
			if (!a->quiet)
				printf("  OCI         %s:%s (vapp oci export)\n", dir, o.tag);
			return 0;
		}
	}
	cmd_error(&vapp_cmd_build, "--oci: %s", err);
	return -1;
}

static int build(const struct args *a, const struct manifest *m)
{
	struct build_opts o = {
		.cache_dir = a->cache ? a->cache : "build/cache",
		.busybox_path = a->busybox,
		.source_date_epoch = a->epoch,
		.progress = a->quiet ? NULL : stderr,
		.keep_debug = a->keep_debug,
	};
	struct build_result r;
	struct measure_result mr;
	char *out = NULL, *init = NULL, *cmdline = NULL;
	int ret, status = 1;

	if (a->out)
		out = strdup(a->out);
	else if (asprintf(&out, "%s/appliances/%s", VAPP_BUILD_DIR, m->name) < 0)
		out = NULL;
	if (a->init)
		init = strdup(a->init);
	else if (asprintf(&init, "%s/bin/vapp-init", var(a, "BUILD")) < 0)
		init = NULL;
	cmdline = hv_cmdline(m, HV_BACKEND_KVM);
	if (!out || !init || !cmdline) {
		cmd_error(&vapp_cmd_build, "out of memory");
		goto out;
	}
	if (access(init, R_OK)) {
		cmd_error(&vapp_cmd_build, "%s: %s (vapp-init, the image's /init: run make, or "
			  "give --init)", init, strerror(errno));
		goto out;
	}
	o.out_dir = out;
	o.init_path = init;
	ret = builder_build(m, &o, &r);
	if (ret) {
		cmd_error(&vapp_cmd_build, "%s", r.error[0] ? r.error : strerror(-ret));
		goto out;
	}
	/* The command lines and configs: the former are measured next. */
	ret = hv_write_all(m, out);
	if (ret) {
		cmd_error(&vapp_cmd_build, "hypervisor configs in %s: %s", out, strerror(-ret));
		goto out;
	}
	if (!a->quiet)
		fprintf(stderr, "  %-7s %s/measurement\n", "SIGN", out);
	ret = measure_and_sign(out, m->signing_key, NULL, &mr);
	if (ret) {
		cmd_error(&vapp_cmd_build, "measurement: %s", mr.err[0] ? mr.err : strerror(-ret));
		goto out;
	}
	if (!a->quiet)
		summary(m, out, &r, &mr, cmdline);
	if (a->oci && export_oci(a, m, out))
		goto out;
	status = 0;
out:
	free(out);
	free(init);
	free(cmdline);
	return status;
}

static int run(int argc, char **argv)
{
	struct args a = { 0 };
	struct manifest_diag diag = { 0 };
	struct manifest *m;
	int ret;

	ret = parse_args(&a, argc, argv);
	if (ret)
		return ret;
	m = manifest_load(a.manifest, a.vars, &diag);
	if (!m) {
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		if (!diag.n)
			cmd_error(&vapp_cmd_build, "%s: %s", a.manifest, strerror(errno));
		manifest_diag_free(&diag);
		return 1;
	}
	manifest_diag_free(&diag);
	ret = build(&a, m);
	manifest_free(m);
	return ret;
}

const struct vapp_cmd vapp_cmd_build = {
	.name = "build",
	.summary = "build an appliance image (kernel, initramfs, configs, measurement) from a manifest",
	.usage =
		"Usage: vapp build MANIFEST [-o DIR] [-D NAME=VALUE]... [--cache DIR]\n"
		"                  [--init PATH] [--busybox PATH] [--keep-debug]\n"
		"                  [--oci LAYOUT[:TAG]] [--quiet]\n"
		"\n"
		"Checks MANIFEST (as 'vapp manifest check' does), then writes the appliance's\n"
		"image folder:\n"
		"\n"
		"  kernel              the kernel: the manifest's Debian package (default\n"
		"                      linux-image-cloud-amd64), fetched with apt-get download\n"
		"                      into the cache and unpacked there, never installed;\n"
		"                      or the manifest's kernel.path; or the vmlinuz of its\n"
		"                      kernel.tree (make kernel builds the project's small\n"
		"                      kernel as one: build/kernels/small)\n"
		"  initramfs           /init (vapp-init), static BusyBox and its applet links\n"
		"                      (none with busybox: false), the binaries (debug\n"
		"                      sections left out) with their shared-library closure\n"
		"                      (read from their ELF headers, nothing is run), the\n"
		"                      files, the kernel modules asked for and their\n"
		"                      dependencies (modules.dep; none with a kernel.path,\n"
		"                      whose modules must be built in),\n"
		"                      /etc/vapp/* and the manifest with its .proto files.\n"
		"                      Deterministic: entries sorted, owned by 0:0, dated\n"
		"                      SOURCE_DATE_EPOCH (or 0), zstd in one thread, so the\n"
		"                      same inputs give the same bytes. The kernel needs\n"
		"                      CONFIG_RD_ZSTD (Debian's kernels and the small one\n"
		"                      have it).\n"
		"  cmdline.tcg, cmdline.kvm, cmdline.xen\n"
		"                      the kernel command line under each backend (measured)\n"
		"  manifest.yaml       the manifest as given (measured: vappd runs the image\n"
		"                      from it)\n"
		"  qemu.args, libvirt.xml, xl.cfg\n"
		"                      how to run it under QEMU, libvirt and Xen by hand or with\n"
		"                      other tools (not measured; vappd never reads them)\n"
		"  measurement, measurement.sig, signer.pub\n"
		"                      the SHA-256 chain over the measured files above,\n"
		"                      signed with the manifest's signing key, or with the\n"
		"                      development key " MEASURE_DEV_KEY "\n"
		"                      (made on first use) when it names none\n"
		"\n"
		"Progress on the slow steps (download, unpack, compression) goes to stderr;\n"
		"a summary (contents, sizes against the 16 MiB budget for kernel + initramfs,\n"
		"the measurement, the signer) to stdout.\n"
		"\n"
		"Options:\n"
		"  -o, --output DIR        the image folder (default " VAPP_BUILD_DIR
		"/appliances/NAME);\n"
		"                          files in it are replaced\n"
		"  -D, --define NAME=VALUE a ${NAME} the manifest may use; repeatable. BUILD\n"
		"                          defaults to \"" VAPP_BUILD_DIR "\", the folder make builds into\n"
		"  --cache DIR             downloads and unpacked kernels (default build/cache,\n"
		"                          shared with the tests and every build flavour)\n"
		"  --init PATH             the image's /init (default ${BUILD}/bin/vapp-init)\n"
		"  --oci LAYOUT[:TAG]      also write the image into the OCI image layout\n"
		"                          LAYOUT under TAG (default latest), as 'vapp oci\n"
		"                          export' does, for skopeo to push to a registry\n"
		"  --busybox PATH          a static BusyBox (default /bin/busybox, Debian's\n"
		"                          busybox-static)\n"
		"  --keep-debug            keep the binaries' debug sections (strip --strip-debug\n"
		"                          is the default: an appliance has no debugger)\n"
		"  -q, --quiet             print errors only\n"
		"  -h, --help              this text\n"
		"\n"
		"Environment:\n"
		"  SOURCE_DATE_EPOCH       the mtime of every initramfs entry (default 0)\n"
		"\n"
		"Exit status: 0 built, 1 the manifest or the build failed (the problems are\n"
		"printed as FILE:LINE:COL: ... or 'vapp build: ...'), 2 usage error.\n"
		"\n"
		"Example:\n"
		"  vapp build examples/hello/manifest.yaml -o build/appliances/hello\n"
		"  vapp verify build/appliances/hello\n",
	.run = run,
};
