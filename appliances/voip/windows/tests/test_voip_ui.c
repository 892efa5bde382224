/*
 * test_voip_ui.c - the VoIP UI plugin's C API (vapp_voip_ui.h) against two
 * real VoIP daemons, each with its own SIP stack: built for Linux (run
 * natively, sanitized under SAN=1) and with mingw-w64 against
 * vapp-voip-ui.dll (run under wine). voip_ui_api.sh starts the daemons and
 * gives their addresses:
 *
 *   VVUI_ALICE, VVUI_BOB          the daemons' RPC addresses (tcp:...)
 *   VVUI_ALICE_URI, VVUI_BOB_URI  their SIP accounts
 *   VVUI_HOSTILE                  an appliance that lies, then vanishes
 *                                 (tests/progs/hostile_voip.c), again
 *   VVUI_GARBAGE                  a peer that answers with random bytes
 *   VVUI_SILENT                   a peer that takes connections, says nothing
 *
 * Each wait is bounded; waiting goes through vvui_handles() as a window's
 * message loop would (WaitForMultipleObjects on Windows, poll() here).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <poll.h>
#endif

#include "vapp_voip_ui.h"

#define MAX_SEEN 512

struct seen_ev {
	int kind, state;
	char id[VVUI_TEXT], peer[VVUI_TEXT], detail[VVUI_TEXT];
};

struct side {
	struct vvui *ui;
	struct seen_ev ev[MAX_SEEN];
	int n;
};

static void on_event(void *ud, const struct vvui_event *e)
{
	struct side *s = ud;
	struct seen_ev *x;

	if (s->n == MAX_SEEN)
		return;
	x = &s->ev[s->n++];
	memset(x, 0, sizeof(*x));
	x->kind = e->kind;
	snprintf(x->detail, sizeof(x->detail), "%s", e->detail);
	if (e->call) {
		x->state = e->call->state;
		snprintf(x->id, sizeof(x->id), "%s", e->call->id);
		snprintf(x->peer, sizeof(x->peer), "%s", e->call->peer);
	}
}

/* One turn of a window's loop for @p n sides: wait on their handles (at
 * most 50 ms), then process each. */
static void turn(struct side **s, int n)
{
	void *h[8];
	int nh = 0, timeout = 50;

	for (int i = 0; i < n; i++) {
		int t, k = vvui_handles(s[i]->ui, h + nh, VVUI_MAX_HANDLES, &t);

		nh += k;
		if (t >= 0 && t < timeout)
			timeout = t;
	}
#ifdef _WIN32
	if (nh)
		WaitForMultipleObjects((DWORD)nh, (HANDLE *)h, FALSE, (DWORD)timeout);
	else
		Sleep((DWORD)timeout);
#else
	struct pollfd p[8];

	for (int i = 0; i < nh; i++)
		p[i] = (struct pollfd){ .fd = (int)(intptr_t)h[i], .events = POLLIN };
	poll(p, (nfds_t)nh, timeout);
#endif
	for (int i = 0; i < n; i++)
		vvui_process(s[i]->ui);
}

/* Turns until @p kind (and @p state, if > 0) is seen after event @p from
 * on @p watch, for at most @p ms. @return its index, or -1. */
