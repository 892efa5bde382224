/* cmd_verify.c - vapp verify: is an image folder what its signer measured? */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "measure.h"

extern const struct vapp_cmd vapp_cmd_verify;

static void print_measurement(const struct measurement *m)
{
	char hex[MEASURE_HEX_LEN + 1];

	for (int i = 0; i < MEASURE_N_PARTS; i++) {
		measure_hex(m->part[i], hex);
		printf("  %-17s %s\n", measure_part_file[i], hex);
	}
	measure_hex(m->chain, hex);
	printf("  %-17s %s\n", "chain", hex);
}

/* The key that vouched for the image, in words. */
static void print_signer(const char *dir, const char *key, bool trusted)
{
	char path[4096], err[MEASURE_ERR_LEN], fpr[8 + MEASURE_HEX_LEN];

	if (!trusted) {
		snprintf(path, sizeof(path), "%s/signer.pub", dir);
		key = path;
	}
	if (measure_key_fingerprint(key, fpr, err))
		snprintf(fpr, sizeof(fpr), "(unknown)");
	if (trusted) {
		printf("signature: good, by trusted key %s (%s)\n", key, fpr);
		return;
	}
	printf("signature: good, by the image's own signer.pub (%s)\n", fpr);
	fprintf(stderr,
		"vapp verify: note: no --key given, so this proves integrity only, not trust:\n"
		"  the files match what the holder of signer.pub signed, but anyone can make\n"
		"  a key. Pass --key VENDOR.pub to check who signed it.\n");
}

int cmd_verify_image(const struct vapp_cmd *cmd, const char *dir, const char *const *keys)
{
	struct verify_report r;
	int ret = verify_image(dir, keys && keys[0] ? keys : NULL, &r);

	for (size_t i = 0; i < r.n_problems; i++)
		cmd_error(cmd, "%s: %s", dir, r.problems[i]);
	if (!ret && !r.trusted)
		fprintf(stderr, "vapp %s: note: %s verified against its own signer.pub only "
			"(integrity, not trust); pass --key VENDOR.pub\n", cmd->name, dir);
	verify_report_free(&r);
	if (ret == -ENOMEM)
		cmd_error(cmd, "out of memory");
	return ret;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_report r;
	const char **keys, *dir;
	size_t n_keys = 0;
	bool quiet = false;
	int c, ret;

	/* At most one key per argument, and a NULL after the last. */
	keys = calloc((size_t)argc + 1, sizeof(*keys));
	if (!keys) {
		cmd_error(&vapp_cmd_verify, "out of memory");
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "k:q", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keys[n_keys++] = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			free(keys);
			return cmd_usage_error(&vapp_cmd_verify, "unknown option");
		}
	}
	if (optind != argc - 1) {
		free(keys);
		return cmd_usage_error(&vapp_cmd_verify, "expects one image folder");
	}
	dir = argv[optind];
	ret = verify_image(dir, keys, &r);
	for (size_t i = 0; i < r.n_problems; i++)
		fprintf(stderr, "%s: %s\n", dir, r.problems[i]);
	if (ret == -ENOMEM)
		cmd_error(&vapp_cmd_verify, "out of memory");
	else if (ret)
		fprintf(stderr, "%s: NOT verified\n", dir);
	if (!ret && !quiet) {
		printf("%s: verified\n", dir);
		print_measurement(&r.m);
		print_signer(dir, r.trusted ? keys[r.signer] : NULL, r.trusted);
	}
	verify_report_free(&r);
	free(keys);
	return ret ? 1 : 0;
}

const struct vapp_cmd vapp_cmd_verify = {
	.name = "verify",
	.summary = "check an appliance image against its measurement and signature",
	.usage =
		"Usage: vapp verify [--key PUB.pem]... [--quiet] DIR\n"
		"\n"
		"Checks the appliance image folder DIR (as 'vapp build' writes it):\n"
		"  - hashes kernel, initramfs and cmdline and compares each\n"
		"    with the 'measurement' file, naming any part that differs;\n"
		"  - recomputes the SHA-256 chain (pcr = SHA256(pcr || SHA256(part)),\n"
		"    from 32 zero bytes, see image/README.md) and compares it;\n"
		"  - checks the Ed25519 signature 'measurement.sig' over the bytes of\n"
		"    'measurement' with the trusted keys given by --key: one of them must\n"
		"    verify it. Without --key, the image's own 'signer.pub' is used; that\n"
		"    only shows the files are intact as signed, not who signed them, and\n"
		"    vapp verify says so.\n"
		"Every problem is printed, one line each, on stderr, e.g.\n"
		"  DIR: kernel: sha256 mismatch (measurement says 1f.., file is 9c..)\n"
		"\n"
		"Options:\n"
		"  -k, --key PUB.pem  trust this Ed25519 public key (PEM, as 'vapp keygen'\n"
		"                     or 'openssl pkey -pubout' writes it); may be given\n"
		"                     more than once: any one of them may have signed\n"
		"  -q, --quiet        print nothing on success\n"
		"  -h, --help         show this help\n"
		"\n"
		"Exit status: 0 every check holds, 1 a check failed (or the folder cannot\n"
		"be read), 2 usage error.\n"
		"\n"
		"Example:\n"
		"  vapp verify --key vendor.pub build/appliances/hello\n",
	.run = run,
};
