/*
 * vapp-usb - a Linux guest's side of the USB proxy appliance: list and
 * watch the appliance's devices, and attach one to this guest's vhci-hcd.
 *
 * attach: the Attach call's stream starts with the line "DEVID SPEED\n"
 * (checked: nothing else reaches the kernel's attach file), then carries
 * USB/IP from the appliance, written to one end of a socketpair whose
 * other end the kernel's vhci-hcd holds; what the kernel writes there goes
 * back in Send calls, in order, at most MAX_INFLIGHT at a time (the
 * socket is not read meanwhile: the kernel waits, nothing piles up). When
 * the stream ends, or on SIGINT/SIGTERM, the port is freed and the guest
 * sees the device unplugged.
 *
 * agent: the same for every device an administrator assigns to this guest,
 * on one channel (a guest's virtio-serial port has one opener at a time).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vrpc.h"
#include "vrpc_json.h"
#include "vapp_util.h"
#include "usbip_line.h"
#include "vhci.h"
#include "appliances/usb-proxy/usb.pb-c.h"

#define DEFAULT_ADDR "serial:/dev/virtio-ports/vapp.usb"
#define MAX_INFLIGHT 16
#define CHUNK 65536

static const char usage[] =
	"Usage: vapp-usb [-c ADDR] COMMAND [ARG...]\n"
	"\n"
	"The guest's side of the USB proxy appliance, which owns the USB controller\n"
	"and hands single devices to guests under its device rules.\n"
	"\n"
	"Commands:\n"
	"  status          the appliance's state (JSON)\n"
	"  list            its devices, one JSON object a line: busid, ids, classes,\n"
	"                  strings, speed, who has it, whether this guest may\n"
	"  watch           the devices, then each plug, unplug, attach, detach\n"
	"  attach BUSID    takes the device for this guest (vhci-hcd; root) and keeps\n"
	"                  it until the appliance takes it back or this is stopped\n"
	"                  (SIGINT, SIGTERM): then the device is unplugged here\n"
	"  detach BUSID    gives the device back to the appliance\n"
	"  agent           follows the devices and attaches each one an administrator\n"
	"                  assigns to this guest (Assign), as attach does, until\n"
	"                  stopped (SIGINT, SIGTERM: each is given back)\n"
	"  assign BUSID GUEST\n"
	"                  an administrator's: sets the device aside for GUEST (taken\n"
	"                  from whoever holds it); GUEST \"\" clears it\n"
	"\n"
	"Options:\n"
	"  -c, --connect ADDR   the appliance (default " DEFAULT_ADDR ",\n"
	"                       or $VAPP_USB_ADDR)\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 done (attach: the device was given back in order), 1 refused\n"
	"or failed (the reason on stderr), 2 usage, 3 the appliance unreachable.\n";

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static unsigned method(const char *name)
{
	const ProtobufCServiceDescriptor *sd = &vapp__usb__v1__usb_proxy__descriptor;

	return (unsigned)(protobuf_c_service_descriptor_get_method_by_name(sd, name) - sd->methods);
}

static void print(const ProtobufCMessage *m)
{
	char *s = vrpc_json_from_message(m, 0);

	puts(s ? s : "{}");
	fflush(stdout);
	free(s);
}

static int unary(struct vrpc_client *cli, const char *name, const ProtobufCMessage *req, bool show)
{
	ProtobufCMessage *reply = NULL;
	char *msg = NULL;
	int st = vrpc_client_call(cli, method(name), req, &reply, 30000, &msg);

	if (st != VRPC_OK) {
		fprintf(stderr, "vapp-usb: %s: %s\n", vrpc_status_name(st), msg ? msg : "");
		free(msg);
		return 1;
	}
	if (show && reply->descriptor == &vapp__usb__v1__devices__descriptor) { /* a line a device */
		const Vapp__Usb__V1__Devices *d = (const Vapp__Usb__V1__Devices *)reply;

		for (size_t i = 0; i < d->n_devices; i++)
			print(&d->devices[i]->base);
	} else if (show) {
		print(reply);
	}
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* ---- the devices held here ---- */

/* One device attached to this guest: its Attach call's stream goes to the
 * kernel's socket, what the kernel writes there goes back in Sends. */
