/*
 * dyn_message.c - one message descriptor, as protoc-c 1.4 generates it
 * (c_message.cc, c_field.cc and the per-type field generators):
 *
 *   struct layout   ProtobufCMessage base; then every field outside a oneof
 *                   in declaration order: [protobuf_c_boolean has_X;] X for
 *                   a proto2 optional scalar (not string, not message),
 *                   size_t n_X; T *X for repeated, X alone otherwise; then
 *                   each oneof: its case enum (int-sized), then a union of
 *                   its members. Offsets follow the C ABI's alignment.
 *   fields[]        sorted by number; fields_sorted_by_name indexes them by
 *                   strcmp of names; field_ranges are the runs of numbers.
 *   labels          proto3 singular fields (oneof members too) are NONE.
 *   default_value   proto2 [default = ...] in its C type; every proto3
 *                   string field points at protobuf_c_empty_string.
 *   message_init    zero, then defaults; proto3 strings start as
 *                   protobuf_c_empty_string, a proto2 enum as its first
 *                   declared value.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dyn_priv.h"

/* So an init op can copy "a pointer to the empty string" like any value. */
static const char *const empty_string_ptr = protobuf_c_empty_string;

/* What one field of the message being built needs while it is laid out. */
struct field_build {
	struct vrpc_dyn *d;
	struct dyn_msg *m;
	const DynFieldProto *fp;
	ProtobufCFieldDescriptor *f;
	bool proto3;
	bool in_oneof;              /* a member of a real (not synthetic) oneof */
};

static int map_type(Google__Protobuf__FieldDescriptorProto__Type t, ProtobufCType *out)
{
	static const ProtobufCType map[] = {
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE] = PROTOBUF_C_TYPE_DOUBLE,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT] = PROTOBUF_C_TYPE_FLOAT,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64] = PROTOBUF_C_TYPE_INT64,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64] = PROTOBUF_C_TYPE_UINT64,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32] = PROTOBUF_C_TYPE_INT32,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64] = PROTOBUF_C_TYPE_FIXED64,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32] = PROTOBUF_C_TYPE_FIXED32,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL] = PROTOBUF_C_TYPE_BOOL,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING] = PROTOBUF_C_TYPE_STRING,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE] = PROTOBUF_C_TYPE_MESSAGE,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES] = PROTOBUF_C_TYPE_BYTES,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32] = PROTOBUF_C_TYPE_UINT32,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM] = PROTOBUF_C_TYPE_ENUM,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32] = PROTOBUF_C_TYPE_SFIXED32,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64] = PROTOBUF_C_TYPE_SFIXED64,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32] = PROTOBUF_C_TYPE_SINT32,
		[GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64] = PROTOBUF_C_TYPE_SINT64,
	};

	/* 0 is no type, and groups have no protobuf-c form. */
	if ((unsigned)t >= sizeof(map) / sizeof(map[0]) || t == 0 ||
	    t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP)
		return -EINVAL;
	*out = map[t];
	return 0;
}

/* Size and alignment of one value of @p t as a struct member. */
static void value_layout(ProtobufCType t, size_t *size, size_t *align)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*size = sizeof(uint64_t);
		*align = _Alignof(uint64_t);
		return;
	case PROTOBUF_C_TYPE_DOUBLE:
		*size = sizeof(double);
		*align = _Alignof(double);
		return;
	case PROTOBUF_C_TYPE_FLOAT:
		*size = sizeof(float);
		*align = _Alignof(float);
		return;
	case PROTOBUF_C_TYPE_BOOL:
		*size = sizeof(protobuf_c_boolean);
		*align = _Alignof(protobuf_c_boolean);
		return;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		*size = sizeof(void *);
		*align = _Alignof(void *);
		return;
	case PROTOBUF_C_TYPE_BYTES:
		*size = sizeof(ProtobufCBinaryData);
		*align = _Alignof(ProtobufCBinaryData);
		return;
	default: /* 32-bit integers; enums are int-sized (FORCE_ENUM_TO_BE_INT_SIZE) */
		*size = sizeof(int32_t);
		*align = _Alignof(int32_t);
		return;
	}
}

