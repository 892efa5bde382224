/*
 * json_common.c - descriptor helpers, base64 and UTF-8 shared by the JSON
 * encoder and decoder, and method lookup by name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_priv.h"
#include "vrpc_json.h"

size_t pbj_value_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/*
 * Matches @p s against the camel-case form of the field name @p name, the
 * way protoc derives names: underscores dropped, the letter after one upper-
 * cased (ToJsonName; MapEntryName also upper-cases the first letter). Only
 * ASCII a-z change case, so the locale never matters.
 * @return the first char of @p s past the match, or NULL.
 */
static const char *camel_match(const char *name, bool cap_next, const char *s)
{
	for (; *name; name++) {
		char c = *name;

		if (c == '_') {
			cap_next = true;
			continue;
		}
		if (cap_next && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		cap_next = false;
		if (*s != c)
			return NULL;
		s++;
	}
	return s;
}

bool pbj_name_matches(const ProtobufCFieldDescriptor *f, const char *key)
{
	const char *end;

	if (strcmp(f->name, key) == 0)
		return true;
	end = camel_match(f->name, false, key);
	return end && *end == '\0';
}

int pbj_json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t len)
{
	const char *p = f->name;
	bool cap_next = false;
	size_t n = 0;

	for (; *p; p++) {
		char c = *p;

		if (c == '_') {
			cap_next = true;
			continue;
		}
		if (cap_next && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		cap_next = false;
		if (n + 1 >= len)
			return -ENAMETOOLONG;
		buf[n++] = c;
	}
	if (len == 0)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

static bool map_key_type_ok(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
	case PROTOBUF_C_TYPE_ENUM:
		return false;
	default:
		return true;
	}
}

bool pbj_is_map(const ProtobufCMessageDescriptor *parent,
		const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	size_t plen = strlen(parent->name);
	const char *end;

	if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	if (e->n_fields != 2 || e->fields[0].id != 1 || e->fields[1].id != 2 ||
	    strcmp(e->fields[0].name, "key") != 0 ||
	    strcmp(e->fields[1].name, "value") != 0 ||
	    e->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
	    e->fields[1].label == PROTOBUF_C_LABEL_REPEATED ||
	    !map_key_type_ok(e->fields[0].type))
		return false;
	/* The entry is nested in the parent: "pkg.Parent.MyMapEntry". */
	if (strncmp(e->name, parent->name, plen) != 0 || e->name[plen] != '.' ||
	    strcmp(e->name + plen + 1, e->short_name) != 0)
		return false;
	end = camel_match(f->name, true, e->short_name);
	return end && strcmp(end, "Entry") == 0;
}

/* Mirrors protobuf-c's packer (oneof_field_pack, optional_field_pack,
 * field_is_zeroish), so that JSON shows what the wire would carry. */
bool pbj_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	const void *member = (const char *)msg + f->offset;
	bool ptr_type = f->type == PROTOBUF_C_TYPE_STRING ||
			f->type == PROTOBUF_C_TYPE_MESSAGE;

	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		if (PBJ_CMEMBER(uint32_t, msg, f->quantifier_offset) != f->id)
			return false;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && !ptr_type) {
		return PBJ_CMEMBER(protobuf_c_boolean, msg, f->quantifier_offset);
	}
	if (ptr_type) {
		const void *ptr = *(const void *const *)member;

		if (ptr == NULL || ptr == f->default_value)
			return false;
		/* proto3 strings are unset when empty, wherever they point. */
		return f->label != PROTOBUF_C_LABEL_NONE ||
		       (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
		       f->type == PROTOBUF_C_TYPE_MESSAGE || *(const char *)ptr != '\0';
	}
	if (f->label != PROTOBUF_C_LABEL_NONE || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return true;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)member != 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)member != 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)member != 0;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)member)->len != 0;
	default:
		if (pbj_value_size(f->type) == 8)
			return *(const uint64_t *)member != 0;
		return *(const uint32_t *)member != 0;
	}
}

int pbj_map_key_text(const ProtobufCFieldDescriptor *kf, const void *p, char *buf, size_t len,
		     const char **key)
{
	*key = buf;
	switch (kf->type) {
	case PROTOBUF_C_TYPE_STRING:
		*key = *(const char *const *)p ? *(const char *const *)p : "";
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		*key = *(const protobuf_c_boolean *)p ? "true" : "false";
		return 0;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		snprintf(buf, len, "%" PRId32, *(const int32_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		snprintf(buf, len, "%" PRIu32, *(const uint32_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(buf, len, "%" PRId64, *(const int64_t *)p);
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, len, "%" PRIu64, *(const uint64_t *)p);
		return 0;
	default:
		*key = "";
		return -EINVAL;
	}
}

static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t pbj_base64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

void pbj_base64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*out++ = b64_chars[v >> 18];
		*out++ = b64_chars[(v >> 12) & 63];
		*out++ = b64_chars[(v >> 6) & 63];
		*out++ = b64_chars[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		*out++ = b64_chars[v >> 18];
		*out++ = b64_chars[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64_chars[(v >> 6) & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int pbj_base64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen)
{
	uint32_t acc = 0;
	size_t i, bits = 0, o = 0;

	/* Padding, if any, only completes the last group of four. */
	if (n % 4 == 0 && n > 0 && in[n - 1] == '=')
		n -= (n > 1 && in[n - 2] == '=') ? 2 : 1;
	if (n % 4 == 1)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		int v = b64_value(in[i]);

		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*outlen = o;
	return 0;
}

size_t pbj_utf8_valid_len(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k, len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			break;
		}
		if (n - i < len)
			break;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (k < len)
			break;
		/* Overlong forms, UTF-16 surrogates, past U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			break;
		i += len;
	}
	return i;
}

/* @p name minus a leading "pkg.Service" or "Service" and one '.' or '/'. */
static const char *strip_service(const ProtobufCServiceDescriptor *svc, const char *name)
{
	const char *prefixes[2] = { svc->name, svc->short_name };
	size_t i;

	if (name[0] == '/')
		name++;
	for (i = 0; i < 2; i++) {
		size_t n = prefixes[i] ? strlen(prefixes[i]) : 0;

		if (n && strncmp(name, prefixes[i], n) == 0 &&
		    (name[n] == '.' || name[n] == '/'))
			return name + n + 1;
	}
	return NULL;
}

int vrpc_json_find_method(const ProtobufCServiceDescriptor *svc, const char *name)
{
	const char *method;
	unsigned i;

	if (!svc || !name)
		return -ENOENT;
	method = strip_service(svc, name);
	if (!method)
		method = name;
	for (i = 0; i < svc->n_methods; i++) {
		if (strcmp(svc->methods[i].name, method) == 0)
			return (int)i;
	}
	return -ENOENT;
}
