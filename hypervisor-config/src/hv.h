/*
 * hv.h - what the three generators share: a growing string that remembers
 * its first error, the escaping each format needs, and the run-time values
 * resolved to either the caller's or the placeholders.
 */
#ifndef VAPP_HV_PRIVATE_H
#define VAPP_HV_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "hvconfig.h"

/*
 * An append-only string. The first failure (ENOMEM, or EINVAL from a value
 * a format cannot hold) sticks in err and later appends do nothing, so a
 * generator appends everything and checks once, in sb_finish().
 */
struct sbuf {
	char *s;
	size_t len, cap;
	int err;            /* 0 or a positive errno */
};

void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_fail(struct sbuf *b, int err);
/* @return the string (the caller frees it), or NULL with errno = b->err. */
char *sb_finish(struct sbuf *b);
void sb_release(struct sbuf *b);

/* QEMU option values: a comma is doubled ("a,b" -> "a,,b", qemu-options). */
void sb_qemu_opt(struct sbuf *b, const char *s);
/* XML character data and attribute values (both quote kinds escaped). */
void sb_xml(struct sbuf *b, const char *s);
/* An xl.cfg string, double quotes included (libxlu's dequote rules). */
void sb_xl_str(struct sbuf *b, const char *s);
/*
 * Appends a value of an xl device spec ("mac=..,bridge=..") being built;
 * the whole spec is quoted later with sb_xl_str(). libxlu splits a spec on
 * commas and has no escape for them, so a value with a comma (or empty, or
 * with a control character) fails with EINVAL rather than being misread.
 */
void sb_xl_spec_val(struct sbuf *b, const char *s);

/* The run-time values of struct hv_params, defaults filled in. */
struct hv_run {
	const char *kernel, *initrd, *cmdline, *run_dir, *accel, *virt_type;
	const char *console_log, *state_image, *qemu, *audiodev, *audio_file;
	bool xen_pv;        /* hv_params.xen_pv */
	const char *xen_disk_script; /* hv_params.xen_disk_script, or NULL */
	char **taps;        /* m->n_nics each */
	char **bridges;
	char *owned[8];     /* what this struct allocated */
	size_t n_owned;
};

/* @p backend picks the default command line when @p p gives none.
 * @return 0 or -errno (-ENOMEM). */
int hv_run_init(struct hv_run *r, const struct manifest *m, const struct hv_params *p,
		enum hv_backend backend);
void hv_run_release(struct hv_run *r);

/*
 * Channels as the VM sees them: index 0 is the control port vapp.ctl, then
 * the manifest's channels in order (a stable numbering: chN, hvcN).
 */
size_t hv_n_channels(const struct manifest *m);
const char *hv_channel_name(const struct manifest *m, size_t i);

/* q35 instead of microvm: a PCI bus is needed (vfio-pci, qemu-xhci). */
bool hv_needs_pci(const struct manifest *m);

struct hv_pci_addr {
	unsigned domain, bus, slot, function;
};
/* "DDDD:BB:SS.F" or "BB:SS.F" (domain 0). @return 0 or -EINVAL. */
int hv_pci_parse(const char *s, struct hv_pci_addr *a);

/*
 * What every generator refuses: no name, no memory or vcpus, a channel
 * without a name or named like the control port, a malformed PCI address.
 * @return 0 or -EINVAL.
 */
int hv_check(const struct manifest *m);

/* qemu.args (write.c): hv_qemu_argv() one argument a line; NULL with errno
 * (EINVAL: an argument holds a newline). */
char *hv_qemu_args_text(const struct manifest *m, const struct hv_params *p);

#endif /* VAPP_HV_PRIVATE_H */
