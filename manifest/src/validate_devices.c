/*
 * validate_devices.c - channels, services, NICs, PCI addresses and the
 * per-hypervisor extras: names unique, formats right, every service's .proto
 * present and declaring it, every service on a declared channel.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manifest_private.h"
#include "validate.h"

/* The control port vapp-init and the runtime share (see builder/). */
#define CONTROL_CHANNEL "vapp.ctl"

static bool channel_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || !isalnum((unsigned char)s[0]))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static void check_channels(struct mctx *c, const struct manifest *m)
{
	char key[64];

	for (size_t i = 0; i < m->n_channels; i++) {
		const char *name = m->channels[i].name;

		snprintf(key, sizeof(key), "devices.channels[%zu]", i);
		if (!channel_name_ok(name)) {
			diag_error(c, key,
				   "'%.64s' is not a channel name: 1 to 63 letters, digits, '.', '_' "
				   "or '-', starting with a letter or digit", name);
			continue;
		}
		if (!strcmp(name, CONTROL_CHANNEL)) {
			diag_error(c, key, "%s is the control channel every appliance gets; "
					   "choose another name", name);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->channels[j].name, name)) {
				diag_error(c, key, "channel '%s' is declared twice (also "
						   "devices.channels[%zu])", name, j);
				break;
			}
	}
}

static bool has_channel(const struct manifest *m, const char *name)
{
	for (size_t i = 0; i < m->n_channels; i++)
		if (!strcmp(m->channels[i].name, name))
			return true;
	return false;
}

static void check_proto(struct mctx *c, const struct manifest_service *s, size_t i)
{
	char **names = NULL, list[256] = "", key[64];
	size_t n = 0, used = 0;
	int r;

	if (!s->proto)
		return;
	snprintf(key, sizeof(key), "services[%zu].proto", i);
	if (!vcheck_file(c, key, s->proto, false))
		return;
	r = proto_services(s->proto, &names, &n);
	if (r == -ENOMEM)
		c->oom = true;
	else if (r < 0)
		diag_error(c, key, "%s: %s", s->proto, strerror(-r));
	if (r < 0)
		return;
	for (size_t j = 0; j < n; j++) {
		if (!strcmp(names[j], s->name))
			goto out_free;
		used += snprintf(list + used, sizeof(list) - used, "%s%s", j ? ", " : "", names[j]);
		if (used >= sizeof(list))
			used = sizeof(list) - 1;
	}
	snprintf(key, sizeof(key), "services[%zu].name", i);
	if (n)
		diag_error(c, key, "%s declares no service %.128s (it declares: %s)", s->proto,
			   s->name, list);
	else
		diag_error(c, key, "%s declares no service at all", s->proto);
out_free:
	proto_names_free(names, n);
}

static void check_services(struct mctx *c, const struct manifest *m)
{
	char key[64];

	for (size_t i = 0; i < m->n_services; i++) {
		const struct manifest_service *s = &m->services[i];

		check_proto(c, s, i);
		snprintf(key, sizeof(key), "services[%zu].name", i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->services[j].name, s->name)) {
				diag_error(c, key, "service %.128s is offered twice (also services[%zu])",
					   s->name, j);
				break;
			}
		snprintf(key, sizeof(key), "services[%zu].channel", i);
		if (!has_channel(m, s->channel))
			diag_error(c, key, "channel '%.64s' is not declared in devices.channels",
				   s->channel);
	}
}

/* "52:54:00:12:34:56": six hex pairs, and not a multicast address (the
 * low bit of the first octet), which no NIC may take as its own. */
static const char *mac_problem(const char *mac)
{
	unsigned first;

	if (strlen(mac) != 17)
		return "is not a MAC address (six hex pairs: 52:54:00:12:34:56)";
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? mac[i] != ':' : !isxdigit((unsigned char)mac[i]))
			return "is not a MAC address (six hex pairs: 52:54:00:12:34:56)";
	sscanf(mac, "%2x", &first);
	if (first & 1)
		return "is a multicast address, which a NIC cannot have";
	return NULL;
}

/* A guest-side NIC may name its guest: vappd's tap is then APP-GUEST. */
static void check_nic_guest(struct mctx *c, const struct manifest *m, size_t i)
{
	const struct manifest_nic *nic = &m->nics[i];
	char key[64];

	if (!nic->guest)
		return;
	snprintf(key, sizeof(key), "devices.nics[%zu].guest", i);
	if (nic->role != MANIFEST_NIC_GUEST) {
		diag_error(c, key, "only a NIC of role guest sits in front of a guest");
		return;
	}
	if (!vchar_ok(nic->guest, "-_", 1, MANIFEST_NIC_GUEST_MAX)) {
		diag_error(c, key, "'%.64s' is not a guest name: 1 to %d lowercase letters, digits, "
				   "'-' or '_', starting with a letter or digit", nic->guest,
			   MANIFEST_NIC_GUEST_MAX);
		return;
	}
	for (size_t j = 0; j < i; j++)
		if (m->nics[j].guest && !strcmp(m->nics[j].guest, nic->guest)) {
			diag_error(c, key, "guest '%s' has a NIC already (devices.nics[%zu])",
				   nic->guest, j);
			return;
		}
}

