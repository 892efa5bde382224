/* cmd_export.c - vapp export: a verified image folder as a concrete
 * configuration for another tool (libvirt, xl, QEMU by hand). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "hvconfig.h"
#include "manifest.h"
#include "measure.h"
#include "vapp_util.h"

static int run(int argc, char **argv);

const struct vapp_cmd vapp_cmd_export = {
	.name = "export",
	.summary = "an image folder as a ready libvirt domain, xl.cfg or QEMU command line",
	.usage =
	"Usage: vapp export (--libvirt | --xl | --qemu) [options] IMAGE\n"
	"\n"
	"Prints a configuration that runs the image folder IMAGE with another tool,\n"
	"concrete where the image's own libvirt.xml, xl.cfg and qemu.args are\n"
	"templates (${IMAGE_DIR}, ${RUN_DIR}, ... left in):\n"
	"\n"
	"  --libvirt   a libvirt domain:  virsh define FILE && virsh start NAME\n"
	"  --xl        a Xen domain:      xl create FILE\n"
	"  --qemu      QEMU's command line, one argument a line:\n"
	"              mapfile -t a <FILE && \"${a[@]}\"\n"
	"\n"
	"The image is verified first, as vapp verify does (with --key, against\n"
	"those keys; else against its own signer.pub, which proves integrity but\n"
	"not who signed it, and is said so on stderr); an image that fails is\n"
	"refused, naming what failed. Every path is absolute: the kernel and the\n"
	"initramfs in IMAGE, and in the run folder the channels' unix sockets (the\n"
	"tool makes them and listens there; `vapp call --image IMAGE\n"
	"serial:RUN/NAME.sock METHOD` or any vrpc client calls the appliance\n"
	"through them), console.log, and the state volume state.img, which must\n"
	"exist before the domain starts when the manifest has one (truncate -s\n"
	"SIZE, then mkfs.ext4 -L vapp-state). The kernel command line is the one\n"
	"measured into the image for that backend.\n"
	"The tool reads IMAGE when it starts the domain, not before: keep the folder\n"
	"where nobody else may write (vappd runs a copy it owns for that reason).\n"
	"\n"
	"Options:\n"
	"  --accel kvm|tcg      libvirt's domain type and QEMU's accelerator, and which\n"
	"                       measured command line (default kvm)\n"
	"  --run-dir DIR        the run folder (default /run/vapp/NAME)\n"
	"  --tap NIC=TAP        libvirt and QEMU: the existing tap device for the\n"
	"                       manifest's NIC named NIC; one for each NIC\n"
	"  --bridge NIC=BRIDGE  xl: the bridge for NIC; one for each NIC\n"
	"  -k, --key FILE       a trusted public key (PEM); repeatable\n"
	"  -o, --output FILE    write there instead of standard output\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 written; 1 the image did not verify, or its manifest asks for\n"
	"what the backend cannot have; 2 usage error.\n"
	"\n"
	"Example:\n"
	"  vapp export --libvirt --accel tcg --run-dir /run/hello build/appliances/hello \\\n"
	"      >hello.xml\n"
	"  mkdir -p /run/hello && virsh define hello.xml && virsh start hello\n",
	.run = run,
};

struct nic_opt {
	char *nic, *dev;
};

/* NIC=DEV into @p o (in place). @return false when it is not that. */
static bool nic_opt(char *arg, struct nic_opt *o)
{
	char *eq = strchr(arg, '=');

	if (!eq || eq == arg || !eq[1])
		return false;
	*eq = '\0';
	o->nic = arg;
	o->dev = eq + 1;
	return true;
}

/* The image's file @p name, whole and NUL-terminated, into @p b. */
static int image_file(const char *dir, const char *name, struct vapp_buf *b)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	return vapp_read_file_max(path, 1u << 20, b);
}