struct held {
	bool used, done;
	int status;
	char message[256];
	char busid[64];
	int64_t call;
	char line[USBIP_LINE_MAX];
	size_t line_len;
	int port;                 /* vhci's, -1 before */
	int sv[2];                /* [0] ours, [1] the kernel's */
	unsigned inflight;
	bool send_failed;
};

#define MAX_HELD 16

struct holder {
	struct vrpc_client *cli;
	struct held h[MAX_HELD];
	/* The watch stream: printed (watch), or followed to attach what is
	 * assigned here (agent). */
	bool agent, watch_done;
	int watch_status;
	char watch_message[256];
};

static void finish(struct held *h, int status, const char *why)
{
	if (h->done)
		return;
	h->done = true;
	h->status = status;
	snprintf(h->message, sizeof(h->message), "%s", why ? why : "");
}

/* The stream's first bytes: the line, then the vhci port. @return the
 * bytes of @p p it took, or -1 (said; the stream is refused). */
static int take_line(struct held *h, const uint8_t *p, size_t n)
{
	size_t k = n < sizeof(h->line) - h->line_len ? n : sizeof(h->line) - h->line_len;
	uint32_t devid;
	int speed, used, port;

	memcpy(h->line + h->line_len, p, k);
	used = usbip_line_parse(h->line, h->line_len + k, &devid, &speed);
	if (used == -EAGAIN) {
		h->line_len += k;
		return (int)k;
	}
	if (used < 0) {
		fprintf(stderr, "vapp-usb: the appliance's opening line is not \"DEVID SPEED\"\n");
		return -1;
	}
	port = vhci_attach(h->sv[1], devid, speed);
	if (port < 0) {
		fprintf(stderr, "vapp-usb: vhci-hcd: %s\n", strerror(-port));
		return -1;
	}
	close(h->sv[1]); /* the kernel has its own */
	h->sv[1] = -1;
	h->port = port;
	printf("attached %s: vhci port %d, devid %u, speed %d\n", h->busid, port, devid, speed);
	fflush(stdout);
	used -= (int)h->line_len; /* what of this item the line took */
	h->line_len = 0;
	return used;
}

static void on_data(void *ud, const ProtobufCMessage *msg, bool done, int status,
		    const char *message)
{
	struct held *h = ud;

	if (msg && !h->done) {
		const Vapp__Usb__V1__DeviceData *d = (const Vapp__Usb__V1__DeviceData *)msg;
		const uint8_t *p = d->data.data;
		size_t n = d->data.len;

		if (h->port < 0) {
			int used = take_line(h, p, n);

			if (used < 0) {
				finish(h, VRPC_INTERNAL, "a bad opening line");
				return;
			}
			p += used;
			n -= (size_t)used;
		}
		if (n && vapp_write_all(h->sv[0], p, n))
			finish(h, VRPC_UNAVAILABLE, "the kernel's side closed");
	}
	if (done)
		finish(h, status, message);
}

static void on_sent(void *ud, const ProtobufCMessage *msg, bool done, int status,
		    const char *message)
{
	struct held *h = ud;

	(void)msg;
	if (!done)
		return;
	h->inflight--;
	/* Once the stream has ended the device is gone: sends still in flight
	 * are refused, and that is no news. */
	if (status != VRPC_OK && !h->send_failed && !h->done) {
		h->send_failed = true;
		fprintf(stderr, "vapp-usb: send: %s: %s\n", vrpc_status_name(status),
			message ? message : "");
	}
}

static struct held *held_of(struct holder *o, const char *busid)
{
	for (int i = 0; i < MAX_HELD; i++)
		if (o->h[i].used && !strcmp(o->h[i].busid, busid))
			return &o->h[i];
	return NULL;
}

/* Asks for @p busid. @return the slot, or NULL (said). */
static struct held *hold(struct holder *o, const char *busid)
{
	Vapp__Usb__V1__AttachRequest req = VAPP__USB__V1__ATTACH_REQUEST__INIT;
	struct held *h = NULL;

	for (int i = 0; i < MAX_HELD && !h; i++)
		if (!o->h[i].used)
			h = &o->h[i];
	if (!h) {
		fprintf(stderr, "vapp-usb: %s: %d devices held already\n", busid, MAX_HELD);
		return NULL;
	}
	memset(h, 0, sizeof(*h));
	h->port = -1;
	snprintf(h->busid, sizeof(h->busid), "%s", busid);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, h->sv)) {
		perror("vapp-usb: socketpair");
		return NULL;
	}
	req.busid = h->busid;
	h->call = vrpc_client_call_async(o->cli, method("Attach"), &req.base, 0, on_data, h);
	if (h->call < 0) {
		close(h->sv[0]);
		close(h->sv[1]);
		return NULL;
	}
	h->used = true;
	return h;
}

