/*
 * ctl.c - baresip's ctrl_tcp protocol (see voip.h), pure: what the SIP
 * stack sends is parsed here as hostile input, and nothing here makes a
 * system call, so the unit test and the fuzzer run it alone.
 *
 * The wire (baresip 1.0's modules/ctrl_tcp): every message is a netstring,
 * "LEN:BYTES," with LEN in decimal. We send {"command":C,"params":P,
 * "token":T}; it answers {"response":true,"ok":B,"data":S,"token":T} and
 * sends events such as {"event":true,"type":"CALL_INCOMING","class":"call",
 * "accountaor":A,"direction":"incoming","peeruri":U,"id":I,"param":P}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "voip.h"

/* "LEN:" takes at most this many digits (NS_MAX has 6). */
#define NS_DIGITS 7

void ns_reset(struct ns_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

/* One whole netstring at the start of @p r->buf? @return its total size
 * (consumed) with *@p body and *@p blen set, 0 when more is needed, or
 * -EBADMSG. */
static long ns_one(const struct ns_reader *r, const char **body, size_t *blen)
{
	size_t i, n = 0;

	for (i = 0; i < r->len && r->buf[i] != ':'; i++) {
		if (r->buf[i] < '0' || r->buf[i] > '9' || i == NS_DIGITS ||
		    (i == 1 && r->buf[0] == '0'))
			return -EBADMSG;
		n = n * 10 + (size_t)(r->buf[i] - '0');
	}
	if (i == r->len)
		return 0;
	if (i == 0 || n > NS_MAX)
		return -EBADMSG;
	if (r->len < i + 1 + n + 1)
		return 0;
	if (r->buf[i + 1 + n] != ',')
		return -EBADMSG;
	*body = r->buf + i + 1;
	*blen = n;
	return (long)(i + 1 + n + 1);
}

int ns_feed(struct ns_reader *r, const char *data, size_t n,
	    int (*fn)(void *ud, const char *msg, size_t len), void *ud)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *b;

		while (cap < r->len + n)
			cap *= 2;
		if (!(b = realloc(r->buf, cap)))
			return -ENOMEM;
		r->buf = b;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	for (;;) {
		const char *body;
		size_t blen;
		long used = ns_one(r, &body, &blen);
		int err;

		if (used < 0)
			return (int)used;
		if (used == 0)
			/* What is left is one message not yet whole. */
			return r->len > NS_MAX + NS_DIGITS + 2 ? -EBADMSG : 0;
		err = fn(ud, body, blen);
		memmove(r->buf, r->buf + used, r->len - (size_t)used);
		r->len -= (size_t)used;
		if (err)
			return err;
	}
}

/* A string member copied into @p out (cut, control bytes '?'); "" when
 * absent or not a string. @return false when it was cut. */
static bool get_str(json_object *o, const char *key, char *out, size_t outlen)
{
	json_object *v;
	const char *s;
	size_t i;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return true;
	s = json_object_get_string(v);
	for (i = 0; s[i] && i + 1 < outlen; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) && s[i] != '\n' ? '?' : s[i];
	out[i] = '\0';
	return !s[i];
}

static bool get_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

int bs_parse(const char *json, size_t len, struct bs_msg *m)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *o;
	char dir[16];

	memset(m, 0, sizeof(*m));
	if (!tok)
		return -EBADMSG;
	o = json_tokener_parse_ex(tok, json, (int)len);
	/* One object, all of the bytes. */
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	m->event = get_bool(o, "event");
	if (!m->event && !get_bool(o, "response")) {
		json_object_put(o);
		return -EBADMSG;
	}
	m->ok = get_bool(o, "ok");
	get_str(o, "token", m->token, sizeof(m->token));
	get_str(o, "type", m->type, sizeof(m->type));
	m->id_cut = !get_str(o, "id", m->id, sizeof(m->id));
	get_str(o, "peeruri", m->peer, sizeof(m->peer));
	get_str(o, "accountaor", m->account, sizeof(m->account));
	get_str(o, "param", m->param, sizeof(m->param));
	get_str(o, "data", m->data, sizeof(m->data));
	get_str(o, "direction", dir, sizeof(dir));
	m->incoming = !strcmp(dir, "incoming");
	json_object_put(o);
	return m->event && !m->type[0] ? -EBADMSG : 0;
}

char *bs_command(const char *command, const char *params, const char *token, size_t *len)
{
	json_object *o = json_object_new_object();
	const char *text;
	char *out = NULL;
	size_t n;

	if (!o)
		return NULL;
	json_object_object_add(o, "command", json_object_new_string(command));
	json_object_object_add(o, "params", json_object_new_string(params ? params : ""));
	json_object_object_add(o, "token", json_object_new_string(token));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	n = strlen(text);
	if (text && (out = malloc(n + 24))) {
		int k = snprintf(out, n + 24, "%zu:%s,", n, text);

		*len = (size_t)k;
	}
	json_object_put(o);
	return out;
}