static void check_nics(struct mctx *c, const struct manifest *m)
{
	char key[64];

	for (size_t i = 0; i < m->n_nics; i++) {
		const struct manifest_nic *nic = &m->nics[i];
		const char *why;

		snprintf(key, sizeof(key), "devices.nics[%zu].name", i);
		/* Linux interface names: IFNAMSIZ is 16 with the NUL. */
		if (!vchar_ok(nic->name, "-_", 1, 15))
			diag_error(c, key, "'%.64s' is not an interface name: 1 to 15 lowercase "
					   "letters, digits, '-' or '_'", nic->name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->nics[j].name, nic->name)) {
				diag_error(c, key, "NIC name '%s' is used twice (also devices.nics[%zu])",
					   nic->name, j);
				break;
			}
		check_nic_guest(c, m, i);
		if (!nic->mac)
			continue;
		snprintf(key, sizeof(key), "devices.nics[%zu].mac", i);
		why = mac_problem(nic->mac);
		if (why) {
			diag_error(c, key, "'%.64s' %s", nic->mac, why);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (m->nics[j].mac && !strcmp(m->nics[j].mac, nic->mac)) {
				diag_error(c, key, "MAC %s is used twice (also devices.nics[%zu])",
					   nic->mac, j);
				break;
			}
	}
}

/* DDDD:BB:SS.F as lspci -D prints it: slot below 32, function below 8. */
static bool pci_ok(const char *a)
{
	unsigned dom, bus, slot, fn;
	char end;

	if (strlen(a) != 12 || a[4] != ':' || a[7] != ':' || a[10] != '.')
		return false;
	for (int i = 0; i < 12; i++)
		if (i != 4 && i != 7 && i != 10 && !isxdigit((unsigned char)a[i]))
			return false;
	if (sscanf(a, "%4x:%2x:%2x.%1x%c", &dom, &bus, &slot, &fn, &end) != 4)
		return false;
	return slot < 32 && fn < 8;
}

static void check_pci(struct mctx *c, const struct manifest *m, const struct raw_manifest *raw)
{
	char key[64];

	for (size_t i = 0; i < m->n_pci; i++) {
		snprintf(key, sizeof(key), "devices.pci[%zu]", i);
		if (!pci_ok(m->pci[i].address)) {
			diag_error(c, key, "'%.64s' is not a PCI address DDDD:BB:SS.F as lspci -D "
					   "prints it (slot 00-1f, function 0-7)", raw->devices->pci[i]);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(m->pci[j].address, m->pci[i].address)) {
				diag_error(c, key, "PCI device %s is listed twice (also devices.pci[%zu])",
					   m->pci[i].address, j);
				break;
			}
	}
}

static void check_hv(struct mctx *c, const struct manifest *m)
{
	char key[64];

	/* qemu.args is written one argument per line. */
	for (size_t i = 0; i < m->hv.n_qemu_args; i++)
		if (strchr(m->hv.qemu_args[i], '\n')) {
			snprintf(key, sizeof(key), "hypervisor.qemu.args[%zu]", i);
			diag_error(c, key, "a QEMU argument cannot hold a newline");
		}
	for (size_t i = 0; i < m->hv.n_xen_lines; i++) {
		const char *l = m->hv.xen_lines[i];
		size_t k = strspn(l, "abcdefghijklmnopqrstuvwxyz0123456789_");
		const char *eq = l + k + strspn(l + k, " ");

		if (!k || *eq != '=' || !eq[1 + strspn(eq + 1, " ")] || strchr(l, '\n')) {
			snprintf(key, sizeof(key), "hypervisor.xen.extra[%zu]", i);
			diag_error(c, key, "'%.64s' is not an xl.cfg line 'key = value'", l);
		}
	}
	if (m->hv.libvirt_xml && m->hv.libvirt_xml[strspn(m->hv.libvirt_xml, " \t\n")] != '<')
		diag_error(c, "hypervisor.libvirt.devices_xml",
			   "expected XML elements to put inside <devices>");
}

void validate_devices(struct mctx *c, const struct manifest *m, const struct raw_manifest *raw)
{
	check_channels(c, m);
	check_services(c, m);
	check_nics(c, m);
	check_pci(c, m, raw);
	check_hv(c, m);
}