/* The struct being laid out: the next free offset and its alignment. */
struct layout {
	size_t off;
	size_t align;
};

static unsigned place(struct layout *l, size_t size, size_t align)
{
	size_t at = (l->off + align - 1) / align * align;

	l->off = at + size;
	if (align > l->align)
		l->align = align;
	return (unsigned)at;
}

static bool packable(ProtobufCType t)
{
	return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
	       t != PROTOBUF_C_TYPE_MESSAGE;
}

/* protoc's C escapes in a bytes default (CEscape: \n \r \t \" \' \\, octal). */
static int unescape_bytes(const char *s, uint8_t *out, size_t *len)
{
	size_t n = 0;

	while (*s) {
		unsigned v = 0, k;

		if (*s != '\\') {
			out[n++] = (uint8_t)*s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': v = '\n'; s++; break;
		case 'r': v = '\r'; s++; break;
		case 't': v = '\t'; s++; break;
		case 'a': v = '\a'; s++; break;
		case 'b': v = '\b'; s++; break;
		case 'f': v = '\f'; s++; break;
		case 'v': v = '\v'; s++; break;
		case '\\': case '\'': case '"': case '?': v = (unsigned char)*s++; break;
		case 'x':
			s++;
			for (k = 0; k < 2 && strchr("0123456789abcdefABCDEF", *s) && *s; k++, s++)
				v = v * 16 + (unsigned)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
			if (k == 0)
				return -EINVAL;
			break;
		default:
			for (k = 0; k < 3 && *s >= '0' && *s <= '7'; k++, s++)
				v = v * 8 + (unsigned)(*s - '0');
			if (k == 0 || v > 255)
				return -EINVAL;
		}
		out[n++] = (uint8_t)v;
	}
	*len = n;
	return 0;
}

/* An integer default in range [min, max] (text as protoc normalised it). */
static int parse_int(const char *s, int64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	if (s[0] == '-') {
		long long v = strtoll(s, &end, 10);

		if (errno || *end || v < min)
			return -EINVAL;
		*out = (uint64_t)v;
		return 0;
	}
	*out = strtoull(s, &end, 10);
	if (errno || *end || end == s || *out > max)
		return -EINVAL;
	return 0;
}

static int parse_real(const char *s, double *out)
{
	char *end;

	if (!strcmp(s, "inf"))
		*out = INFINITY;
	else if (!strcmp(s, "-inf"))
		*out = -INFINITY;
	else if (!strcmp(s, "nan"))
		*out = NAN;
	else {
		errno = 0;
		*out = strtod(s, &end);
		if (*end || end == s)
			return -EINVAL;
	}
	return 0;
}

static int enum_default(const struct dyn_enum *e, const char *name, int32_t *out)
{
	size_t i;

	for (i = 0; i < e->proto->n_value; i++) {
		if (!strcmp(e->proto->value[i]->name, name)) {
			*out = e->proto->value[i]->number;
			return 0;
		}
	}
	return -EINVAL;
}

/* The integer of a [default = TEXT] stored in the field's width. */
static int int_default(ProtobufCType t, const char *s, void *v)
{
	uint64_t u;
	int err;

	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		err = parse_int(s, INT32_MIN, INT32_MAX, &u);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		err = parse_int(s, 0, UINT32_MAX, &u);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		err = parse_int(s, INT64_MIN, INT64_MAX, &u);
		memcpy(v, &u, 8);
		return err;
	default: /* UINT64, FIXED64 */
		err = parse_int(s, 0, UINT64_MAX, &u);
		memcpy(v, &u, 8);
		return err;
	}
	*(uint32_t *)v = (uint32_t)u;
	return err;
}

