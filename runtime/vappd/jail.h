/*
 * jail.h - the broker child's confinement: its own user, no privileges
 * left, and a seccomp allow-list (libseccomp) of what an event loop that
 * relays between sockets it was given needs. Anything else kills the
 * process (SECCOMP_RET_KILL_PROCESS): a broker taken over by a guest cannot
 * open a file, make a socket, run a program or signal another process.
 */
#ifndef VAPPD_JAIL_H
#define VAPPD_JAIL_H

#include <stddef.h>
#include <sys/types.h>

#define VAPPD_DEFAULT_BROKER_USER "vapp-broker"

struct vappd_jail {
	uid_t uid;
	gid_t gid;
	const char *root; /* chroot here first (an empty folder), or NULL */
};

/** Looks up @p user; refuses a missing one or uid/gid 0. @return 0 or
 * -errno with @p err saying how to make it. */
int vappd_jail_lookup(const char *user, struct vappd_jail *j, char *err, size_t errlen);

/** In the child: chroot (when asked), drop to the user for good, set
 * no_new_privs, then the seccomp filter. Only what vappd_jail_allowed()
 * lists remains. @return 0 or -errno with @p err saying which step. */
int vappd_jail_enter(const struct vappd_jail *j, char *err, size_t errlen);

/** The system calls the filter allows, NULL-terminated; @p n gets their
 * number. */
const char *const *vappd_jail_allowed(size_t *n);

#endif /* VAPPD_JAIL_H */
