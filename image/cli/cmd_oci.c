/* cmd_oci.c - vapp oci: an appliance image as an OCI artefact (oci.h), so
 * that registries and skopeo carry it; back into a verified image folder. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "manifest.h"
#include "measure.h"
#include "oci.h"
#include "vapp_util.h"

extern const struct vapp_cmd vapp_cmd_oci;

/* The image's name and version, from its (just verified) manifest. */
static struct manifest *load_manifest(const char *dir)
{
	struct manifest_diag diag = { 0 };
	struct vapp_buf text = { 0 };
	struct manifest *m = NULL;
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/manifest.yaml", dir);
	if ((rc = vapp_read_file_max(path, 1u << 20, &text)) < 0) {
		cmd_error(&vapp_cmd_oci, "%s: %s", path, strerror(-rc));
		return NULL;
	}
	m = manifest_load_image("manifest.yaml", text.p, text.len, &diag);
	for (size_t i = 0; !m && i < diag.n; i++)
		cmd_error(&vapp_cmd_oci, "%s", diag.lines[i]);
	manifest_diag_free(&diag);
	vapp_buf_free(&text);
	return m;
}

static int do_export(const char *image, const char *ref, const char *const *keys)
{
	char layout[PATH_MAX], tag[OCI_TAG_MAX + 1], err[OCI_ERR_LEN];
	struct oci_export_opts o = { 0 };
	struct manifest *m;
	int rc;

	if (oci_ref_split(ref, layout, tag, err, sizeof(err)))
		return cmd_usage_error(&vapp_cmd_oci, "%s", err);
	if (cmd_verify_image(&vapp_cmd_oci, image, keys))
		return 1;
	if (!(m = load_manifest(image)))
		return 1;
	o.tag = tag[0] ? tag : "latest";
	o.name = m->name;
	o.version = m->version;
	rc = oci_export(image, layout, &o, err, sizeof(err));
	if (rc)
		cmd_error(&vapp_cmd_oci, "%s", err);
	else
		printf("%s:%s: %s written (an OCI image layout; artifact type %s)\n", layout, o.tag,
		       m->name, OCI_ARTIFACT_TYPE);
	manifest_free(m);
	return rc ? 1 : 0;
}

/* Removes what an import may have written into @p dir, then @p dir. */
static void remove_partial(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; oci_image_file(i); i++)
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, oci_image_file(i)) <
		    sizeof(path))
			unlink(path);
	rmdir(dir);
}

static int do_import(const char *ref, const char *out, const char *const *keys)
{
	char layout[PATH_MAX], tag[OCI_TAG_MAX + 1], err[OCI_ERR_LEN], tmp[PATH_MAX];
	struct stat st;
	int rc;

	if (oci_ref_split(ref, layout, tag, err, sizeof(err)))
		return cmd_usage_error(&vapp_cmd_oci, "%s", err);
	if (lstat(out, &st) == 0) {
		cmd_error(&vapp_cmd_oci, "%s: exists (import makes a new image folder)", out);
		return 1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.partial-XXXXXX", out) >= sizeof(tmp) ||
	    !mkdtemp(tmp)) {
		cmd_error(&vapp_cmd_oci, "%s: %s", out, strerror(errno ? errno : ENAMETOOLONG));
		return 1;
	}
	chmod(tmp, 0755);
	/* Verified under its own name, so that problems name OUT; removed
	 * again unless it holds. */
	rc = oci_import(layout, tag, tmp, 0, err, sizeof(err));
	if (rc) {
		cmd_error(&vapp_cmd_oci, "%s%s%s: refused: %s", layout, tag[0] ? ":" : "", tag, err);
		remove_partial(tmp);
		return 1;
	}
	if (rename(tmp, out) < 0) {
		cmd_error(&vapp_cmd_oci, "%s: %s", out, strerror(errno));
		remove_partial(tmp);
		return 1;
	}
	if (cmd_verify_image(&vapp_cmd_oci, out, keys)) {
		cmd_error(&vapp_cmd_oci, "%s%s%s: the image it holds is NOT verified: nothing kept",
			  layout, tag[0] ? ":" : "", tag);
		remove_partial(out);
		return 1;
	}
	printf("%s: imported from %s%s%s and verified\n", out, layout, tag[0] ? ":" : "", tag);
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char **keys = calloc((size_t)argc + 1, sizeof(*keys)), *action;
	size_t n_keys = 0;
	int c, ret;

	if (!keys) {
		cmd_error(&vapp_cmd_oci, "out of memory");
		return 1;
	}
	/* GNU getopt permutes: --key may come before or after the action. */
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		if (c != 'k') {
			free(keys);
			return cmd_usage_error(&vapp_cmd_oci, "unknown option");
		}
		keys[n_keys++] = optarg;
	}
	action = optind < argc ? argv[optind] : NULL;
	if (!action)
		ret = cmd_usage_error(&vapp_cmd_oci, "export or import?");
	else if (strcmp(action, "export") && strcmp(action, "import"))
		ret = cmd_usage_error(&vapp_cmd_oci, "'%s': the action is export or import", action);
	else if (optind + 3 != argc)
		ret = cmd_usage_error(&vapp_cmd_oci, "%s takes two arguments", action);
	else if (!strcmp(action, "export"))
		ret = do_export(argv[optind + 1], argv[optind + 2], keys);
	else
		ret = do_import(argv[optind + 1], argv[optind + 2], keys);
	free(keys);
	return ret;
}

