/* cmd_manifest.c - vapp manifest check: reads manifests, reports every
 * problem, builds nothing. With --print, the model as the builder will see
 * it (defaults filled in, paths resolved), as JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "manifest.h"

#ifndef VAPP_BUILD_DIR
#define VAPP_BUILD_DIR "build"
#endif
#define MAX_VARS 64

extern const struct vapp_cmd vapp_cmd_manifest;

static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_list(FILE *f, char *const *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, v[i]);
	}
	fputc(']', f);
}

static void json_files(FILE *f, const char *key, const struct manifest_file *v, size_t n)
{
	fprintf(f, "  \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\n    {\"source\": " : "\n    {\"source\": ", f);
		json_str(f, v[i].source);
		fputs(", \"destination\": ", f);
		json_str(f, v[i].destination);
		fprintf(f, ", \"mode\": \"%04o\"}", v[i].mode);
	}
	fputs(n ? "\n  ],\n" : "],\n", f);
}

static void json_devices(FILE *f, const struct manifest *m)
{
	fputs("  \"devices\": {\n    \"channels\": [", f);
	for (size_t i = 0; i < m->n_channels; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, m->channels[i].name);
	}
	fputs("],\n    \"nics\": [", f);
	for (size_t i = 0; i < m->n_nics; i++) {
		fputs(i ? ", {\"name\": " : "{\"name\": ", f);
		json_str(f, m->nics[i].name);
		fprintf(f, ", \"role\": \"%s\", \"mac\": ", manifest_nic_role_name(m->nics[i].role));
		json_str(f, m->nics[i].mac);
		if (m->nics[i].guest) {
			fputs(", \"guest\": ", f);
			json_str(f, m->nics[i].guest);
		}
		fputc('}', f);
	}
	fprintf(f, "],\n    \"usb\": %s,\n    \"sound\": %s,\n    \"direct\": %s,\n    \"pci\": [",
		m->usb ? "true" : "false", m->sound ? "true" : "false", m->direct ? "true" : "false");
	for (size_t i = 0; i < m->n_pci; i++) {
		fputs(i ? ", " : "", f);
		json_str(f, m->pci[i].address);
	}
	fputs("]\n  },\n", f);
}

static void print_json(FILE *f, const struct manifest *m)
{
	fputs("{\n  \"name\": ", f);
	json_str(f, m->name);
	fputs(",\n  \"version\": ", f);
	json_str(f, m->version);
	fputs(",\n  \"vendor\": ", f);
	json_str(f, m->vendor);
	fputs(",\n  \"description\": ", f);
	json_str(f, m->description);
	fputs(",\n  \"kernel\": {\"package\": ", f);
	json_str(f, m->kernel.package);
	fputs(", \"path\": ", f);
	json_str(f, m->kernel.path);
	fputs(", \"tree\": ", f);
	json_str(f, m->kernel.tree);
	fputs(", \"cmdline\": ", f);
	json_str(f, m->kernel.cmdline);
	fputs(", \"modules\": ", f);
	json_list(f, m->kernel.modules, m->kernel.n_modules);
	fprintf(f, "},\n  \"vcpus\": %u,\n  \"memory_mib\": %u,\n  \"busybox\": %s,\n", m->vcpus,
		m->memory_mib, m->busybox ? "true" : "false");
	json_files(f, "binaries", m->binaries, m->n_binaries);
	json_files(f, "files", m->files, m->n_files);
	fputs("  \"daemon\": {\"command\": ", f);
	json_list(f, m->daemon.argv, m->daemon.argc);
	fprintf(f, ", \"restart\": \"%s\", \"restart_delay_ms\": %u, \"settings\": ",
		manifest_restart_name(m->daemon.restart), m->daemon.restart_delay_ms);
	json_list(f, m->daemon.settings, m->daemon.n_settings);
	fputs("},\n  \"services\": [", f);
	for (size_t i = 0; i < m->n_services; i++) {
		fputs(i ? ",\n    {\"proto\": " : "\n    {\"proto\": ", f);
		json_str(f, m->services[i].proto);
		fputs(", \"name\": ", f);
		json_str(f, m->services[i].name);
		fputs(", \"channel\": ", f);
		json_str(f, m->services[i].channel);
		fputc('}', f);
	}
	fputs(m->n_services ? "\n  ],\n" : "],\n", f);
	json_devices(f, m);
	fprintf(f, "  \"state\": {\"size_mib\": %u, \"mount\": ", m->state.size_mib);
	json_str(f, m->state.mount);
	fputs("},\n  \"signing_key\": ", f);
	json_str(f, m->signing_key);
	fputs(",\n  \"hypervisor\": {\n    \"qemu\": {\"args\": ", f);
	json_list(f, m->hv.qemu_args, m->hv.n_qemu_args);
	fprintf(f, "},\n    \"xen\": {\"type\": \"%s\", \"extra\": ",
		m->hv.xen_type == MANIFEST_XEN_PV ? "pv" : "pvh");
	json_list(f, m->hv.xen_lines, m->hv.n_xen_lines);
	fputs("},\n    \"libvirt\": {\"devices_xml\": ", f);
	json_str(f, m->hv.libvirt_xml);
	fputs("}\n  }\n}\n", f);
}

static int check_one(const char *file, const struct manifest_var *vars, int print)
{
	struct manifest_diag diag = { 0 };
	struct manifest *m;
	int err;

	m = manifest_load(file, vars, &diag);
	err = errno;
	for (size_t i = 0; i < diag.n; i++)
		fprintf(stderr, "%s\n", diag.lines[i]);
	if (!m && !diag.n)
		cmd_error(&vapp_cmd_manifest, "%s: %s", file, strerror(err));
	manifest_diag_free(&diag);
	if (!m)
		return 1;
	if (print)
		print_json(stdout, m);
	manifest_free(m);
	return 0;
}

static int add_var(struct manifest_var *vars, size_t *n, char *def)
{
	char *eq = strchr(def, '=');

	if (!eq || eq == def)
		return cmd_usage_error(&vapp_cmd_manifest, "-D wants NAME=VALUE, not '%s'", def);
	*eq = '\0';
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(vars[i].name, def)) {
			vars[i].value = eq + 1; /* the last -D wins */
			return 0;
		}
	if (*n == MAX_VARS - 1)
		return cmd_usage_error(&vapp_cmd_manifest, "more than %d variables", MAX_VARS - 1);
	vars[(*n)++] = (struct manifest_var){ def, eq + 1 };
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "define", required_argument, NULL, 'D' },
		{ "print", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct manifest_var vars[MAX_VARS] = { 0 };
	size_t n_vars = 0;
	int print = 0, opt, status = 0;
	bool have_build = false;

	if (argc < 2 || strcmp(argv[1], "check"))
		return cmd_usage_error(&vapp_cmd_manifest, argc < 2 ? "which action? (check)"
								  : "unknown action '%s'", argv[1]);
	argc--, argv++;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "D:p", opts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			if (add_var(vars, &n_vars, optarg))
				return 2;
			break;
		case 'p':
			print = 1;
			break;
		default:
			return cmd_usage_error(&vapp_cmd_manifest, "unknown option");
		}
	}
	if (optind >= argc)
		return cmd_usage_error(&vapp_cmd_manifest, "check: which manifest?");
	for (size_t i = 0; i < n_vars; i++)
		have_build |= !strcmp(vars[i].name, "BUILD");
	if (!have_build)
		vars[n_vars++] = (struct manifest_var){ "BUILD", VAPP_BUILD_DIR };
	for (int i = optind; i < argc; i++)
		status |= check_one(argv[i], vars, print);
	return status;
}