/* The value of a proto2 [default = TEXT] in the field's C type, in the arena. */
static int parse_default(struct field_build *b, const void **out)
{
	const char *s = b->fp->default_value;
	const ProtobufCFieldDescriptor *f = b->f;
	size_t size, align;
	double dv = 0;
	void *v;

	if (f->type == PROTOBUF_C_TYPE_STRING) {
		*out = dyn_strdup(b->d, s);
		return *out ? 0 : -ENOMEM;
	}
	if (f->type == PROTOBUF_C_TYPE_BYTES) {
		ProtobufCBinaryData *bd = dyn_alloc(b->d, sizeof(*bd));
		uint8_t *data = dyn_alloc(b->d, strlen(s) + 1);

		if (!bd || !data)
			return -ENOMEM;
		bd->data = data;
		*out = bd;
		return unescape_bytes(s, data, &bd->len);
	}
	value_layout(f->type, &size, &align);
	v = dyn_alloc(b->d, size);
	if (!v)
		return -ENOMEM;
	*out = v;
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)v = s[0] == 't';
		return strcmp(s, "true") && strcmp(s, "false") ? -EINVAL : 0;
	case PROTOBUF_C_TYPE_FLOAT:
		if (parse_real(s, &dv))
			return -EINVAL;
		*(float *)v = (float)dv;
		return 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (parse_real(s, &dv))
			return -EINVAL;
		*(double *)v = dv;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		return enum_default(f->descriptor, s, v);
	case PROTOBUF_C_TYPE_MESSAGE:
		return -EINVAL;
	default:
		return int_default(f->type, s, v);
	}
}

/* Descriptor, type and default of the field; its label and flags. */
static int field_describe(struct field_build *b)
{
	const DynFieldProto *fp = b->fp;
	ProtobufCFieldDescriptor *f = b->f;
	const struct dyn_type *t = NULL;
	const char *what = b->m->d.name;
	int err;

	if (!fp->name || !fp->has_number || fp->number < 1 || fp->number > 536870911)
		return dyn_fail(b->d, -EINVAL, "%s: a field without a name or a valid number",
				what);
	f->name = dyn_strdup(b->d, fp->name);
	if (!f->name)
		return -ENOMEM;
	f->id = (uint32_t)fp->number;
	if (map_type(fp->type, &f->type))
		return dyn_fail(b->d, -EINVAL, "%s.%s: %s fields are not supported by "
				"protobuf-c", what, fp->name,
				fp->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP
					? "group" : "unknown type of");
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_ENUM) {
		t = fp->type_name ? dyn_find(b->d, fp->type_name) : NULL;
		if (!t || t->kind != (f->type == PROTOBUF_C_TYPE_ENUM ? DYN_ENUM : DYN_MESSAGE))
			return dyn_fail(b->d, -EINVAL, "%s.%s: unknown type %s", what, fp->name,
					fp->type_name ? fp->type_name : "(none)");
		f->descriptor = t->kind == DYN_ENUM ? (const void *)&t->en->d
						    : (const void *)&t->msg->d;
	}
	switch (fp->label) {
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED:
		f->label = PROTOBUF_C_LABEL_REPEATED;
		break;
	case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED:
		f->label = PROTOBUF_C_LABEL_REQUIRED;
		break;
	default:
		/* proto3 `optional` tracks presence as proto2's does (protobuf-c 1.5). */
		f->label = b->proto3 && !fp->proto3_optional ? PROTOBUF_C_LABEL_NONE
							     : PROTOBUF_C_LABEL_OPTIONAL;
	}
	if (b->in_oneof)
		f->flags |= PROTOBUF_C_FIELD_FLAG_ONEOF;
	if (fp->options && fp->options->has_deprecated && fp->options->deprecated)
		f->flags |= PROTOBUF_C_FIELD_FLAG_DEPRECATED;
	/* proto3 packs repeated scalars unless told not to; proto2 only when told. */
	if (f->label == PROTOBUF_C_LABEL_REPEATED && packable(f->type) &&
	    (fp->options && fp->options->has_packed ? fp->options->packed : b->proto3))
		f->flags |= PROTOBUF_C_FIELD_FLAG_PACKED;
	if (fp->default_value) {
		err = parse_default(b, &f->default_value);
		if (err == -ENOMEM)
			return dyn_fail(b->d, err, "out of memory");
		if (err)
			return dyn_fail(b->d, -EINVAL, "%s.%s: bad default value \"%.60s\"",
					what, fp->name, fp->default_value);
	} else if (b->proto3 && f->type == PROTOBUF_C_TYPE_STRING) {
		f->default_value = protobuf_c_empty_string;
	}
	return 0;
}

