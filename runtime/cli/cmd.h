/*
 * cmd.h - the vapp command line: one subcommand per file (cmd_NAME.c), each a
 * `const struct vapp_cmd` listed in vapp.c's table. A subcommand gets argv
 * with argv[0] its own name, prints its help for -h/--help, and returns the
 * process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef VAPP_CMD_H
#define VAPP_CMD_H

struct vapp_cmd {
	const char *name;    /* "build", "manifest", ... */
	const char *summary; /* one line for `vapp help` */
	const char *usage;   /* the whole help text of `vapp NAME --help` */
	int (*run)(int argc, char **argv);
};

/* Prints @p cmd's help to stdout when argv asks for it (-h, --help).
 * @return 1 if it did (the command then returns 0). */
int cmd_wants_help(const struct vapp_cmd *cmd, int argc, char **argv);

/* Prints "vapp NAME: message" to stderr; for usage errors adds a hint. */
void cmd_error(const struct vapp_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cmd_usage_error(const struct vapp_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Verifies the image folder @p dir as `vapp verify` does (image/cli/
 * cmd_verify.c), for a command that goes on to use it: each problem on
 * stderr ("vapp NAME: DIR: problem"), and a note when @p keys (NULL-
 * terminated; NULL or empty: the folder's own signer.pub) proved integrity
 * only. @return 0 or -errno (-EBADMSG: a check failed). */
int cmd_verify_image(const struct vapp_cmd *cmd, const char *dir, const char *const *keys);

#endif /* VAPP_CMD_H */