static int wait_event(struct side **s, int n, struct side *watch, int from, int kind, int state,
		      int ms)
{
	uint64_t end = vvui_now_ms() + (uint64_t)ms;

	do {
		for (int i = from; i < watch->n; i++)
			if (watch->ev[i].kind == kind && (state <= 0 || watch->ev[i].state == state))
				return i;
		turn(s, n);
	} while (vvui_now_ms() < end);
	return -1;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

/* What the plugin can refuse by itself, before any connection. */
static void test_refusals(void **state)
{
	struct side a = { 0 };

	(void)state;
	assert_null(vvui_open(NULL, NULL, NULL));
	assert_null(vvui_open("no-scheme", NULL, NULL));
	a.ui = vvui_open("tcp:127.0.0.1:1", on_event, &a);
	assert_non_null(a.ui);
	assert_int_equal(vvui_connection(a.ui), VVUI_CONNECTING);
	assert_int_equal(vvui_can_dial(a.ui, NULL), -1);
	assert_int_equal(vvui_dial(a.ui, "sip:x@y", NULL), -ENOTCONN);
	assert_int_equal(vvui_dial(a.ui, "", NULL), -EINVAL);
	assert_int_equal(vvui_answer(a.ui, ""), -EINVAL);
	assert_int_equal(vvui_dtmf(a.ui, "id", ""), -EINVAL);
	assert_int_equal(vvui_set_volume(a.ui, 101, 0), -EINVAL);
	assert_int_equal(vvui_set_volume(a.ui, 0, -2), -EINVAL);
	vvui_close(a.ui);
	vvui_close(NULL);
}

/* Nobody there: it keeps trying, says nothing, and a loop waiting on it
 * sleeps (a timeout, no handle) rather than spins. */
static void test_unreachable(void **state)
{
	struct side a = { 0 }, *s[1] = { &a };
	uint64_t t0;
	int turns = 0, timeout = 0;
	void *h[VVUI_MAX_HANDLES];

	(void)state;
	a.ui = vvui_open("tcp:127.0.0.1:1", on_event, &a);
	t0 = vvui_now_ms();
	while (vvui_now_ms() - t0 < 1500) {
		turn(s, 1);
		turns++;
	}
	assert_int_equal(vvui_connection(a.ui), VVUI_CONNECTING);
	assert_int_equal(a.n, 0);
	/* Between tries: a timeout; during one: the connector's handle. */
	if (vvui_handles(a.ui, h, VVUI_MAX_HANDLES, &timeout) == 0)
		assert_true(timeout > 0);
	else
		assert_int_equal(timeout, -1);
	/* Bounded by the 50 ms turns and the back-off, not spinning. */
	assert_true(turns < 60);
	vvui_close(a.ui);
}

static void connect_both(struct side *a, struct side *b, struct side **s)
{
	a->ui = vvui_open(env("VVUI_ALICE"), on_event, a);
	b->ui = vvui_open(env("VVUI_BOB"), on_event, b);
	assert_non_null(a->ui);
	assert_non_null(b->ui);
	assert_true(wait_event(s, 2, a, 0, VVUI_EV_PERMISSION, 0, 10000) >= 0);
	assert_true(wait_event(s, 2, b, 0, VVUI_EV_PERMISSION, 0, 10000) >= 0);
	assert_int_equal(vvui_connection(a->ui), VVUI_CONNECTED);
	assert_int_equal(vvui_can_dial(a->ui, NULL), 1);
}

/* A call as a person makes one: dial, the far side sees it ring with our
 * name and answers, both talk, DTMF, mute, hang up; the lists follow. */
static void test_call(void **state)
{
	static struct side a, b;
	struct side *s[2] = { &a, &b };
	struct vvui_call calls[VVUI_MAX_CALLS];
	char bid[VVUI_TEXT], aid[VVUI_TEXT];
	int i, from_a, from_b;

	(void)state;
	if (!env("VVUI_ALICE") || !env("VVUI_BOB")) {
		skip();
		return;
	}
	connect_both(&a, &b, s);
	from_a = a.n;
	assert_int_equal(vvui_dial(a.ui, env("VVUI_BOB_URI"), NULL), 0);
	i = wait_event(s, 2, &b, 0, VVUI_EV_INCOMING, 0, 10000);
	assert_true(i >= 0);
	assert_string_equal(b.ev[i].peer, env("VVUI_ALICE_URI"));
	assert_int_equal(b.ev[i].state, VVUI_CALL_INCOMING);
	snprintf(bid, sizeof(bid), "%s", b.ev[i].id);
	from_b = b.n;
	assert_int_equal(vvui_answer(b.ui, bid), 0);
	i = wait_event(s, 2, &a, from_a, VVUI_EV_CALL, VVUI_CALL_ESTABLISHED, 10000);
	assert_true(i >= 0);
	snprintf(aid, sizeof(aid), "%s", a.ev[i].id);
	assert_true(wait_event(s, 2, &b, from_b, VVUI_EV_CALL, VVUI_CALL_ESTABLISHED, 10000) >= 0);
	assert_int_equal(vvui_calls(a.ui, calls, VVUI_MAX_CALLS), 1);
	assert_string_equal(calls[0].id, aid);
	assert_int_equal(calls[0].state, VVUI_CALL_ESTABLISHED);

	from_b = b.n;
	assert_int_equal(vvui_dtmf(a.ui, aid, "7"), 0);
	i = wait_event(s, 2, &b, from_b, VVUI_EV_DTMF, 0, 10000);
	assert_true(i >= 0);
	assert_string_equal(b.ev[i].detail, "7");

	assert_int_equal(vvui_mute(a.ui, aid, 1), 0);
	for (int k = 0; k < 100; k++) {
		turn(s, 2);
		if (vvui_calls(a.ui, calls, VVUI_MAX_CALLS) == 1 && calls[0].muted)
			break;
	}
	assert_true(calls[0].muted);

	from_a = a.n;
	from_b = b.n;
	assert_int_equal(vvui_hangup(a.ui, aid), 0);
	assert_true(wait_event(s, 2, &a, from_a, VVUI_EV_CALL_ENDED, 0, 10000) >= 0);
	assert_true(wait_event(s, 2, &b, from_b, VVUI_EV_CALL_ENDED, 0, 10000) >= 0);
	assert_int_equal(vvui_calls(a.ui, calls, VVUI_MAX_CALLS), 0);
	assert_int_equal(vvui_calls(b.ui, calls, VVUI_MAX_CALLS), 0);
	vvui_close(a.ui);
	vvui_close(b.ui);
}

/* What the appliance refuses comes back as an error event with its
 * reason, and the plugin stays connected and usable. */
static void test_appliance_refuses(void **state)
{
	static struct side a, b;
	struct side *s[2] = { &a, &b };
	int i;

	(void)state;
	if (!env("VVUI_ALICE") || !env("VVUI_BOB")) {
		skip();
		return;
	}
	connect_both(&a, &b, s);
	assert_int_equal(vvui_dial(a.ui, "sip:a b@c", NULL), 0);
	i = wait_event(s, 2, &a, 0, VVUI_EV_ERROR, 0, 10000);
	assert_true(i >= 0);
	assert_non_null(strstr(a.ev[i].detail, "INVALID_ARGUMENT"));
	assert_non_null(strstr(a.ev[i].detail, "to:"));
	assert_int_equal(vvui_hangup(a.ui, "no-such-call"), 0);
	i = wait_event(s, 2, &a, i + 1, VVUI_EV_ERROR, 0, 10000);
	assert_true(i >= 0);
	assert_non_null(strstr(a.ev[i].detail, "NOT_FOUND"));
	assert_int_equal(vvui_connection(a.ui), VVUI_CONNECTED);
	vvui_close(a.ui);
	vvui_close(b.ui);
}

/* What a window relies on, whatever the appliance said: at most
 * VVUI_MAX_CALLS calls, each with a usable id of its own, a state that is
 * not ended, text without control characters; levels known or -1. */
static void check_list(struct vvui *ui)
{
	struct vvui_call c[VVUI_MAX_CALLS + 1];
	int n = vvui_calls(ui, c, VVUI_MAX_CALLS + 1), out, in;

	assert_true(n >= 0 && n <= VVUI_MAX_CALLS);
	for (int i = 0; i < n; i++) {
		assert_true(c[i].id[0] != '\0');
		assert_true(c[i].state >= VVUI_CALL_INCOMING && c[i].state < VVUI_CALL_ENDED);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(c[i].id, c[j].id);
		for (const char *p = c[i].peer; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	}
	vvui_volume(ui, &out, &in);
	assert_true(out >= -1 && out <= 100);
	assert_true(in >= -1 && in <= 100);
}

/* An appliance that lies (hostile_voip.c) and then vanishes with calls up:
 * the list stays usable throughout, every call it showed is said to have
 * ended, and the plugin connects again. */
static void test_hostile(void **state)
{
	struct side a = { 0 }, *s[1] = { &a };
	struct vvui_call c[VVUI_MAX_CALLS];
	int lost = -1, again, first, n, out, in;
	uint64_t end;

	(void)state;
	a.ui = vvui_open(env("VVUI_HOSTILE"), on_event, &a);
	assert_non_null(a.ui);
	first = wait_event(s, 1, &a, 0, VVUI_EV_PERMISSION, 0, 10000);
	assert_true(first >= 0);
	check_list(a.ui);
	/* What it said that a window can show: "a" (its peer cleaned), "b"
	 * once, and of the many only what fits. */
	n = vvui_calls(a.ui, c, VVUI_MAX_CALLS);
	assert_int_equal(n, VVUI_MAX_CALLS);
	assert_string_equal(c[0].id, "a");
	assert_string_equal(c[0].peer, "sip:x@y??incoming call from sip:boss?[2J");
	for (int i = 0; i < n; i++) {
		assert_true(strlen(c[i].id) < 8);        /* no cut long id */
		assert_string_not_equal(c[i].id, "n0");  /* said ended */
		assert_string_not_equal(c[i].id, "e");   /* listed ended */
	}
	vvui_volume(a.ui, &out, &in);
	assert_int_equal(out, -1);
	assert_int_equal(in, -1);
	/* It vanishes: each call the window showed is said to have ended. */
	end = vvui_now_ms() + 10000;
	while (vvui_now_ms() < end && lost < 0) {
		turn(s, 1);
		check_list(a.ui);
		for (int i = first; i < a.n && lost < 0; i++)
			if (a.ev[i].kind == VVUI_EV_CONNECTION)
				lost = i;
	}
	assert_true(lost >= 0);
	assert_int_equal(vvui_connection(a.ui), VVUI_RECONNECTING);
	assert_int_equal(vvui_calls(a.ui, c, VVUI_MAX_CALLS), 0);
	for (int i = 0; i < lost; i++) {
		bool ended = false;

		if (a.ev[i].kind != VVUI_EV_CALL)
			continue;
		for (int j = i + 1; j < lost && !ended; j++)
			ended = a.ev[j].kind == VVUI_EV_CALL_ENDED && !strcmp(a.ev[j].id, a.ev[i].id);
		assert_true(ended);
	}
	/* Started again, it is connected to again, and lies again. */
	again = wait_event(s, 1, &a, lost + 1, VVUI_EV_PERMISSION, 0, 10000);
	assert_true(again > lost);
	check_list(a.ui);
	vvui_close(a.ui);
}

/* A peer that answers with random bytes is never taken for an appliance,
 * and retried without spinning. */
static void test_garbage(void **state)
{
	struct side a = { 0 }, *s[1] = { &a };
	uint64_t t0;
	int turns = 0;

	(void)state;
	a.ui = vvui_open(env("VVUI_GARBAGE"), on_event, &a);
	t0 = vvui_now_ms();
	while (vvui_now_ms() - t0 < 2500) {
		turn(s, 1);
		turns++;
		assert_int_not_equal(vvui_connection(a.ui), VVUI_CONNECTED);
	}
	assert_int_equal(a.n, 0);
	assert_int_equal(vvui_calls(a.ui, NULL, 0), 0);
	assert_true(turns < 100);
	vvui_close(a.ui);
}

/* A peer that never answers the HELLO: connecting takes the whole connect
 * timeout, on the plugin's own thread; the loop is never held up, and
 * waits on the connector's handle meanwhile. */
static void test_silent(void **state)
{
	struct side a = { 0 }, *s[1] = { &a };
	uint64_t t0, slowest = 0;
	int on_handle = 0;

	(void)state;
	a.ui = vvui_open(env("VVUI_SILENT"), on_event, &a);
	t0 = vvui_now_ms();
	while (vvui_now_ms() - t0 < 2500) {
		void *h[VVUI_MAX_HANDLES];
		int timeout;
		uint64_t t1 = vvui_now_ms();

		if (vvui_handles(a.ui, h, VVUI_MAX_HANDLES, &timeout) == 1 && timeout == -1)
			on_handle++;
		turn(s, 1);
		if (vvui_now_ms() - t1 > slowest)
			slowest = vvui_now_ms() - t1;
		assert_int_not_equal(vvui_connection(a.ui), VVUI_CONNECTED);
	}
	assert_true(on_handle > 0);
	assert_true(slowest < 300); /* a turn waits 50 ms at most */
	assert_int_equal(a.n, 0);
	t0 = vvui_now_ms();
	vvui_close(a.ui); /* waits for the try in flight: at most its timeout */
	assert_true(vvui_now_ms() - t0 < 2000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_appliance_refuses),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
