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

/**
 * Starts @p argv with stdin /dev/null and stdout/stderr appended to
 * @p log_path, in its own process group, killed (SIGKILL) if vappd dies.
 * @return the pid, or -errno.
 */
pid_t qemu_spawn(char *const *argv, const char *log_path);

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
