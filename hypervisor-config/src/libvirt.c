/*
 * libvirt.c - a libvirt domain: the same VM as the QEMU command line, for
 * virsh and libvirt-based managers.
 *
 * Every value goes through sb_xml(). libvirt adds devices of its own unless
 * told not to: a USB controller on q35 and a memory balloon, both PCI
 * devices that a microvm cannot have, so both are turned off explicitly.
 * On a microvm each virtio device says it is on virtio-mmio, or libvirt
 * looks for a PCI bus ("No PCI buses available"). libvirt turns ACPI off
 * unless the domain asks for it, which a kernel that finds the microvm's
 * devices through ACPI (Debian's) cannot boot without: <acpi/> unless the
 * manifest's QEMU arguments turn it off themselves (the small kernel, which
 * has no ACPI: QEMU then lists the devices on the command line). The VM
 * ends on poweroff or reboot alike (vapp-init ends it with a reboot), like
 * QEMU's -no-reboot. tests/integration/libvirt_run.sh starts one in a real
 * libvirtd.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hv.h"

static void elem(struct sbuf *b, const char *indent, const char *tag, const char *text)
{
	sb_printf(b, "%s<%s>", indent, tag);
	sb_xml(b, text);
	sb_printf(b, "</%s>\n", tag);
}

/* On a microvm, a virtio device's address: virtio-mmio. */
static void mmio(struct sbuf *b, const struct manifest *m, const char *indent)
{
	if (!hv_needs_pci(m))
		sb_printf(b, "%s<address type='virtio-mmio'/>\n", indent);
}

/* Do the manifest's QEMU arguments turn ACPI off (-machine acpi=off)? */
static bool acpi_off(const struct manifest *m)
{
	for (size_t i = 0; i < m->hv.n_qemu_args; i++)
		if (strstr(m->hv.qemu_args[i], "acpi=off"))
			return true;
	return false;
}

static void add_os(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	sb_printf(b, "  <os>\n    <type arch='x86_64' machine='%s'>hvm</type>\n",
		  hv_needs_pci(m) ? "q35" : "microvm");
	elem(b, "    ", "kernel", r->kernel);
	elem(b, "    ", "initrd", r->initrd);
	elem(b, "    ", "cmdline", r->cmdline);
	sb_puts(b, "  </os>\n");
}

static void add_head(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	sb_puts(b, "<domain type='");
	sb_xml(b, r->virt_type);
	sb_puts(b, "'>\n");
	elem(b, "  ", "name", m->name);
	sb_puts(b, "  <description>vapp appliance ");
	sb_xml(b, m->name);
	if (m->version) {
		sb_putc(b, ' ');
		sb_xml(b, m->version);
	}
	if (m->vendor) {
		sb_puts(b, " by ");
		sb_xml(b, m->vendor);
	}
	sb_puts(b, "</description>\n");
	sb_printf(b, "  <memory unit='MiB'>%u</memory>\n", m->memory_mib);
	sb_printf(b, "  <vcpu>%u</vcpu>\n", m->vcpus);
	add_os(b, m, r);
	if (!acpi_off(m))
		sb_puts(b, "  <features>\n    <acpi/>\n  </features>\n");
	sb_puts(b, "  <on_poweroff>destroy</on_poweroff>\n"
		   "  <on_reboot>destroy</on_reboot>\n"
		   "  <on_crash>destroy</on_crash>\n");
}

static void add_console(struct sbuf *b, const struct hv_run *r)
{
	sb_puts(b, "    <serial type='file'>\n      <source path='");
	sb_xml(b, r->console_log);
	sb_puts(b, "'/>\n      <target port='0'/>\n    </serial>\n");
}

