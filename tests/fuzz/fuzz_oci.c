/* fuzz_oci.c - libFuzzer: arbitrary bytes as an OCI layout's index.json, a
 * manifest or a config (a layout comes from any registry). The first byte
 * chooses which. Whatever is accepted must be what the reader promises: a
 * digest that is a safe file name, sizes within bounds, only an image's
 * file names, each once, every required one present. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_digest(const char *d)
{
	if (strncmp(d, "sha256:", 7) || strlen(d) != OCI_DIGEST_LEN ||
	    strspn(d + 7, "0123456789abcdef") != MEASURE_HEX_LEN)
		abort();
}

static void check_manifest(const struct oci_manifest *m)
{
	unsigned seen = 0;
	uint64_t total = 0;

	check_digest(m->config.digest);
	if (m->config.size > OCI_JSON_MAX || m->n_files > OCI_MAX_FILES ||
	    strspn(m->chain, "0123456789abcdef") != MEASURE_HEX_LEN)
		abort();
	for (size_t i = 0; i < m->n_files; i++) {
		size_t k = 0;

		check_digest(m->files[i].digest);
		while (oci_image_file(k) && strcmp(oci_image_file(k), m->files[i].name))
			k++;
		if (!oci_image_file(k) || (seen & (1u << k)) || m->files[i].size > OCI_FILE_MAX)
			abort();
		seen |= 1u << k;
		total += m->files[i].size;
	}
	for (size_t k = 0; oci_image_file(k); k++)
		if (oci_image_file_required(k) && !(seen & (1u << k)))
			abort();
	if (total > OCI_TOTAL_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	char err[OCI_ERR_LEN] = "";
	struct oci_manifest m;
	struct oci_blob b;
	int rc;

	if (size < 1)
		return 0;
	size--;
	switch (data[0] % 3) {
	case 0:
		rc = oci_index_find(text, size, (data[0] & 4) ? "latest" : NULL, &b, err,
				    sizeof(err));
		if (!rc) {
			check_digest(b.digest);
			if (b.size > OCI_JSON_MAX)
				abort();
		}
		break;
	case 1:
		rc = oci_manifest_parse(text, size, &m, err, sizeof(err));
		if (!rc)
			check_manifest(&m);
		break;
	default:
		rc = oci_config_check(text, size, "00", err, sizeof(err));
		break;
	}
	if (rc && !err[0])
		abort(); /* a refusal says why */
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort(); /* and quotes nothing a terminal would obey */
	return 0;
}
