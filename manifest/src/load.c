/*
 * load.c - manifest_load(): the steps in order.
 *   1. positions.c walks the YAML events against the schema: where every key
 *      is, and every structural problem (unknown keys, wrong kinds, missing
 *      keys, bad values), all of them.
 *   2. libcyaml loads the document through the schema into raw structs; a
 *      failure it logs is turned into a diagnostic (cyaml_log.c) unless the
 *      walk already reported the document broken.
 *   3. convert.c builds the model; validate.c checks it as a whole.
 * Any diagnostic means no model: a manifest is used whole or not at all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_private.h"

/* A manifest is a page of text; this bounds what a hostile one can ask. */
#define MANIFEST_MAX (1u << 20)

static char *dir_of(const char *file)
{
	const char *slash = strrchr(file, '/');

	if (!slash)
		return strdup(".");
	if (slash == file)
		return strdup("/");
	return strndup(file, (size_t)(slash - file));
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void free_files(struct manifest_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].source);
		free(f[i].destination);
	}
	free(f);
}

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	free(m->file);
	free(m->dir);
	free(m->name);
	free(m->version);
	free(m->vendor);
	free(m->description);
	free(m->kernel.package);
	free(m->kernel.path);
	free(m->kernel.tree);
	free(m->kernel.cmdline);
	free_list(m->kernel.modules, m->kernel.n_modules);
	free_files(m->binaries, m->n_binaries);
	free_files(m->files, m->n_files);
	free_list(m->daemon.argv, m->daemon.argc);
	free_list(m->daemon.settings, m->daemon.n_settings);
	for (size_t i = 0; m->services && i < m->n_services; i++) {
		free(m->services[i].proto);
		free(m->services[i].name);
		free(m->services[i].channel);
	}
	free(m->services);
	for (size_t i = 0; m->channels && i < m->n_channels; i++)
		free(m->channels[i].name);
	free(m->channels);
	for (size_t i = 0; m->nics && i < m->n_nics; i++) {
		free(m->nics[i].name);
		free(m->nics[i].mac);
		free(m->nics[i].guest);
	}
	free(m->nics);
	for (size_t i = 0; m->pci && i < m->n_pci; i++)
		free(m->pci[i].address);
	free(m->pci);
	free(m->state.mount);
	free(m->signing_key);
	free_list(m->hv.qemu_args, m->hv.n_qemu_args);
	free_list(m->hv.xen_lines, m->hv.n_xen_lines);
	free(m->hv.libvirt_xml);
	free(m);
}

bool manifest_setting_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n <= 63 && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

const char *manifest_restart_name(enum manifest_restart r)
{
	switch (r) {
	case MANIFEST_RESTART_ALWAYS:
		return "always";
	case MANIFEST_RESTART_ON_FAILURE:
		return "on-failure";
	case MANIFEST_RESTART_NEVER:
		return "never";
	}
	return "?";
}

const char *manifest_nic_role_name(enum manifest_nic_role r)
{
	switch (r) {
	case MANIFEST_NIC_UPLINK:
		return "uplink";
	case MANIFEST_NIC_GUEST:
		return "guest";
	}
	return "?";
}

/* Steps 2 and 3 on a document the walk found sound in its structure. */
static struct manifest *load_model(struct mctx *c, const void *buf, size_t len)
{
	cyaml_config_t cfg = manifest_cyaml_config;
	struct raw_manifest *raw = NULL;
	struct cylog log = { 0 };
	struct manifest *m = NULL;
	cyaml_err_t err;

	cfg.log_ctx = &log;
	err = cyaml_load_data(buf, len, &cfg, &manifest_schema, (cyaml_data_t **)&raw, NULL);
	if (err == CYAML_ERR_OOM) {
		c->oom = true;
	} else if (err != CYAML_OK) {
		/* The walk reports what libcyaml stops at, and all the rest. */
		if (!c->walk_errors)
			cylog_report(c, &log);
	} else if (!raw) {
		if (!c->walk_errors)
			diag_error_at(c, 0, 0, NULL, "the manifest is empty");
	} else if (!c->walk_errors) {
		/* Only a document without structural faults is worth checking
		 * whole: otherwise every fault would be reported twice. */
		m = convert(c, raw);
		if (m && !c->oom)
			validate(c, m, raw);
	}
	free(log.text);
	cyaml_free(&cfg, &manifest_schema, raw, 0);
	return m;
}

static struct manifest *load_buffer(struct mctx c, const void *buf, size_t len,
				    struct manifest_diag *diag);

struct manifest *manifest_load_buffer(const char *file, const void *buf, size_t len,
				      const struct manifest_var *vars,
				      struct manifest_diag *diag)
{
	return load_buffer((struct mctx){ .file = file, .vars = vars }, buf, len, diag);
}

struct manifest *manifest_load_image(const char *file, const void *buf, size_t len,
				     struct manifest_diag *diag)
{
	if (len > MANIFEST_MAX) {
		struct mctx c = { .file = file };

		diag_error_at(&c, 0, 0, NULL, "larger than 1 MiB, not a manifest");
		if (diag_finish(&c, diag) < 0) {
			mctx_free(&c);
			errno = ENOMEM;
			return NULL;
		}
		mctx_free(&c);
		errno = EFBIG;
		return NULL;
	}
	return load_buffer((struct mctx){ .file = file, .image = true }, buf, len, diag);
}

static struct manifest *load_buffer(struct mctx c, const void *buf, size_t len,
				    struct manifest_diag *diag)
{
	struct manifest *m = NULL;
	int err = EINVAL;

	c.dir = dir_of(c.file);
	if (!c.dir)
		goto err_oom;
	if (pos_walk(&c, buf, len) < 0)
		goto err_oom;
	/* Unknown keys alone do not stop the load: libcyaml skips them, so the
	 * checks of everything else still run. */
	m = load_model(&c, buf, len);
	if (c.oom)
		goto err_oom;
	if (c.n_d) {
		manifest_free(m);
		m = NULL;
	}
	if (diag_finish(&c, diag) < 0)
		goto err_oom;
	mctx_free(&c);
	if (!m)
		errno = err;
	return m;
err_oom:
	manifest_free(m);
	mctx_free(&c);
	errno = ENOMEM;
	return NULL;
}

struct manifest *manifest_load(const char *path, const struct manifest_var *vars,
			       struct manifest_diag *diag)
{
	struct manifest *m;
	char *buf;
	size_t len;
	FILE *f;
	int err;

	f = fopen(path, "rb");
	if (!f)
		goto err_open;
	buf = malloc(MANIFEST_MAX + 1);
	if (!buf) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	errno = 0;
	len = fread(buf, 1, MANIFEST_MAX + 1, f);
	err = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (err || len > MANIFEST_MAX) {
		free(buf);
		errno = err ? err : EFBIG;
		goto err_open;
	}
	m = manifest_load_buffer(path, buf, len, vars, diag);
	err = errno;
	free(buf);
	errno = err;
	return m;
err_open:
	err = errno;
	{
		struct mctx c = { .file = path };

		diag_error_at(&c, 0, 0, NULL, "cannot read: %s",
			      err == EFBIG ? "larger than 1 MiB, not a manifest" : strerror(err));
		if (diag_finish(&c, diag) < 0)
			err = ENOMEM;
		mctx_free(&c);
	}
	errno = err;
	return NULL;
}
