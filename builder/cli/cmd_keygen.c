/* cmd_keygen.c - vapp keygen: an Ed25519 key pair for signing appliances. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "measure.h"

extern const struct vapp_cmd vapp_cmd_keygen;

static int run(int argc, char **argv)
{
	char err[MEASURE_ERR_LEN] = "", fpr[8 + MEASURE_HEX_LEN];
	const char *priv;
	char *pub;
	int ret;

	if (argc != 2 || argv[1][0] == '-')
		return cmd_usage_error(&vapp_cmd_keygen, "expects one argument, the private key's path");
	priv = argv[1];
	pub = measure_pub_path(priv);
	if (!pub) {
		cmd_error(&vapp_cmd_keygen, "out of memory");
		return 1;
	}
	ret = measure_keygen(priv, pub, err);
	if (ret) {
		cmd_error(&vapp_cmd_keygen, "%s", err);
		free(pub);
		return 1;
	}
	if (measure_key_fingerprint(pub, fpr, err))
		snprintf(fpr, sizeof(fpr), "(unknown)");
	printf("private key: %s (keep it secret; mode 0600)\n"
	       "public key:  %s (give it to those who run your appliances)\n"
	       "fingerprint: %s\n",
	       priv, pub, fpr);
	free(pub);
	return 0;
}

const struct vapp_cmd vapp_cmd_keygen = {
	.name = "keygen",
	.summary = "make an Ed25519 key pair for signing appliance images",
	.usage =
		"Usage: vapp keygen PRIVATE.pem\n"
		"\n"
		"Makes a new Ed25519 key pair for signing appliance images. The private\n"
		"key goes to PRIVATE.pem (PKCS#8 PEM, not encrypted, mode 0600) and the\n"
		"public key to PRIVATE.pub (PEM SubjectPublicKeyInfo); a path that does\n"
		"not end in .pem gets .pub appended for the public key. Neither file is\n"
		"ever overwritten: keygen fails if one exists.\n"
		"\n"
		"Name the private key in a manifest (signing.key) and vapp build signs\n"
		"the image's measurement with it. Give the public key to whoever runs\n"
		"the appliance: 'vapp verify DIR --key PRIVATE.pub' and vappd trust an\n"
		"image only when one of their keys verifies its signature. The keys are\n"
		"ordinary OpenSSL keys ('openssl pkey -in PRIVATE.pem -text').\n"
		"\n"
		"Options:\n"
		"  -h, --help   show this help\n"
		"\n"
		"Exit status: 0 the pair was written, 1 it was not (a file exists, or\n"
		"cannot be written), 2 usage error.\n"
		"\n"
		"Example:\n"
		"  vapp keygen ~/.config/vapp/vendor.pem\n"
		"  # writes vendor.pem and vendor.pub, prints the key's fingerprint\n",
	.run = run,
};
