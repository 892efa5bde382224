/*
 * appliance.h - what every appliance daemon does the same way: where it
 * serves (--attach and --listen addresses), who called (the caller's name
 * as vappd's broker gave it), failing a call, and stopping on SIGTERM or
 * SIGINT.
 */
#ifndef VAPP_APPLIANCE_H
#define VAPP_APPLIANCE_H

#include <stddef.h>

struct vrpc_server;
struct vrpc_loop;

/** Inside a method: fails the call whose closure data is @p data with
 * @p code and a printf-style message (vrpc.h's way: status, then the
 * closure with NULL). */
#define APPLIANCE_FAIL(data, closure, code, ...)                             \
	do {                                                                 \
		vrpc_call_set_status(vrpc_call_of(data), code, __VA_ARGS__); \
		closure(NULL, data);                                         \
	} while (0)

#define APPLIANCE_MAX_ADDRS 4

struct appliance_addrs {
	const char *attach[APPLIANCE_MAX_ADDRS], *listen[APPLIANCE_MAX_ADDRS];
	int n_attach, n_listen;
};

/** Keeps @p addr for option @p c ('a' attach, 'l' listen).
 * @return 0, or -1 when there are APPLIANCE_MAX_ADDRS of that kind already. */
int appliance_addr_add(struct appliance_addrs *a, int c, const char *addr);

/** Serves @p srv at every address (attach first). @return 0, or -errno
 * of the first that failed (said on stderr, with @p prog). */
int appliance_addrs_open(const char *prog, struct vrpc_server *srv,
			 const struct appliance_addrs *a);

/** Quits @p loop on SIGTERM or SIGINT (blocked, read from a signalfd the
 * loop watches). @return 0 or -errno. */
int appliance_quit_on_signals(struct vrpc_loop *loop);

/** The caller of the call whose closure data is @p data: the bare label
 * vappd's broker gave ("alice"), else the transport's own name
 * ("uid:0"), or "unknown". */
void appliance_caller(void *data, char *out, size_t len);

#endif
