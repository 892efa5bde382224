/*
 * hostile_voip.c - a VoIP appliance that lies, for the UI plugin's test
 * (test_voip_ui.c, run by voip_ui_api.sh): it speaks vapp.voip.v1.Voip
 * correctly on the wire but says what no appliance should:
 *
 *   WatchEvents  calls with control characters in the peer, ids too long
 *                to keep (two that differ only past the UI's text size),
 *                more calls than the UI keeps, an unknown state, a call
 *                said ENDED by a "held" event, ends of unknown calls,
 *                events without the call or level they need;
 *   ListCalls    the same id twice, an empty id, an ended call;
 *   GetStatus    volume levels out of 0..100;
 *   Dial         (the policy probe) OK with an empty call;
 *   and then it vanishes, a second after the probe, with every call it
 *   listed still up (SIGALRM; voip_ui_api.sh starts it again).
 *
 * Usage: hostile_voip ADDRESS (tcp:127.0.0.1:PORT). Not for production.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vrpc.h"
#include "appliances/voip/voip.pb-c.h"

typedef Vapp__Voip__V1__Voip_Service Svc;
typedef Vapp__Voip__V1__Call CallMsg;
typedef Vapp__Voip__V1__Event EventMsg;

#define LONG_ID 300

static void call_init(CallMsg *m, const char *id, const char *peer, int state)
{
	vapp__voip__v1__call__init(m);
	m->id = (char *)id;
	m->peer = (char *)peer;
	m->account = (char *)"sip:me@hostile";
	m->incoming = true;
	m->state = (Vapp__Voip__V1__CallState)state;
	m->reason = (char *)"";
}

static void say(Vapp__Voip__V1__Event_Closure closure, void *data, int kind, CallMsg *c)
{
	EventMsg ev = VAPP__VOIP__V1__EVENT__INIT;

	ev.kind = (Vapp__Voip__V1__EventKind)kind;
	ev.call = c;
	ev.detail = (char *)"";
	ev.account = (char *)"";
	closure(&ev, data);
}

static void watch_events(Svc *svc, const Vapp__Voip__V1__WatchEventsRequest *in,
			 Vapp__Voip__V1__Event_Closure closure, void *data)
{
	static char long1[LONG_ID + 2], long2[LONG_ID + 2];
	char ids[12][8];
	CallMsg c;

	(void)svc;
	(void)in;
	memset(long1, 'L', LONG_ID);
	memcpy(long2, long1, LONG_ID);
	long1[LONG_ID] = '1';
	long2[LONG_ID] = '2';
	call_init(&c, "a", "sip:x@y\r\nincoming call from sip:boss\x1b[2J", 3);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_INCOMING, &c);
	call_init(&c, long1, "sip:long1@x", 3);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_INCOMING, &c);
	call_init(&c, long2, "sip:long2@x", 3);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_INCOMING, &c);
	for (int i = 0; i < 12; i++) { /* more than the UI's VVUI_MAX_CALLS */
		snprintf(ids[i], sizeof(ids[i]), "n%d", i);
		call_init(&c, ids[i], "sip:many@x", 3);
		say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_INCOMING, &c);
	}
	call_init(&c, "a", "sip:x@y", 99); /* no such state */
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_RINGING, &c);
	call_init(&c, "n0", "sip:many@x", 6); /* ENDED, said by a "held" */
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_HELD, &c);
	call_init(&c, "nope", "sip:nobody@x", 6);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED, &c);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ESTABLISHED, NULL);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_CALL_ENDED, NULL);
	call_init(&c, "n1", "sip:many@x", 4);
	say(closure, data, VAPP__VOIP__V1__EVENT_KIND__EVENT_AUDIO_LEVEL, &c); /* no level */
}

static void list_calls(Svc *svc, const Vapp__Voip__V1__ListCallsRequest *in,
		       Vapp__Voip__V1__Calls_Closure closure, void *data)
{
	Vapp__Voip__V1__Calls out = VAPP__VOIP__V1__CALLS__INIT;
	CallMsg c[4], *p[4] = { &c[0], &c[1], &c[2], &c[3] };

	(void)svc;
	(void)in;
	call_init(&c[0], "b", "sip:twice@x", 4);
	call_init(&c[1], "b", "sip:twice@x", 5);
	call_init(&c[2], "", "sip:noid@x", 4);
	call_init(&c[3], "e", "sip:ended@x", 6);
	out.n_calls = 4;
	out.calls = p;
	closure(&out, data);
}

