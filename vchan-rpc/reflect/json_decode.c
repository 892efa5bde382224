/*
 * json_decode.c - proto3 JSON text to a protobuf-c message, through its
 * descriptor. json-c parses the text; this file maps the tree onto the
 * message (numbers: json_number.c).
 *
 * Memory: every part of the message is malloc'd, as protobuf-c's unpacker
 * does with the default allocator, so protobuf_c_message_free_unpacked(m,
 * NULL) frees it. The message is kept freeable at every step (a repeated
 * count only counts filled elements, a oneof case is set with its value),
 * so a failure half-way frees it the same way.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json_priv.h"
#include "vrpc_json.h"

#if defined(__MINGW32__)
#define PBJ_PRINTF(a, b) __attribute__((format(gnu_printf, a, b)))
#else
#define PBJ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#endif

/*
 * Where the decoder is, as a stack of path elements written out only when
 * an error needs them. One element per JSON level, and json-c bounds the
 * levels, so the stack cannot overflow.
 */
struct path_elem {
	const char *key; /* field name or map key; NULL: an array index */
	size_t index;
	bool is_map_key;
};

struct dec {
	struct path_elem path[VRPC_JSON_MAX_DEPTH + 1];
	unsigned depth;
	char *err;
	size_t errlen;
	bool in_key; /* decoding a map key: bools come as "true"/"false" */
};

static int dec_message(struct dec *d, const ProtobufCMessageDescriptor *desc,
		       struct json_object *obj, ProtobufCMessage **out);

