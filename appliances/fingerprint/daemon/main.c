/*
 * vapp-fpd - the fingerprint appliance's daemon: owns the reader (through
 * libfprint), keeps the enrolled templates sealed in the state volume, and
 * answers vapp.fingerprint.v1.Fingerprint with signed assertions.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vrpc.h"
#include "fpd.h"
#include "appliance.h"

static const char usage[] =
	"Usage: vapp-fpd [options] (--attach ADDR | --listen ADDR)...\n"
	"\n"
	"The fingerprint appliance's daemon: it drives the fingerprint reader with\n"
	"libfprint, keeps each enrolled template sealed (AES-256-GCM, bound to its user\n"
	"and finger) under a key that exists only in the state folder, and answers\n"
	"vapp.fingerprint.v1.Fingerprint: Enroll, Verify, Identify, ListEnrolled, Delete,\n"
	"ListDevices, GetPublicKey, GetStatus. Verify and Identify answer with an\n"
	"assertion signed with the appliance's Ed25519 key, naming the caller, its\n"
	"nonce and a counter that never goes back.\n"
	"\n"
	"Options:\n"
	"  -a, --attach ADDR        serve the one connection at ADDR (the appliance's\n"
	"                           channel: serial:/dev/virtio-ports/vapp.fingerprint)\n"
	"  -l, --listen ADDR        accept connections on ADDR\n"
	"  -s, --state DIR          the state folder: keys, counter, sealed templates\n"
	"                           (default /var/lib/fingerprint)\n"
	"      --measurement FILE   the image's measurement, 64 hex digits, as vappd\n"
	"                           gave it (default /run/vapp/measurement; absent: the\n"
	"                           assertions carry none)\n"
	"      --test-mode          allow libfprint's virtual readers (FP_VIRTUAL_DEVICE,\n"
	"                           FP_VIRTUAL_IMAGE): for tests only, never in\n"
	"                           production; without it a virtual reader is refused\n"
	"      --test-reader PORT   tests only (implies --test-mode): a virtual reader\n"
	"                           (virtual_device) whose commands come, a line each,\n"
	"                           from the virtio-serial PORT (the test manifest's\n"
	"                           /dev/virtio-ports/vapp.fp-reader)\n"
	"      --test-image-reader PORT\n"
	"                           the same with libfprint's image reader\n"
	"                           (virtual_image, real NBIS matching): PORT carries\n"
	"                           its records (int width, int height, the grey bytes),\n"
	"                           each given to the reader when it awaits a finger\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 after SIGTERM, 1 when it could not start (the reason is printed),\n"
	"2 on a usage error.\n";


struct opts {
	struct appliance_addrs addrs;
	const char *state, *measurement;
	bool test_mode;
	const char *test_reader;
	enum test_port_kind test_kind;
};

/* @return -1 to go on, else the exit status (said). */
static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_MEASUREMENT = 256, O_TEST, O_TEST_READER, O_TEST_IMAGE_READER };
	static const struct option lo[] = {
		{ "attach", required_argument, NULL, 'a' },
		{ "listen", required_argument, NULL, 'l' },
		{ "state", required_argument, NULL, 's' },
		{ "measurement", required_argument, NULL, O_MEASUREMENT },
		{ "test-mode", no_argument, NULL, O_TEST },
		{ "test-reader", required_argument, NULL, O_TEST_READER },
		{ "test-image-reader", required_argument, NULL, O_TEST_IMAGE_READER },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "a:l:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'l':
			if (appliance_addr_add(&o->addrs, c, optarg))
				goto bad;
			break;
		case 's': o->state = optarg; break;
		case O_MEASUREMENT: o->measurement = optarg; break;
		case O_TEST: o->test_mode = true; break;
		case O_TEST_READER:
		case O_TEST_IMAGE_READER:
			o->test_reader = optarg;
			o->test_kind = c == O_TEST_READER ? TEST_PORT_LINES : TEST_PORT_IMAGES;
			o->test_mode = true;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (optind == argc && (o->addrs.n_attach || o->addrs.n_listen))
		return -1;
	if (!o->addrs.n_attach && !o->addrs.n_listen)
		fputs("vapp-fpd: give --attach or --listen\n", stderr);
bad:
	fputs("Run 'vapp-fpd --help' for usage.\n", stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const char *const streaming[] = { "Enroll", NULL };
	static struct fpd d;
	struct opts o = { .state = "/var/lib/fingerprint", .measurement = "/run/vapp/measurement" };
	struct vrpc_server *srv;
	struct vrpc_loop *loop;
	char why[256] = "", test_dir[64], test_sock[96];
	int rc = parse(argc, argv, &o), err = 0;

	if (rc >= 0)
		return rc;
	umask(077); /* keys and templates */
	signal(SIGPIPE, SIG_IGN);
	loop = vrpc_loop_new();
	srv = vrpc_server_new(NULL);
	/* The signals blocked before the reader's thread starts: it inherits that. */
	if (!loop || !srv || appliance_quit_on_signals(loop)) {
		fprintf(stderr, "vapp-fpd: cannot start: %s\n", strerror(errno));
		return 1;
	}
	if (o.test_mode)
		fprintf(stderr, "vapp-fpd: TEST MODE: virtual readers are allowed\n");
	/* Before the reader's thread starts: libfprint reads it there. */
	/* The virtual reader's socket, in a folder of this process's own. */
	snprintf(test_dir, sizeof(test_dir), "/run/vapp-fpd.%d", (int)getpid());
	snprintf(test_sock, sizeof(test_sock), "%s/reader.sock", test_dir);
	if (o.test_reader &&
	    (vapp_mkdir_p(test_dir, 0700) ||
	     setenv(o.test_kind == TEST_PORT_LINES ? "FP_VIRTUAL_DEVICE" : "FP_VIRTUAL_IMAGE", test_sock,
		    1) ||
	     unsetenv(o.test_kind == TEST_PORT_LINES ? "FP_VIRTUAL_IMAGE" : "FP_VIRTUAL_DEVICE"))) {
		fprintf(stderr, "vapp-fpd: cannot set up the test reader\n");
		return 1;
	}
	if ((err = vapp_mkdir_p(o.state, 0700)) ||
	    (err = fpd_init(&d, loop, o.state, o.measurement, o.test_mode, why, sizeof(why)))) {
		fprintf(stderr, "vapp-fpd: %s\n", why[0] ? why : strerror(-err));
		return 1;
	}
	err = vrpc_server_add_service(srv, &d.svc.base, streaming);
	if (!err)
		err = appliance_addrs_open("vapp-fpd", srv, &o.addrs);
	if (!err && o.test_reader)
		err = fpd_test_port_start(loop, o.test_reader, test_sock, o.test_kind);
	if (err || vrpc_loop_add_server(loop, srv) < 0) {
		fprintf(stderr, "vapp-fpd: cannot serve: %s\n", strerror(err ? -err : EIO));
		return 1;
	}
	fprintf(stderr, "vapp-fpd: serving vapp.fingerprint.v1.Fingerprint (state %s, counter %llu)\n",
		o.state, (unsigned long long)d.signer.counter);
	vrpc_loop_run(loop);
	fpd_fini(&d);
	if (o.test_reader) {
		unlink(test_sock);
		rmdir(test_dir);
	}
	vrpc_server_free(srv);
	vrpc_loop_free(loop);
	return 0;
}
