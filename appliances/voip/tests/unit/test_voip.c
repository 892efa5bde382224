/* test_voip.c - the VoIP daemon's pure parts: baresip's control protocol as
 * hostile input (netstrings cut anywhere, lying lengths, JSON that is not
 * a message) and the checks on every argument a caller sends. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "voip.h"

#define S(lit) lit, sizeof(lit) - 1

struct got {
	int n;
	char last[256];
};

static int collect(void *ud, const char *msg, size_t len)
{
	struct got *g = ud;

	g->n++;
	snprintf(g->last, sizeof(g->last), "%.*s", (int)len, msg);
	return 0;
}

static void test_netstrings(void **state)
{
	static const char two[] = "5:hello,3:abc,";
	struct ns_reader r = { 0 };
	struct got g = { 0 };

	/* Fed a byte at a time, or whole: the same two messages. */
	for (size_t i = 0; i < sizeof(two) - 1; i++)
		assert_int_equal(ns_feed(&r, two + i, 1, collect, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.last, "abc");
	assert_int_equal(ns_feed(&r, S("0:,"), collect, &g), 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.last, "");
	ns_reset(&r);
	/* Lies: a missing comma, letters for a length, a leading zero, a
	 * length over the maximum, no length at all. */
	assert_int_equal(ns_feed(&r, S("3:abcd"), collect, &g), -EBADMSG);
	ns_reset(&r);
	assert_int_equal(ns_feed(&r, S("x:"), collect, &g), -EBADMSG);
	ns_reset(&r);
	assert_int_equal(ns_feed(&r, S("03:abc,"), collect, &g), -EBADMSG);
	ns_reset(&r);
	assert_int_equal(ns_feed(&r, S("9999999:"), collect, &g), -EBADMSG);
	ns_reset(&r);
	assert_int_equal(ns_feed(&r, S(":abc,"), collect, &g), -EBADMSG);
	ns_reset(&r);
	/* Digits forever without a colon: refused once past any length. */
	assert_int_equal(ns_feed(&r, S("12345678"), collect, &g), -EBADMSG);
	ns_reset(&r);
}

static void test_messages(void **state)
{
	struct bs_msg m;
	char json[2048];

	assert_int_equal(bs_parse(S("{\"event\":true,\"type\":\"CALL_INCOMING\",\"class\":\"call\","
				    "\"accountaor\":\"sip:b@h\",\"direction\":\"incoming\","
				    "\"peeruri\":\"sip:a@h\",\"id\":\"abc\",\"param\":\"x\"}"), &m), 0);
	assert_true(m.event);
	assert_true(m.incoming);
	assert_string_equal(m.type, "CALL_INCOMING");
	assert_string_equal(m.id, "abc");
	assert_string_equal(m.peer, "sip:a@h");
	assert_string_equal(m.account, "sip:b@h");
	assert_int_equal(bs_parse(S("{\"response\":true,\"ok\":true,\"data\":\"hi\",\"token\":\"7\"}"),
				  &m), 0);
	assert_false(m.event);
	assert_true(m.ok);
	assert_string_equal(m.token, "7");
	assert_string_equal(m.data, "hi");
	/* Not messages: an array, trailing bytes, an event with no type,
	 * neither event nor response, a type that is a number. */
	assert_int_equal(bs_parse(S("[1]"), &m), -EBADMSG);
	assert_int_equal(bs_parse(S("{\"response\":true} x"), &m), -EBADMSG);
	assert_int_equal(bs_parse(S("{\"event\":true}"), &m), -EBADMSG);
	assert_int_equal(bs_parse(S("{\"type\":\"CALL_CLOSED\"}"), &m), -EBADMSG);
	assert_int_equal(bs_parse(S("{\"event\":true,\"type\":7}"), &m), -EBADMSG);
	/* Control bytes are replaced, long strings cut. */
	assert_int_equal(bs_parse(S("{\"event\":true,\"type\":\"X\",\"peeruri\":\"a\\u001b[2Jb\"}"),
				  &m), 0);
	assert_string_equal(m.peer, "a?[2Jb");
	snprintf(json, sizeof(json), "{\"event\":true,\"type\":\"X\",\"id\":\"%0300d\"}", 1);
	assert_int_equal(bs_parse(json, strlen(json), &m), 0);
	assert_int_equal(strlen(m.id), VOIP_ID_MAX);
	assert_true(m.id_cut); /* such a call is never named to the stack */
	snprintf(json, sizeof(json), "{\"event\":true,\"type\":\"X\",\"id\":\"%0200d\"}", 1);
	assert_int_equal(bs_parse(json, strlen(json), &m), 0);
	assert_false(m.id_cut);
}

