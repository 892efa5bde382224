/*
 * vapp-fp - the fingerprint appliance's guest-side CLI. Administration
 * (enroll, delete, list) prints the appliance's replies as JSON lines;
 * verify and identify check the signed assertion here (check/fpcheck.h)
 * with the appliance's key pinned in a file, and say the verdict by their
 * exit status: a "yes" is believed only when it is signed, fresh, for our
 * nonce and not a replay.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vrpc.h"
#include "vrpc_json.h"
#include "vapp_util.h"
#include "appliances/fingerprint/fingerprint.pb-c.h"
#include "fpclient.h"

#define DEFAULT_ADDR "serial:/dev/virtio-ports/vapp.fingerprint"

static const char usage[] =
	"Usage: vapp-fp [options] COMMAND [ARGS]\n"
	"\n"
	"Talks to the fingerprint appliance (vapp.fingerprint.v1.Fingerprint). The reader,\n"
	"the images and the templates stay in the appliance; this side gets signed answers.\n"
	"\n"
	"Commands:\n"
	"  status                      the reader, the templates kept, the counter\n"
	"  devices                     the readers the appliance sees\n"
	"  list                        who is enrolled (names and fingers only)\n"
	"  enroll USER FINGER          scan FINGER as often as the reader asks; each\n"
	"                              stage is printed (administration)\n"
	"  delete USER [FINGER]        one template, or all of USER's (administration)\n"
	"  pubkey [FILE]               the appliance's public key (hex); with FILE, pin\n"
	"                              it there for verify and identify\n"
	"  verify USER FINGER          is it USER's FINGER on the reader? exit 0 yes, 1 no\n"
	"  identify                    whose finger is it? prints the user; exit 0 if one\n"
	"\n"
	"FINGER: left-thumb ... left-little, right-thumb ... right-little, or 1-10.\n"
	"\n"
	"Options:\n"
	"  -c, --connect ADDR   the appliance (default $VAPP_FP_ADDR, else\n"
	"                       " DEFAULT_ADDR ")\n"
	"  -k, --key FILE       the appliance's key, pinned by 'pubkey FILE': verify and\n"
	"                       identify need it (an assertion is believed only if\n"
	"                       this key signed it)\n"
	"      --caller LABEL   this guest's name as vappd names it: the assertion must\n"
	"                       have been given to it\n"
	"      --image HEX      the appliance image's measurement chain (vapp verify\n"
	"                       shows it): the assertion must come from that image\n"
	"      --counter FILE   the last counter accepted, kept in FILE: an older or\n"
	"                       equal one is a replay and refused\n"
	"      --max-age SEC    how far the assertion's time may be from ours (default 60)\n"
	"  -t, --timeout SEC    how long to wait for a finger (default 30)\n"
	"      --replace        enroll: replace an enrolled template\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 done (verify: a match), 1 refused or no match (the reason on\n"
	"stderr), 2 usage error, 3 the appliance could not be reached.\n";

struct opts {
	const char *addr, *key, *caller, *counter, *image;
	int timeout_ms, max_age_s;
	bool replace;
};

static unsigned method(const char *name)
{
	const ProtobufCServiceDescriptor *sd = &vapp__fingerprint__v1__fingerprint__descriptor;
	const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(sd,
											       name);

	return (unsigned)(md - sd->methods);
}

static void print(const ProtobufCMessage *m)
{
	char *s = vrpc_json_from_message(m, 0);

	puts(s ? s : "{}");
	fflush(stdout);
	free(s);
}

/* One unary call. @return the reply (the caller frees it), or NULL said. */
static ProtobufCMessage *call(struct vrpc_client *cli, const char *name,
			      const ProtobufCMessage *req, int timeout_ms)
{
	ProtobufCMessage *reply = NULL;
	char *msg = NULL;
	int st = vrpc_client_call(cli, method(name), req, &reply, timeout_ms, &msg);

	if (st != VRPC_OK) {
		fprintf(stderr, "vapp-fp: %s: %s\n", vrpc_status_name(st), msg ? msg : "");
		free(msg);
		return NULL;
	}
	return reply;
}

static int show(struct vrpc_client *cli, const char *name, const ProtobufCMessage *req,
		int timeout_ms)
{
	ProtobufCMessage *r = call(cli, name, req, timeout_ms);

	if (!r)
		return 1;
	print(r);
	protobuf_c_message_free_unpacked(r, NULL);
	return 0;
}

