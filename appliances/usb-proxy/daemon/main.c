/*
 * vapp-usbd - the USB proxy appliance's daemon: lists the devices on the
 * appliance's buses and hands single devices to guests, under the device
 * rules, over vapp.usb.v1.UsbProxy.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vrpc.h"
#include "vapp_util.h"
#include "usbd.h"
#include "appliance.h"

static const char usage[] =
	"Usage: vapp-usbd [options] (--attach ADDR | --listen ADDR)...\n"
	"\n"
	"The USB proxy appliance's daemon. The appliance owns the USB controller: every\n"
	"device meets this VM's kernel first. Guests list the devices, watch them come\n"
	"and go, and ask for one (Attach): when the device rules give it to the caller\n"
	"(the guest vappd's broker names), the device is bound to the kernel's\n"
	"usbip-host and its USB/IP stream carried on the caller's call, until it is\n"
	"detached, unplugged, or the caller goes; then the appliance's own driver has\n"
	"it again. One device has one holder.\n"
	"\n"
	"Options:\n"
	"  -a, --attach ADDR   serve the one connection at ADDR (the appliance's\n"
	"                      channel: serial:/dev/virtio-ports/vapp.usb)\n"
	"  -l, --listen ADDR   accept connections on ADDR\n"
	"  -r, --rules FILE    the device rules (see below); when repeated, the first\n"
	"                      FILE that exists (the host's setting, then the\n"
	"                      image's own); without any: no device for anyone\n"
	"      --sysfs DIR     where the devices are (default /sys/bus/usb/devices)\n"
	"  -h, --help          this help\n"
	"\n"
	"Device rules, one a line, the first that fits decides, no rule no device:\n"
	"  GUEST allow|deny DEVICE   # a comment\n"
	"GUEST is a guest's name or *; DEVICE is * (any), usb:VVVV:PPPP (hex ids,\n"
	"either may be *), class:HH (the device's or an interface's class: 08 mass\n"
	"storage, 03 HID, 0e video) or busid:B. A bad line stops the daemon with\n"
	"FILE:LINE:COL and what is wrong.\n"
	"\n"
	"Exit status: 0 after SIGTERM, 1 when it could not start (the reason is\n"
	"printed), 2 on a usage error.\n";

#define RULES_FILES_MAX 4

struct opts {
	struct appliance_addrs addrs;
	const char *rules[RULES_FILES_MAX], *sysfs;
	int n_rules;
};

/* @return -1 to go on, else the exit status (said). */
static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_SYSFS = 256 };
	static const struct option lo[] = {
		{ "attach", required_argument, NULL, 'a' },
		{ "listen", required_argument, NULL, 'l' },
		{ "rules", required_argument, NULL, 'r' },
		{ "sysfs", required_argument, NULL, O_SYSFS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "a:l:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'l':
			if (appliance_addr_add(&o->addrs, c, optarg))
				goto bad;
			break;
		case 'r':
			if (o->n_rules == RULES_FILES_MAX) {
				fputs("vapp-usbd: at most 4 --rules\n", stderr);
				goto bad;
			}
			o->rules[o->n_rules++] = optarg;
			break;
		case O_SYSFS: o->sysfs = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (optind == argc && (o->addrs.n_attach || o->addrs.n_listen))
		return -1;
	if (!o->addrs.n_attach && !o->addrs.n_listen)
		fputs("vapp-usbd: give --attach or --listen\n", stderr);
bad:
	fputs("Run 'vapp-usbd --help' for usage.\n", stderr);
	return 2;
}

/* The first of the --rules files that exists; none: no rule, no device. */
static int load_rules(const struct opts *o, struct usb_rules *rules)
{
	struct vapp_buf b = { 0 };
	const char *file = NULL;
	char why[256];
	int err;

	for (int i = 0; i < o->n_rules && !file; i++)
		if (access(o->rules[i], F_OK) == 0)
			file = o->rules[i];
	if (!file) {
		if (o->n_rules)
			fprintf(stderr, "vapp-usbd: no rules file (%s ...): no device for anyone\n",
				o->rules[0]);
		return 0;
	}
	fprintf(stderr, "vapp-usbd: device rules from %s\n", file);
	if ((err = vapp_read_file_max(file, 1 << 20, &b))) {
		fprintf(stderr, "vapp-usbd: %s: %s\n", file, strerror(-err));
		return -1;
	}
	err = usb_rules_parse((const char *)b.p, b.len, file, rules, why, sizeof(why));
	vapp_buf_free(&b);
	if (err) {
		fprintf(stderr, "vapp-usbd: %s\n", why);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const streaming[] = { "WatchDevices", "Attach", NULL };
	static struct usbd u;
	struct opts o = { .sysfs = "/sys/bus/usb/devices" };
	struct vrpc_server *srv;
	struct vrpc_loop *loop;
	int rc = parse(argc, argv, &o), err;

	if (rc >= 0)
		return rc;
	if (load_rules(&o, &u.rules))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	loop = vrpc_loop_new();
	srv = vrpc_server_new(NULL);
	if (!loop || !srv || (err = appliance_quit_on_signals(loop)) || usbd_init(&u, loop, o.sysfs)) {
		fprintf(stderr, "vapp-usbd: cannot start: %s\n", strerror(errno));
		return 1;
	}
	if ((err = vrpc_server_add_service(srv, &u.svc.base, streaming)) ||
	    appliance_addrs_open("vapp-usbd", srv, &o.addrs) || vrpc_loop_add_server(loop, srv) < 0) {
		fprintf(stderr, "vapp-usbd: cannot serve\n");
		return 1;
	}
	fprintf(stderr, "vapp-usbd: serving vapp.usb.v1.UsbProxy (%d devices, %d rules, usbip-host %s)\n",
		u.n_devs, u.rules.n, usb_export_available() ? "ready" : "missing");
	vrpc_loop_run(loop);
	usbd_fini(&u);
	vrpc_server_free(srv);
	vrpc_loop_free(loop);
	return 0;
}