const struct vapp_cmd vapp_cmd_oci = {
	.name = "oci",
	.summary = "write an image as an OCI image layout, or take one back",
	.usage =
		"Usage: vapp oci export [--key PUB.pem]... IMAGE LAYOUT[:TAG]\n"
		"       vapp oci import [--key PUB.pem]... LAYOUT[:TAG] OUT\n"
		"\n"
		"Carries an appliance image through the tools and registries that move\n"
		"container images (skopeo, umoci, oras, any OCI registry), as an OCI\n"
		"artefact of type " OCI_ARTIFACT_TYPE ".\n"
		"\n"
		"export  verifies the image folder IMAGE (as 'vapp verify'), then writes it\n"
		"        into the OCI image layout LAYOUT (created if missing; its other\n"
		"        tags are kept) under TAG (default 'latest'): one blob per file of\n"
		"        the image, a config, and a manifest whose annotations carry the\n"
		"        image's name, version, measurement and signer. One image gives a\n"
		"        byte-identical layout. Then, for example:\n"
		"          skopeo copy oci:LAYOUT:TAG docker://registry.example/hello:TAG\n"
		"\n"
		"import  reads TAG of the layout LAYOUT (the only one when no TAG is given)\n"
		"        into the new image folder OUT: every blob is checked against its\n"
		"        digest and size, only an image's own file names are taken, and the\n"
		"        measurement the manifest announces must be the one the image\n"
		"        brings. Then OUT is verified as 'vapp verify' would, with the\n"
		"        --key keys. Nothing is left at OUT unless all of it holds. A layout\n"
		"        skopeo wrote from a registry works as it is:\n"
		"          skopeo copy docker://registry.example/hello:1 oci:/tmp/h:1\n"
		"          vapp oci import --key vendor.pub /tmp/h:1 hello\n"
		"        (vapp run oci:LAYOUT:TAG runs one without a folder in between.)\n"
		"\n"
		"LAYOUT:TAG is skopeo's oci: form without 'oci:'; LAYOUT has no ':'.\n"
		"\n"
		"Options:\n"
		"  -k, --key PUB.pem  trust this Ed25519 public key (may be repeated);\n"
		"                     without one, the image's own signer.pub proves its\n"
		"                     integrity only, and a note says so\n"
		"  -h, --help         show this help\n"
		"\n"
		"The layout's media types and annotations are in image/README.md.\n"
		"\n"
		"Exit status: 0 done, 1 refused or failed (the reason on stderr), 2 usage.\n",
	.run = run,
};
