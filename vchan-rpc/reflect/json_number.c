/*
 * json_number.c - numbers from JSON values, as the proto3 JSON mapping
 * allows them: integers as numbers or strings (exponents too, if exact),
 * floats and doubles as numbers, numeric strings, "NaN", "Infinity" and
 * "-Infinity"; every value range-checked for its type, never clamped.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json_priv.h"

/* An integer as sign and magnitude, from a JSON number or string. */
struct bigint {
	bool neg;
	uint64_t mag;
};

/* "-123", "456", and (for tools that print every number as a float)
 * "1e3", "12.0": exact integers written otherwise. */
static bool parse_int_text(const char *s, size_t n, struct bigint *out)
{
	const char *p = s, *end = s + n;
	uint64_t mag = 0;
	double dv;
	char *dend;

	out->neg = p < end && *p == '-';
	p += out->neg;
	if (p == end)
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (mag > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		mag = mag * 10 + (uint64_t)(*p - '0');
	}
	if (p == end) {
		out->mag = mag;
		return true;
	}
	/* Only number syntax goes to strtod: not "inf", "0x1p3" nor spaces. */
	for (p = s; p < end; p++) {
		if (*p == '\0' || !strchr("0123456789+-.eE", *p))
			return false;
	}
	dv = strtod(s, &dend);
	if (dend != end || !isfinite(dv) || dv != floor(dv) || fabs(dv) >= 0x1p64)
		return false;
	out->mag = (uint64_t)fabs(dv);
	return true;
}

static bool get_bigint(struct json_object *v, struct bigint *out)
{
	double dv;

	switch (json_object_get_type(v)) {
	case json_type_int: {
		int64_t i = json_object_get_int64(v);

		/* json-c saturates out-of-range literals to these two values
		 * without a word, so they are refused: give them as strings. */
		if (i == INT64_MIN)
			return false;
		out->neg = i < 0;
		if (out->neg) {
			out->mag = (uint64_t)-i;
			return true;
		}
		out->mag = json_object_get_uint64(v);
		return out->mag != UINT64_MAX;
	}
	case json_type_double:
		dv = json_object_get_double(v);
		if (!isfinite(dv) || dv != floor(dv) || fabs(dv) >= 0x1p64)
			return false;
		out->neg = dv < 0;
		out->mag = (uint64_t)fabs(dv);
		return true;
	case json_type_string:
		return parse_int_text(json_object_get_string(v),
				      (size_t)json_object_get_string_len(v), out);
	default:
		return false;
	}
}

void pbj_int_range(ProtobufCType t, int64_t *min, uint64_t *max)
{
	switch (t) {
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*min = 0;
		*max = UINT32_MAX;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*min = INT64_MIN;
		*max = INT64_MAX;
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*min = 0;
		*max = UINT64_MAX;
		break;
	default: /* 32-bit signed, and enum numbers */
		*min = INT32_MIN;
		*max = INT32_MAX;
		break;
	}
}

bool pbj_get_int(struct json_object *v, ProtobufCType type, uint64_t *out)
{
	struct bigint b;
	int64_t min;
	uint64_t max;

	pbj_int_range(type, &min, &max);
	if (!get_bigint(v, &b) ||
	    (b.neg ? b.mag > (uint64_t)-(min + 1) + 1 : b.mag > max))
		return false;
	*out = b.neg ? (uint64_t)0 - b.mag : b.mag;
	return true;
}

/* A value too large for a float is refused rather than made infinite. */
bool pbj_get_real(struct json_object *v, bool is_float, double *out)
{
	const char *s, *p;
	char *end;
	double dv;

	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
		dv = json_object_get_double(v);
		if (!isfinite(dv))
			return false; /* 1e400, and json-c's bare NaN */
		break;
	case json_type_string:
		s = json_object_get_string(v);
		if (strcmp(s, "NaN") == 0) {
			*out = NAN;
			return true;
		}
		if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
			*out = s[0] == '-' ? -INFINITY : INFINITY;
			return true;
		}
		/* Only number syntax goes to strtod: not "inf", "0x1p3" nor spaces. */
		for (p = s; *p && strchr("0123456789+-.eE", *p); p++)
			;
		if (p == s || *p != '\0' || (size_t)json_object_get_string_len(v) != (size_t)(p - s))
			return false;
		dv = strtod(s, &end);
		if (end != p || !isfinite(dv))
			return false;
		break;
	default:
		return false;
	}
	/* From here up a double rounds to float infinity (and converting it
	 * would be undefined behaviour). */
	if (is_float && fabs(dv) >= 0x1.ffffffp127)
		return false;
	*out = dv;
	return true;
}