const struct vapp_cmd vapp_cmd_manifest = {
	.name = "manifest",
	.summary = "check appliance manifests (nothing is built)",
	.usage =
		"Usage: vapp manifest check [-D NAME=VALUE]... [--print] FILE...\n"
		"\n"
		"Reads each appliance manifest FILE (YAML, described in manifest/README.md)\n"
		"and reports every problem in it: YAML syntax, unknown keys (with the\n"
		"closest known one), values of the wrong kind, missing files, impossible\n"
		"values (memory 0, duplicate channel names, a service whose .proto is\n"
		"missing or does not declare it, a daemon that is not in the image ...).\n"
		"Nothing is built. Each problem is one line on standard error:\n"
		"\n"
		"    FILE:LINE:COL: what is wrong (key: KEY)\n"
		"\n"
		"sorted by line. Relative paths in a manifest start at its own folder,\n"
		"except those that start with a variable.\n"
		"\n"
		"Options:\n"
		"  -D, --define NAME=VALUE  set the variable ${NAME} the manifest may use in\n"
		"                           paths; may be repeated, the last one wins.\n"
		"                           BUILD defaults to \"" VAPP_BUILD_DIR "\", the folder\n"
		"                           make built this vapp into. Nothing is taken from\n"
		"                           the environment.\n"
		"  -p, --print              also print each good manifest as the builder sees\n"
		"                           it (defaults filled in, paths resolved) as JSON on\n"
		"                           standard output\n"
		"  -h, --help               show this help\n"
		"\n"
		"Exit status:\n"
		"  0  every FILE is a good manifest\n"
		"  1  at least one problem in at least one FILE (or a FILE cannot be read)\n"
		"  2  usage error\n"
		"\n"
		"Example:\n"
		"  vapp manifest check -D BUILD=build examples/hello/manifest.yaml\n"
		"  vapp manifest check --print examples/hello/manifest.yaml | jq .memory_mib\n",
	.run = run,
};