/* Gives @p h up here (the port freed: the guest sees an unplug), says how
 * it ended. @return 0 when in order (the appliance ended it with OK, or we
 * stopped), else 1. */
static int release(struct holder *o, struct held *h)
{
	int rc = 0;

	if (!h->done)
		vrpc_client_cancel(o->cli, h->call);
	if (h->port >= 0)
		vhci_detach(h->port);
	if (h->sv[0] >= 0)
		close(h->sv[0]);
	if (h->sv[1] >= 0)
		close(h->sv[1]);
	if (h->done && (h->status == VRPC_OK || stopping) && !h->send_failed)
		printf("detached %s%s%s\n", h->busid, h->message[0] ? ": " : "", h->message);
	else if (stopping)
		printf("detached %s: stopped here\n", h->busid);
	else {
		fprintf(stderr, "vapp-usb: %s: %s: %s\n", h->busid,
			h->done ? vrpc_status_name(h->status) : "UNAVAILABLE",
			h->done ? h->message : "the appliance went away");
		rc = 1;
	}
	fflush(stdout);
	h->used = false;
	return rc;
}

/* One wait: the channel, and the kernel's side of each device held (read
 * only while fewer than MAX_INFLIGHT of its Sends are out, so the kernel
 * waits and nothing piles up). @return 0, or -1 when the channel is lost. */
static int pump(struct holder *o)
{
	static uint8_t buf[CHUNK];
	struct pollfd p[1 + MAX_HELD];
	struct held *of[1 + MAX_HELD];
	nfds_t n = 1;

	p[0] = (struct pollfd){ .fd = vrpc_client_fd(o->cli), .events = vrpc_client_events(o->cli) };
	for (int i = 0; i < MAX_HELD; i++) {
		struct held *h = &o->h[i];

		if (h->used && !h->done && h->port >= 0 && h->inflight < MAX_INFLIGHT) {
			of[n] = h;
			p[n++] = (struct pollfd){ .fd = h->sv[0], .events = POLLIN };
		}
	}
	if (poll(p, n, 200) < 0 && errno != EINTR)
		return -1;
	for (nfds_t i = 1; i < n; i++) {
		Vapp__Usb__V1__SendRequest sr = VAPP__USB__V1__SEND_REQUEST__INIT;
		struct held *h = of[i];
		ssize_t got;

		if (!p[i].revents)
			continue;
		got = read(h->sv[0], buf, sizeof(buf));
		if (got <= 0) {
			finish(h, VRPC_UNAVAILABLE, "vhci-hcd closed the port");
			continue;
		}
		sr.busid = h->busid;
		sr.data.data = buf;
		sr.data.len = (size_t)got;
		if (vrpc_client_call_async(o->cli, method("Send"), &sr.base, 0, on_sent, h) < 0)
			return -1;
		h->inflight++;
	}
	return vrpc_client_process(o->cli) < 0 ? -1 : 0;
}

/* attach BUSID: held until the appliance takes it back or we are stopped. */
static int attach(struct vrpc_client *cli, const char *busid)
{
	static struct holder o;
	struct held *h;

	o.cli = cli;
	if (!(h = hold(&o, busid)))
		return 3;
	while (!h->done && !stopping && !h->send_failed)
		if (pump(&o) < 0)
			break;
	return release(&o, h);
}

/* ---- watch, and the agent ---- */

static void on_event(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct holder *o = ud;

	if (msg) {
		const Vapp__Usb__V1__DeviceEvent *ev = (const Vapp__Usb__V1__DeviceEvent *)msg;
		const Vapp__Usb__V1__Device *d = ev->device;

		if (!o->agent) {
			print(msg);
		} else if (d && d->assigned_to_you && !d->attached_to[0] && !held_of(o, d->busid) &&
			   ev->kind != VAPP__USB__V1__DEVICE_EVENT__KIND__UNPLUG) {
			/* Set aside for us and free: take it. */
			printf("assigned %s (%04x:%04x %s): attaching\n", d->busid, d->vendor_id,
			       d->product_id, d->product);
			fflush(stdout);
			hold(o, d->busid);
		}
	}
	if (done) {
		o->watch_done = true;
		o->watch_status = status;
		snprintf(o->watch_message, sizeof(o->watch_message), "%s", message ? message : "");
	}
}