/* ---- enroll: a stream ---- */

struct enroll_state {
	bool done;
	int status;
	char message[256];
	bool enrolled;
};

static void on_progress(void *ud, const ProtobufCMessage *msg, bool done, int status,
			const char *message)
{
	struct enroll_state *e = ud;

	if (msg) {
		print(msg);
		if (((const Vapp__Fingerprint__V1__EnrollProgress *)msg)->done)
			e->enrolled = true;
	}
	if (done) {
		e->done = true;
		e->status = status;
		snprintf(e->message, sizeof(e->message), "%s", message ? message : "");
	}
}

static int enroll(struct vrpc_client *cli, const char *user, int finger, const struct opts *o)
{
	Vapp__Fingerprint__V1__EnrollRequest req = VAPP__FINGERPRINT__V1__ENROLL_REQUEST__INIT;
	static struct enroll_state e;
	uint64_t end = vapp_now_ms() + (uint64_t)o->timeout_ms;

	req.user = (char *)user;
	req.finger = (Vapp__Fingerprint__V1__Finger)finger;
	req.replace = o->replace;
	if (vrpc_client_call_async(cli, method("Enroll"), &req.base, o->timeout_ms, on_progress,
				   &e) < 0)
		return 3;
	while (!e.done && vapp_now_ms() < end)
		if (vrpc_client_wait(cli, 100) < 0)
			break;
	if (!e.done || e.status != VRPC_OK) {
		fprintf(stderr, "vapp-fp: %s: %s\n", e.done ? vrpc_status_name(e.status) : "TIMEOUT",
			e.done ? e.message : "no answer in time");
		return 1;
	}
	return e.enrolled ? 0 : 1;
}

/* ---- the key, the counter ---- */

static int pubkey(struct vrpc_client *cli, const char *file, int timeout_ms)
{
	Vapp__Fingerprint__V1__GetPublicKeyRequest req =
		VAPP__FINGERPRINT__V1__GET_PUBLIC_KEY_REQUEST__INIT;
	Vapp__Fingerprint__V1__PublicKey *k =
		(Vapp__Fingerprint__V1__PublicKey *)call(cli, "GetPublicKey", &req.base, timeout_ms);
	char hex[2 * FP_PUBKEY_LEN + 2];
	int err = 0;

	if (!k)
		return 1;
	if (k->ed25519.len != FP_PUBKEY_LEN) {
		fputs("vapp-fp: the appliance's key is not an Ed25519 key\n", stderr);
		err = 1;
	} else {
		for (size_t i = 0; i < FP_PUBKEY_LEN; i++)
			sprintf(hex + 2 * i, "%02x", k->ed25519.data[i]);
		strcat(hex, "\n");
		fputs(hex, stdout);
		if (file && vapp_write_file_atomic(file, hex, strlen(hex), 0644)) {
			fprintf(stderr, "vapp-fp: cannot write %s\n", file);
			err = 1;
		}
	}
	protobuf_c_message_free_unpacked(&k->base, NULL);
	return err;
}

