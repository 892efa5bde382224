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
	"Usage: vapp-usb [-c ADDR] COMMAND [ARG]\n"
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

/* ---- a stream (watch, attach) ---- */

struct stream {
	bool done;
	int status;
	char message[256];
	/* attach */
	char line[USBIP_LINE_MAX];
	size_t line_len;
	int port;                 /* vhci's, -1 before */
	int sv[2];                /* [0] ours, [1] the kernel's */
	unsigned inflight;
	bool send_failed;
	const char *busid;
};

static void on_event(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct stream *s = ud;

	if (msg)
		print(msg);
	if (done) {
		s->done = true;
		s->status = status;
		snprintf(s->message, sizeof(s->message), "%s", message ? message : "");
	}
}

static int watch(struct vrpc_client *cli)
{
	Vapp__Usb__V1__WatchDevicesRequest req = VAPP__USB__V1__WATCH_DEVICES_REQUEST__INIT;
	static struct stream s;

	if (vrpc_client_call_async(cli, method("WatchDevices"), &req.base, 0, on_event, &s) < 0)
		return 3;
	while (!s.done && !stopping)
		if (vrpc_client_wait(cli, 200) < 0)
			break;
	if (s.done && s.status != VRPC_OK) {
		fprintf(stderr, "vapp-usb: %s: %s\n", vrpc_status_name(s.status), s.message);
		return 1;
	}
	return 0;
}

/* The stream's first bytes: the line, then the vhci port. @return the
 * bytes of @p p it took, or -1 (said; the stream is refused). */
static int take_line(struct stream *s, const uint8_t *p, size_t n)
{
	size_t k = n < sizeof(s->line) - s->line_len ? n : sizeof(s->line) - s->line_len;
	uint32_t devid;
	int speed, used, port;

	memcpy(s->line + s->line_len, p, k);
	used = usbip_line_parse(s->line, s->line_len + k, &devid, &speed);
	if (used == -EAGAIN) {
		s->line_len += k;
		return (int)k;
	}
	if (used < 0) {
		fprintf(stderr, "vapp-usb: the appliance's opening line is not \"DEVID SPEED\"\n");
		return -1;
	}
	port = vhci_attach(s->sv[1], devid, speed);
	if (port < 0) {
		fprintf(stderr, "vapp-usb: vhci-hcd: %s\n", strerror(-port));
		return -1;
	}
	close(s->sv[1]); /* the kernel has its own */
	s->sv[1] = -1;
	s->port = port;
	printf("attached %s: vhci port %d, devid %u, speed %d\n", s->busid, port, devid, speed);
	fflush(stdout);
	used -= (int)s->line_len; /* what of this item the line took */
	s->line_len = 0;
	return used;
}

static void on_data(void *ud, const ProtobufCMessage *msg, bool done, int status,
		    const char *message)
{
	struct stream *s = ud;

	if (msg && !s->done) {
		const Vapp__Usb__V1__DeviceData *d = (const Vapp__Usb__V1__DeviceData *)msg;
		const uint8_t *p = d->data.data;
		size_t n = d->data.len;

		if (s->port < 0) {
			int used = take_line(s, p, n);

			if (used < 0) {
				s->done = true;
				s->status = VRPC_INTERNAL;
				snprintf(s->message, sizeof(s->message), "a bad opening line");
				return;
			}
			p += used;
			n -= (size_t)used;
		}
		if (n && vapp_write_all(s->sv[0], p, n)) {
			s->done = true;
			s->status = VRPC_UNAVAILABLE;
			snprintf(s->message, sizeof(s->message), "the kernel's side closed");
		}
	}
	if (done && !s->done) {
		s->done = true;
		s->status = status;
		snprintf(s->message, sizeof(s->message), "%s", message ? message : "");
	}
}

static void on_sent(void *ud, const ProtobufCMessage *msg, bool done, int status,
		    const char *message)
{
	struct stream *s = ud;

	(void)msg;
	if (!done)
		return;
	s->inflight--;
	/* Once the stream has ended the device is gone: sends still in flight
	 * are refused, and that is no news. */
	if (status != VRPC_OK && !s->send_failed && !s->done) {
		s->send_failed = true;
		fprintf(stderr, "vapp-usb: send: %s: %s\n", vrpc_status_name(status),
			message ? message : "");
	}
}

static int attach(struct vrpc_client *cli, const char *busid)
{
	Vapp__Usb__V1__AttachRequest req = VAPP__USB__V1__ATTACH_REQUEST__INIT;
	static struct stream s;
	static uint8_t buf[CHUNK];
	int64_t id;

	s.port = -1;
	s.busid = busid;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s.sv)) {
		perror("vapp-usb: socketpair");
		return 1;
	}
	req.busid = (char *)busid;
	if ((id = vrpc_client_call_async(cli, method("Attach"), &req.base, 0, on_data, &s)) < 0)
		return 3;
	while (!s.done && !stopping && !s.send_failed) {
		struct pollfd p[2] = {
			{ .fd = vrpc_client_fd(cli), .events = vrpc_client_events(cli) },
			{ .fd = s.sv[0], .events = POLLIN },
		};
		int np = s.port >= 0 && s.inflight < MAX_INFLIGHT ? 2 : 1;

		if (poll(p, (nfds_t)np, 200) < 0 && errno != EINTR)
			break;
		if (np == 2 && p[1].revents) {
			Vapp__Usb__V1__SendRequest sr = VAPP__USB__V1__SEND_REQUEST__INIT;
			ssize_t n = read(s.sv[0], buf, sizeof(buf));

			if (n <= 0) {
				fprintf(stderr, "vapp-usb: vhci-hcd closed the port\n");
				break;
			}
			sr.busid = (char *)busid;
			sr.data.data = buf;
			sr.data.len = (size_t)n;
			if (vrpc_client_call_async(cli, method("Send"), &sr.base, 0, on_sent, &s) < 0) {
				fprintf(stderr, "vapp-usb: the appliance's channel is lost\n");
				break;
			}
			s.inflight++;
		}
		if (vrpc_client_process(cli) < 0)
			break;
	}
	if (!s.done)
		vrpc_client_cancel(cli, id);
	if (s.port >= 0)
		vhci_detach(s.port);
	if (s.done && (s.status == VRPC_OK || stopping) && !s.send_failed) {
		printf("detached %s%s%s\n", busid, s.message[0] ? ": " : "", s.message);
		return 0;
	}
	if (stopping) {
		printf("detached %s: stopped here\n", busid);
		return 0;
	}
	fprintf(stderr, "vapp-usb: %s: %s\n", s.done ? vrpc_status_name(s.status) : "UNAVAILABLE",
		s.done ? s.message : "the appliance went away");
	return 1;
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
	    ((!strcmp(cmd, "status") || !strcmp(cmd, "list") || !strcmp(cmd, "watch")) && nargs))
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
	} else if (!strcmp(cmd, "watch")) {
		rc = watch(cli);
	} else if (!strcmp(cmd, "attach")) {
		rc = attach(cli, arg);
	} else if (!strcmp(cmd, "detach")) {
		Vapp__Usb__V1__DetachRequest r = VAPP__USB__V1__DETACH_REQUEST__INIT;

		r.busid = (char *)arg;
		rc = unary(cli, "Detach", &r.base, false);
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
