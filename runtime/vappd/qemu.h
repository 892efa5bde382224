/*
 * qemu.h - the QEMU backend: qemu.args (one argument a line, written by
 * hypervisor-config with ${NAME} placeholders) to an argv, checked against
 * the measured image; QEMU started confined to its own process group; and
 * the probe that decides whether KVM really boots here.
 */
#ifndef VAPPD_QEMU_H
#define VAPPD_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "manifest.h"

/** Splits qemu.args text into a NULL-terminated argv (free with
 * qemu_argv_free()). An empty last line is not an argument.
 * @return 0, -EINVAL (no arguments, a NUL byte), -ENOMEM. */
int qemu_args_split(const char *text, size_t len, char ***argv);
void qemu_argv_free(char **argv);

/**
 * qemu.args is not measured, so it must not be able to boot anything but
 * the measured parts: -kernel, -initrd and -append must be present once
 * each and be ${IMAGE_DIR}/kernel, ${IMAGE_DIR}/initramfs.cpio.gz and the
 * measured @p cmdline; nothing may name another kernel or firmware
 * (-bios, -pflash, -drive if=pflash, -L, -readconfig, -fw_cfg), nor enable a
 * QEMU monitor on stdio, or change the owner of the process (-runas,
 * -chroot, -daemonize).
 * @return 0, or -EPERM with @p err naming the argument.
 */
int qemu_args_check(char *const *argv, const char *cmdline, char *err, size_t errlen);

/**
 * Replaces the placeholders in every argument (hv_expand()); ${TAP_<nic>}
 * not in @p vars gets a tap name from @p tap_prefix and the NIC's order.
 * @return a new argv, or NULL with errno set and @p err naming the problem
 *         (EINVAL: a value needing escaping, or a placeholder left).
 */
char **qemu_args_expand(char *const *argv, const struct manifest_var *vars,
			const char *tap_prefix, char *err, size_t errlen);

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
