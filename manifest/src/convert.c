/*
 * convert.c - the YAML as loaded (raw_manifest) into the model of
 * manifest.h: defaults filled in, ${NAME} variables expanded, relative paths
 * resolved, sizes and modes read. Each value is read on its own here; the
 * checks across values and against the file system are in validate.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_private.h"

static char *dup(struct mctx *c, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		c->oom = true;
	return d;
}

static char **dup_list(struct mctx *c, char *const *v, unsigned n, size_t *n_out)
{
	char **d = calloc(n + 1, sizeof(*d));

	*n_out = 0;
	if (!d) {
		c->oom = true;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++)
		d[i] = dup(c, v[i]);
	*n_out = n;
	return d;
}

static const char *var_value(const struct mctx *c, const char *name, size_t len)
{
	for (const struct manifest_var *v = c->vars; v && v->name; v++)
		if (strlen(v->name) == len && !strncmp(v->name, name, len))
			return v->value ? v->value : "";
	return NULL;
}

/* ${NAME} -> its value. Only the variables given to the loader exist, never
 * the environment: a manifest must mean the same on every machine. */
static char *expand(struct mctx *c, const char *key, const char *s)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	bool bad = false;

	if (!f) {
		c->oom = true;
		return NULL;
	}
	while (*s) {
		const char *end, *val;
		size_t len;

		if (s[0] != '$' || s[1] != '{') {
			fputc(*s++, f);
			continue;
		}
		end = strchr(s + 2, '}');
		len = end ? (size_t)(end - s - 2) : 0;
		for (size_t i = 0; end && i < len; i++)
			if (!(isalnum((unsigned char)s[2 + i]) || s[2 + i] == '_'))
				end = NULL;
		if (!end || !len) {
			diag_error(c, key, "'${' starts no variable: write ${NAME}, NAME in "
					   "letters, digits and _");
			bad = true;
			break;
		}
		val = var_value(c, s + 2, len);
		if (!val) {
			diag_error(c, key, "undefined variable ${%.*s} (give it with -D %.*s=VALUE)",
				   (int)len, s + 2, (int)len, s + 2);
			bad = true;
		} else {
			fputs(val, f);
		}
		s = end + 1;
	}
	if (fclose(f)) {
		c->oom = true;
		bad = true;
	}
	if (bad) {
		free(out);
		return NULL;
	}
	return out;
}

/* A path on the build host: relative ones start at the manifest's folder,
 * except those that start with a variable, whose value is taken as given
 * (like any command-line argument, relative to the current folder). */
static char *host_path(struct mctx *c, const char *key, const char *s)
{
	char *e, *joined;

	if (!s)
		return NULL;
	/* In an image, a path names what the build read: kept as written. */
	if (c->image)
		return dup(c, s);
	e = expand(c, key, s);
	if (!e || e[0] == '/' || !strncmp(s, "${", 2) || !strcmp(c->dir, "."))
		return e;
	if (asprintf(&joined, "%s/%s", c->dir, e) < 0) {
		c->oom = true;
		joined = NULL;
	}
	free(e);
	return joined;
}

/* "64", "64M", "64MiB", "2G", "2GiB" -> MiB; @p def after a diagnostic,
 * so that validate.c does not report the same value again. */
static uint32_t size_mib(struct mctx *c, const char *key, const char *s, uint32_t def)
{
	unsigned long long v = 0, mul = 1;
	const char *q = s;

	if (!isdigit((unsigned char)*q))
		goto err_form;
	for (; isdigit((unsigned char)*q); q++) {
		v = v * 10 + (unsigned)(*q - '0');
		if (v > (1ULL << 40))
			goto err_range;
	}
	while (*q == ' ')
		q++;
	if (!*q || !strcmp(q, "M") || !strcmp(q, "MiB"))
		mul = 1;
	else if (!strcmp(q, "G") || !strcmp(q, "GiB"))
		mul = 1024;
	else
		goto err_form;
	v *= mul;
	if (v > 1024 * 1024)
		goto err_range;
	return (uint32_t)v;
err_form:
	diag_error(c, key, "'%.64s' is not a size: give MiB (64), or a number with M or G "
			   "(512M, 2G)", s);
	return def;
err_range:
	diag_error(c, key, "%.64s is more than 1 TiB", s);
	return def;
}

