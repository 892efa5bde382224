/*
 * init.h - what vapp-init's files share: console messages, the way out, and
 * the setup steps (setup.c) that run once before the daemon starts.
 *
 * Every setup_* step either succeeds or ends the VM through init_fatal()
 * with the reason on the console: PID 1 has nobody to return an error to,
 * and an appliance half set up must not look alive to the host.
 */
#ifndef VAPP_INIT_H
#define VAPP_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "initconf.h"

#define INIT_ETC "/etc/vapp"
#define INIT_PORTS "/dev/virtio-ports"
#define INIT_CTL_PORT "vapp.ctl"
#define INIT_STATE_DISK "vda"
#define INIT_STATE_DISK_XEN "xvda"
/* How long the devices named in the image may take to appear. */
#define INIT_DEVICE_WAIT_MS 10000

/* One "vapp-init: ..." line on the console, written in one go so that it
 * does not interleave with the daemon's output. */
void init_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says "vapp-init: FATAL: ...", then ends the VM (init_end_vm). */
_Noreturn void init_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Kills what is left, syncs, unmounts the state volume and ends the VM
 * (reboot(RB_AUTOBOOT); QEMU runs with -no-reboot). Never returns. */
_Noreturn void init_end_vm(void);
uint64_t init_now_ms(void);

/* Reads a whole (small) file. @return 0, -ENOENT, -EFBIG (over 64 KiB),
 * -errno. *buf is malloc'd and NUL-terminated past *len. */
int init_read_file(const char *path, char **buf, size_t *len);

void setup_mounts(void);
void setup_console(void);
void setup_hostname(void);
void setup_loopback(void);
/* @return how many modules were loaded. */
size_t setup_modules(void);
/* Waits for every port in /etc/vapp/channels and for vapp.ctl, linking each
 * at /dev/virtio-ports/NAME (there is no udev). Under Xen there is nothing
 * to wait for (the daemon serves its channels as vchans: chan:NAME). */
void setup_channels(void);
/* Whether this VM runs under Xen (/sys/hypervisor/type). */
bool init_on_xen(void);

/* direct.c: under Xen, the folder of each channel's direct peers, then
 * the host's "direct" and "direct-end" lines into it. */
void direct_setup(void);
void direct_line(const char *line);

/* xenctl.c: vapp.ctl's lines under Xen, through xenstore. */
#define XEN_PIECE 1024 /* bytes in one vapp/out key */
/* @return the device's fd (to poll for reading), or -errno. */
int xenctl_open(void);
/* The host's new bytes into @p out (@p len >= 4096); @p device_readable when
 * the fd polled readable. @return bytes, 0 for none, or -errno. */
int xenctl_read(char *out, size_t len, bool device_readable);
/* Pieces may be left to read (xenctl_read filled @p out). */
bool xenctl_more(void);
/* One piece of the appliance's lines. @return 0, or -errno. */
int xenctl_write(const char *buf, size_t len);
/* Formats (only a blank disk) and mounts the state volume, if the image
 * asks for one. */
void setup_state(void);
/* Unmounts the state volume (read-only if it is busy); fine when none. */
void setup_unmount_state(void);

#endif /* VAPP_INIT_H */
