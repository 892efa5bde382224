/* fuzz_manifest.c - libFuzzer: any text as a manifest, through the whole
 * load (event walk, libcyaml, conversion, checks) and free. It must never
 * crash, hang or leak, and must give a model or a diagnostic, never
 * neither. Seeds: tests/fuzz/corpus/fuzz_manifest/ (good and bad manifests). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* By its path: other libraries have a private.h of their own. */
#include "../../manifest/src/manifest_private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct manifest_var vars[] = {
		{ "BUILD", "tests/manifest/data" },
		{ "DATA", "tests/manifest/data" },
		{ NULL, NULL },
	};
	struct manifest_diag diag = { 0 };
	struct manifest *m;

	/* The folder makes relative paths point at the test data, so the
	 * checks that read files (.proto scan) are reached too. */
	m = manifest_load_buffer("tests/manifest/fuzz.yaml", data, size, vars, &diag);
	if (!m && !diag.n && errno != ENOMEM) {
		fprintf(stderr, "fuzz_manifest: no model and no diagnostic\n");
		abort();
	}
	if (m && diag.n) {
		fprintf(stderr, "fuzz_manifest: a model and %zu diagnostics\n", diag.n);
		abort();
	}
	manifest_free(m);
	manifest_diag_free(&diag);
	return 0;
}
