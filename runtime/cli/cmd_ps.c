/* cmd_ps.c - vapp ps: the appliances vappd runs. */
#include <getopt.h>
#include <stdio.h>

#include "vappd_client.h"

static int run(int argc, char **argv);

const struct vapp_cmd vapp_cmd_ps = {
	.name = "ps",
	.summary = "list the appliances vappd runs (state, uptime, restarts, memory)",
	.usage =
	"Usage: vapp ps [--long] [--socket PATH] [NAME]\n"
	"\n"
	"Lists the appliances vappd supervises, one a line:\n"
	"\n"
	"  NAME      the appliance's name\n"
	"  STATE     starting (booting, no HELLO yet), running (ready), backoff\n"
	"            (ended, restarting after a delay), stopping, stopped, failed\n"
	"  UPTIME    since the current VM started\n"
	"  RESTARTS  VM and daemon restarts since 'vapp run'\n"
	"  MEMORY    resident memory of its QEMU process\n"
	"  PID       the QEMU process\n"
	"  ACCEL     kvm or tcg\n"
	"\n"
	"With NAME, only that appliance (an error if vappd has none of that name).\n"
	"\n"
	"Options:\n"
	"  -l, --long          also the image folder, the verified measurement, the\n"
	"                      signer, the service and its channel, the last boot\n"
	"                      time, the last error, and each direct channel under\n"
	"                      QEMU: the guest, the device's address in the\n"
	"                      appliance, the socket the guest's QEMU plugs its\n"
	"                      ivshmem-doorbell device into, whether each side's\n"
	"                      QEMU is connected, and the services\n"
	"  -s, --socket PATH   vappd's control socket (default: $VAPPD_SOCKET, else\n"
	"                      " VAPPD_SOCKET_DEFAULT ")\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 listed; 1 NAME unknown or vappd could not be reached; 2 usage\n"
	"error.\n"
	"\n"
	"Example:\n"
	"  vapp ps\n"
	"  NAME      STATE     UPTIME  RESTARTS  MEMORY  PID    ACCEL\n"
	"  hello     running   5m12s   0         61.2M   4242   tcg\n",
	.run = run,
};

static void print_long(const Vapp__Runtime__V1__Appliance *a)
{
	printf("  image        %s\n  measurement  %s\n  signer       %s\n", a->image,
	       a->measurement, a->signer);
	if (a->service[0])
		printf("  service      %s on %s\n", a->service, a->channel);
	if (a->boot_ms)
		printf("  last boot    %u ms to ready\n", a->boot_ms);
	if (a->backoff_ms)
		printf("  backoff      %u ms\n", a->backoff_ms);
	if (a->error[0])
		printf("  error        %s\n", a->error);
	for (size_t i = 0; i < a->n_direct; i++)
		printf("  direct       %s\n", a->direct[i]);
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	Vapp__Runtime__V1__ListRequest req = VAPP__RUNTIME__V1__LIST_REQUEST__INIT;
	Vapp__Runtime__V1__ListReply *reply = NULL;
	const char *socket = NULL;
	struct vrpc_client *cli;
	bool lng = false;
	int c;

	while ((c = getopt_long(argc, argv, "ls:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': lng = true; break;
		case 's': socket = optarg; break;
		default: return cmd_usage_error(&vapp_cmd_ps, "unknown option");
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error(&vapp_cmd_ps, "give at most one NAME");
	if (optind < argc)
		req.name = argv[optind];
	cli = vappd_connect(&vapp_cmd_ps, vappd_socket(socket));
	if (!cli)
		return 1;
	if (vappd_call(&vapp_cmd_ps, cli, CONTROL_LIST, &req.base, (ProtobufCMessage **)&reply,
		       10000) != VRPC_OK) {
		vrpc_client_close(cli);
		return 1;
	}
	printf("%-20s %-9s %-8s %-9s %-8s %-7s %s\n", "NAME", "STATE", "UPTIME", "RESTARTS",
	       "MEMORY", "PID", "ACCEL");
	for (size_t i = 0; i < reply->n_appliances; i++) {
		const Vapp__Runtime__V1__Appliance *a = reply->appliances[i];
		char up[32], mem[32], pid[16];

		vappd_fmt_duration(a->uptime_ms, up, sizeof(up));
		vappd_fmt_bytes(a->memory_bytes, mem, sizeof(mem));
		snprintf(pid, sizeof(pid), a->pid ? "%d" : "-", a->pid);
		printf("%-20s %-9s %-8s %-9u %-8s %-7s %s\n", a->name, vappd_state_name(a->state),
		       up, a->restarts, mem, pid, a->accel);
		if (lng)
			print_long(a);
	}
	protobuf_c_message_free_unpacked(&reply->base, NULL);
	vrpc_client_close(cli);
	return 0;
}