/* What message_init sets in a singular field outside a oneof, if anything. */
static const void *init_value(const struct field_build *b)
{
	const ProtobufCFieldDescriptor *f = b->f;

	if (f->label == PROTOBUF_C_LABEL_REPEATED || b->in_oneof)
		return NULL;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		if (b->fp->default_value)
			return &f->default_value; /* the pointer itself is the value */
		return f->label == PROTOBUF_C_LABEL_NONE ? &empty_string_ptr : NULL;
	}
	if (f->default_value)
		return f->default_value;
	if (f->type == PROTOBUF_C_TYPE_ENUM) {
		const struct dyn_enum *e = f->descriptor;

		return e->first_value ? &e->first_value : NULL;
	}
	return NULL;
}

/* A field outside any oneof: its quantifier, then its value. */
static void place_field(struct layout *l, const struct field_build *b,
			struct dyn_init_op *ops, unsigned *n_ops)
{
	ProtobufCFieldDescriptor *f = b->f;
	size_t size, align;
	const void *iv;

	value_layout(f->type, &size, &align);
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		f->quantifier_offset = place(l, sizeof(size_t), _Alignof(size_t));
		f->offset = place(l, sizeof(void *), _Alignof(void *));
		return;
	}
	/* Strings and messages say "absent" with NULL, the rest with has_. */
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		f->quantifier_offset = place(l, sizeof(protobuf_c_boolean),
					     _Alignof(protobuf_c_boolean));
	f->offset = place(l, size, align);
	iv = init_value(b);
	if (iv)
		ops[(*n_ops)++] = (struct dyn_init_op){ f->offset, (unsigned)size, iv };
}

/* Oneof @p k: the case (an int-sized enum), then a union of its members. */
static void place_oneof(struct layout *l, struct field_build *b, size_t n, int32_t k)
{
	size_t i, size, align, usize = 0, ualign = 1;
	unsigned case_off, uoff;
	bool any = false;

	for (i = 0; i < n; i++) {
		if (!b[i].in_oneof || b[i].fp->oneof_index != k)
			continue;
		value_layout(b[i].f->type, &size, &align);
		usize = size > usize ? size : usize;
		ualign = align > ualign ? align : ualign;
		any = true;
	}
	if (!any)
		return; /* a synthetic oneof of a proto3 `optional`: no C form */
	case_off = place(l, sizeof(uint32_t), _Alignof(uint32_t));
	uoff = place(l, (usize + ualign - 1) / ualign * ualign, ualign);
	for (i = 0; i < n; i++) {
		if (!b[i].in_oneof || b[i].fp->oneof_index != k)
			continue;
		b[i].f->quantifier_offset = case_off;
		b[i].f->offset = uoff;
	}
}

/* A sort key and the index it came from (no qsort_r: not everywhere). */
struct sort_key {
	int32_t number;
	const char *name;
	unsigned index;
};

static int by_number(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;

	return x->number < y->number ? -1 : x->number > y->number;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct sort_key *)a)->name, ((const struct sort_key *)b)->name);
}

/* fields_sorted_by_name and field_ranges of the (number-sorted) fields. */
static int field_indexes(struct vrpc_dyn *d, struct dyn_msg *m, ProtobufCFieldDescriptor *fields,
			 unsigned n, struct sort_key *keys)
{
	unsigned *by_nm = dyn_calloc(d, n ? n : 1, sizeof(*by_nm));
	int *nums = calloc(n ? n : 1, sizeof(*nums));
	unsigned i;
	int err;

	if (!by_nm || !nums) {
		free(nums);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		keys[i] = (struct sort_key){ 0, fields[i].name, i };
		nums[i] = (int)fields[i].id;
	}
	qsort(keys, n, sizeof(*keys), by_name);
	for (i = 0; i < n; i++)
		by_nm[i] = keys[i].index;
	err = dyn_int_ranges(d, nums, n, &m->d.field_ranges, &m->d.n_field_ranges);
	free(nums);
	m->d.fields_sorted_by_name = by_nm;
	return err;
}

