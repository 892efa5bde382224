/*
 * model.c - what every generator derives the same way from a manifest: the
 * run-time values (caller's or placeholders), channel numbering, MACs, the
 * machine type, PCI addresses and the default kernel command line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"

char *hv_cmdline(const struct manifest *m, enum hv_backend backend)
{
	const char *extra = m->kernel.cmdline;
	char *s;

	if ((unsigned)backend >= HV_N_BACKENDS) {
		errno = EINVAL;
		return NULL;
	}
	if (asprintf(&s, "%s%s%s", hv_backends[backend].cmdline_base, extra && *extra ? " " : "",
		     extra ? extra : "") < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

static const char *nic_name(const struct manifest *m, size_t i, char buf[24])
{
	if (m->nics[i].name && *m->nics[i].name)
		return m->nics[i].name;
	snprintf(buf, 24, "eth%zu", i);
	return buf;
}

/*
 * FNV-1a of "APPLIANCE/NIC": stable across builds and hosts, different per
 * NIC, and no crypto library needed. 52:54:00 is QEMU's prefix; its first
 * byte has the locally-administered bit set and the multicast bit clear.
 */
void hv_nic_mac(const struct manifest *m, size_t i, char buf[18])
{
	const char *parts[3];
	char name[24];
	uint32_t h = 2166136261u;
	size_t k;

	if (m->nics[i].mac && *m->nics[i].mac) {
		snprintf(buf, 18, "%s", m->nics[i].mac);
		return;
	}
	parts[0] = m->name ? m->name : "";
	parts[1] = "/";
	parts[2] = nic_name(m, i, name);
	for (k = 0; k < 3; k++)
		for (const char *c = parts[k]; *c; c++)
			h = (h ^ (unsigned char)*c) * 16777619u;
	snprintf(buf, 18, "52:54:00:%02x:%02x:%02x", (h >> 16) & 0xff,
		 (h >> 8) & 0xff, h & 0xff);
}

size_t hv_n_channels(const struct manifest *m)
{
	return m->n_channels + 1;
}

const char *hv_channel_name(const struct manifest *m, size_t i)
{
	return i == 0 ? HV_CTL_CHANNEL : m->channels[i - 1].name;
}

bool hv_needs_pci(const struct manifest *m)
{
	/* Intel HDA and ivshmem are PCI devices: microvm has no PCI bus. */
	return m->n_pci > 0 || m->usb || m->sound || m->direct;
}

static int hex_field(const char **s, unsigned ndigits, unsigned max, unsigned *out)
{
	unsigned v = 0, n;

	for (n = 0; n < ndigits; n++) {
		char c = (*s)[n];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		v = v * 16 + d;
	}
	if (v > max)
		return -EINVAL;
	*s += ndigits;
	*out = v;
	return 0;
}

int hv_pci_parse(const char *s, struct hv_pci_addr *a)
{
	struct hv_pci_addr t = { 0 };
	const char *p = s;

	/* With the domain, "DDDD:" comes first: the 5th character is ':'. */
	if (strlen(s) > 4 && s[4] == ':') {
		if (hex_field(&p, 4, 0xffff, &t.domain) < 0)
			return -EINVAL;
		p++;
	}
	if (hex_field(&p, 2, 0xff, &t.bus) < 0 || *p++ != ':' ||
	    hex_field(&p, 2, 0x1f, &t.slot) < 0 || *p++ != '.' ||
	    hex_field(&p, 1, 7, &t.function) < 0 || *p)
		return -EINVAL;
	*a = t;
	return 0;
}

static const char *own(struct hv_run *r, char *s)
{
	if (!s || r->n_owned == sizeof(r->owned) / sizeof(r->owned[0])) {
		free(s);
		return NULL;
	}
	r->owned[r->n_owned++] = s;
	return s;
}

static char *placeholder(const char *prefix, const char *nic)
{
	char *s;

	return asprintf(&s, "${%s_%s}", prefix, nic) < 0 ? NULL : s;
}

/* One name per NIC: the caller's, or the placeholder. */
static char **per_nic(const struct manifest *m, const char *const *given,
		      const char *prefix)
{
	char **v, name[24];
	size_t i;

	v = calloc(m->n_nics + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (i = 0; i < m->n_nics; i++) {
		if (given && given[i])
			v[i] = strdup(given[i]);
		else
			v[i] = placeholder(prefix, nic_name(m, i, name));
		if (!v[i])
			goto err_free;
	}
	return v;

err_free:
	for (i = 0; i < m->n_nics; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static void per_nic_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static const char *in_run_dir(struct hv_run *r, const char *file)
{
	char *s;

	if (asprintf(&s, "%s/%s", r->run_dir, file) < 0)
		return NULL;
	return own(r, s);
}

int hv_run_init(struct hv_run *r, const struct manifest *m, const struct hv_params *p,
		enum hv_backend backend)
{
	static const struct hv_params none;

	if (!p)
		p = &none;
	memset(r, 0, sizeof(*r));
	r->kernel = p->kernel ? p->kernel : "${IMAGE_DIR}/kernel";
	r->initrd = p->initrd ? p->initrd : "${IMAGE_DIR}/initramfs";
	r->run_dir = p->run_dir ? p->run_dir : "${RUN_DIR}";
	r->accel = p->accel ? p->accel : "${ACCEL}";
	r->virt_type = p->virt_type ? p->virt_type : "${VIRT_TYPE}";
	r->qemu = p->qemu ? p->qemu : "qemu-system-x86_64";
	r->audiodev = p->audiodev ? p->audiodev : "${AUDIODEV}";
	r->xen_pv = p->xen_pv;
	r->xen_disk_script = p->xen_disk_script;
	r->audio_file = p->audio_file ? p->audio_file : in_run_dir(r, "speaker.wav");
	r->cmdline = p->cmdline ? p->cmdline : own(r, hv_cmdline(m, backend));
	r->console_log = p->console_log ? p->console_log : in_run_dir(r, "console.log");
	r->state_image = p->state_image ? p->state_image : in_run_dir(r, "state.img");
	r->taps = per_nic(m, p->taps, "TAP");
	r->bridges = per_nic(m, p->bridges, "BRIDGE");
	if (!r->cmdline || !r->console_log || !r->state_image || !r->audio_file || !r->taps ||
	    !r->bridges) {
		hv_run_release(r);
		return -ENOMEM;
	}
	return 0;
}

void hv_run_release(struct hv_run *r)
{
	while (r->n_owned)
		free(r->owned[--r->n_owned]);
	per_nic_free(r->taps);
	per_nic_free(r->bridges);
	r->taps = r->bridges = NULL;
}

int hv_check(const struct manifest *m)
{
	struct hv_pci_addr a;
	size_t i;

	/* The manifest validator catches these first; a hand-built model
	 * reaching us must not turn into a config that misbehaves later. */
	if (!m->name || !*m->name || !m->vcpus || !m->memory_mib)
		return -EINVAL;
	for (const char *c = m->name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -EINVAL;
	for (i = 0; i < m->n_channels; i++)
		if (!m->channels[i].name || !*m->channels[i].name ||
		    !strcmp(m->channels[i].name, HV_CTL_CHANNEL))
			return -EINVAL;
	for (i = 0; i < m->n_pci; i++)
		if (!m->pci[i].address || hv_pci_parse(m->pci[i].address, &a) < 0)
			return -EINVAL;
	return 0;
}