static uint32_t file_mode(struct mctx *c, const char *key, const char *s, uint32_t def)
{
	unsigned long v = 0;

	if (!s)
		return def;
	if (!*s)
		goto err_mode;
	for (const char *q = s; *q; q++) {
		if (*q < '0' || *q > '7')
			goto err_mode;
		v = v * 8 + (unsigned)(*q - '0');
		if (v > 07777)
			goto err_mode;
	}
	return (uint32_t)v;
err_mode:
	diag_error(c, key, "'%.64s' is not a file mode: give octal digits, at most 7777 (\"0755\")",
		   s);
	return def;
}

static void convert_kernel(struct mctx *c, struct manifest *m, const struct raw_manifest *raw)
{
	const struct raw_kernel *k = raw->kernel;
	/* The cloud kernel leaves out USB host controllers and all sound. */
	bool full = raw->devices && (raw->devices->usb || raw->devices->sound);

	m->kernel.path = k ? host_path(c, "kernel.path", k->path) : NULL;
	m->kernel.tree = k ? host_path(c, "kernel.tree", k->tree) : NULL;
	if (k && k->package)
		m->kernel.package = dup(c, k->package);
	else if (!k || (!k->path && !k->tree))
		m->kernel.package = dup(c, full ? "linux-image-amd64" : "linux-image-cloud-amd64");
	m->kernel.cmdline = k ? dup(c, k->cmdline) : NULL;
	m->kernel.modules = dup_list(c, k ? k->modules : NULL, k ? k->n_modules : 0,
				     &m->kernel.n_modules);
}

static void convert_file(struct mctx *c, struct manifest_file *f, const struct raw_file *r,
			 const char *what, unsigned i, bool binary)
{
	char key[64];

	snprintf(key, sizeof(key), "%s[%u].source", what, i);
	f->source = host_path(c, key, r->source);
	if (r->destination) {
		f->destination = dup(c, r->destination);
	} else if (r->source) {
		/* Even from a source whose ${NAME} is bad, so that the daemon
		 * is not reported missing from the image on top of it. */
		const char *src = f->source ? f->source : r->source;
		const char *base = strrchr(src, '/');

		if (asprintf(&f->destination, "/usr/bin/%s", base ? base + 1 : src) < 0) {
			f->destination = NULL;
			c->oom = true;
		}
	}
	snprintf(key, sizeof(key), "%s[%u].mode", what, i);
	f->mode = file_mode(c, key, r->mode, binary ? 0755 : 0644);
}

static void convert_files(struct mctx *c, struct manifest *m, const struct raw_manifest *raw)
{
	m->binaries = calloc(raw->n_binaries + 1, sizeof(*m->binaries));
	m->files = calloc(raw->n_files + 1, sizeof(*m->files));
	if (!m->binaries || !m->files) {
		c->oom = true;
		return;
	}
	for (unsigned i = 0; i < raw->n_binaries; i++)
		convert_file(c, &m->binaries[i], &raw->binaries[i], "binaries", i, true);
	m->n_binaries = raw->n_binaries;
	for (unsigned i = 0; i < raw->n_files; i++)
		convert_file(c, &m->files[i], &raw->files[i], "files", i, false);
	m->n_files = raw->n_files;
}

static void convert_daemon(struct mctx *c, struct manifest *m, const struct raw_manifest *raw)
{
	const struct raw_daemon *d = raw->daemon;

	m->daemon.restart = MANIFEST_RESTART_ALWAYS;
	m->daemon.restart_delay_ms = 500;
	if (!d)
		return;
	m->daemon.argv = dup_list(c, d->command, d->n_command, &m->daemon.argc);
	m->daemon.restart = (enum manifest_restart)d->restart;
	if (d->restart_delay_ms)
		m->daemon.restart_delay_ms = *d->restart_delay_ms;
	m->daemon.settings = dup_list(c, d->settings, d->n_settings, &m->daemon.n_settings);
}

static void convert_services(struct mctx *c, struct manifest *m, const struct raw_manifest *raw)
{
	char key[64];

	m->services = calloc(raw->n_services + 1, sizeof(*m->services));
	if (!m->services) {
		c->oom = true;
		return;
	}
	for (unsigned i = 0; i < raw->n_services; i++) {
		snprintf(key, sizeof(key), "services[%u].proto", i);
		m->services[i].proto = host_path(c, key, raw->services[i].proto);
		m->services[i].name = dup(c, raw->services[i].name);
		m->services[i].channel = dup(c, raw->services[i].channel);
	}
	m->n_services = raw->n_services;
}