static void get_status(Svc *svc, const Vapp__Voip__V1__GetStatusRequest *in,
		       Vapp__Voip__V1__Status_Closure closure, void *data)
{
	Vapp__Voip__V1__Status out = VAPP__VOIP__V1__STATUS__INIT;
	Vapp__Voip__V1__Volume vol = VAPP__VOIP__V1__VOLUME__INIT;

	(void)svc;
	(void)in;
	vol.output = 4000000000u;
	vol.input = 101;
	out.version = (char *)"hostile";
	out.volume = &vol;
	closure(&out, data);
}

static void dial(Svc *svc, const Vapp__Voip__V1__DialRequest *in,
		 Vapp__Voip__V1__Call_Closure closure, void *data)
{
	CallMsg c;

	(void)svc;
	(void)in;
	call_init(&c, "", "", 0);
	closure(&c, data);
	alarm(1); /* and then vanish, every call still up */
}

/* The rest: refused. */
#define REFUSE(fn, Req, Out)                                                              \
	static void fn(Svc *svc, const Req *in, Out##_Closure closure, void *data)         \
	{                                                                                  \
		(void)svc;                                                                 \
		(void)in;                                                                  \
		vrpc_call_set_status(vrpc_call_of(data), VRPC_UNIMPLEMENTED, "hostile");   \
		closure(NULL, data);                                                       \
	}
REFUSE(list_accounts, Vapp__Voip__V1__ListAccountsRequest, Vapp__Voip__V1__Accounts)
REFUSE(add_account, Vapp__Voip__V1__AddAccountRequest, Vapp__Voip__V1__Account)
REFUSE(remove_account, Vapp__Voip__V1__RemoveAccountRequest, Vapp__Voip__V1__RemoveAccountReply)
REFUSE(answer, Vapp__Voip__V1__CallRequest, Vapp__Voip__V1__Call)
REFUSE(hangup, Vapp__Voip__V1__CallRequest, Vapp__Voip__V1__Call)
REFUSE(hold, Vapp__Voip__V1__CallRequest, Vapp__Voip__V1__Call)
REFUSE(resume, Vapp__Voip__V1__CallRequest, Vapp__Voip__V1__Call)
REFUSE(send_dtmf, Vapp__Voip__V1__SendDtmfRequest, Vapp__Voip__V1__Call)
REFUSE(reject, Vapp__Voip__V1__CallRequest, Vapp__Voip__V1__Call)
REFUSE(set_mute, Vapp__Voip__V1__SetMuteRequest, Vapp__Voip__V1__Call)
REFUSE(set_volume, Vapp__Voip__V1__SetVolumeRequest, Vapp__Voip__V1__Volume)
REFUSE(list_audio_devices, Vapp__Voip__V1__ListAudioDevicesRequest,
       Vapp__Voip__V1__AudioDevices)
REFUSE(register_account, Vapp__Voip__V1__AccountRequest, Vapp__Voip__V1__Account)
REFUSE(unregister_account, Vapp__Voip__V1__AccountRequest, Vapp__Voip__V1__Account)

int main(int argc, char **argv)
{
	static const char *const streaming[] = { "WatchEvents", NULL };
	Svc svc = VAPP__VOIP__V1__VOIP__INIT();
	struct vrpc_server *srv;
	struct vrpc_loop *loop;

	if (argc != 2) {
		fprintf(stderr, "usage: hostile_voip ADDRESS\n");
		return 2;
	}
	srv = vrpc_server_new(NULL);
	loop = vrpc_loop_new();
	if (!srv || !loop || vrpc_server_add_service(srv, &svc.base, streaming) ||
	    vrpc_server_listen(srv, argv[1]) || vrpc_loop_add_server(loop, srv) < 0) {
		fprintf(stderr, "hostile_voip: cannot serve on %s\n", argv[1]);
		return 1;
	}
	vrpc_loop_run(loop);
	return 0;
}