/* Verify (user != NULL) or Identify, the answer checked (fpclient.h). */
static int ask(const char *user, int finger, const struct opts *o)
{
	struct fp_ask q = { .addr = o->addr, .key_file = o->key, .user = user, .finger = finger,
			    .caller = o->caller, .image = o->image, .counter_file = o->counter,
			    .timeout_ms = o->timeout_ms, .max_age_s = o->max_age_s };
	struct fp_verdict v;
	char why[256];
	int err = fp_ask(&q, &v, why, sizeof(why));

	if (err == -ENOKEY) {
		fprintf(stderr, "vapp-fp: %s (give it with -k FILE)\n", why);
		return 2;
	}
	if (err) {
		fprintf(stderr, "vapp-fp: %s%s\n", err == -EHOSTUNREACH || err == -ETIMEDOUT ||
							     err == -EACCES ? "" : "refused: ", why);
		return err == -EHOSTUNREACH ? 3 : 1;
	}
	printf("{\"match\":%s,\"user\":\"%s\",\"finger\":%d,\"counter\":%" PRIu64
	       ",\"caller\":\"%s\"}\n",
	       v.match ? "true" : "false", v.user, v.finger, v.counter, v.caller);
	return v.match ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { O_CALLER = 256, O_COUNTER, O_MAX_AGE, O_REPLACE, O_IMAGE };
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "caller", required_argument, NULL, O_CALLER },
		{ "counter", required_argument, NULL, O_COUNTER },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "max-age", required_argument, NULL, O_MAX_AGE },
		{ "timeout", required_argument, NULL, 't' },
		{ "replace", no_argument, NULL, O_REPLACE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .addr = getenv("VAPP_FP_ADDR"), .timeout_ms = 30000, .max_age_s = 60 };
	struct vrpc_client_opts copts = { .connect_timeout_ms = 5000 };
	struct vrpc_client *cli;
	const char *cmd;
	int c, rc = 2, finger = 0, nargs;

	while ((c = getopt_long(argc, argv, "c:k:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.addr = optarg; break;
		case 'k': o.key = optarg; break;
		case O_CALLER: o.caller = optarg; break;
		case O_COUNTER: o.counter = optarg; break;
		case O_IMAGE: o.image = optarg; break;
		case O_MAX_AGE: o.max_age_s = atoi(optarg); break;
		case 't': o.timeout_ms = atoi(optarg) * 1000; break;
		case O_REPLACE: o.replace = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (optind >= argc || o.timeout_ms <= 0 || o.max_age_s <= 0)
		goto bad;
	cmd = argv[optind];
	nargs = argc - optind - 1;
	if ((!strcmp(cmd, "enroll") || !strcmp(cmd, "verify")) &&
	    (nargs != 2 || (finger = fp_finger_of(argv[optind + 2])) < 0))
		goto bad;
	if (!strcmp(cmd, "delete") && (nargs < 1 || nargs > 2 ||
				       (nargs == 2 && (finger = fp_finger_of(argv[optind + 2])) < 0)))
		goto bad;
	if (!o.addr || !o.addr[0])
		o.addr = DEFAULT_ADDR;
	cli = vrpc_client_open(o.addr, &vapp__fingerprint__v1__fingerprint__descriptor, &copts);
	if (!cli) {
		fprintf(stderr, "vapp-fp: cannot reach the appliance at %s: %s\n", o.addr,
			strerror(errno));
		return 3;
	}
	if (!strcmp(cmd, "status") && !nargs) {
		Vapp__Fingerprint__V1__GetStatusRequest r = VAPP__FINGERPRINT__V1__GET_STATUS_REQUEST__INIT;
		rc = show(cli, "GetStatus", &r.base, 10000);
	} else if (!strcmp(cmd, "devices") && !nargs) {
		Vapp__Fingerprint__V1__ListDevicesRequest r = VAPP__FINGERPRINT__V1__LIST_DEVICES_REQUEST__INIT;
		rc = show(cli, "ListDevices", &r.base, 10000);
	} else if (!strcmp(cmd, "list") && !nargs) {
		Vapp__Fingerprint__V1__ListEnrolledRequest r = VAPP__FINGERPRINT__V1__LIST_ENROLLED_REQUEST__INIT;
		rc = show(cli, "ListEnrolled", &r.base, 10000);
	} else if (!strcmp(cmd, "delete")) {
		Vapp__Fingerprint__V1__DeleteRequest r = VAPP__FINGERPRINT__V1__DELETE_REQUEST__INIT;
		r.user = argv[optind + 1];
		r.finger = (Vapp__Fingerprint__V1__Finger)finger;
		rc = show(cli, "Delete", &r.base, 10000);
	} else if (!strcmp(cmd, "enroll")) {
		rc = enroll(cli, argv[optind + 1], finger, &o);
	} else if (!strcmp(cmd, "verify")) {
		rc = ask(argv[optind + 1], finger, &o);
	} else if (!strcmp(cmd, "identify") && !nargs) {
		rc = ask(NULL, 0, &o);
	} else if (!strcmp(cmd, "pubkey") && nargs <= 1) {
		rc = pubkey(cli, nargs ? argv[optind + 1] : NULL, 10000);
	} else {
		vrpc_client_close(cli);
		goto bad;
	}
	vrpc_client_close(cli);
	return rc;
bad:
	fputs("Run 'vapp-fp --help' for usage.\n", stderr);
	return 2;
}
