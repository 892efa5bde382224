/*
 * xl.c - a Xen xl.cfg (xl.cfg(5), Xen 4.17).
 *
 * PVH by default: no device model, the smallest domU. Xen 4.17 has no PCI
 * passthrough to PVH domUs (HVM has, but only with a QEMU device model), so
 * asking for it makes the domain PV, as does a host without HVM (Xen under
 * QEMU's TCG: vappd asks for PV there, hv_params.xen_pv). Strings are quoted by libxlu's rules; device
 * specs ("mac=..,bridge=..") cannot hold a comma in a value at all, so such
 * a value fails with EINVAL instead of producing a config that misreads.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv.h"

/* What the runtime does on Xen that a config file cannot say. */
static const char xl_vchan_doc[] =
	"# Channels are not in this file: the appliance's daemon serves each one\n"
	"# (chan:NAME) as a libxenvchan server at its own xenstore directory\n"
	"# data/vapp/NAME ('.' written '@'), granted to dom0 alone. vapp.ctl's lines\n"
	"# go through the keys vapp/in/N and vapp/out/N of the domain, in a\n"
	"# directory vappd makes before it unpauses the domain (xl create -p).\n";

static void key_str(struct sbuf *b, const char *key, const char *val)
{
	sb_printf(b, "%s = ", key);
	sb_xl_str(b, val);
	sb_putc(b, '\n');
}

/* key = [ "spec", ... ]: each spec built in @p spec, one per line. */
static void list_item(struct sbuf *b, struct sbuf *spec, bool first)
{
	sb_puts(b, first ? "\n\t" : ",\n\t");
	if (spec->err)
		sb_fail(b, spec->err);
	else
		sb_xl_str(b, spec->s ? spec->s : "");
	sb_release(spec);
	spec->err = 0;
}

static void add_head(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	bool pv = m->hv.xen_type == MANIFEST_XEN_PV || m->n_pci > 0 || r->xen_pv;

	key_str(b, "name", m->name);
	key_str(b, "type", pv ? "pv" : "pvh");
	sb_printf(b, "memory = %u\nvcpus = %u\n", m->memory_mib, m->vcpus);
	key_str(b, "kernel", r->kernel);
	key_str(b, "ramdisk", r->initrd);
	key_str(b, "cmdline", r->cmdline);
	/* vapp-init ends the VM with a reboot: the domain is gone either way. */
	sb_puts(b, "on_poweroff = \"destroy\"\non_reboot = \"destroy\"\n"
		   "on_crash = \"destroy\"\n");
}

static void add_state(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	struct sbuf spec = { 0 };

	if (!m->state.size_mib)
		return;
	/* target= comes last: libxlu takes the rest of the spec, commas and
	 * all, as the path. The appliance sees the disk as /dev/xvda. */
	sb_puts(b, "disk = [");
	sb_puts(&spec, "format=raw,vdev=xvda,access=rw,");
	if (r->xen_disk_script) {
		sb_puts(&spec, "script=");
		sb_xl_spec_val(&spec, r->xen_disk_script);
		sb_puts(&spec, ",");
	}
	sb_puts(&spec, "target=");
	sb_puts(&spec, r->state_image);
	list_item(b, &spec, true);
	sb_puts(b, "\n]\n");
}

static void add_nics(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	struct sbuf spec = { 0 };
	char mac[18];
	size_t i;

	if (!m->n_nics)
		return;
	sb_puts(b, "vif = [");
	for (i = 0; i < m->n_nics; i++) {
		hv_nic_mac(m, i, mac);
		sb_puts(&spec, "mac=");
		sb_xl_spec_val(&spec, mac);
		sb_puts(&spec, ",bridge=");
		sb_xl_spec_val(&spec, r->bridges[i]);
		list_item(b, &spec, i == 0);
	}
	sb_puts(b, "\n]\n");
}

static void add_passthrough(struct sbuf *b, const struct manifest *m)
{
	struct sbuf spec = { 0 };
	struct hv_pci_addr p;
	size_t i;

	if (m->n_pci) {
		sb_puts(b, "pci = [");
		for (i = 0; i < m->n_pci; i++) {
			hv_pci_parse(m->pci[i].address, &p); /* checked by hv_check() */
			sb_printf(&spec, "%04x:%02x:%02x.%x", p.domain, p.bus,
				  p.slot, p.function);
			list_item(b, &spec, i == 0);
		}
		sb_puts(b, "\n]\n");
	}
	/* A PV USB controller; devices come later with xl usbdev-attach. */
	if (m->usb)
		sb_puts(b, "usbctrl = [ \"version=2,ports=8\" ]\n");
}

char *hv_xl_cfg(const struct manifest *m, const struct hv_params *p)
{
	struct sbuf b = { 0 };
	struct hv_run r;
	size_t i;
	int err;

	err = hv_check(m);
	if (!err)
		err = hv_run_init(&r, m, p, HV_BACKEND_XEN);
	if (err) {
		errno = -err;
		return NULL;
	}
	sb_puts(&b, "# Xen xl.cfg of the vapp appliance ");
	sb_puts(&b, m->name);
	sb_puts(&b, ", generated from its manifest.\n");
	sb_puts(&b, xl_vchan_doc);
	add_head(&b, m, &r);
	add_state(&b, m, &r);
	add_nics(&b, m, &r);
	add_passthrough(&b, m);
	/* Last: a later setting of the same key wins in xl.cfg. */
	for (i = 0; i < m->hv.n_xen_lines; i++) {
		if (strchr(m->hv.xen_lines[i], '\n'))
			sb_fail(&b, EINVAL);
		sb_puts(&b, m->hv.xen_lines[i]);
		sb_putc(&b, '\n');
	}
	hv_run_release(&r);
	return sb_finish(&b);
}
