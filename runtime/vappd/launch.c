/*
 * launch.c - `vapp run`: from an image folder to a started appliance.
 *
 * Order matters: the folder's measured files are copied into the run folder
 * first, and only the copy is verified, read and booted, so nothing can swap
 * a file between the check and the boot. The QEMU command line is vappd's
 * own, built by hypervisor-config from the measured manifest, the measured
 * kernel command line of the accelerator and vappd's settings: no file of
 * the image is executed or spliced into an argv.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance.h"
#include "hvconfig.h"
#include "hvrun.h"
#include "oci.h"
#include "vapp_util.h"

/* A kernel command line is at most 2 KiB on x86 (COMMAND_LINE_SIZE). */
#define CMDLINE_MAX 4096

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* A channel name becomes a file name in the run folder. */
static bool valid_channel(const char *s)
{
	return s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < 100;
}

static void note(char *notes, size_t len, const char *text)
{
	size_t used = strlen(notes);

	snprintf(notes + used, len - used, "%s%s", used ? "\n" : "", text);
}

static const char *resolve_accel(struct vappd *d, enum vappd_accel want, const char *qemu,
				 const char *kernel, char *notes, size_t noteslen)
{
	char text[512];

	if (want == ACCEL_KVM)
		return "kvm";
	if (want == ACCEL_TCG)
		return "tcg";
	if (d->probe_result < 0) {
		int yes = hv_qemu_probe(qemu, "kvm", kernel, d->run_dir, d->probe_timeout_ms,
				     d->probe_why, sizeof(d->probe_why));

		d->probe_result = yes == 1 ? ACCEL_KVM : ACCEL_TCG;
		vappd_log("accelerator probe: %s%s%s", yes == 1 ? "KVM boots, using kvm" : "using tcg",
			  yes == 1 ? "" : ": ", yes == 1 ? "" : d->probe_why);
	}
	if (d->probe_result == ACCEL_KVM)
		return "kvm";
	snprintf(text, sizeof(text), "accel auto: TCG, because %s (probed once per vappd)",
		 d->probe_why);
	note(notes, noteslen, text);
	return "tcg";
}

/* Checks the copy; fills the appliance's measurement and signer. */
static int verify(struct vappd *d, struct appliance *a, const char *copy, char *err,
		  size_t errlen, char *notes, size_t noteslen)
{
	const char *keys[64];
	char own[PATH_MAX], fp[8 + MEASURE_HEX_LEN], kerr[MEASURE_ERR_LEN];
	struct verify_report rep;
	size_t n = 0, used;
	int rc;

	for (size_t i = 0; d->trusted && d->trusted[i] && n < 62; i++)
		keys[n++] = d->trusted[i];
	if (d->trust_image_key) {
		path_in(own, sizeof(own), copy, "signer.pub");
		keys[n++] = own;
		note(notes, noteslen, "trusting the image's own signer.pub (--trust-image-key: "
				      "development only, this proves integrity, not origin)");
	}
	keys[n] = NULL;
	if (!n) {
		snprintf(err, errlen, "no trusted keys: give vappd --trust KEY.pub, put keys in %s, "
				      "or for development --trust-image-key",
			 VAPPD_DEFAULT_TRUST_DIR);
		return -EPERM;
	}
	rc = verify_image(copy, keys, &rep);
	if (rc == -ENOMEM)
		return rc;
	if (rc || !rep.trusted) {
		used = (size_t)snprintf(err, errlen, "image %s refused before boot:", a->image_src);
		for (size_t i = 0; i < rep.n_problems && used < errlen; i++)
			used += (size_t)snprintf(err + used, errlen - used, "%s %s", i ? ";" : "",
						 rep.problems[i]);
		if (!rep.n_problems && used < errlen)
			snprintf(err + used, errlen - used, " signature: no trusted key verifies it");
		verify_report_free(&rep);
		return -EPERM;
	}
	measure_hex(rep.m.chain, a->measurement);
	if (measure_key_fingerprint(keys[rep.signer], fp, kerr) < 0)
		snprintf(fp, sizeof(fp), "?");
	if (d->trust_image_key && keys[rep.signer] == own)
		snprintf(a->signer, sizeof(a->signer), "%s (the image's own signer.pub)", fp);
	else
		snprintf(a->signer, sizeof(a->signer), "%s (trusted key %s)", fp, keys[rep.signer]);
	verify_report_free(&rep);
	return 0;
}

