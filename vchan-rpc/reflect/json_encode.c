/*
 * json_encode.c - a protobuf-c message to proto3 JSON text, through its
 * descriptor. Builds a json-c tree and lets json-c do the quoting.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json_priv.h"
#include "vrpc_json.h"

static int enc_message(const ProtobufCMessage *msg, int depth, struct json_object **out);

/*
 * Shortest "%.Ng" text that reads back as the same value, so that output
 * is both exact and readable (json-c's default "%.17g" prints 0.1 as
 * 0.10000000000000001). At most 17 tries, for tools, not a hot path.
 * Assumes the C locale's decimal point, as json-c does.
 */
static void fmt_real(double v, bool is_float, char *buf, size_t len)
{
	int prec;

	if (v == 0 && signbit(v)) {
		/* "-0" would read back as the integer 0. */
		snprintf(buf, len, "-0.0");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (is_float ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, len, "%.17g", v);
}

static struct json_object *enc_real(double v, bool is_float)
{
	char buf[40];

	if (isnan(v))
		return json_object_new_string("NaN");
	if (isinf(v))
		return json_object_new_string(v > 0 ? "Infinity" : "-Infinity");
	fmt_real(v, is_float, buf, sizeof(buf));
	return json_object_new_double_s(v, buf);
}

/* A JSON string of @p n bytes; bytes that are not UTF-8 (a peer can send
 * any) become U+FFFD, so the output is always valid JSON. */
static struct json_object *enc_string(const char *s, size_t n)
{
	struct json_object *o;
	size_t ok, i = 0, o_len = 0;
	char *fixed;

	/* json-c counts string lengths in int. */
	if (n > INT_MAX / 3)
		return NULL;
	ok = pbj_utf8_valid_len(s, n);

	if (ok == n)
		return json_object_new_string_len(s, (int)n);
	fixed = malloc(n * 3 + 1);
	if (!fixed)
		return NULL;
	while (i < n) {
		ok = pbj_utf8_valid_len(s + i, n - i);
		memcpy(fixed + o_len, s + i, ok);
		o_len += ok;
		i += ok;
		if (i < n) {
			memcpy(fixed + o_len, "\xef\xbf\xbd", 3);
			o_len += 3;
			i++;
		}
	}
	o = json_object_new_string_len(fixed, (int)o_len);
	free(fixed);
	return o;
}

static struct json_object *enc_bytes(const ProtobufCBinaryData *b)
{
	struct json_object *o;
	char *text;

	if (b->len > 0 && !b->data)
		return NULL;
	text = malloc(pbj_base64_len(b->len) + 1);
	if (!text)
		return NULL;
	pbj_base64_encode(b->data, b->len, text);
	o = json_object_new_string(text);
	free(text);
	return o;
}

static struct json_object *enc_enum(const ProtobufCEnumDescriptor *ed, int32_t v)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);

	if (ev)
		return json_object_new_string(ev->name);
	return json_object_new_int(v);
}

static struct json_object *enc_u64(uint64_t v, bool negative)
{
	char buf[24];

	if (negative)
		snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)v);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_object_new_string(buf);
}

/*
 * One value of field @p f stored at @p p. @return 0, -ENOMEM, -EINVAL (a
 * NULL where a value must be) or -E2BIG (too deep).
 */