/* Writes ".rules[2].port" (or "." at the top), long keys cut short. */
static void path_format(const struct dec *d, char *buf, size_t len)
{
	size_t n = 0;
	unsigned i;

	buf[0] = '\0';
	if (d->depth == 0)
		snprintf(buf, len, ".");
	for (i = 0; i < d->depth && n < len; i++) {
		const struct path_elem *e = &d->path[i];
		const char *cut = e->key && strlen(e->key) > 60 ? "..." : "";
		int w;

		if (!e->key)
			w = snprintf(buf + n, len - n, "[%zu]", e->index);
		else if (e->is_map_key)
			w = snprintf(buf + n, len - n, "[\"%.60s%s\"]", e->key, cut);
		else
			w = snprintf(buf + n, len - n, ".%.60s%s", e->key, cut);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

static PBJ_PRINTF(2, 3) int dec_fail(struct dec *d, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	int n;

	if (!d->err || d->errlen == 0)
		return -EINVAL;
	path_format(d, path, sizeof(path));
	n = snprintf(d->err, d->errlen, "at %s: ", path);
	if (n >= 0 && (size_t)n < d->errlen) {
		va_start(ap, fmt);
		vsnprintf(d->err + n, d->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int dec_nomem(struct dec *d)
{
	if (d->err && d->errlen)
		snprintf(d->err, d->errlen, "out of memory");
	return -ENOMEM;
}

static void path_push(struct dec *d, const char *key, size_t index, bool is_map_key)
{
	/* Cannot happen (see struct dec); refuse to write past the end anyway. */
	if (d->depth >= sizeof(d->path) / sizeof(d->path[0]))
		abort();
	d->path[d->depth++] = (struct path_elem){ key, index, is_map_key };
}

static void path_pop(struct dec *d)
{
	d->depth--;
}

/* What was found, for "got ...": scalars as JSON text, cut to 40 chars. */
static const char *describe(struct json_object *v, char *buf, size_t len)
{
	const char *text;

	switch (json_object_get_type(v)) {
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_null:
		return "null";
	default:
		break;
	}
	text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return "a value";
	if (strlen(text) < 44)
		return text;
	snprintf(buf, len, "%.40s...", text);
	return buf;
}

#define GOT(v) describe((v), gotbuf, sizeof(gotbuf))

static int dec_int(struct dec *d, ProtobufCType t, struct json_object *v, void *dst)
{
	char gotbuf[48];
	int64_t min;
	uint64_t max, u;

	if (!pbj_get_int(v, t, &u)) {
		pbj_int_range(t, &min, &max);
		return dec_fail(d, "expected integer %lld..%llu, got %s", (long long)min,
				(unsigned long long)max, GOT(v));
	}
	if (pbj_value_size(t) == 8)
		memcpy(dst, &u, 8);
	else
		*(uint32_t *)dst = (uint32_t)u;
	return 0;
}

static int dec_real(struct dec *d, ProtobufCType t, struct json_object *v, void *dst)
{
	bool is_float = t == PROTOBUF_C_TYPE_FLOAT;
	char gotbuf[48];
	double dv;

	if (!pbj_get_real(v, is_float, &dv))
		return dec_fail(d, "expected %s, got %s", is_float ? "float" : "double", GOT(v));
	if (is_float)
		*(float *)dst = (float)dv;
	else
		*(double *)dst = dv;
	return 0;
}

static int dec_bool(struct dec *d, struct json_object *v, protobuf_c_boolean *dst)
{
	char gotbuf[48];

	if (json_object_is_type(v, json_type_boolean)) {
		*dst = json_object_get_boolean(v) ? 1 : 0;
		return 0;
	}
	if (d->in_key && json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);

		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			*dst = s[0] == 't';
			return 0;
		}
	}
	return dec_fail(d, "expected true or false, got %s", GOT(v));
}

static int dec_enum(struct dec *d, const ProtobufCEnumDescriptor *ed,
		    struct json_object *v, int32_t *dst)
{
	const ProtobufCEnumValue *ev;
	char gotbuf[48];

	if (json_object_is_type(v, json_type_string)) {
		ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_object_get_string(v));
		if (!ev)
			return dec_fail(d, "unknown value %s of enum %s", GOT(v), ed->name);
		*dst = ev->value;
		return 0;
	}
	/* Numbers, even without a name: proto3 enums are open. */
	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		return dec_int(d, PROTOBUF_C_TYPE_ENUM, v, dst);
	return dec_fail(d, "expected a name of enum %s or an integer, got %s", ed->name, GOT(v));
}

static int dec_string(struct dec *d, struct json_object *v, char **dst)
{
	char gotbuf[48], *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return dec_fail(d, "expected string, got %s", GOT(v));
	n = (size_t)json_object_get_string_len(v);
	/* protobuf-c strings end at the first NUL: refuse rather than cut. */
	if (memchr(json_object_get_string(v), '\0', n))
		return dec_fail(d, "string holds a NUL character (\\u0000)");
	if (pbj_utf8_valid_len(json_object_get_string(v), n) != n)
		return dec_fail(d, "string is not valid UTF-8");
	s = malloc(n + 1);
	if (!s)
		return dec_nomem(d);
	memcpy(s, json_object_get_string(v), n + 1);
	*dst = s;
	return 0;
}

static int dec_bytes(struct dec *d, struct json_object *v, ProtobufCBinaryData *dst)
{
	char gotbuf[48];
	uint8_t *data;
	size_t n, len;

	if (!json_object_is_type(v, json_type_string))
		return dec_fail(d, "expected base64 string, got %s", GOT(v));
	n = (size_t)json_object_get_string_len(v);
	if (n == 0) {
		dst->len = 0;
		dst->data = NULL;
		return 0;
	}
	data = malloc(n / 4 * 3 + 2);
	if (!data)
		return dec_nomem(d);
	if (pbj_base64_decode(json_object_get_string(v), n, data, &len)) {
		free(data);
		return dec_fail(d, "invalid base64, got %s", GOT(v));
	}
	dst->len = len;
	dst->data = data;
	return 0;
}

/* One value of field @p f into @p dst; @p dst is written only on success. */
static int dec_value(struct dec *d, const ProtobufCFieldDescriptor *f,
		     struct json_object *v, void *dst)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		return dec_real(d, f->type, v, dst);
	case PROTOBUF_C_TYPE_BOOL:
		return dec_bool(d, v, dst);
	case PROTOBUF_C_TYPE_ENUM:
		return dec_enum(d, f->descriptor, v, dst);
	case PROTOBUF_C_TYPE_STRING:
		return dec_string(d, v, dst);
	case PROTOBUF_C_TYPE_BYTES:
		return dec_bytes(d, v, dst);
	case PROTOBUF_C_TYPE_MESSAGE:
		return dec_message(d, f->descriptor, v, dst);
	default:
		return dec_int(d, f->type, v, dst);
	}
}

/* A singular field of @p msg, with its has_ flag or oneof case. */
static int dec_singular(struct dec *d, ProtobufCMessage *msg,
			const ProtobufCFieldDescriptor *f, struct json_object *v)
{
	void *member = (char *)msg + f->offset;
	union {
		uint64_t u;
		double dv;
		void *p;
		ProtobufCBinaryData b;
	} tmp;
	int err;

	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
		err = dec_value(d, f, v, member);
		if (!err && f->label == PROTOBUF_C_LABEL_OPTIONAL &&
		    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			PBJ_MEMBER(protobuf_c_boolean, msg, f->quantifier_offset) = 1;
		return err;
	}
	/* The members of a oneof share storage, and free_unpacked() reads the
	 * case to know what to free: set both together, once the value is good. */
	err = dec_value(d, f, v, &tmp);
	if (err)
		return err;
	memcpy(member, &tmp, pbj_value_size(f->type));
	PBJ_MEMBER(uint32_t, msg, f->quantifier_offset) = f->id;
	return 0;
}

