/*
 * qemu.c - the QEMU command line.
 *
 * -M microvm by default: no PCI, no firmware, no ACPI, the fastest boot;
 * its devices are virtio-mmio (-device virtio-*-device). A PCI bus is
 * needed for vfio-pci passthrough and for qemu-xhci, and then -M q35 with
 * the virtio-*-pci forms. No -cpu: QEMU's default model works under both
 * TCG and KVM (-cpu host aborts on this kind of nested KVM, and is not a
 * TCG model), and the manifest's extra arguments can still name one.
 * Every option value that QEMU splits on commas has its commas doubled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

struct argv_b {
	char **v;
	size_t n, cap;
	int err;
};

static void arg_take(struct argv_b *a, char *s)
{
	char **v;

	if (!s && !a->err)
		a->err = errno ? errno : ENOMEM;
	if (a->err) {
		free(s);
		return;
	}
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;

		v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->err = ENOMEM;
			free(s);
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void arg(struct argv_b *a, const char *s)
{
	arg_take(a, strdup(s));
}

/* Adds the argument built in @p b (and resets it for the next one). */
static void arg_sb(struct argv_b *a, struct sbuf *b)
{
	arg_take(a, sb_finish(b));
	memset(b, 0, sizeof(*b));
}

/* A unix socket RUN_DIR/NAME.sock that QEMU listens on; wait=off: the VM
 * runs whether or not the runtime has connected yet. */
static void chardev_socket(struct argv_b *a, const struct hv_run *r,
			   const char *id, const char *name)
{
	struct sbuf b = { 0 };

	arg(a, "-chardev");
	sb_printf(&b, "socket,id=%s,path=", id);
	sb_qemu_opt(&b, r->run_dir);
	sb_puts(&b, "/");
	sb_qemu_opt(&b, name);
	sb_puts(&b, ".sock,server=on,wait=off");
	arg_sb(a, &b);
}

static void add_channels(struct argv_b *a, const struct manifest *m,
			 const struct hv_run *r, const char *bus)
{
	struct sbuf b = { 0 };
	char id[32];
	size_t i;

	arg(a, "-device");
	arg(a, bus);
	for (i = 0; i < hv_n_channels(m); i++) {
		const char *name = hv_channel_name(m, i);

		snprintf(id, sizeof(id), "ch%zu", i);
		chardev_socket(a, r, id, name);
		arg(a, "-device");
		sb_printf(&b, "virtserialport,chardev=%s,name=", id);
		sb_qemu_opt(&b, name);
		arg_sb(a, &b);
	}
}

static void add_state(struct argv_b *a, const struct hv_run *r, const char *dev)
{
	struct sbuf b = { 0 };

	arg(a, "-drive");
	sb_puts(&b, "file=");
	sb_qemu_opt(&b, r->state_image);
	sb_puts(&b, ",format=raw,if=none,id=state");
	arg_sb(a, &b);
	arg(a, "-device");
	sb_printf(&b, "%s,drive=state", dev);
	arg_sb(a, &b);
}

static void add_nics(struct argv_b *a, const struct manifest *m,
		     const struct hv_run *r, const int *fds, const char *dev)
{
	struct sbuf b = { 0 };
	char mac[18];
	size_t i;

	for (i = 0; i < m->n_nics; i++) {
		arg(a, "-netdev");
		if (fds && fds[i] >= 0) {
			/* The runtime opened it: QEMU needs no right to make taps. */
			sb_printf(&b, "tap,id=n%zu,fd=%d", i, fds[i]);
		} else {
			sb_printf(&b, "tap,id=n%zu,ifname=", i);
			sb_qemu_opt(&b, r->taps[i]);
			sb_puts(&b, ",script=no,downscript=no");
		}
		arg_sb(a, &b);
		arg(a, "-device");
		hv_nic_mac(m, i, mac);
		sb_printf(&b, "%s,netdev=n%zu,mac=", dev, i);
		sb_qemu_opt(&b, mac);
		/* A PCI NIC's option ROM is iPXE, which SeaBIOS runs at every
		 * boot: a network boot nobody asked for (the kernel is given). */
		if (!strcmp(dev, "virtio-net-pci"))
			sb_puts(&b, ",romfile=");
		arg_sb(a, &b);
	}
}