/* Each NIC of @p m its device from @p opts, or an error naming the option. */
static int nic_devices(const struct manifest *m, const struct nic_opt *opts, size_t n,
		       const char *what, const char **out)
{
	for (size_t i = 0; i < m->n_nics; i++) {
		out[i] = NULL;
		for (size_t k = 0; k < n; k++)
			if (!strcmp(opts[k].nic, m->nics[i].name))
				out[i] = opts[k].dev;
		if (!out[i]) {
			cmd_error(&vapp_cmd_export, "the manifest's NIC %s needs --%s %s=NAME",
				  m->nics[i].name, what, m->nics[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "libvirt", no_argument, NULL, 'L' },
		{ "xl", no_argument, NULL, 'X' },
		{ "qemu", no_argument, NULL, 'Q' },
		{ "accel", required_argument, NULL, 'a' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "tap", required_argument, NULL, 't' },
		{ "bridge", required_argument, NULL, 'b' },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char dir[PATH_MAX], kernel[PATH_MAX + 16], initrd[PATH_MAX + 16], run_dir[PATH_MAX];
	struct nic_opt *taps = calloc((size_t)argc, sizeof(*taps));
	struct nic_opt *bridges = calloc((size_t)argc, sizeof(*bridges));
	const char **keys = calloc((size_t)argc + 1, sizeof(*keys));
	const char *accel = "kvm", *rdir = NULL, *out = NULL, **devs = NULL;
	size_t n_taps = 0, n_bridges = 0, n_keys = 0;
	struct vapp_buf text = { 0 }, cmdline = { 0 };
	struct manifest_diag diag = { 0 };
	struct manifest *m = NULL;
	enum hv_backend backend;
	char *config = NULL;
	int what = 0, c, ret = 1;

	if (!taps || !bridges || !keys) {
		cmd_error(&vapp_cmd_export, "out of memory");
		goto out;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'L': case 'X': case 'Q':
			if (what && what != c) {
				ret = cmd_usage_error(&vapp_cmd_export,
						      "give one of --libvirt, --xl, --qemu");
				goto out;
			}
			what = c;
			break;
		case 'a': accel = optarg; break;
		case 'r': rdir = optarg; break;
		case 'k': keys[n_keys++] = optarg; break;
		case 'o': out = optarg; break;
		case 't':
		case 'b':
			if (!nic_opt(optarg, c == 't' ? &taps[n_taps++] : &bridges[n_bridges++])) {
				ret = cmd_usage_error(&vapp_cmd_export, "--%s wants NIC=NAME, not %s",
						      c == 't' ? "tap" : "bridge", optarg);
				goto out;
			}
			break;
		default:
			ret = cmd_usage_error(&vapp_cmd_export, "unknown option");
			goto out;
		}
	}
	if (!what || optind != argc - 1) {
		ret = cmd_usage_error(&vapp_cmd_export, what ? "give one IMAGE folder"
							     : "give --libvirt, --xl or --qemu");
		goto out;
	}
	if (strcmp(accel, "kvm") && strcmp(accel, "tcg")) {
		ret = cmd_usage_error(&vapp_cmd_export, "--accel is kvm or tcg, not %s", accel);
		goto out;
	}
	if (!realpath(argv[optind], dir)) {
		cmd_error(&vapp_cmd_export, "%s: %s", argv[optind], strerror(errno));
		goto out;
	}
	if (cmd_verify_image(&vapp_cmd_export, dir, keys))
		goto out;
	/* The measured manifest and command line: verified just now. */
	if ((c = image_file(dir, "manifest.yaml", &text)) < 0) {
		cmd_error(&vapp_cmd_export, "%s/manifest.yaml: %s", dir, strerror(-c));
		goto out;
	}
	m = manifest_load_image("manifest.yaml", text.p, text.len, &diag);
	if (!m) {
		for (size_t i = 0; i < diag.n; i++)
			cmd_error(&vapp_cmd_export, "%s", diag.lines[i]);
		goto out;
	}
	backend = what == 'X' ? HV_BACKEND_XEN : strcmp(accel, "kvm") ? HV_BACKEND_TCG
								     : HV_BACKEND_KVM;
	if ((c = image_file(dir, hv_backends[backend].cmdline_file, &cmdline)) < 0 ||
	    (c = vapp_buf_add(&cmdline, "", 1)) < 0) {
		cmd_error(&vapp_cmd_export, "%s/%s: %s", dir, hv_backends[backend].cmdline_file,
			  strerror(-c));
		goto out;
	}
	cmdline.p[strcspn((char *)cmdline.p, "\n")] = 0;
	devs = calloc(m->n_nics + 1, sizeof(*devs));
	if (!devs || nic_devices(m, what == 'X' ? bridges : taps, what == 'X' ? n_bridges : n_taps,
				 what == 'X' ? "bridge" : "tap", devs))
		goto out;
	if (rdir)
		snprintf(run_dir, sizeof(run_dir), "%s", rdir);
	else
		snprintf(run_dir, sizeof(run_dir), "/run/vapp/%s", m->name);
	if (run_dir[0] != '/') {
		ret = cmd_usage_error(&vapp_cmd_export, "--run-dir must be an absolute path");
		goto out;
	}
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(initrd, sizeof(initrd), "%s/initramfs", dir);
	struct hv_params p = {
		.kernel = kernel,
		.initrd = initrd,
		.cmdline = (const char *)cmdline.p,
		.run_dir = run_dir,
		.accel = accel,
		.virt_type = strcmp(accel, "kvm") ? "qemu" : "kvm",
		.taps = what == 'X' ? NULL : devs,
		.bridges = what == 'X' ? devs : NULL,
		.audiodev = "none",
	};
	/* QEMU's argv text is the TCG backend's config file (qemu.args). */
	config = what == 'L' ? hv_libvirt_xml(m, &p) : what == 'X' ? hv_xl_cfg(m, &p)
								   : hv_backends[HV_BACKEND_TCG].config(m, &p);
	if (!config) {
		cmd_error(&vapp_cmd_export, "%s: %s", dir,
			  errno == EINVAL ? "the manifest asks for what this backend cannot have"
					  : strerror(errno));
		goto out;
	}
	if (out ? vapp_write_file_atomic(out, config, strlen(config), 0644) < 0
		: fputs(config, stdout) == EOF || fflush(stdout) == EOF) {
		cmd_error(&vapp_cmd_export, "%s: %s", out ? out : "standard output", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(config);
	free(devs);
	manifest_free(m);
	manifest_diag_free(&diag);
	vapp_buf_free(&text);
	vapp_buf_free(&cmdline);
	free(taps);
	free(bridges);
	free(keys);
	return ret;
}