static int check_oneofs(struct vrpc_dyn *d, const struct dyn_msg *m)
{
	size_t i;

	for (i = 0; i < m->proto->n_field; i++) {
		const DynFieldProto *fp = m->proto->field[i];

		if (fp->has_oneof_index &&
		    (fp->oneof_index < 0 || (size_t)fp->oneof_index >= m->proto->n_oneof_decl))
			return dyn_fail(d, -EINVAL, "%s: field %s in oneof #%d of %zu", m->d.name,
					fp->name ? fp->name : "?", fp->oneof_index,
					m->proto->n_oneof_decl);
	}
	return 0;
}

/* protoc-c lists fields by number (@p fields, sorted as @p keys); each
 * field's build state keeps its declaration slot in @p b. */
static int describe_fields(struct vrpc_dyn *d, struct dyn_msg *m,
			   ProtobufCFieldDescriptor *fields, struct field_build *b,
			   struct sort_key *keys)
{
	const DynMsgProto *p = m->proto;
	unsigned n = (unsigned)p->n_field, i;
	int err;

	for (i = 0; i < n; i++)
		keys[i] = (struct sort_key){ p->field[i]->number, NULL, i };
	qsort(keys, n, sizeof(*keys), by_number);
	for (i = 0; i < n; i++) {
		const DynFieldProto *fp = p->field[keys[i].index];

		b[keys[i].index] = (struct field_build){
			.d = d, .m = m, .fp = fp, .f = &fields[i],
			.proto3 = m->file->syntax && !strcmp(m->file->syntax, "proto3"),
			.in_oneof = fp->has_oneof_index && !fp->proto3_optional,
		};
	}
	for (i = 0; i < n; i++) {
		err = field_describe(&b[i]);
		if (err)
			return err;
		if (i > 0 && keys[i - 1].number == keys[i].number)
			return dyn_fail(d, -EINVAL, "%s: field number %d used twice", m->d.name,
					keys[i].number);
	}
	return 0;
}

int dyn_message_build(struct vrpc_dyn *d, struct dyn_msg *m)
{
	const DynMsgProto *p = m->proto;
	struct layout l = { sizeof(ProtobufCMessage), _Alignof(ProtobufCMessage) };
	unsigned n = (unsigned)p->n_field, i, n_ops = 0;
	ProtobufCFieldDescriptor *fields;
	struct field_build *b = NULL;
	struct sort_key *keys = NULL;
	struct dyn_init_op *ops;
	int err;

	if (p->n_field > 65536 || p->n_oneof_decl > 65536)
		return dyn_fail(d, -EINVAL, "%s: %zu fields", m->d.name, p->n_field);
	err = check_oneofs(d, m);
	if (err)
		return err;
	fields = dyn_calloc(d, n ? n : 1, sizeof(*fields));
	ops = dyn_calloc(d, n ? n : 1, sizeof(*ops));
	b = calloc(n ? n : 1, sizeof(*b));
	keys = calloc(n ? n : 1, sizeof(*keys));
	err = -ENOMEM;
	if (!fields || !ops || !b || !keys)
		goto out;
	err = describe_fields(d, m, fields, b, keys);
	if (err)
		goto out;
	for (i = 0; i < n; i++)
		if (!b[i].in_oneof)
			place_field(&l, &b[i], ops, &n_ops);
	for (i = 0; i < p->n_oneof_decl; i++)
		place_oneof(&l, b, n, (int32_t)i);
	err = field_indexes(d, m, fields, n, keys);
	if (err)
		goto out;
	m->d.magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
	m->d.sizeof_message = (l.off + l.align - 1) / l.align * l.align;
	m->d.n_fields = n;
	m->d.fields = fields;
	m->ops = ops;
	m->n_ops = n_ops;
out:
	free(b);
	free(keys);
	if (err == -ENOMEM)
		return dyn_fail(d, err, "out of memory");
	return err;
}