/* The measured command line for @p accel, from the verified copy. */
static int read_cmdline(struct appliance *a, const char *accel, char **out, char *err,
			size_t errlen)
{
	enum hv_backend be = HV_BACKEND_TCG;
	char p[PATH_MAX];
	size_t len;
	int rc;

	/* KVM's line under KVM, Xen's under Xen, TCG's otherwise. */
	if (!hv_backend_find(accel, &be) || (be != HV_BACKEND_KVM && be != HV_BACKEND_XEN))
		be = HV_BACKEND_TCG;
	path_in(p, sizeof(p), a->image_dir, hv_backends[be].cmdline_file);
	if ((rc = read_small_file(p, CMDLINE_MAX, out, &len)) < 0) {
		snprintf(err, errlen, "%s: %s", p, strerror(-rc));
		return rc;
	}
	if (strlen(*out) != len || strchr(*out, '\n')) {
		snprintf(err, errlen, "%s: a NUL byte or a newline in the command line", p);
		free(*out);
		return -EINVAL;
	}
	return 0;
}

/* The argv to run: vappd's own, from the measured manifest. */
static int make_argv(struct vappd *d, struct appliance *a, const char *accel, char *err,
		     size_t errlen)
{
	char kernel[PATH_MAX], initrd[PATH_MAX], tapname[HV_SPAWN_MAX_FDS][16], *cmdline;
	const char *taps[HV_SPAWN_MAX_FDS] = { 0 };
	int tap_fds[HV_SPAWN_MAX_FDS];
	const struct manifest *m = a->info.m;
	int rc;

	if (m->n_nics > HV_SPAWN_MAX_FDS) {
		snprintf(err, errlen, "manifest.yaml: %zu NICs, vappd runs at most %d", m->n_nics,
			 HV_SPAWN_MAX_FDS);
		return -EINVAL;
	}
	if ((rc = read_cmdline(a, accel, &cmdline, err, errlen)) < 0)
		return rc;
	/* start_vm() opens the taps; QEMU inherits them at 3, 4, ... */
	for (size_t i = 0; i < m->n_nics; i++) {
		vappd_tap_name(a->name, m, i, tapname[i]);
		taps[i] = tapname[i];
		tap_fds[i] = HV_SPAWN_FIRST_FD + (int)i;
	}
	path_in(kernel, sizeof(kernel), a->image_dir, "kernel");
	path_in(initrd, sizeof(initrd), a->image_dir, "initramfs");
	struct hv_params p = {
		.kernel = kernel,
		.initrd = initrd,
		.cmdline = cmdline,
		.run_dir = a->run_dir,
		.accel = accel,
		.virt_type = strcmp(accel, "kvm") ? "qemu" : "kvm",
		.qemu = d->qemu ? d->qemu : "qemu-system-x86_64",
		.taps = taps,
		.tap_fds = tap_fds,
		/* wav: RUN_DIR/NAME/speaker.wav, hypervisor-config's default */
		.audiodev = d->audiodev ? d->audiodev : "none",
	};
	a->argv = hv_qemu_argv(m, &p);
	rc = a->argv ? 0 : -errno;
	if (rc)
		snprintf(err, errlen, "QEMU arguments for %s: %s", m->name,
			 rc == -EINVAL ? "the manifest asks for what QEMU cannot be given"
				       : strerror(-rc));
	free(cmdline);
	return rc;
}

/*
 * What QEMU, running as its own user, may touch: it reads the verified copy
 * (root's, group-readable) and makes its sockets and console in the run
 * folder, which is sticky, so it can neither rename nor replace the copy
 * it boots from on the next restart.
 */