static void convert_devices(struct mctx *c, struct manifest *m, const struct raw_manifest *raw)
{
	const struct raw_devices *d = raw->devices;
	unsigned n_ch = d ? d->n_channels : 0, n_nic = d ? d->n_nics : 0, n_pci = d ? d->n_pci : 0;

	m->channels = calloc(n_ch + 1, sizeof(*m->channels));
	m->nics = calloc(n_nic + 1, sizeof(*m->nics));
	m->pci = calloc(n_pci + 1, sizeof(*m->pci));
	if (!m->channels || !m->nics || !m->pci) {
		c->oom = true;
		return;
	}
	for (unsigned i = 0; i < n_ch; i++)
		m->channels[i].name = dup(c, d->channels[i]);
	m->n_channels = n_ch;
	for (unsigned i = 0; i < n_nic; i++) {
		const struct raw_nic *r = &d->nics[i];

		m->nics[i].role = (enum manifest_nic_role)r->role;
		if (r->name)
			m->nics[i].name = dup(c, r->name);
		else if (asprintf(&m->nics[i].name, "eth%u", i) < 0) {
			m->nics[i].name = NULL;
			c->oom = true;
		}
		m->nics[i].mac = dup(c, r->mac);
		m->nics[i].guest = dup(c, r->guest);
		for (char *q = m->nics[i].mac; q && *q; q++)
			*q = (char)tolower((unsigned char)*q);
	}
	m->n_nics = n_nic;
	for (unsigned i = 0; i < n_pci; i++) {
		const char *a = d->pci[i];

		/* "01:00.0" means domain 0000, as lspci prints it. */
		if (strchr(a, ':') == strrchr(a, ':') && asprintf(&m->pci[i].address, "0000:%s", a) >= 0)
			;
		else
			m->pci[i].address = dup(c, a);
		for (char *q = m->pci[i].address; q && *q; q++)
			*q = (char)tolower((unsigned char)*q);
	}
	m->n_pci = n_pci;
	m->usb = d && d->usb;
	m->sound = d && d->sound;
	m->direct = d && d->direct;
}

static void convert_hv(struct mctx *c, struct manifest *m, const struct raw_manifest *raw)
{
	const struct raw_hv *h = raw->hypervisor;

	m->hv.qemu_args = dup_list(c, h && h->qemu ? h->qemu->args : NULL,
				   h && h->qemu ? h->qemu->n_args : 0, &m->hv.n_qemu_args);
	m->hv.xen_type = h && h->xen ? (enum manifest_xen_type)h->xen->type : MANIFEST_XEN_PVH;
	m->hv.xen_lines = dup_list(c, h && h->xen ? h->xen->extra : NULL,
				   h && h->xen ? h->xen->n_extra : 0, &m->hv.n_xen_lines);
	m->hv.libvirt_xml = h && h->libvirt ? dup(c, h->libvirt->devices_xml) : NULL;
}

struct manifest *convert(struct mctx *c, const struct raw_manifest *raw)
{
	struct manifest *m = calloc(1, sizeof(*m));

	if (!m) {
		c->oom = true;
		return NULL;
	}
	m->file = dup(c, c->file);
	m->dir = dup(c, c->dir);
	m->name = dup(c, raw->name);
	m->version = dup(c, raw->version);
	m->vendor = dup(c, raw->vendor);
	m->description = dup(c, raw->description);
	convert_kernel(c, m, raw);
	m->vcpus = raw->vcpus ? *raw->vcpus : 1;
	/* The stock cloud kernel does not boot in less than 96 MiB. */
	m->memory_mib = raw->memory ? size_mib(c, "memory", raw->memory, 128) : 128;
	m->busybox = raw->busybox ? *raw->busybox : true;
	convert_files(c, m, raw);
	convert_daemon(c, m, raw);
	convert_services(c, m, raw);
	convert_devices(c, m, raw);
	if (raw->state) {
		m->state.size_mib = size_mib(c, "state.size", raw->state->size, 1);
		m->state.mount = dup(c, raw->state->mount ? raw->state->mount : "/var/lib/vapp");
	}
	m->signing_key = raw->signing ? host_path(c, "signing.key", raw->signing->key) : NULL;
	convert_hv(c, m, raw);
	return m;
}
