/*
 * hvrun.h - the process side of the backends (libvapp-hvconfig, beside the
 * generators of hvconfig.h): QEMU started as an unprivileged user in its own
 * process group, the probe that decides whether KVM really boots here, and
 * the Xen backend's xl and xenstore commands. The argv run is always
 * hv_qemu_argv()'s from a measured manifest, never an image's file.
 *
 * Error convention: 0 or -errno, a human-readable reason in a caller's
 * buffer where there is one; argv builders return NULL with errno set.
 */
#ifndef VAPP_HVRUN_H
#define VAPP_HVRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hvconfig.h"

/* The unprivileged user QEMU runs as (run_user.c). */
struct hv_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	gid_t groups[2]; /* its own group, and kvm's when it exists */
	size_t n_groups;
};

/** Looks up @p name; refuses a missing user or uid/gid 0, saying how to
 * make one. @return 0, -ENOENT or -EPERM with @p err filled in. */
int hv_user_lookup(const char *name, struct hv_user *u, char *err, size_t errlen);

/** In a child between fork() and exec(): become @p u for good, with no
 * capability, no_new_privs set. @return 0 or -errno. */
int hv_user_drop(const struct hv_user *u);

/** chown @p path to root (or @p u when @p owner) and @p u's group, then
 * chmod @p mode. @return 0 or -errno. */
int hv_user_give(const struct hv_user *u, const char *path, bool owner, mode_t mode);

/** Can @p u search @p dir (every folder above it)? Asked as that user, in a
 * child. @return 0, or -EACCES. */
int hv_user_can_reach(const struct hv_user *u, const char *dir);

/** Opens (making it) tap device @p name for a QEMU to inherit: the runtime
 * holds the right to make taps, QEMU does not. @return the fd (close-on-
 * exec), or -errno. */
int hv_tap_open(const char *name);

/* Inherited fds are placed at 3, 4, ...: hv_params.tap_fds names these. */
#define HV_SPAWN_FIRST_FD 3
#define HV_SPAWN_MAX_FDS 8

/**
 * Starts @p argv with stdin /dev/null and stdout/stderr appended to
 * @p log_path, in its own process group, killed (SIGKILL) if vappd dies,
 * as @p user (NULL: vappd's own user, for the KVM probe, which boots a
 * kernel with no devices and no guest input). @p fds (at most
 * HV_SPAWN_MAX_FDS) become its fds HV_SPAWN_FIRST_FD, ...
 * @return the pid, or -errno.
 */
pid_t hv_qemu_spawn(char *const *argv, const char *log_path, const struct hv_user *user,
		    const int *fds, size_t n_fds);

/**
 * Does QEMU boot @p kernel with -accel @p accel within @p timeout_ms? Boots
 * it without an initramfs, so a working kernel ends in "Kernel panic" (no
 * root) and QEMU (-no-reboot) exits; the marker on the console is the
 * proof. A hang (this host's nested KVM) or a QEMU that fails is a no.
 * QEMU is killed whatever happens. @p scratch is a folder for the console.
 * @return 1 yes, 0 no (@p why says why), -errno when it could not try.
 */
int hv_qemu_probe(const char *qemu, const char *accel, const char *kernel, const char *scratch,
	       int timeout_ms, char *why, size_t whylen);

/** RSS of process @p pid in bytes (/proc/PID/status VmRSS), 0 if unknown. */
unsigned long long hv_proc_rss_bytes(pid_t pid);

/*
 * The Xen backend's commands (runtime/vappd/xen.c runs them): `xl create`
 * of an xl.cfg under a domain name, the domid lookup, and the xenstore permissions that
 * let exactly one guest reach an appliance's vchan.
 *
 * A libxenvchan server (the appliance, domain S) writes its ring refs under
 * a xenstore directory PATH; the client (the guest, domain C) must be able
 * to read them and nobody else. xenstore permissions: the first entry names
 * the owner (who may do anything) and the default for all others, the
 * following ones grant single domains: "n<S>" (owner S, others none) then
 * "r<C>" (C may read). vappd, in dom0, creates PATH first and then gives it
 * away, so no guest can create it before vappd does.
 *
 * Every function returns a NULL-terminated argv to free with
 * hv_argv_free(), or NULL with errno (EINVAL: a name or path that is not
 * safe to pass on, ENOMEM).
 */
/* xl create -p -F CFG 'name="NAME"': created paused, xl in the foreground
 * until the domain is gone */
char **hv_xen_create_argv(const char *cfg_path, const char *domain_name);
/* xl domid NAME */
char **hv_xen_domid_argv(const char *domain_name);
/* xl shutdown -w NAME, or with @p force: xl destroy NAME */
char **hv_xen_stop_argv(const char *domain_name, int force);
/* xenstore-write PATH "" : the directory, made by dom0 */
char **hv_xen_vchan_mkdir_argv(const char *path);
/* xenstore-chmod -r PATH n<server> r<client> */
char **hv_xen_vchan_chmod_argv(const char *path, uint32_t server_domid, uint32_t client_domid);

/** Parses `xl domid`'s output ("5\n"). @return 0, or -EINVAL. */
int hv_xen_parse_domid(const char *text, uint32_t *domid);
/** Finds in `xl create -F`'s output the line that says the domain is made,
 * "Waiting for domain NAME (domid N) to die [pid P]", for @p domain_name.
 * @return 0 with *@p domid, -ENOENT (not yet), or -EINVAL. */
int hv_xen_parse_created(const char *text, const char *domain_name, uint32_t *domid);


#endif /* VAPP_HVRUN_H */