static void add_channels(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	size_t i;

	if (hv_needs_pci(m))
		sb_puts(b, "    <controller type='virtio-serial' index='0'/>\n");
	else
		sb_puts(b, "    <controller type='virtio-serial' index='0'>\n"
			   "      <address type='virtio-mmio'/>\n    </controller>\n");
	for (i = 0; i < hv_n_channels(m); i++) {
		const char *name = hv_channel_name(m, i);

		sb_puts(b, "    <channel type='unix'>\n      <source mode='bind' path='");
		sb_xml(b, r->run_dir);
		sb_putc(b, '/');
		sb_xml(b, name);
		sb_puts(b, ".sock'/>\n      <target type='virtio' name='");
		sb_xml(b, name);
		sb_puts(b, "'/>\n    </channel>\n");
	}
}

static void add_state(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	if (!m->state.size_mib)
		return;
	sb_puts(b, "    <disk type='file' device='disk'>\n"
		   "      <driver name='qemu' type='raw'/>\n"
		   "      <source file='");
	sb_xml(b, r->state_image);
	sb_puts(b, "'/>\n      <target dev='vda' bus='virtio'/>\n");
	mmio(b, m, "      ");
	sb_puts(b, "    </disk>\n");
}

/* The tap is made by the runtime (managed='no'), as with QEMU's -netdev tap. */
static void add_nics(struct sbuf *b, const struct manifest *m, const struct hv_run *r)
{
	char mac[18];
	size_t i;

	for (i = 0; i < m->n_nics; i++) {
		hv_nic_mac(m, i, mac);
		sb_puts(b, "    <interface type='ethernet'>\n      <mac address='");
		sb_xml(b, mac);
		sb_puts(b, "'/>\n      <target dev='");
		sb_xml(b, r->taps[i]);
		sb_puts(b, "' managed='no'/>\n      <model type='virtio'/>\n");
		mmio(b, m, "      ");
		sb_puts(b, "    </interface>\n");
	}
}

static void add_passthrough(struct sbuf *b, const struct manifest *m)
{
	struct hv_pci_addr p;
	size_t i;

	sb_printf(b, "    <controller type='usb' model='%s'/>\n",
		  m->usb ? "qemu-xhci" : "none");
	/* Intel HDA with a duplex codec; what it plays into is the host's
	 * to choose (an <audio> backend, here none). */
	if (m->sound)
		sb_puts(b, "    <sound model='ich9'>\n      <codec type='duplex'/>\n"
			   "      <audio id='1'/>\n    </sound>\n    <audio id='1' type='none'/>\n");
	for (i = 0; i < m->n_pci; i++) {
		hv_pci_parse(m->pci[i].address, &p); /* checked by hv_check() */
		sb_printf(b, "    <hostdev mode='subsystem' type='pci' managed='yes'>\n"
			     "      <source>\n"
			     "        <address domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n"
			     "      </source>\n"
			     "    </hostdev>\n", p.domain, p.bus, p.slot, p.function);
	}
}

char *hv_libvirt_xml(const struct manifest *m, const struct hv_params *p)
{
	struct sbuf b = { 0 };
	struct hv_run r;
	int err;

	err = hv_check(m);
	if (!err)
		err = hv_run_init(&r, m, p, HV_BACKEND_KVM);
	if (err) {
		errno = -err;
		return NULL;
	}
	add_head(&b, m, &r);
	sb_puts(&b, "  <devices>\n");
	add_console(&b, &r);
	add_channels(&b, m, &r);
	add_state(&b, m, &r);
	add_nics(&b, m, &r);
	add_passthrough(&b, m);
	sb_puts(&b, "    <memballoon model='none'/>\n");
	/* The manifest's own fragment, as it is: it is the vendor's XML. */
	if (m->hv.libvirt_xml && *m->hv.libvirt_xml) {
		sb_puts(&b, m->hv.libvirt_xml);
		if (m->hv.libvirt_xml[strlen(m->hv.libvirt_xml) - 1] != '\n')
			sb_putc(&b, '\n');
	}
	sb_puts(&b, "  </devices>\n</domain>\n");
	hv_run_release(&r);
	return sb_finish(&b);
}
