/*
 * vapp-voip - the VoIP appliance's guest-side CLI: vapp.voip.v1.Voip through
 * libvrpc, one JSON object per line for each reply or event, so that a
 * script (or a person with jq) reads it. It sends typed fields only; the
 * appliance checks every one and says which it refused.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vrpc.h"
#include "vrpc_json.h"
#include "appliances/voip/voip.pb-c.h"

#define DEFAULT_ADDR "serial:/dev/virtio-ports/vapp.voip"

static const char usage[] =
	"Usage: vapp-voip [options] COMMAND [ARGS]\n"
	"\n"
	"Drives the VoIP appliance (vapp.voip.v1.Voip). Each reply or event is printed\n"
	"as one JSON object on a line.\n"
	"\n"
	"Commands:\n"
	"  status                        the SIP stack, accounts, calls\n"
	"  accounts                      the accounts (never their passwords)\n"
	"  add-account URI [REGISTRAR USER]\n"
	"                                a SIP account; with a registrar, the password\n"
	"                                is read from $VAPP_VOIP_PASSWORD\n"
	"  remove-account URI\n"
	"  register|unregister URI       an account's registration on again, or off\n"
	"  dial TO [ACCOUNT]             TO: a SIP URI or a number\n"
	"  call TO [ACCOUNT]             dial, then wait until it is established (exit 0)\n"
	"                                or ends unanswered (exit 1)\n"
	"  answer|reject|hangup|hold|resume|mute|unmute CALL_ID\n"
	"  dtmf CALL_ID DIGITS           0-9 * # A-D\n"
	"  calls                         the calls now\n"
	"  events                        every event, until -t or -n ends it\n"
	"  volume [OUTPUT|- [INPUT|-]]   the speaker's and microphone's levels, 0-100\n"
	"                                (\"-\" keeps one; none given: just read them)\n"
	"  devices                       the sound cards' devices, and the ones in use\n"
	"\n"
	"Options:\n"
	"  -c, --connect ADDR   the appliance (default $VAPP_VOIP_ADDR, else\n"
	"                       " DEFAULT_ADDR ")\n"
	"  -t, --timeout SEC    how long to wait (default 10; for events, how long to\n"
	"                       watch)\n"
	"  -n, --count N        events: stop after N\n"
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 when the call succeeded, 1 when it failed (the appliance's\n"
	"reason on stderr, \"vapp-voip: STATUS: reason\"), 2 on a usage error.\n";

static volatile sig_atomic_t interrupted;

static void on_int(int sig)
{
	interrupted = 1;
}

static void print(const ProtobufCMessage *m)
{
	char *s = vrpc_json_from_message(m, 0);

	puts(s ? s : "{}");
	fflush(stdout);
	free(s);
}

/* One unary call by method name; prints the reply. @return the exit status. */
static int unary(struct vrpc_client *cli, const char *method, const ProtobufCMessage *req,
		 int timeout_ms)
{
	const ProtobufCServiceDescriptor *sd = &vapp__voip__v1__voip__descriptor;
	const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(sd,
											       method);
	ProtobufCMessage *reply = NULL;
	char *msg = NULL;
	int st;

	if (!md)
		return 2;
	st = vrpc_client_call(cli, (unsigned)(md - sd->methods), req, &reply, timeout_ms, &msg);
	if (st != VRPC_OK) {
		fprintf(stderr, "vapp-voip: %s: %s\n", vrpc_status_name(st), msg ? msg : "");
		free(msg);
		return 1;
	}
	print(reply);
	protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

struct watch {
	long count, seen;
	bool done;
	int status;
	char *message;
	bool quiet;            /* call: only the outcome is printed */
	char call_id[256];     /* call: the call waited for, once known */
	int outcome;           /* call: 1 established, -1 ended */
	/* call: outcomes seen before Dial's answer named the call (its
	 * events may come in the same read as the answer) */
	char early_id[8][256];
	int early[8], n_early;
};

/* The one watch of a run: its last callback comes from vrpc_client_close()
 * in main(), after events() returned, so it does not live on that stack. */
static struct watch watch;

static void on_event(void *ud, const ProtobufCMessage *msg, bool done, int status,
		     const char *message)
{
	struct watch *w = ud;

	if (msg && w->quiet) {
		const Vapp__Voip__V1__Event *ev = (const Vapp__Voip__V1__Event *)msg;
		int o = ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ESTABLISHED ? 1
			: ev->kind == VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED ? -1 : 0;

		if (!ev->call || !o || w->outcome)
			return;
		if (w->call_id[0] && !strcmp(ev->call->id, w->call_id)) {
			w->outcome = o;
			print(msg);
		} else if (!w->call_id[0] && w->n_early < 8) {
			snprintf(w->early_id[w->n_early], sizeof(w->early_id[0]), "%s", ev->call->id);
			w->early[w->n_early++] = o;
		}
	} else if (msg) {
		print(msg);
		w->seen++;
	}
	if (done && !w->done) {
		w->done = true;
		w->status = status;
		w->message = message ? strdup(message) : NULL;
	}
}

static int events(struct vrpc_client *cli, long count, int timeout_ms)
{
	Vapp__Voip__V1__WatchEventsRequest req = VAPP__VOIP__V1__WATCH_EVENTS_REQUEST__INIT;
	struct watch *w = &watch;
	int waited = 0;
	const ProtobufCServiceDescriptor *sd = &vapp__voip__v1__voip__descriptor;
	const ProtobufCMethodDescriptor *md =
		protobuf_c_service_descriptor_get_method_by_name(sd, "WatchEvents");

	w->count = count;
	if (vrpc_client_call_async(cli, (unsigned)(md - sd->methods), &req.base, 0, on_event,
				   w) < 0)
		return 1;
	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	while (!w->done && !interrupted && waited < timeout_ms && (!count || w->seen < count)) {
		if (vrpc_client_wait(cli, 100) < 0)
			break;
		waited += 100;
	}
	if (w->done && w->status != VRPC_OK) {
		fprintf(stderr, "vapp-voip: %s: %s\n", vrpc_status_name(w->status),
			w->message ? w->message : "");
		return 1;
	}
	return count && w->seen < count ? 1 : 0;
}

/* Dial, then wait for that call to be established (exit 0) or to end
 * (exit 1): the events are watched before the call is placed, so none is
 * missed. */
static int call_and_wait(struct vrpc_client *cli, const char *to, const char *account,
			 int timeout_ms)
{
	const ProtobufCServiceDescriptor *sd = &vapp__voip__v1__voip__descriptor;
	const ProtobufCMethodDescriptor *we =
		protobuf_c_service_descriptor_get_method_by_name(sd, "WatchEvents");
	const ProtobufCMethodDescriptor *dm =
		protobuf_c_service_descriptor_get_method_by_name(sd, "Dial");
	Vapp__Voip__V1__WatchEventsRequest wr = VAPP__VOIP__V1__WATCH_EVENTS_REQUEST__INIT;
	Vapp__Voip__V1__DialRequest dr = VAPP__VOIP__V1__DIAL_REQUEST__INIT;
	ProtobufCMessage *reply = NULL;
	struct watch *w = &watch;
	char *msg = NULL;
	int st, waited = 0;

	w->quiet = true;
	if (vrpc_client_call_async(cli, (unsigned)(we - sd->methods), &wr.base, 0, on_event, w) < 0)
		return 1;
	dr.to = (char *)to;
	dr.account = (char *)account;
	st = vrpc_client_call(cli, (unsigned)(dm - sd->methods), &dr.base, &reply, timeout_ms,
			      &msg);
	if (st != VRPC_OK) {
		fprintf(stderr, "vapp-voip: %s: %s\n", vrpc_status_name(st), msg ? msg : "");
		free(msg);
		return 1;
	}
	snprintf(w->call_id, sizeof(w->call_id), "%s", ((Vapp__Voip__V1__Call *)reply)->id);
	for (int i = 0; i < w->n_early; i++)
		if (!strcmp(w->early_id[i], w->call_id) && (!w->outcome || w->early[i] < 0))
			w->outcome = w->early[i];
	if (w->outcome)
		print(reply);
	protobuf_c_message_free_unpacked(reply, NULL);
	while (!w->outcome && !w->done && waited < timeout_ms) {
		if (vrpc_client_wait(cli, 50) < 0)
			break;
		waited += 50;
	}
	if (w->outcome != 1)
		fprintf(stderr, "vapp-voip: the call was %s\n",
			w->outcome < 0 ? "not answered (it ended)" : "not established in time");
	return w->outcome == 1 ? 0 : 1;
}

/* A command that names a call. */
static int call_cmd(struct vrpc_client *cli, const char *method, bool mute, char **argv,
		    int argc, int timeout_ms)
{
	Vapp__Voip__V1__CallRequest cr = VAPP__VOIP__V1__CALL_REQUEST__INIT;
	Vapp__Voip__V1__SendDtmfRequest dr = VAPP__VOIP__V1__SEND_DTMF_REQUEST__INIT;
	Vapp__Voip__V1__SetMuteRequest mr = VAPP__VOIP__V1__SET_MUTE_REQUEST__INIT;

	if (!strcmp(method, "SetMute")) {
		if (argc != 1)
			return 2;
		mr.call_id = argv[0];
		mr.mute = mute;
		return unary(cli, method, &mr.base, timeout_ms);
	}
	if (!strcmp(method, "SendDtmf")) {
		if (argc != 2)
			return 2;
		dr.call_id = argv[0];
		dr.digits = argv[1];
		return unary(cli, method, &dr.base, timeout_ms);
	}
	if (argc != 1)
		return 2;
	cr.call_id = argv[0];
	return unary(cli, method, &cr.base, timeout_ms);
}

/* A level on the command line: digits, or "-" to keep it. @return 0 or -1. */
static int level_arg(const char *s, uint32_t *v, protobuf_c_boolean *keep)
{
	char *end;
	unsigned long n;

	if (!strcmp(s, "-")) {
		*keep = 1;
		return 0;
	}
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return -1;
	n = strtoul(s, &end, 10);
	if (n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

/* volume [OUTPUT|- [INPUT|-]]: no level given reads them. */
static int volume_cmd(struct vrpc_client *cli, char **argv, int argc, int timeout_ms)
{
	Vapp__Voip__V1__SetVolumeRequest sv = VAPP__VOIP__V1__SET_VOLUME_REQUEST__INIT;

	if (argc > 2)
		return 2;
	sv.keep_output = sv.keep_input = 1;
	if (argc >= 1 && (sv.keep_output = 0, level_arg(argv[0], &sv.output, &sv.keep_output)))
		return 2;
	if (argc == 2 && (sv.keep_input = 0, level_arg(argv[1], &sv.input, &sv.keep_input)))
		return 2;
	return unary(cli, "SetVolume", &sv.base, timeout_ms);
}

static int run(struct vrpc_client *cli, const char *cmd, char **argv, int argc, long count,
	       int timeout_ms)
{
	static const struct { const char *cmd, *method; } calls[] = {
		{ "answer", "Answer" }, { "hangup", "Hangup" }, { "hold", "Hold" },
		{ "resume", "Resume" }, { "dtmf", "SendDtmf" }, { "reject", "Reject" },
		{ "mute", "SetMute" }, { "unmute", "SetMute" },
	};
	Vapp__Voip__V1__GetStatusRequest gs = VAPP__VOIP__V1__GET_STATUS_REQUEST__INIT;
	Vapp__Voip__V1__ListAccountsRequest la = VAPP__VOIP__V1__LIST_ACCOUNTS_REQUEST__INIT;
	Vapp__Voip__V1__ListCallsRequest lc = VAPP__VOIP__V1__LIST_CALLS_REQUEST__INIT;
	Vapp__Voip__V1__AddAccountRequest aa = VAPP__VOIP__V1__ADD_ACCOUNT_REQUEST__INIT;
	Vapp__Voip__V1__RemoveAccountRequest ra = VAPP__VOIP__V1__REMOVE_ACCOUNT_REQUEST__INIT;
	Vapp__Voip__V1__AccountRequest ar = VAPP__VOIP__V1__ACCOUNT_REQUEST__INIT;
	Vapp__Voip__V1__DialRequest dl = VAPP__VOIP__V1__DIAL_REQUEST__INIT;
	Vapp__Voip__V1__ListAudioDevicesRequest ad = VAPP__VOIP__V1__LIST_AUDIO_DEVICES_REQUEST__INIT;

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(cmd, calls[i].cmd))
			return call_cmd(cli, calls[i].method, !strcmp(cmd, "mute"), argv, argc,
					timeout_ms);
	if (!strcmp(cmd, "status") && !argc)
		return unary(cli, "GetStatus", &gs.base, timeout_ms);
	if (!strcmp(cmd, "accounts") && !argc)
		return unary(cli, "ListAccounts", &la.base, timeout_ms);
	if (!strcmp(cmd, "calls") && !argc)
		return unary(cli, "ListCalls", &lc.base, timeout_ms);
	if (!strcmp(cmd, "events") && !argc)
		return events(cli, count, timeout_ms);
	if (!strcmp(cmd, "devices") && !argc)
		return unary(cli, "ListAudioDevices", &ad.base, timeout_ms);
	if (!strcmp(cmd, "volume"))
		return volume_cmd(cli, argv, argc, timeout_ms);
	if (!strcmp(cmd, "add-account") && (argc == 1 || argc == 3)) {
		const char *pw = getenv("VAPP_VOIP_PASSWORD");

		aa.uri = argv[0];
		aa.registrar = argc == 3 ? argv[1] : "";
		aa.auth_user = argc == 3 ? argv[2] : "";
		aa.password = (char *)(argc == 3 && pw ? pw : "");
		return unary(cli, "AddAccount", &aa.base, timeout_ms);
	}
	if (!strcmp(cmd, "remove-account") && argc == 1) {
		ra.uri = argv[0];
		return unary(cli, "RemoveAccount", &ra.base, timeout_ms);
	}
	if ((!strcmp(cmd, "register") || !strcmp(cmd, "unregister")) && argc == 1) {
		ar.uri = argv[0];
		return unary(cli, cmd[0] == 'r' ? "RegisterAccount" : "UnregisterAccount", &ar.base,
			     timeout_ms);
	}
	if (!strcmp(cmd, "call") && (argc == 1 || argc == 2))
		return call_and_wait(cli, argv[0], argc == 2 ? argv[1] : "", timeout_ms);
	if (!strcmp(cmd, "dial") && (argc == 1 || argc == 2)) {
		dl.to = argv[0];
		dl.account = argc == 2 ? argv[1] : "";
		return unary(cli, "Dial", &dl.base, timeout_ms);
	}
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *addr = getenv("VAPP_VOIP_ADDR");
	struct vrpc_client *cli;
	int opt, rc, timeout_ms = 10000;
	long count = 0;

	if (!addr || !*addr)
		addr = DEFAULT_ADDR;
	while ((opt = getopt_long(argc, argv, "+c:t:n:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': addr = optarg; break;
		case 't': timeout_ms = (int)(atof(optarg) * 1000); break;
		case 'n': count = atol(optarg); break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto usage;
		}
	}
	if (optind >= argc || timeout_ms <= 0 || count < 0)
		goto usage;
	cli = vrpc_client_open(addr, &vapp__voip__v1__voip__descriptor, NULL);
	if (!cli) {
		fprintf(stderr, "vapp-voip: %s: %s\n", addr, strerror(errno));
		return 1;
	}
	rc = run(cli, argv[optind], argv + optind + 1, argc - optind - 1, count, timeout_ms);
	vrpc_client_close(cli);
	free(watch.message);
	if (rc != 2)
		return rc;
usage:
	fputs(usage, stderr);
	return 2;
}
