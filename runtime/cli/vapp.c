/* vapp.c - the vapp command: finds the subcommand and runs it. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* One line per subcommand; a cmd_NAME.c file adds itself here. */
extern const struct vapp_cmd vapp_cmd_build;
extern const struct vapp_cmd vapp_cmd_call;
extern const struct vapp_cmd vapp_cmd_export;
extern const struct vapp_cmd vapp_cmd_keygen;
extern const struct vapp_cmd vapp_cmd_logs;
extern const struct vapp_cmd vapp_cmd_manifest;
extern const struct vapp_cmd vapp_cmd_new;
extern const struct vapp_cmd vapp_cmd_oci;
extern const struct vapp_cmd vapp_cmd_policy;
extern const struct vapp_cmd vapp_cmd_ps;
extern const struct vapp_cmd vapp_cmd_run;
extern const struct vapp_cmd vapp_cmd_sign;
extern const struct vapp_cmd vapp_cmd_stop;
extern const struct vapp_cmd vapp_cmd_verify;
extern const struct vapp_cmd vapp_cmd_version;

static const struct vapp_cmd *const commands[] = {
	&vapp_cmd_build,
	&vapp_cmd_call,
	&vapp_cmd_export,
	&vapp_cmd_keygen,
	&vapp_cmd_logs,
	&vapp_cmd_manifest,
	&vapp_cmd_new,
	&vapp_cmd_oci,
	&vapp_cmd_policy,
	&vapp_cmd_ps,
	&vapp_cmd_run,
	&vapp_cmd_sign,
	&vapp_cmd_stop,
	&vapp_cmd_verify,
	&vapp_cmd_version,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char intro[] =
	"Usage: vapp COMMAND [ARGS...]\n"
	"       vapp COMMAND --help\n"
	"\n"
	"vapp builds single-purpose service VMs (appliances) from manifests,\n"
	"runs them, and calls their typed RPC services.\n"
	"\n"
	"Commands:\n";

static void print_help(FILE *f)
{
	fputs(intro, f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
	fputs("\nRun 'vapp COMMAND --help' for a command's options.\n", f);
}

int cmd_wants_help(const struct vapp_cmd *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(cmd->usage, stdout);
			return 1;
		}
	}
	return 0;
}

void cmd_error(const struct vapp_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vapp %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cmd_usage_error(const struct vapp_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vapp %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'vapp %s --help' for usage.\n", cmd->name);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		if (argc > 2)
			for (size_t i = 0; i < N_COMMANDS; i++)
				if (!strcmp(commands[i]->name, argv[2])) {
					fputs(commands[i]->usage, stdout);
					return 0;
				}
		print_help(stdout);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(commands[i]->name, argv[1]))
			continue;
		if (cmd_wants_help(commands[i], argc - 1, argv + 1))
			return 0;
		return commands[i]->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "vapp: '%s' is not a vapp command. See 'vapp help'.\n", argv[1]);
	return 2;
}
