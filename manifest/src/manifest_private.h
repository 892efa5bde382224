/*
 * manifest_private.h - manifest/ internals: the YAML form as libcyaml loads it (the
 * "raw" structs, schema.c), where each key sits in the file (positions.c),
 * the list of problems found (diag.c), and the steps load.c runs in order:
 * walk -> cyaml load -> convert -> validate.
 *
 * Key paths name a node the way the user reads the YAML: "name",
 * "kernel.modules[2]", "devices.nics[0].mac". The root is "".
 */
#ifndef VAPP_MANIFEST_PRIVATE_H
#define VAPP_MANIFEST_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <cyaml/cyaml.h>

#include "manifest.h"

/* What libcyaml fills: the YAML as written, before defaults and checks. */
struct raw_file {
	char *source;
	char *destination;
	char *mode;
};

struct raw_kernel {
	char *package;
	char *path;
	char *tree;
	char *cmdline;
	char **modules;
	unsigned n_modules;
};

struct raw_daemon {
	char **command;
	unsigned n_command;
	int restart;
	unsigned *restart_delay_ms; /* NULL: not given */
	char **settings;
	unsigned n_settings;
};

struct raw_service {
	char *proto;
	char *name;
	char *channel;
};

struct raw_nic {
	int role;
	char *name;
	char *mac;
	char *guest;
};

struct raw_devices {
	char **channels;
	unsigned n_channels;
	struct raw_nic *nics;
	unsigned n_nics;
	bool usb;
	bool sound;
	bool direct;
	char **pci;
	unsigned n_pci;
};

struct raw_state {
	char *size;
	char *mount;
};

struct raw_signing {
	char *key;
};

struct raw_qemu {
	char **args;
	unsigned n_args;
};

struct raw_xen {
	int type;
	char **extra;
	unsigned n_extra;
};

struct raw_libvirt {
	char *devices_xml;
};

struct raw_hv {
	struct raw_qemu *qemu;
	struct raw_xen *xen;
	struct raw_libvirt *libvirt;
};

struct raw_manifest {
	char *name;
	char *version;
	char *vendor;
	char *description;
	struct raw_kernel *kernel;
	unsigned *vcpus;
	char *memory;
	bool *busybox;
	struct raw_file *binaries;
	unsigned n_binaries;
	struct raw_file *files;
	unsigned n_files;
	struct raw_daemon *daemon;
	struct raw_service *services;
	unsigned n_services;
	struct raw_devices *devices;
	struct raw_state *state;
	struct raw_signing *signing;
	struct raw_hv *hypervisor;
};

/* schema.c: the one description of the YAML form; positions.c walks it too,
 * so a key known to libcyaml is known to the checker and nothing else is. */
extern const cyaml_schema_value_t manifest_schema;
extern const cyaml_config_t manifest_cyaml_config;

/* Where a node is: its value and, for a mapping entry, its key (1-based). */
struct mpos {
	char *path;
	unsigned line, col;
	unsigned kline, kcol;
};

struct mdiag {
	unsigned line, col; /* 0: no position */
	size_t seq;         /* order of discovery, to keep the sort stable */
	char *text;         /* the whole line, "FILE:LINE:COL: ..." */
};

/* One load in progress. */
struct mctx {
	const char *file;
	char *dir;
	const struct manifest_var *vars;
	struct mpos *pos;
	size_t n_pos, cap_pos;
	struct mdiag *d;
	size_t n_d, cap_d;
	unsigned walk_errors; /* the walk's problems but unknown keys: the
			       * document cannot be loaded as it is */
	bool truncated; /* more problems than diag.c keeps */
	bool oom;
	bool image; /* an image's copy: its host paths are history, not checked */
};

/* diag.c */
void mctx_free(struct mctx *c);
/* A problem with the node at @p path (its value), named by its key path. */
void diag_error(struct mctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, placed at the node's key (unknown or duplicate keys). */
void diag_error_key(struct mctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* At an explicit place; @p path may be NULL (a YAML syntax error). */
void diag_error_at(struct mctx *c, unsigned line, unsigned col, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_verror_at(struct mctx *c, unsigned line, unsigned col, const char *path,
		    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* Sorted by line, duplicates dropped, moved into @p out. @return -ENOMEM or 0. */
int diag_finish(struct mctx *c, struct manifest_diag *out);
/* Closest of @p cands (NULL-terminated or @p n long) to @p word within edit
 * distance 2, or NULL: the "did you mean" hint. */
const char *diag_closest(const char *word, const char *const *cands, size_t n);

/* positions.c */
int pos_add(struct mctx *c, const char *path, unsigned line, unsigned col, unsigned kline,
	    unsigned kcol);
/* The node at @p path or, when it is absent, its nearest ancestor. */
const struct mpos *pos_find(const struct mctx *c, const char *path);
/* Walks the YAML events once: records every node's place and reports, all
 * at once, unknown keys, duplicate keys, wrong kinds, missing required keys
 * and values libcyaml would refuse. @return 0, or -ENOMEM. */
int pos_walk(struct mctx *c, const unsigned char *buf, size_t len);

/* cyaml_log.c: libcyaml's error log, turned into a diagnostic. */
struct cylog {
	char *text;
	size_t len, cap;
	bool oom;
};
void cylog_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list ap);
void cylog_report(struct mctx *c, const struct cylog *log);

/* convert.c: raw -> model with defaults, ${NAME} expansion, units. */
struct manifest *convert(struct mctx *c, const struct raw_manifest *raw);

/* validate.c: the checks across keys (files exist, names unique, ...). */
void validate(struct mctx *c, const struct manifest *m, const struct raw_manifest *raw);

/* proto_scan.c: the full names ("pkg.Service") of the services a .proto
 * declares, found by a light scan (comments and strings skipped), not a
 * protobuf parser. @return 0 or -errno; free with proto_names_free(). */
int proto_services(const char *path, char ***names, size_t *n);
void proto_names_free(char **names, size_t n);

/* load.c: what the fuzzer calls; @p file names the text in diagnostics. */
struct manifest *manifest_load_buffer(const char *file, const void *buf, size_t len,
				      const struct manifest_var *vars,
				      struct manifest_diag *diag);

#endif /* VAPP_MANIFEST_PRIVATE_H */