static int dec_array(struct dec *d, ProtobufCMessage *msg,
		     const ProtobufCFieldDescriptor *f, struct json_object *v)
{
	size_t n, i, size = pbj_value_size(f->type);
	char gotbuf[48], *arr;
	int err;

	if (!json_object_is_type(v, json_type_array))
		return dec_fail(d, "expected an array, got %s", GOT(v));
	n = json_object_array_length(v);
	if (n == 0)
		return 0;
	arr = calloc(n, size);
	if (!arr)
		return dec_nomem(d);
	PBJ_MEMBER(char *, msg, f->offset) = arr;
	for (i = 0; i < n; i++) {
		path_push(d, NULL, i, false);
		err = dec_value(d, f, json_object_array_get_idx(v, i), arr + i * size);
		path_pop(d);
		if (err)
			return err;
		PBJ_MEMBER(size_t, msg, f->quantifier_offset) = i + 1;
	}
	return 0;
}

/* One entry of a map field: a new XxxEntry message from a key and a value. */
static int dec_map_entry(struct dec *d, const ProtobufCMessageDescriptor *ed,
			 const char *key, struct json_object *v, ProtobufCMessage **out)
{
	ProtobufCMessage *ent;
	struct json_object *k;
	const char *canon = "";
	char kbuf[24];
	int err;

	if (json_object_is_type(v, json_type_null))
		return dec_fail(d, "expected a map value, got null");
	ent = calloc(1, ed->sizeof_message);
	if (!ent)
		return dec_nomem(d);
	ed->message_init(ent);
	/* JSON keys are always strings; the key decoders read numbers and
	 * bools from strings, so a string object is all they need. */
	k = json_object_new_string(key);
	if (!k) {
		err = dec_nomem(d);
		goto err_entry;
	}
	d->in_key = true;
	err = dec_singular(d, ent, &ed->fields[0], k);
	d->in_key = false;
	json_object_put(k);
	if (err)
		goto err_entry;
	/* JSON object keys are unique as text; insisting on the canonical text
	 * ("7", not "07" or "7.0") keeps them unique as values too, so a map
	 * never carries one key twice. */
	if (pbj_map_key_text(&ed->fields[0], (char *)ent + ed->fields[0].offset, kbuf,
			     sizeof(kbuf), &canon) || strcmp(canon, key) != 0) {
		err = dec_fail(d, "map key not in canonical form, expected \"%s\"", canon);
		goto err_entry;
	}
	err = dec_singular(d, ent, &ed->fields[1], v);
	if (err)
		goto err_entry;
	*out = ent;
	return 0;
err_entry:
	protobuf_c_message_free_unpacked(ent, NULL);
	return err;
}

static int dec_map(struct dec *d, ProtobufCMessage *msg,
		   const ProtobufCFieldDescriptor *f, struct json_object *v)
{
	ProtobufCMessage **arr;
	char gotbuf[48];
	size_t n, i = 0;
	int err;

	if (!json_object_is_type(v, json_type_object))
		return dec_fail(d, "expected an object (a map), got %s", GOT(v));
	n = (size_t)json_object_object_length(v);
	if (n == 0)
		return 0;
	arr = calloc(n, sizeof(*arr));
	if (!arr)
		return dec_nomem(d);
	PBJ_MEMBER(ProtobufCMessage **, msg, f->offset) = arr;
	json_object_object_foreach(v, key, val) {
		path_push(d, key, 0, true);
		err = dec_map_entry(d, f->descriptor, key, val, &arr[i]);
		path_pop(d);
		if (err)
			return err;
		PBJ_MEMBER(size_t, msg, f->quantifier_offset) = ++i;
	}
	return 0;
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
						  const char *key)
{
	unsigned i;

	for (i = 0; i < desc->n_fields; i++) {
		if (pbj_name_matches(&desc->fields[i], key))
			return &desc->fields[i];
	}
	return NULL;
}

static const char *field_name_by_id(const ProtobufCMessageDescriptor *desc, uint32_t id)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, id);

	return f ? f->name : "?";
}

