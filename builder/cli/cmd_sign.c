/* cmd_sign.c - vapp sign: measure an image folder and sign it (again). */
#include <getopt.h>
#include <stdio.h>

#include "cmd.h"
#include "measure.h"

extern const struct vapp_cmd vapp_cmd_sign;

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "dev-key", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *dev = NULL;
	char hex[MEASURE_HEX_LEN + 1];
	struct measure_result res;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'd':
			dev = optarg;
			break;
		default:
			return cmd_usage_error(&vapp_cmd_sign, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(&vapp_cmd_sign, "expects one image folder");
	if (measure_and_sign(argv[optind], key, dev, &res)) {
		cmd_error(&vapp_cmd_sign, "%s", res.err);
		return 1;
	}
	measure_hex(res.m.chain, hex);
	printf("%s: measurement chain %s\n", argv[optind], hex);
	printf("signed with %s (%s)\n", res.key_path, res.fingerprint);
	if (res.dev_key)
		fprintf(stderr,
			"WARNING: signed with the DEVELOPMENT key %s, not a vendor key.\n"
			"         Nobody else trusts it. Use --key (or signing.key in the manifest).\n",
			res.key_path);
	return 0;
}

const struct vapp_cmd vapp_cmd_sign = {
	.name = "sign",
	.summary = "measure an appliance image folder and sign the measurement",
	.usage =
		"Usage: vapp sign [--key PRIVATE.pem] [--dev-key PATH] DIR\n"
		"\n"
		"Hashes kernel, initramfs and cmdline in the image folder DIR,\n"
		"writes the SHA-256 chain to DIR/measurement (format in image/README.md),\n"
		"signs it with an Ed25519 key into DIR/measurement.sig and writes the\n"
		"public key to DIR/signer.pub. 'vapp build' does the same as its last\n"
		"step; use 'vapp sign' to sign a built image with another key (say, a\n"
		"release key kept off the build machine).\n"
		"\n"
		"Options:\n"
		"  -k, --key PRIVATE.pem  the Ed25519 private key (from 'vapp keygen')\n"
		"      --dev-key PATH     without --key, the development key to use, made\n"
		"                         if missing (default " MEASURE_DEV_KEY ");\n"
		"                         signing with it prints a warning\n"
		"  -h, --help             show this help\n"
		"\n"
		"Exit status: 0 signed, 1 a part is missing or the key is unusable,\n"
		"2 usage error.\n"
		"\n"
		"Example:\n"
		"  vapp sign --key vendor.pem build/appliances/hello\n",
	.run = run,
};