static int enc_value(const ProtobufCFieldDescriptor *f, const void *p, int depth,
		     struct json_object **out)
{
	struct json_object *o = NULL;
	const char *s;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		o = json_object_new_int(*(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		o = json_object_new_int64(*(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		o = enc_u64(*(const uint64_t *)p, true);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		o = enc_u64(*(const uint64_t *)p, false);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		o = enc_real(*(const float *)p, true);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		o = enc_real(*(const double *)p, false);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		o = json_object_new_boolean(*(const protobuf_c_boolean *)p != 0);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		o = enc_enum(f->descriptor, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_STRING:
		s = *(const char *const *)p;
		if (!s)
			return -EINVAL;
		o = enc_string(s, strlen(s));
		break;
	case PROTOBUF_C_TYPE_BYTES:
		if (((const ProtobufCBinaryData *)p)->len > 0 &&
		    !((const ProtobufCBinaryData *)p)->data)
			return -EINVAL;
		o = enc_bytes(p);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (!*(const ProtobufCMessage *const *)p)
			return -EINVAL;
		return enc_message(*(const ProtobufCMessage *const *)p, depth, out);
	}
	if (!o)
		return -ENOMEM;
	*out = o;
	return 0;
}

/* A string key may hold bytes that are not UTF-8; json-c wants a C string. */
static int add_key(struct json_object *obj, const char *key, struct json_object *val)
{
	struct json_object *ks;
	int err;

	if (pbj_utf8_valid_len(key, strlen(key)) == strlen(key))
		return json_object_object_add(obj, key, val) ? -ENOMEM : 0;
	ks = enc_string(key, strlen(key));
	if (!ks)
		return -ENOMEM;
	err = json_object_object_add(obj, json_object_get_string(ks), val) ? -ENOMEM : 0;
	json_object_put(ks);
	return err;
}

/*
 * Map entries: a missing key or value (possible on the wire) reads as its
 * default, as in every protobuf runtime; a missing message value is {}.
 */
static int enc_map(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *const *ents,
		   size_t n, int depth, struct json_object **out)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
	struct json_object *obj, *val;
	char buf[24];
	size_t i;
	int err;

	if (depth >= VRPC_JSON_MAX_DEPTH)
		return -E2BIG;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const void *vp;
		const char *key;

		if (!ents[i]) {
			err = -EINVAL;
			goto err_obj;
		}
		err = pbj_map_key_text(kf, (const char *)ents[i] + kf->offset, buf, sizeof(buf), &key);
		if (err)
			goto err_obj;
		vp = (const char *)ents[i] + vf->offset;
		if (vf->type == PROTOBUF_C_TYPE_MESSAGE && !*(const void *const *)vp) {
			err = (val = json_object_new_object()) ? 0 : -ENOMEM;
		} else if (vf->type == PROTOBUF_C_TYPE_STRING && !*(const char *const *)vp) {
			err = (val = json_object_new_string("")) ? 0 : -ENOMEM;
		} else {
			err = enc_value(vf, vp, depth + 1, &val);
		}
		if (err)
			goto err_obj;
		err = add_key(obj, key, val);
		if (err) {
			json_object_put(val);
			goto err_obj;
		}
	}
	*out = obj;
	return 0;
err_obj:
	json_object_put(obj);
	return err;
}

static int enc_repeated(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
			int depth, struct json_object **out)
{
	size_t n = PBJ_CMEMBER(size_t, msg, f->quantifier_offset), i;
	const char *arr = PBJ_CMEMBER(char *, msg, f->offset);
	size_t size = pbj_value_size(f->type);
	struct json_object *a, *v;
	int err;

	if (!arr)
		return -EINVAL;
	if (pbj_is_map(msg->descriptor, f))
		return enc_map(f, (const ProtobufCMessage *const *)arr, n, depth, out);
	if (depth >= VRPC_JSON_MAX_DEPTH)
		return -E2BIG;
	a = json_object_new_array_ext((int)(n < 1024 ? n : 1024));
	if (!a)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = enc_value(f, arr + i * size, depth + 1, &v);
		if (err)
			goto err_array;
		if (json_object_array_add(a, v)) {
			json_object_put(v);
			err = -ENOMEM;
			goto err_array;
		}
	}
	*out = a;
	return 0;
err_array:
	json_object_put(a);
	return err;
}

static int enc_field(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
		     int depth, struct json_object *obj)
{
	struct json_object *v;
	char small[64], *name = small;
	size_t nlen = strlen(f->name) + 1;
	int err;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		if (PBJ_CMEMBER(size_t, msg, f->quantifier_offset) == 0)
			return 0;
		err = enc_repeated(msg, f, depth, &v);
	} else {
		if (!pbj_field_present(msg, f))
			return 0;
		err = enc_value(f, (const char *)msg + f->offset, depth, &v);
	}
	if (err)
		return err;
	if (nlen > sizeof(small) && !(name = malloc(nlen))) {
		err = -ENOMEM;
		goto err_value;
	}
	err = pbj_json_name(f, name, nlen);
	if (!err)
		err = json_object_object_add(obj, name, v) ? -ENOMEM : 0;
	if (name != small)
		free(name);
	if (err)
		goto err_value;
	return 0;
err_value:
	json_object_put(v);
	return err;
}

/* @p depth counts the JSON objects and arrays around this one. */
static int enc_message(const ProtobufCMessage *msg, int depth, struct json_object **out)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	struct json_object *obj;
	unsigned i;
	int err;

	if (depth >= VRPC_JSON_MAX_DEPTH)
		return -E2BIG;
	if (!desc || desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
		return -EINVAL;
	obj = json_object_new_object();
	if (!obj)
		return -ENOMEM;
	for (i = 0; i < desc->n_fields; i++) {
		err = enc_field(msg, &desc->fields[i], depth + 1, obj);
		if (err) {
			json_object_put(obj);
			return err;
		}
	}
	*out = obj;
	return 0;
}

char *vrpc_json_from_message(const ProtobufCMessage *msg, int flags)
{
	int jflags = JSON_C_TO_STRING_NOSLASHESCAPE;
	struct json_object *obj;
	const char *text;
	size_t len;
	char *out = NULL;
	int err;

	if (!msg) {
		errno = EINVAL;
		return NULL;
	}
	err = enc_message(msg, 0, &obj);
	if (err) {
		errno = -err;
		return NULL;
	}
	jflags |= (flags & VRPC_JSON_PRETTY) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
					     : JSON_C_TO_STRING_PLAIN;
	text = json_object_to_json_string_length(obj, jflags, &len);
	if (text && (out = malloc(len + 1)))
		memcpy(out, text, len + 1);
	json_object_put(obj);
	if (!out)
		errno = ENOMEM;
	return out;
}
