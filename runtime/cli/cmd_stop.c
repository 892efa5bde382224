/* cmd_stop.c - vapp stop: ask vappd to stop appliances. */
#include <getopt.h>
#include <stdio.h>

#include "vappd_client.h"

static int run(int argc, char **argv);

const struct vapp_cmd vapp_cmd_stop = {
	.name = "stop",
	.summary = "stop appliances run by vappd",
	.usage =
	"Usage: vapp stop [--force] [--socket PATH] NAME...\n"
	"\n"
	"Asks vappd to stop each appliance NAME and waits until its VM is gone.\n"
	"vappd sends \"poweroff\" on the appliance's control channel: vapp-init\n"
	"stops the daemon (SIGTERM, then SIGKILL after 5 s), unmounts the state\n"
	"volume and ends the VM. A VM still there 15 s later is killed. The state\n"
	"volume is kept for the next 'vapp run'. An appliance that had failed is\n"
	"just forgotten. Afterwards 'vapp ps' no longer lists it.\n"
	"\n"
	"Options:\n"
	"  -f, --force         kill the VM at once (SIGKILL), no poweroff\n"
	"  -s, --socket PATH   vappd's control socket (default: $VAPPD_SOCKET, else\n"
	"                      " VAPPD_SOCKET_DEFAULT ")\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 every NAME was stopped; 1 one was unknown or vappd could not\n"
	"be reached; 2 usage error.\n"
	"\n"
	"Example:\n"
	"  vapp stop hello\n",
	.run = run,
};

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket = NULL;
	struct vrpc_client *cli;
	int c, rc = 0;
	bool force = false;

	while ((c = getopt_long(argc, argv, "fs:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': force = true; break;
		case 's': socket = optarg; break;
		default: return cmd_usage_error(&vapp_cmd_stop, "unknown option");
		}
	}
	if (optind == argc)
		return cmd_usage_error(&vapp_cmd_stop, "give the NAME of an appliance (see vapp ps)");
	cli = vappd_connect(&vapp_cmd_stop, vappd_socket(socket));
	if (!cli)
		return 1;
	for (int i = optind; i < argc; i++) {
		Vapp__Runtime__V1__StopRequest req = VAPP__RUNTIME__V1__STOP_REQUEST__INIT;
		Vapp__Runtime__V1__StopReply *reply = NULL;

		req.name = argv[i];
		req.force = force;
		/* vappd answers within its 15 s grace, plus a margin. */
		if (vappd_call(&vapp_cmd_stop, cli, CONTROL_STOP, &req.base,
			       (ProtobufCMessage **)&reply, 60000) != VRPC_OK) {
			rc = 1;
			continue;
		}
		printf("%s %s\n", argv[i], reply->appliance ?
		       vappd_state_name(reply->appliance->state) : "stopped");
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	vrpc_client_close(cli);
	return rc;
}
