/* cmd_logs.c - vapp logs: an appliance's console, from vappd. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vappd_client.h"

static int run(int argc, char **argv);

const struct vapp_cmd vapp_cmd_logs = {
	.name = "logs",
	.summary = "show an appliance's console (--follow to keep reading)",
	.usage =
	"Usage: vapp logs [--follow] [--lines N] [--socket PATH] NAME\n"
	"\n"
	"Prints the console of appliance NAME (its kernel and vapp-init messages,\n"
	"and whatever its daemon writes to the console) since its VM last started.\n"
	"The console is the guest's: bytes other than printable ASCII are shown as\n"
	"'?', so an appliance cannot drive your terminal.\n"
	"\n"
	"Options:\n"
	"  -f, --follow        keep printing new lines as they come, across restarts\n"
	"                      of the VM, until interrupted or the appliance is\n"
	"                      stopped\n"
	"  -n, --lines N       start with the last N lines (default: all vappd keeps,\n"
	"                      up to the last MiB)\n"
	"  -s, --socket PATH   vappd's control socket (default: $VAPPD_SOCKET, else\n"
	"                      " VAPPD_SOCKET_DEFAULT ")\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 done (or the followed appliance was stopped); 1 NAME unknown\n"
	"or vappd could not be reached; 2 usage error.\n"
	"\n"
	"Example:\n"
	"  vapp logs -n 20 hello\n",
	.run = run,
};

struct stream {
	bool done;
	int status;
	char *message;
};

static void on_item(void *ud, const ProtobufCMessage *msg, bool done, int status,
		    const char *message)
{
	struct stream *s = ud;

	if (msg) {
		const Vapp__Runtime__V1__LogLine *l = (const Vapp__Runtime__V1__LogLine *)msg;

		puts(l->line);
		fflush(stdout);
	}
	if (done) {
		s->done = true;
		s->status = status;
		if (message)
			s->message = strdup(message);
	}
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	Vapp__Runtime__V1__LogsRequest req = VAPP__RUNTIME__V1__LOGS_REQUEST__INIT;
	struct stream s = { 0 };
	const char *socket = NULL;
	struct vrpc_client *cli;
	int64_t id;
	int c;

	while ((c = getopt_long(argc, argv, "fn:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': req.follow = true; break;
		case 'n': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (end == optarg || *end || n > 1000000)
				return cmd_usage_error(&vapp_cmd_logs, "--lines: '%s' is not a count",
						       optarg);
			req.lines = (uint32_t)n;
			break;
		}
		case 's': socket = optarg; break;
		default: return cmd_usage_error(&vapp_cmd_logs, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(&vapp_cmd_logs, "give the NAME of one appliance");
	req.name = argv[optind];
	cli = vappd_connect(&vapp_cmd_logs, vappd_socket(socket));
	if (!cli)
		return 1;
	id = vrpc_client_call_async(cli, CONTROL_LOGS, &req.base, req.follow ? 0 : 30000,
				    on_item, &s);
	if (id < 0) {
		cmd_error(&vapp_cmd_logs, "cannot ask vappd: %s", strerror((int)-id));
		vrpc_client_close(cli);
		return 1;
	}
	while (!s.done)
		if (vrpc_client_wait(cli, -1) < 0 && !s.done) {
			cmd_error(&vapp_cmd_logs, "vappd went away");
			break;
		}
	if (s.done && s.status != VRPC_OK)
		cmd_error(&vapp_cmd_logs, "%s", s.message ? s.message : vrpc_status_name(s.status));
	free(s.message);
	vrpc_client_close(cli);
	return s.done && s.status == VRPC_OK ? 0 : 1;
}