static void add_passthrough(struct argv_b *a, const struct manifest *m, const struct hv_run *r)
{
	struct sbuf b = { 0 };
	struct hv_pci_addr p;
	size_t i;

	if (m->usb) {
		arg(a, "-device");
		arg(a, "qemu-xhci,id=usb");
	}
	if (m->sound) {
		/* Intel HDA with a duplex codec: the guest's speaker and
		 * microphone, both through one audiodev vappd chooses. */
		arg(a, "-audiodev");
		sb_printf(&b, "%s,", r->audiodev);
		if (!strcmp(r->audiodev, "wav")) {
			sb_puts(&b, "path=");
			sb_qemu_opt(&b, r->audio_file);
			sb_putc(&b, ',');
		}
		sb_puts(&b, "id=snd0");
		arg_sb(a, &b);
		arg(a, "-device");
		arg(a, "ich9-intel-hda,id=hda");
		arg(a, "-device");
		arg(a, "hda-duplex,bus=hda.0,audiodev=snd0");
	}
	for (i = 0; i < m->n_pci; i++) {
		hv_pci_parse(m->pci[i].address, &p); /* checked by hv_check() */
		arg(a, "-device");
		sb_printf(&b, "vfio-pci,host=%04x:%02x:%02x.%x", p.domain, p.bus,
			  p.slot, p.function);
		arg_sb(a, &b);
	}
}

static void add_machine(struct argv_b *a, const struct manifest *m,
			const struct hv_run *r)
{
	struct sbuf b = { 0 };

	arg(a, r->qemu);
	arg(a, "-name");
	sb_qemu_opt(&b, m->name);
	arg_sb(a, &b);
	arg(a, "-M");
	arg(a, hv_needs_pci(m) ? "q35" : "microvm");
	arg(a, "-accel");
	arg(a, r->accel);
	arg(a, "-m");
	sb_printf(&b, "%u", m->memory_mib);
	arg_sb(a, &b);
	arg(a, "-smp");
	sb_printf(&b, "%u", m->vcpus);
	arg_sb(a, &b);
	arg(a, "-nographic");
	/* QEMU's own seccomp filter: no obsolete system calls, no set*id, no
	 * fork or exec, no scheduler or affinity changes, whatever a guest
	 * makes of a device model bug. */
	arg(a, "-sandbox");
	arg(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	arg(a, "-no-reboot");
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	/* -kernel, -initrd and -append take their argument whole. */
	arg(a, "-kernel");
	arg(a, r->kernel);
	arg(a, "-initrd");
	arg(a, r->initrd);
	arg(a, "-append");
	arg(a, r->cmdline);
}

/* The console and QMP, the runtime's way to stop or inspect the VM. */
static void add_host_side(struct argv_b *a, const struct hv_run *r)
{
	struct sbuf b = { 0 };

	arg(a, "-chardev");
	sb_puts(&b, "file,id=console,path=");
	sb_qemu_opt(&b, r->console_log);
	arg_sb(a, &b);
	arg(a, "-serial");
	arg(a, "chardev:console");
	chardev_socket(a, r, "qmp", "qmp");
	arg(a, "-mon");
	arg(a, "chardev=qmp,mode=control");
}

/* KVM's command line only when the accelerator is known to be KVM. */
static enum hv_backend qemu_backend(const struct hv_params *p)
{
	enum hv_backend be = HV_BACKEND_TCG;

	if (p && p->accel)
		hv_backend_find(p->accel, &be);
	return be == HV_BACKEND_KVM ? HV_BACKEND_KVM : HV_BACKEND_TCG;
}

char **hv_qemu_argv(const struct manifest *m, const struct hv_params *p)
{
	struct argv_b a = { 0 };
	struct hv_run r;
	bool pci = hv_needs_pci(m);
	int err;
	size_t i;

	err = hv_check(m);
	if (!err)
		err = hv_run_init(&r, m, p, qemu_backend(p));
	if (err) {
		errno = -err;
		return NULL;
	}
	add_machine(&a, m, &r);
	add_host_side(&a, &r);
	add_channels(&a, m, &r, pci ? "virtio-serial-pci" : "virtio-serial-device");
	if (m->state.size_mib)
		add_state(&a, &r, pci ? "virtio-blk-pci" : "virtio-blk-device");
	add_nics(&a, m, &r, p ? p->tap_fds : NULL, pci ? "virtio-net-pci" : "virtio-net-device");
	add_passthrough(&a, m, &r);
	/* Last, so that they can add to or override what came before. */
	for (i = 0; i < m->hv.n_qemu_args; i++)
		arg(&a, m->hv.qemu_args[i]);
	hv_run_release(&r);
	if (a.err) {
		hv_argv_free(a.v);
		errno = a.err;
		return NULL;
	}
	return a.v;
}

void hv_argv_free(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}