static int give_to_qemu(struct vappd *d, struct appliance *a, char *err, size_t errlen)
{
	const struct hv_user *u = &d->qemu_user;
	char p[PATH_MAX];
	int rc;

	if ((rc = hv_user_give(u, a->run_dir, false, 01770)) < 0 ||
	    (rc = hv_user_give(u, a->image_dir, false, 0750)) < 0) {
		snprintf(err, errlen, "%s: %s", a->run_dir, strerror(-rc));
		return rc;
	}
	for (size_t i = 0; vappd_image_file(i); i++) {
		path_in(p, sizeof(p), a->image_dir, vappd_image_file(i));
		if ((rc = hv_user_give(u, p, false, 0640)) < 0) {
			snprintf(err, errlen, "%s: %s", p, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* A new state volume's filesystem: ext4 with a journal, made here because
 * the appliance's BusyBox makes only ext2, which a QEMU killed in the
 * middle of a write leaves damaged (measured: "EXT4-fs error ... doubly
 * allocated" on the next boot, and writes failing). The file is one this
 * daemon has just created, empty: no appliance has written to it. */
static int format_state(const char *img, char *err, size_t errlen)
{
	char *const argv[] = { "/sbin/mkfs.ext4", "-q", "-F", "-L", "vapp-state", (char *)img, NULL };
	char why[256] = "";
	int rc = vapp_run_cmd(argv, NULL, 60, NULL, why, sizeof(why));

	if (rc != 0) {
		snprintf(err, errlen, "state volume %s: mkfs.ext4 %s: %s", img,
			 rc < 0 ? "could not run" : "failed", why[0] ? why : strerror(rc < 0 ? -rc : EIO));
		return rc < 0 ? rc : -EIO;
	}
	return 0;
}

/* The state volume: made once (sparse, ext4), kept across restarts and runs. */
static int make_state(struct vappd *d, struct appliance *a, char *err, size_t errlen)
{
	char dir[PATH_MAX], img[PATH_MAX], link[PATH_MAX];
	bool xen = d->hypervisor == HYPERVISOR_XEN;
	bool wanted = xen && a->info.state_mib;
	int fd;

	for (size_t i = 0; a->argv && a->argv[i]; i++)
		if (strstr(a->argv[i], "/state.img"))
			wanted = true;
	if (!wanted)
		return 0;
	if (!a->info.state_mib) {
		snprintf(err, errlen, "a state disk but the manifest has no state.size");
		return -EINVAL;
	}
	path_in(dir, sizeof(dir), d->state_dir, a->name);
	path_in(img, sizeof(img), dir, "state.img");
	path_in(link, sizeof(link), a->run_dir, "state.img");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto err_errno;
	fd = open(img, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)a->info.state_mib << 20) < 0) {
			close(fd);
			unlink(img);
			goto err_errno;
		}
		close(fd);
		if (format_state(img, err, errlen) < 0) {
			unlink(img);
			return -EIO;
		}
		vappd_log("%s: new state volume %s (%u MiB, sparse, ext4 with a journal)", a->name,
			  img, a->info.state_mib);
	} else if (errno != EEXIST) {
		goto err_errno;
	}
	/* QEMU's to write; the folder only for it to pass through. Under Xen
	 * vappd's loop device holds it (xen_disk.c). */
	if (!xen && (hv_user_give(&d->qemu_user, dir, false, 0710) < 0 ||
			hv_user_give(&d->qemu_user, img, true, 0600) < 0))
		goto err_errno;
	unlink(link);
	if (symlink(img, link) < 0)
		goto err_errno;
	return 0;
err_errno:
	snprintf(err, errlen, "state volume %s: %s", img, strerror(errno));
	return -errno;
}

/* The image folder the request names: a path, or a name in --images. */
/* "oci:/LAYOUT[:TAG]": the layout's folder, absolute and real, into
 * @p out as "oci:REAL[:TAG]" (how image_src names a layout). */
static int resolve_oci(const char *ref, char *out, char *err, size_t errlen)
{
	char dir[PATH_MAX], tag[OCI_TAG_MAX + 1], real[PATH_MAX];
	struct stat st;

	if (oci_ref_split(ref, dir, tag, err, errlen) < 0)
		return -EINVAL;
	if (dir[0] != '/') {
		snprintf(err, errlen, "layout path '%s' is relative (vappd's folder is not yours): "
			 "give an absolute path", dir);
		return -EINVAL;
	}
	if (!realpath(dir, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "no OCI layout folder at %s", dir);
		return -ENOENT;
	}
	if ((size_t)snprintf(out, PATH_MAX, "oci:%s%s%s", real, tag[0] ? ":" : "", tag) >=
	    PATH_MAX) {
		snprintf(err, errlen, "layout path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

static int resolve_image(struct vappd *d, const char *image, char *out, char *err, size_t errlen)
{
	char p[PATH_MAX];
	struct stat st;

	if (!strncmp(image, "oci:", 4))
		return resolve_oci(image + 4, out, err, errlen);
	if (!image[0]) {
		snprintf(err, errlen, "no image given");
		return -EINVAL;
	}
	if (strchr(image, '/')) {
		if (image[0] != '/') {
			snprintf(err, errlen, "image path '%s' is relative (vappd's folder is not "
					      "yours): give an absolute path", image);
			return -EINVAL;
		}
		snprintf(p, sizeof(p), "%s", image);
	} else {
		path_in(p, sizeof(p), d->images_dir, image);
	}
	if (!realpath(p, out) || stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "no image folder at %s", p);
		return -ENOENT;
	}
	return 0;
}

static int read_info(const char *copy, struct image_info *info, char *err, size_t errlen)
{
	char p[PATH_MAX], *text;
	size_t len;
	int rc;

	path_in(p, sizeof(p), copy, "manifest.yaml");
	if ((rc = read_small_file(p, 1 << 20, &text, &len)) < 0) {
		snprintf(err, errlen, "%s: %s", p, strerror(-rc));
		return rc;
	}
	rc = image_info_parse(text, len, info, err, errlen);
	free(text);
	return rc;
}

/* The name the appliance runs as, free to take. @return 0 or -errno (said);
 * *old is a stopped or failed appliance of that name, to replace. */
static int claim_name(struct vappd *d, struct appliance *a, const char *name,
		      struct appliance **old, char *err, size_t errlen)
{
	snprintf(a->name, sizeof(a->name), "%s", name && name[0] ? name : a->info.name);
	if (!valid_name(a->name)) {
		snprintf(err, errlen, "'%.64s' is not an appliance name ([a-z0-9][a-z0-9-]*, at "
				      "most 63)", name && name[0] ? name : a->info.name);
		return -EINVAL;
	}
	*old = appliance_find(d, a->name);
	if (*old && ((*old)->pid > 0 ||
		     ((*old)->state != SUP_STOPPED && (*old)->state != SUP_FAILED))) {
		snprintf(err, errlen, "%s is already %s (stop it first: vapp stop %s)", a->name,
			 sup_state_name((*old)->state), a->name);
		return -EEXIST;
	}
	if (a->info.channel && !valid_channel(a->info.channel)) {
		snprintf(err, errlen, "manifest.yaml: channel '%.64s' is not a file name",
			 a->info.channel);
		return -EINVAL;
	}
	return 0;
}

/* The measured and trust files of image @p src (a folder, or "oci:LAYOUT
 * [:TAG]": every blob checked against its digest as it is copied) into
 * @p tmp, vappd's own; verify() then holds them to the measurement. */
static int take_files(const char *src, const char *tmp, char *err, size_t errlen)
{
	char dir[PATH_MAX], tag[OCI_TAG_MAX + 1], why[OCI_ERR_LEN];
	int rc;

	if (strncmp(src, "oci:", 4))
		return image_copy(src, tmp, err, errlen);
	if (oci_ref_split(src + 4, dir, tag, err, errlen) < 0)
		return -EINVAL;
	rc = oci_import(dir, tag, tmp, OCI_IMPORT_TRUSTED_ONLY, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "%s refused: %s", src, why);
	return rc;
}

/* The image's measured files, copied into @p tmp, verified, and only then
 * its manifest read (it is measured), and the name claimed. */
static int take_image(struct vappd *d, struct appliance *a, const char *image, const char *name,
		      char *tmp, char *err, size_t errlen, char *notes, size_t noteslen)
{
	struct appliance *old = NULL;
	int rc;

	if ((rc = resolve_image(d, image, a->image_src, err, errlen)) < 0)
		return rc;
	snprintf(tmp, PATH_MAX, "%s/.image-XXXXXX", d->run_dir);
	if (!mkdtemp(tmp)) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		tmp[0] = 0;
		return -EIO;
	}
	if ((rc = take_files(a->image_src, tmp, err, errlen)) < 0 ||
	    (rc = verify(d, a, tmp, err, errlen, notes, noteslen)) < 0 ||
	    (rc = read_info(tmp, &a->info, err, errlen)) < 0 ||
	    (rc = claim_name(d, a, name, &old, err, errlen)) < 0 ||
	    (rc = vappd_settings_check(d, a->name, a->info.m, err, errlen)) < 0)
		return rc;
	if (old)
		appliance_free(old);
	return 0;
}

/* The verified copy becomes RUN_DIR/NAME/image, QEMU's to read. */
static int install_image(struct vappd *d, struct appliance *a, const char *tmp, char *err,
			 size_t errlen)
{
	path_in(a->run_dir, sizeof(a->run_dir), d->run_dir, a->name);
	path_in(a->image_dir, sizeof(a->image_dir), a->run_dir, "image");
	if (mkdir(a->run_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", a->run_dir, strerror(errno));
		return -EIO;
	}
	rm_tree(a->image_dir);
	if (rename(tmp, a->image_dir) < 0) {
		snprintf(err, errlen, "%s: %s", a->image_dir, strerror(errno));
		return -EIO;
	}
	/* Under Xen, dom0's xl (root) reads it: no QEMU user. */
	return d->hypervisor == HYPERVISOR_XEN ? 0 : give_to_qemu(d, a, err, errlen);
}

/* Under Xen: xl.cfg with Xen's measured command line (xen.c). */
static int prepare_xen(struct appliance *a, enum vappd_accel accel_want, char *err,
		       size_t errlen, char *notes, size_t noteslen)
{
	char *cmdline;
	int rc;

	if (accel_want != ACCEL_AUTO)
		note(notes, noteslen, "vappd runs appliances under Xen here: --accel is not used");
	snprintf(a->accel, sizeof(a->accel), "xen");
	if ((rc = read_cmdline(a, "xen", &cmdline, err, errlen)) < 0)
		return rc;
	rc = vappd_xen_prepare(a, cmdline, err, errlen);
	free(cmdline);
	return rc;
}

/* The accelerator, QEMU's argv (or Xen's xl.cfg), the state volume, then
 * the VM. */
static int boot(struct vappd *d, struct appliance *a, enum vappd_accel accel_want, char *err,
		size_t errlen, char *notes, size_t noteslen)
{
	char kernel[PATH_MAX];
	const char *accel;
	int rc;

	if (d->hypervisor == HYPERVISOR_XEN) {
		if ((rc = make_state(d, a, err, errlen)) < 0 ||
		    (rc = prepare_xen(a, accel_want, err, errlen, notes, noteslen)) < 0)
			return rc;
		goto start;
	}
	path_in(kernel, sizeof(kernel), a->image_dir, "kernel");
	accel = resolve_accel(d, accel_want, d->qemu ? d->qemu : "qemu-system-x86_64", kernel,
			      notes, noteslen);
	snprintf(a->accel, sizeof(a->accel), "%s", accel);
	if ((rc = make_argv(d, a, accel, err, errlen)) < 0 ||
	    (rc = vappd_kvm_direct_open(a, err, errlen)) < 0 ||
	    (rc = make_state(d, a, err, errlen)) < 0)
		return rc;
	if (a->info.channel)
		snprintf(a->chan_addr, sizeof(a->chan_addr), "serial:%s/%s.sock", a->run_dir,
			 a->info.channel);
start:
	a->ctx.policy = a->info.restart;
	sup_backoff_init(&a->ctx.backoff, SUP_BACKOFF_FIRST_MS, SUP_BACKOFF_CAP_MS, SUP_RESET_MS);
	a->state = SUP_STARTING;
	if ((rc = start_vm(a)) < 0)
		snprintf(err, errlen, "%s", a->error);
	return rc;
}

struct appliance *appliance_run(struct vappd *d, const char *image, const char *name,
				enum vappd_accel accel_want, int boot_timeout_ms,
				app_run_done_fn done, void *ud, char *err, size_t errlen,
				char *notes, size_t noteslen)
{
	struct appliance *a = calloc(1, sizeof(*a));
	char tmp[PATH_MAX] = "";
	int rc;

	err[0] = 0;
	notes[0] = 0;
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->d = d;
	a->ctl_fd = -1;
	a->boot_timeout_ms = boot_timeout_ms > 0 ? boot_timeout_ms : d->boot_timeout_ms;
	rc = take_image(d, a, image, name, tmp, err, errlen, notes, noteslen);
	if (rc < 0) {
		if (tmp[0])
			rm_tree(tmp);
		goto err_a;
	}
	if ((rc = install_image(d, a, tmp, err, errlen)) < 0) {
		rm_tree(tmp);
		goto err_a;
	}
	if ((rc = boot(d, a, accel_want, err, errlen, notes, noteslen)) < 0)
		goto err_a;
	a->next = d->apps;
	d->apps = a;
	a->run_done = done;
	a->run_ud = ud;
	arm_boot(a);
	return a;
err_a:
	vappd_kvm_direct_close(a);
	hv_argv_free(a->argv);
	image_info_free(&a->info);
	vappd_xen_free(a);
	free(a);
	errno = rc < 0 ? -rc : EIO;
	return NULL;
}
