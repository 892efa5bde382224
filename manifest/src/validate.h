/* validate.h - helpers shared by validate.c and validate_devices.c. */
#ifndef VAPP_MANIFEST_VALIDATE_H
#define VAPP_MANIFEST_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest_private.h"

/* @p s is [a-z0-9] then [a-z0-9] or @p extra, @p min to @p max long. */
bool vchar_ok(const char *s, const char *extra, size_t min, size_t max);
/* Reports @p path (at @p key) unless it is a regular (executable) file.
 * @return true if it is. */
bool vcheck_file(struct mctx *c, const char *key, const char *path, bool exec);
bool vimage_path_ok(const char *p);
bool vreserved(const char *p, bool for_mount);
void validate_devices(struct mctx *c, const struct manifest *m, const struct raw_manifest *raw);

#endif
