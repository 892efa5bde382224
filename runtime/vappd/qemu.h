/*
 * qemu.h - the QEMU backend's process side: QEMU started confined to its own
 * process group, and the probe that decides whether KVM really boots here.
 * The argv is hypervisor-config's (hv_qemu_argv()), never an image's file.
 */
#ifndef VAPPD_QEMU_H
#define VAPPD_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "manifest.h"

/* Frees an argv of hv_qemu_argv(). */
void qemu_argv_free(char **argv);

/* The unprivileged user QEMU runs as (qemu_user.c). */
struct qemu_user {
	char name[64];
	uid_t uid;
	gid_t gid;
	gid_t groups[2]; /* its own group, and kvm's when it exists */
	size_t n_groups;
};

/** Looks up @p name; refuses a missing user or uid/gid 0, saying how to
 * make one. @return 0, -ENOENT or -EPERM with @p err filled in. */
int qemu_user_lookup(const char *name, struct qemu_user *u, char *err, size_t errlen);

/** In a child between fork() and exec(): become @p u for good, keeping
 * CAP_NET_ADMIN (ambient, for tap devices) only when @p net_admin;
 * no_new_privs set. @return 0 or -errno. */
int qemu_user_drop(const struct qemu_user *u, bool net_admin);

/** chown @p path to root (or @p u when @p owner) and @p u's group, then
 * chmod @p mode. @return 0 or -errno. */
int qemu_user_give(const struct qemu_user *u, const char *path, bool owner, mode_t mode);

/** Can @p u search @p dir (every folder above it)? Asked as that user, in a
 * child. @return 0, or -EACCES. */
int qemu_user_can_reach(const struct qemu_user *u, const char *dir);

/**
 * Starts @p argv with stdin /dev/null and stdout/stderr appended to
 * @p log_path, in its own process group, killed (SIGKILL) if vappd dies,
 * as @p user (NULL: vappd's own user, for the KVM probe, which boots a
 * kernel with no devices and no guest input).
 * @return the pid, or -errno.
 */
pid_t qemu_spawn(char *const *argv, const char *log_path, const struct qemu_user *user,
		 bool net_admin);

/**
 * Does QEMU boot @p kernel with -accel @p accel within @p timeout_ms? Boots
 * it without an initramfs, so a working kernel ends in "Kernel panic" (no
 * root) and QEMU (-no-reboot) exits; the marker on the console is the
 * proof. A hang (this host's nested KVM) or a QEMU that fails is a no.
 * QEMU is killed whatever happens. @p scratch is a folder for the console.
 * @return 1 yes, 0 no (@p why says why), -errno when it could not try.
 */
int qemu_probe(const char *qemu, const char *accel, const char *kernel, const char *scratch,
	       int timeout_ms, char *why, size_t whylen);

/** RSS of process @p pid in bytes (/proc/PID/status VmRSS), 0 if unknown. */
unsigned long long proc_rss_bytes(pid_t pid);

#endif /* VAPPD_QEMU_H */
