/* cmd_run.c - vapp run: ask vappd to verify, start and supervise an appliance. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vappd_client.h"

static int run(int argc, char **argv);

const struct vapp_cmd vapp_cmd_run = {
	.name = "run",
	.summary = "start an appliance under vappd and wait until it is ready",
	.usage =
	"Usage: vapp run [--name NAME] [--accel auto|kvm|tcg] [--boot-timeout SEC]\n"
	"                [--socket PATH] IMAGE\n"
	"\n"
	"Asks vappd to run the appliance image IMAGE and waits until it is ready.\n"
	"IMAGE is an image folder written by 'vapp build' (a path: it is made absolute\n"
	"here, since vappd runs elsewhere), the name of an image in vappd's --images\n"
	"folder, or oci:LAYOUT[:TAG], a tag of an OCI image layout that 'vapp oci\n"
	"export' or skopeo wrote (the only one when no TAG is given): vappd takes\n"
	"the image's files out of the layout's blobs, each checked against its\n"
	"digest, and goes on as with a folder.\n"
	"\n"
	"vappd copies the folder, checks the copy's measurement and signature against\n"
	"its trusted keys (an image that does not match is refused before it boots,\n"
	"naming the part: kernel, initramfs, a cmdline, manifest, measurement,\n"
	"signature), starts it under QEMU with arguments of its own made from the\n"
	"measured manifest (QEMU runs unprivileged, under its -sandbox), and answers\n"
	"once the appliance's first service has answered\n"
	"the vrpc HELLO on its channel. From then on vappd supervises it: an\n"
	"appliance that ends or crashes is started again after a back-off, its state\n"
	"volume kept. A boot that does not reach ready in time fails; the error\n"
	"holds the last lines of the appliance's console, and the VM is stopped.\n"
	"\n"
	"Options:\n"
	"  -n, --name NAME         the appliance's name in vappd (default: the\n"
	"                          manifest's name); [a-z0-9][a-z0-9-]*\n"
	"  -a, --accel MODE        auto (a probe decides, once per vappd), kvm or tcg;\n"
	"                          default: vappd's own default\n"
	"  -t, --boot-timeout SEC  how long the boot may take to reach ready\n"
	"                          (default: vappd's, 60 s unless it was told otherwise)\n"
	"  -s, --socket PATH       vappd's control socket (default: $VAPPD_SOCKET, else\n"
	"                          " VAPPD_SOCKET_DEFAULT ")\n"
	"  -h, --help              show this help\n"
	"\n"
	"On success it prints the appliance's name, QEMU's pid, the accelerator, the\n"
	"boot time, the verified measurement and the signer, and any note from vappd\n"
	"(a development key, the accelerator probe's verdict).\n"
	"\n"
	"Exit status: 0 the appliance is running; 1 it was refused or did not\n"
	"become ready, or vappd could not be reached; 2 usage error.\n"
	"\n"
	"Example:\n"
	"  vapp build examples/hello/manifest.yaml\n"
	"  vapp run build/appliances/hello\n",
	.run = run,
};

/* The options into @p req. @return -1 to go on, else the exit status. */
static int parse_opts(int argc, char **argv, Vapp__Runtime__V1__RunRequest *req,
		      const char **socket)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "accel", required_argument, NULL, 'a' },
		{ "boot-timeout", required_argument, NULL, 't' },
		{ "socket", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	double sec;
	int c;

	while ((c = getopt_long(argc, argv, "n:a:t:s:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': req->name = optarg; break;
		case 'a':
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "tcg"))
				return cmd_usage_error(&vapp_cmd_run, "--accel: give auto, kvm or tcg");
			req->accel = optarg;
			break;
		case 't':
			sec = strtod(optarg, &end);
			if (end == optarg || *end || sec <= 0 || sec > 86400)
				return cmd_usage_error(&vapp_cmd_run, "--boot-timeout: '%s' is not "
						       "a number of seconds", optarg);
			req->boot_timeout_ms = (uint32_t)(sec * 1000);
			break;
		case 's': *socket = optarg; break;
		default: return cmd_usage_error(&vapp_cmd_run, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cmd_usage_error(&vapp_cmd_run, "give one IMAGE (a folder or a name)");
	return -1;
}

/* What vappd answered: the running appliance, or why not. @return the
 * exit status. */
static int report(const Vapp__Runtime__V1__RunReply *reply)
{
	const Vapp__Runtime__V1__Appliance *a = reply->appliance;

	if (!a || a->state != VAPP__RUNTIME__V1__STATE__RUNNING) {
		const char *why = a ? a->error : "";

		cmd_error(&vapp_cmd_run, "%s", why[0] ? why : "the appliance did not become ready");
		return 1;
	}
	printf("%s %s (pid %d, accel %s, ready in %u ms)\n", a->name, vappd_state_name(a->state),
	       a->pid, a->accel, a->boot_ms);
	printf("  measurement  %s\n  signer       %s\n", a->measurement, a->signer);
	if (a->service[0])
		printf("  service      %s on %s\n", a->service, a->channel);
	for (size_t i = 0; i < reply->n_notes; i++)
		printf("note: %s\n", reply->notes[i]);
	return 0;
}

/* "oci:LAYOUT[:TAG]" with LAYOUT made absolute into @p buf (PATH_MAX);
 * left as given when it cannot be (vappd then says what is wrong). */
static const char *oci_absolute(const char *ref, char *buf)
{
	const char *colon = strchr(ref + 4, ':');
	char dir[PATH_MAX], real[PATH_MAX];
	size_t n = colon ? (size_t)(colon - ref - 4) : strlen(ref + 4);

	if (n == 0 || n >= sizeof(dir))
		return ref;
	memcpy(dir, ref + 4, n);
	dir[n] = 0;
	if (!realpath(dir, real) ||
	    (size_t)snprintf(buf, PATH_MAX, "oci:%s%s", real, colon ? colon : "") >= PATH_MAX)
		return ref;
	return buf;
}

static int run(int argc, char **argv)
{
	Vapp__Runtime__V1__RunRequest req = VAPP__RUNTIME__V1__RUN_REQUEST__INIT;
	Vapp__Runtime__V1__RunReply *reply = NULL;
	const char *socket = NULL;
	char image[PATH_MAX];
	struct vrpc_client *cli;
	struct stat st;
	int rc = parse_opts(argc, argv, &req, &socket), timeout_ms;

	if (rc >= 0)
		return rc;
	/* A folder here is a folder for vappd too, once absolute. */
	if (!strncmp(argv[optind], "oci:", 4))
		req.image = (char *)oci_absolute(argv[optind], image);
	else if ((strchr(argv[optind], '/') || stat(argv[optind], &st) == 0) &&
		 realpath(argv[optind], image))
		req.image = image;
	else
		req.image = argv[optind];
	cli = vappd_connect(&vapp_cmd_run, vappd_socket(socket));
	if (!cli)
		return 1;
	/* vappd bounds the boot itself; this only guards against a vappd that
	 * never answers: its boot timeout, the KVM probe and the copy, plus room. */
	timeout_ms = (int)(req.boot_timeout_ms ? req.boot_timeout_ms : 600000) + 120000;
	rc = 1;
	if (vappd_call(&vapp_cmd_run, cli, CONTROL_RUN, &req.base, (ProtobufCMessage **)&reply,
		       timeout_ms) == VRPC_OK) {
		rc = report(reply);
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	}
	vrpc_client_close(cli);
	return rc;
}
