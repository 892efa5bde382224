/* chan.h - "chan:NAME" resolved to the transport address that carries an
 * appliance's channel NAME here (chan.c). */
#ifndef VRPC_CHAN_H
#define VRPC_CHAN_H

#include <stdbool.h>
#include <stddef.h>

#define CHAN_SCHEME "chan:"

/* The address of channel @p name into @p addr; *@p listen says whether the
 * server listens on it (Xen) or attaches to it (a virtio-serial port).
 * @return 0, -EINVAL (not a channel name), -ENOENT (no such port, and not
 * on Xen), -ENAMETOOLONG (too long for a xenstore path). */
int vrpc_chan_resolve(const char *name, char *addr, size_t len, bool *listen);
/* The same with the places looked at given (for the unit test). */
int vrpc_chan_resolve_in(const char *name, const char *ports_dir, const char *hv_type_file,
		    char *addr, size_t len, bool *listen);

#endif