/* watch: the events as JSON. agent: the devices an administrator assigns
 * to this guest, attached as they come; each ends as attach's does. */
static int watch(struct vrpc_client *cli, bool agent)
{
	Vapp__Usb__V1__WatchDevicesRequest req = VAPP__USB__V1__WATCH_DEVICES_REQUEST__INIT;
	static struct holder o;

	o.cli = cli;
	o.agent = agent;
	if (vrpc_client_call_async(cli, method("WatchDevices"), &req.base, 0, on_event, &o) < 0)
		return 3;
	while (!o.watch_done && !stopping) {
		if (pump(&o) < 0)
			break;
		for (int i = 0; i < MAX_HELD; i++)
			if (o.h[i].used && (o.h[i].done || o.h[i].send_failed))
				release(&o, &o.h[i]);
	}
	for (int i = 0; i < MAX_HELD; i++)
		if (o.h[i].used)
			release(&o, &o.h[i]);
	if (o.watch_done && o.watch_status != VRPC_OK) {
		fprintf(stderr, "vapp-usb: %s: %s\n", vrpc_status_name(o.watch_status), o.watch_message);
		return 1;
	}
	return stopping || o.watch_done ? 0 : 3;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vrpc_client_opts copts = { .connect_timeout_ms = 5000 };
	const char *addr = getenv("VAPP_USB_ADDR"), *cmd, *arg;
	struct vrpc_client *cli;
	struct sigaction sa = { .sa_handler = on_stop };
	int c, rc = 2, nargs;

	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': addr = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (optind >= argc)
		goto bad;
	cmd = argv[optind];
	nargs = argc - optind - 1;
	arg = nargs ? argv[optind + 1] : NULL;
	if (((!strcmp(cmd, "attach") || !strcmp(cmd, "detach")) && nargs != 1) ||
	    (!strcmp(cmd, "assign") && nargs != 2) ||
	    ((!strcmp(cmd, "status") || !strcmp(cmd, "list") || !strcmp(cmd, "watch") ||
	      !strcmp(cmd, "agent")) && nargs))
		goto bad;
	if (!addr || !addr[0])
		addr = DEFAULT_ADDR;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	cli = vrpc_client_open(addr, &vapp__usb__v1__usb_proxy__descriptor, &copts);
	if (!cli) {
		fprintf(stderr, "vapp-usb: cannot reach the appliance at %s: %s\n", addr,
			strerror(errno));
		return 3;
	}
	if (!strcmp(cmd, "status")) {
		Vapp__Usb__V1__GetStatusRequest r = VAPP__USB__V1__GET_STATUS_REQUEST__INIT;

		rc = unary(cli, "GetStatus", &r.base, true);
	} else if (!strcmp(cmd, "list")) {
		Vapp__Usb__V1__ListDevicesRequest r = VAPP__USB__V1__LIST_DEVICES_REQUEST__INIT;

		rc = unary(cli, "ListDevices", &r.base, true);
	} else if (!strcmp(cmd, "watch") || !strcmp(cmd, "agent")) {
		rc = watch(cli, !strcmp(cmd, "agent"));
	} else if (!strcmp(cmd, "attach")) {
		rc = attach(cli, arg);
	} else if (!strcmp(cmd, "detach")) {
		Vapp__Usb__V1__DetachRequest r = VAPP__USB__V1__DETACH_REQUEST__INIT;

		r.busid = (char *)arg;
		rc = unary(cli, "Detach", &r.base, false);
	} else if (!strcmp(cmd, "assign")) {
		Vapp__Usb__V1__AssignRequest r = VAPP__USB__V1__ASSIGN_REQUEST__INIT;

		r.busid = (char *)arg;
		r.guest = argv[optind + 2];
		rc = unary(cli, "Assign", &r.base, false);
	} else {
		vrpc_client_close(cli);
		goto bad;
	}
	vrpc_client_close(cli);
	return rc;
bad:
	fputs("Run 'vapp-usb --help' for usage.\n", stderr);
	return 2;
}
