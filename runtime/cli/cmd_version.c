/* cmd_version.c - vapp version: what this vapp speaks. */
#include <stdio.h>

#include "cmd.h"
#include "vrpc.h"

static int run(int argc, char **argv)
{
	if (argc > 1) {
		extern const struct vapp_cmd vapp_cmd_version;

		return cmd_usage_error(&vapp_cmd_version, "takes no arguments");
	}
	printf("vapp %s (vrpc protocol %d, oldest accepted %d)\n", VAPP_VERSION, VRPC_VERSION,
	       VRPC_VERSION_MIN);
	return 0;
}

const struct vapp_cmd vapp_cmd_version = {
	.name = "version",
	.summary = "print the version of vapp and of its RPC protocol",
	.usage = "Usage: vapp version\n"
		 "\n"
		 "Prints vapp's version and the vrpc protocol versions it speaks.\n",
	.run = run,
};