static void test_command(void **state)
{
	size_t len;
	char *c = bs_command("dial", "sip:a\"b@c", "12", &len);

	/* JSON-escaped, in a netstring whose length is right. */
	assert_non_null(c);
	assert_string_equal(c, "53:{\"command\":\"dial\",\"params\":\"sip:a\\\"b@c\",\"token\":\"12\"},");
	assert_int_equal(len, strlen(c));
	free(c);
}

static void test_checks(void **state)
{
	char why[256], out[300];

	assert_int_equal(voip_check_uri("to", "sip:bob@example.org", why, sizeof(why)), 0);
	assert_int_equal(voip_check_uri("to", "sips:bob@example.org:5061", why, sizeof(why)), 0);
	assert_int_equal(voip_check_uri("to", "tel:123", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "to:"));
	assert_int_equal(voip_check_uri("to", "sip:", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_uri("to", "sip:a b", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_uri("to", "sip:a;transport=tcp", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_uri("to", "sip:a>", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_uri("to", "sip:a\"", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_uri("to", "sip:a\x7f", why, sizeof(why)), -EINVAL);
	assert_true(voip_is_number("+4930123#"));
	assert_false(voip_is_number(""));
	assert_false(voip_is_number("12a"));
	memset(out, '1', 200);
	out[200] = '\0';
	assert_false(voip_is_number(out));
	assert_int_equal(voip_check_dtmf("0123456789*#ABCD", why, sizeof(why)), 0);
	assert_int_equal(voip_check_dtmf("1e", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_dtmf("", why, sizeof(why)), -EINVAL);
	assert_int_equal(voip_check_token("password", "", why, sizeof(why)), 0);
	assert_int_equal(voip_check_token("password", "a;b", why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "password:"));
	assert_int_equal(voip_dial_target("0301234", "sip:alice@pbx.example", out, sizeof(out), why,
					  sizeof(why)), 0);
	assert_string_equal(out, "sip:0301234@pbx.example");
	assert_int_equal(voip_dial_target("sip:bob@h", "sip:alice@x", out, sizeof(out), why,
					  sizeof(why)), 0);
	assert_string_equal(out, "sip:bob@h");
	assert_int_equal(voip_dial_target("bob", "sip:alice@x", out, sizeof(out), why,
					  sizeof(why)), -EINVAL);
	assert_int_equal(voip_dial_target("123", "sip:alice", out, sizeof(out), why,
					  sizeof(why)), -EINVAL);
}

/* Which card a baresip audio driver is on: only ALSA's, only a card index
 * that is one; nothing else is taken for card 0. */
static void test_audio_card(void **state)
{
	(void)state;
	assert_int_equal(voip_audio_card("alsa,default"), 0);
	assert_int_equal(voip_audio_card("alsa,"), 0);
	assert_int_equal(voip_audio_card("alsa,hw:1"), 1);
	assert_int_equal(voip_audio_card("alsa,plughw:2,0"), 2);
	assert_int_equal(voip_audio_card("alsa,hw:31,0"), 31);
	assert_int_equal(voip_audio_card("alsa,hw:32"), -1);
	assert_int_equal(voip_audio_card("alsa,hw:1x"), -1);
	assert_int_equal(voip_audio_card("alsa,dmix:0"), -1);
	assert_int_equal(voip_audio_card("alsa,hw:"), -1);
	assert_int_equal(voip_audio_card("ausine,440"), -1);
	assert_int_equal(voip_audio_card("aufile,/tmp/x.wav"), -1);
	assert_int_equal(voip_audio_card("alsax,default"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netstrings),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_audio_card),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