static int dec_field(struct dec *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
		     const char *key, struct json_object *v)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;
	uint32_t set;
	int err;

	path_push(d, key, 0, false);
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
	    (set = PBJ_MEMBER(uint32_t, msg, f->quantifier_offset)) != 0)
		err = dec_fail(d, "\"%s\" and \"%s\" are in the same oneof: set only one",
			       f->name, field_name_by_id(desc, set));
	else if (f->label != PROTOBUF_C_LABEL_REPEATED)
		err = dec_singular(d, msg, f, v);
	else if (pbj_is_map(desc, f))
		err = dec_map(d, msg, f, v);
	else
		err = dec_array(d, msg, f, v);
	path_pop(d);
	return err;
}

/* Required fields given as null or left out. */
static int check_required(struct dec *d, const ProtobufCMessageDescriptor *desc,
			  const char *const *seen)
{
	unsigned i;

	for (i = 0; i < desc->n_fields; i++) {
		if (desc->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
			return dec_fail(d, "missing required field \"%s\"", desc->fields[i].name);
	}
	return 0;
}

static int dec_message(struct dec *d, const ProtobufCMessageDescriptor *desc,
		       struct json_object *obj, ProtobufCMessage **out)
{
	const ProtobufCFieldDescriptor *f;
	const char **seen;
	ProtobufCMessage *msg;
	char gotbuf[48];
	int err = 0;

	if (!json_object_is_type(obj, json_type_object))
		return dec_fail(d, "expected an object (message %s), got %s", desc->name, GOT(obj));
	msg = calloc(1, desc->sizeof_message);
	seen = calloc(desc->n_fields + 1, sizeof(*seen));
	if (!msg || !seen) {
		free(msg);
		free(seen);
		return dec_nomem(d);
	}
	desc->message_init(msg);
	json_object_object_foreach(obj, key, val) {
		f = find_field(desc, key);
		if (!f) {
			err = dec_fail(d, "unknown field \"%.60s\" in message %s", key, desc->name);
			break;
		}
		if (json_object_is_type(val, json_type_null))
			continue; /* proto3 JSON: null is the default value */
		if (seen[f - desc->fields]) {
			err = dec_fail(d, "field \"%s\" given twice (as \"%s\" and \"%.60s\")",
				       f->name, seen[f - desc->fields], key);
			break;
		}
		seen[f - desc->fields] = key;
		err = dec_field(d, msg, f, key, val);
		if (err)
			break;
	}
	if (!err)
		err = check_required(d, desc, seen);
	free(seen);
	if (err) {
		protobuf_c_message_free_unpacked(msg, NULL);
		return err;
	}
	*out = msg;
	return 0;
}

/* Parses the text; json-c bounds the nesting, so the walk above recurses at
 * most VRPC_JSON_MAX_DEPTH deep whatever the input. */
static int parse_text(struct dec *d, const char *json, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	struct json_object *obj;
	size_t end;

	if (len > INT_MAX) {
		if (d->err && d->errlen)
			snprintf(d->err, d->errlen, "JSON text too long");
		return -EINVAL;
	}
	/* json-c's depth counts the levels it may open, less one. */
	tok = json_tokener_new_ex(VRPC_JSON_MAX_DEPTH + 1);
	if (!tok)
		return dec_nomem(d);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A top-level scalar ("null", "5") ends only at a NUL, which
		 * the caller's text need not have: json-c's way is to feed one. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	/* obj is NULL for a JSON null, which dec_message() then refuses. */
	if (jerr == json_tokener_success && end == len) {
		*out = obj;
		return 0;
	}
	json_object_put(obj);
	if (d->err && d->errlen) {
		if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof)
			snprintf(d->err, d->errlen, "JSON text ends too early");
		else if (jerr == json_tokener_error_depth)
			snprintf(d->err, d->errlen, "JSON error at offset %zu: nested deeper "
				 "than %d levels", end, VRPC_JSON_MAX_DEPTH);
		else if (jerr == json_tokener_success)
			snprintf(d->err, d->errlen, "JSON error at offset %zu: text after "
				 "the end of the object", end);
		else
			snprintf(d->err, d->errlen, "JSON error at offset %zu: %s", end,
				 json_tokener_error_desc(jerr));
	}
	return -EINVAL;
}

ProtobufCMessage *vrpc_json_to_message(const ProtobufCMessageDescriptor *desc,
				       const char *json, size_t len,
				       char *err, size_t errlen)
{
	struct dec d = { .err = err, .errlen = errlen };
	ProtobufCMessage *msg = NULL;
	struct json_object *obj;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!desc || (!json && len)) {
		errno = EINVAL;
		return NULL;
	}
	rc = parse_text(&d, json ? json : "", len, &obj);
	if (rc == 0) {
		rc = dec_message(&d, desc, obj, &msg);
		json_object_put(obj);
	}
	if (rc) {
		errno = -rc;
		return NULL;
	}
	return msg;
}
