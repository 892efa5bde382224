/* fuzz_fw_import.c - vapp-fw's Qubes rule list reader (cli/qubes_rules.c)
 * on any bytes: whatever it takes, the daemon's own checks take too, and
 * its export reads back to the same text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"
#include "qubes_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Vapp__Firewall__V1__Ruleset *rs, *again;
	struct fw_ruleset model;
	char err[1024], why[FW_REASON_LEN], *text, *text2;

	rs = fw_qubes_import((const char *)data, size, "f", err, sizeof(err));
	if (!rs) {
		if (!memchr(err, '\n', sizeof(err)) || strlen(err) >= sizeof(err))
			__builtin_trap(); /* a refusal always says why, in bounds */
		return 0;
	}
	if (fw_ruleset_from_pb(rs, NULL, &model, why, sizeof(why)))
		__builtin_trap();
	fw_ruleset_fini(&model);
	text = fw_qubes_export(rs);
	if (!text)
		__builtin_trap();
	again = fw_qubes_import(text, strlen(text), "again", err, sizeof(err));
	if (!again)
		__builtin_trap();
	text2 = fw_qubes_export(again);
	if (!text2 || strcmp(text, text2))
		__builtin_trap();
	free(text);
	free(text2);
	fw_qubes_free(again);
	fw_qubes_free(rs);
	return 0;
}
