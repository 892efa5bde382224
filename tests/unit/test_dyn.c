/*
 * test_dyn.c - descriptors built at run time from .proto files (vrpc_dyn.h)
 * against the ones protoc-c generated from the same files (tests/proto):
 * every field of every descriptor compared; messages packed by one side and
 * unpacked by the other, printed as JSON by both and compared as text;
 * message_init defaults; a real call through a dynamic client; errors.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "json_priv.h"
#include "server_thread.h"
#include "tests/proto/dyn.pb-c.h"
#include "tests/proto/dyn3.pb-c.h"
#include "tests/proto/echo.pb-c.h"
#include "tests/proto/types.pb-c.h"
#include "tests/proto/types2.pb-c.h"
#include "vrpc_dyn.h"
#include "vrpc_json.h"

static const char *const incs[] = { ".", NULL };

static struct vrpc_dyn *load(const char *path)
{
	char err[512] = "";
	struct vrpc_dyn *d = vrpc_dyn_load(path, incs, err, sizeof(err));

	if (!d)
		print_error("vrpc_dyn_load(%s): %s\n", path, err);
	assert_non_null(d);
	assert_string_equal(err, "");
	return d;
}

/* ---------------------------------------------------------------- */
/* Descriptor metadata, field by field                              */
/* ---------------------------------------------------------------- */

static void compare_enum(const ProtobufCEnumDescriptor *g, const ProtobufCEnumDescriptor *d)
{
	unsigned i;

	assert_non_null(d);
	assert_int_equal(d->magic, PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC);
	assert_string_equal(d->name, g->name);
	assert_string_equal(d->short_name, g->short_name);
	assert_string_equal(d->c_name, g->c_name);
	assert_string_equal(d->package_name, g->package_name);
	assert_int_equal(d->n_values, g->n_values);
	for (i = 0; i < g->n_values; i++) {
		assert_string_equal(d->values[i].name, g->values[i].name);
		assert_string_equal(d->values[i].c_name, g->values[i].c_name);
		assert_int_equal(d->values[i].value, g->values[i].value);
	}
	assert_int_equal(d->n_value_names, g->n_value_names);
	for (i = 0; i < g->n_value_names; i++) {
		assert_string_equal(d->values_by_name[i].name, g->values_by_name[i].name);
		assert_int_equal(d->values_by_name[i].index, g->values_by_name[i].index);
	}
	assert_int_equal(d->n_value_ranges, g->n_value_ranges);
	for (i = 0; i <= g->n_value_ranges; i++) {
		assert_int_equal(d->value_ranges[i].start_value, g->value_ranges[i].start_value);
		assert_int_equal(d->value_ranges[i].orig_index, g->value_ranges[i].orig_index);
	}
}

static size_t default_size(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_STRING ? 0 : pbj_value_size(t);
}

static void compare_default(const ProtobufCFieldDescriptor *g, const ProtobufCFieldDescriptor *d)
{
	if (!g->default_value) {
		assert_null(d->default_value);
		return;
	}
	assert_non_null(d->default_value);
	if (g->default_value == (const void *)protobuf_c_empty_string) {
		assert_ptr_equal(d->default_value, protobuf_c_empty_string);
	} else if (g->type == PROTOBUF_C_TYPE_STRING) {
		assert_string_equal(d->default_value, g->default_value);
	} else if (g->type == PROTOBUF_C_TYPE_BYTES) {
		const ProtobufCBinaryData *x = g->default_value, *y = d->default_value;

		assert_int_equal(y->len, x->len);
		assert_memory_equal(y->data, x->data, x->len);
	} else {
		assert_memory_equal(d->default_value, g->default_value, default_size(g->type));
	}
}

/* Bytes a member and its quantifier take in the struct. */
static size_t member_size(const ProtobufCFieldDescriptor *f)
{
	return f->label == PROTOBUF_C_LABEL_REPEATED ? sizeof(void *) : pbj_value_size(f->type);
}

static size_t quantifier_size(const ProtobufCFieldDescriptor *f)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return sizeof(size_t);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return sizeof(uint32_t);
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	    f->type != PROTOBUF_C_TYPE_MESSAGE)
		return sizeof(protobuf_c_boolean);
	return 0;
}

/* Defaults that point at data: the same data, not the same address (but
 * the very protobuf_c_empty_string where protoc-c uses it). @return true
 * when @p f is one and was compared. */
static bool compare_init_pointee(const ProtobufCFieldDescriptor *f, const void *a, const void *b)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return false;
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *x = *(const char *const *)a, *y = *(const char *const *)b;

		if (!x || x == protobuf_c_empty_string) {
			assert_ptr_equal(y, x);
		} else {
			assert_non_null(y);
			assert_string_equal(y, x);
		}
		return true;
	}
	if (f->type == PROTOBUF_C_TYPE_BYTES) {
		const ProtobufCBinaryData *x = a, *y = b;

		assert_int_equal(y->len, x->len);
		if (x->len)
			assert_memory_equal(y->data, x->data, x->len);
		return true;
	}
	return false;
}

/* message_init on both sides gives the same members (padding aside). */
static void compare_init(const ProtobufCMessageDescriptor *g, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *a = malloc(g->sizeof_message), *b = malloc(d->sizeof_message);
	unsigned i;

	assert_non_null(a);
	assert_non_null(b);
	memset(a, 0xa5, g->sizeof_message);
	memset(b, 0x5a, d->sizeof_message);
	protobuf_c_message_init(g, a);
	protobuf_c_message_init(d, b);
	assert_ptr_equal(a->descriptor, g);
	assert_ptr_equal(b->descriptor, d);
	assert_int_equal(b->n_unknown_fields, 0);
	assert_null(b->unknown_fields);
	for (i = 0; i < g->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &g->fields[i];
		size_t q = quantifier_size(f);

		if (q)
			assert_memory_equal((char *)b + f->quantifier_offset,
					    (char *)a + f->quantifier_offset, q);
		if (compare_init_pointee(f, (char *)a + f->offset, (char *)b + f->offset))
			continue;
		/* A oneof's union is zero in both, whatever member reads it. */
		assert_memory_equal((char *)b + f->offset, (char *)a + f->offset,
				    member_size(f));
	}
	free(a);
	free(b);
}

static void compare_message(struct vrpc_dyn *dyn, const ProtobufCMessageDescriptor *g,
			    unsigned depth);

static void compare_field(struct vrpc_dyn *dyn, const ProtobufCMessageDescriptor *gm,
			  const ProtobufCFieldDescriptor *g, const ProtobufCFieldDescriptor *d,
			  unsigned depth)
{
	char gj[128], dj[128];

	assert_string_equal(d->name, g->name);
	assert_int_equal(d->id, g->id);
	assert_int_equal(d->label, g->label);
	assert_int_equal(d->type, g->type);
	if (d->offset != g->offset || d->quantifier_offset != g->quantifier_offset)
		print_error("%s.%s: offset %u/%u, quantifier %u/%u (dynamic/generated)\n",
			    gm->name, g->name, d->offset, g->offset, d->quantifier_offset,
			    g->quantifier_offset);
	assert_int_equal(d->offset, g->offset);
	assert_int_equal(d->quantifier_offset, g->quantifier_offset);
	assert_int_equal(d->flags, g->flags);
	assert_int_equal(pbj_json_name(d, dj, sizeof(dj)), 0);
	assert_int_equal(pbj_json_name(g, gj, sizeof(gj)), 0);
	assert_string_equal(dj, gj);
	compare_default(g, d);
	if (g->type == PROTOBUF_C_TYPE_ENUM) {
		const ProtobufCEnumDescriptor *ge = g->descriptor;

		assert_ptr_equal(d->descriptor, vrpc_dyn_enum(dyn, ge->name));
		compare_enum(ge, d->descriptor);
	} else if (g->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessageDescriptor *gd = g->descriptor;

		assert_ptr_equal(d->descriptor, vrpc_dyn_message(dyn, gd->name));
		if (gd != gm)
			compare_message(dyn, gd, depth + 1);
	} else {
		assert_null(d->descriptor);
	}
}

static void compare_message(struct vrpc_dyn *dyn, const ProtobufCMessageDescriptor *g,
			    unsigned depth)
{
	const ProtobufCMessageDescriptor *d = vrpc_dyn_message(dyn, g->name);
	unsigned i;

	if (depth > 8)
		return; /* recursive types: compared once at the top is enough */
	assert_non_null(d);
	assert_int_equal(d->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
	assert_string_equal(d->name, g->name);
	assert_string_equal(d->short_name, g->short_name);
	assert_string_equal(d->c_name, g->c_name);
	assert_string_equal(d->package_name, g->package_name);
	if (d->sizeof_message != g->sizeof_message)
		print_error("%s: sizeof %zu, generated %zu\n", g->name, d->sizeof_message,
			    g->sizeof_message);
	assert_int_equal(d->sizeof_message, g->sizeof_message);
	assert_int_equal(d->n_fields, g->n_fields);
	for (i = 0; i < g->n_fields; i++)
		compare_field(dyn, g, &g->fields[i], &d->fields[i], depth);
	for (i = 0; i < g->n_fields; i++)
		assert_int_equal(d->fields_sorted_by_name[i], g->fields_sorted_by_name[i]);
	assert_int_equal(d->n_field_ranges, g->n_field_ranges);
	for (i = 0; g->n_fields && i <= g->n_field_ranges; i++) {
		assert_int_equal(d->field_ranges[i].start_value, g->field_ranges[i].start_value);
		assert_int_equal(d->field_ranges[i].orig_index, g->field_ranges[i].orig_index);
	}
	assert_non_null(d->message_init);
	compare_init(g, d);
}

static void compare_service(struct vrpc_dyn *dyn, const ProtobufCServiceDescriptor *g)
{
	const ProtobufCServiceDescriptor *d = vrpc_dyn_service(dyn, g->name);
	unsigned i;

	assert_non_null(d);
	assert_int_equal(d->magic, PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC);
	assert_string_equal(d->name, g->name);
	assert_string_equal(d->short_name, g->short_name);
	assert_string_equal(d->c_name, g->c_name);
	assert_string_equal(d->package, g->package);
	assert_int_equal(d->n_methods, g->n_methods);
	for (i = 0; i < g->n_methods; i++) {
		assert_string_equal(d->methods[i].name, g->methods[i].name);
		assert_ptr_equal(d->methods[i].input, vrpc_dyn_message(dyn, g->methods[i].input->name));
		assert_ptr_equal(d->methods[i].output,
				 vrpc_dyn_message(dyn, g->methods[i].output->name));
		assert_int_equal(d->method_indices_by_name[i], g->method_indices_by_name[i]);
		assert_int_equal(vrpc_json_find_method(d, g->methods[i].name), (int)i);
	}
}

static void test_metadata(void **state)
{
	struct vrpc_dyn *dyn = load("tests/proto/types.proto");

	compare_message(dyn, &vrpc__test__types__all__descriptor, 0);
	compare_message(dyn, &vrpc__test__types__not_amap__descriptor, 0);
	compare_message(dyn, &vrpc__test__types__key_value__descriptor, 0);
	compare_enum(&vrpc__test__types__color__descriptor,
		     vrpc_dyn_enum(dyn, "vrpc.test.types.Color"));
	compare_service(dyn, &vrpc__test__types__types_service__descriptor);
	assert_ptr_equal(vrpc_dyn_service(dyn, NULL),
			 vrpc_dyn_service(dyn, "vrpc.test.types.TypesService"));
	assert_ptr_equal(vrpc_dyn_service_at(dyn, 0), vrpc_dyn_service(dyn, NULL));
	assert_null(vrpc_dyn_service_at(dyn, 1));
	vrpc_dyn_free(dyn);

	dyn = load("tests/proto/types2.proto");
	compare_message(dyn, &vrpc__test__types2__opt__descriptor, 0);
	errno = 0;
	assert_null(vrpc_dyn_service(dyn, NULL)); /* no service in types2 */
	assert_int_equal(errno, ENOENT);
	vrpc_dyn_free(dyn);

	dyn = load("tests/proto/echo.proto");
	compare_message(dyn, &vrpc__test__echo_request__descriptor, 0);
	compare_message(dyn, &vrpc__test__echo_reply__descriptor, 0);
	compare_service(dyn, &vrpc__test__echo__descriptor);
	vrpc_dyn_free(dyn);

	/* dyn3 imports dyn: both files' types, only dyn3's service is "main". */
	dyn = load("tests/proto/dyn3.proto");
	compare_message(dyn, &vrpc__test__dyn__defaults__descriptor, 0);
	compare_message(dyn, &vrpc__test__dyn__layout__descriptor, 0);
	compare_message(dyn, &vrpc__test__dyn__empty__descriptor, 0);
	compare_message(dyn, &vrpc__test__dyn3__p3__descriptor, 0);
	compare_enum(&vrpc__test__dyn__level__descriptor, vrpc_dyn_enum(dyn, "vrpc.test.dyn.Level"));
	compare_service(dyn, &vrpc__test__dyn__dyn__descriptor);
	compare_service(dyn, &vrpc__test__dyn3__svc3__descriptor);
	assert_ptr_equal(vrpc_dyn_service(dyn, NULL), vrpc_dyn_service(dyn, "vrpc.test.dyn3.Svc3"));
	errno = 0;
	assert_null(vrpc_dyn_message(dyn, "vrpc.test.dyn.Nope"));
	assert_int_equal(errno, ENOENT);
	assert_null(vrpc_dyn_message(dyn, "vrpc.test.dyn.Level")); /* an enum */
	assert_null(vrpc_dyn_enum(dyn, "vrpc.test.dyn.Empty"));   /* a message */
	vrpc_dyn_free(dyn);
}

/* ---------------------------------------------------------------- */
/* Wire and JSON: generated <-> dynamic                             */
/* ---------------------------------------------------------------- */

static char *to_json(const ProtobufCMessage *m)
{
	char *s = vrpc_json_from_message(m, 0);

	assert_non_null(s);
	return s;
}

static ProtobufCMessage *from_json(const ProtobufCMessageDescriptor *desc, const char *json)
{
	char err[256] = "";
	ProtobufCMessage *m = vrpc_json_to_message(desc, json, strlen(json), err, sizeof(err));

	if (!m)
		print_error("%s: %s\n  for %s\n", desc->name, err, json);
	assert_non_null(m);
	return m;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

/*
 * @p from's message @p m packed, unpacked as @p to, printed by both: the
 * same JSON, and packing the copy gives the same bytes.
 */
static void cross(const ProtobufCMessage *m, const ProtobufCMessageDescriptor *to)
{
	size_t len, len2;
	uint8_t *buf = pack(m, &len), *buf2;
	ProtobufCMessage *u = protobuf_c_message_unpack(to, NULL, len, buf);
	char *a, *b;

	assert_non_null(u);
	assert_ptr_equal(u->descriptor, to);
	a = to_json(m);
	b = to_json(u);
	assert_string_equal(b, a);
	buf2 = pack(u, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(a);
	free(b);
	free(buf);
	free(buf2);
	protobuf_c_message_free_unpacked(u, NULL);
}

/* @p json parsed by each side, crossed to the other. */
static void both_ways(struct vrpc_dyn *dyn, const ProtobufCMessageDescriptor *g, const char *json)
{
	const ProtobufCMessageDescriptor *d = vrpc_dyn_message(dyn, g->name);
	ProtobufCMessage *gm = from_json(g, json), *dm = from_json(d, json);
	char *a = to_json(gm), *b = to_json(dm);

	assert_string_equal(b, a);
	cross(gm, d);
	cross(dm, g);
	free(a);
	free(b);
	protobuf_c_message_free_unpacked(gm, NULL);
	protobuf_c_message_free_unpacked(dm, NULL);
}

static const char all_full[] =
	"{\"fInt32\":-2147483648,\"fInt64\":\"-9223372036854775808\",\"fUint32\":4294967295,"
	"\"fUint64\":\"18446744073709551615\",\"fSint32\":-5,\"fSint64\":\"-6\","
	"\"fFixed32\":7,\"fFixed64\":\"8\",\"fSfixed32\":-9,\"fSfixed64\":\"-10\","
	"\"fFloat\":1.5,\"fDouble\":-2.25e300,\"fBool\":true,\"fString\":\"h\\u00e9llo\\n\","
	"\"fBytes\":\"AAEC/w==\",\"fEnum\":\"BLUE\",\"fNested\":{\"id\":1,\"label\":\"a\","
	"\"child\":{\"id\":2}},"
	"\"rInt32\":[1,-1,0],\"rInt64\":[\"1\",\"-1\"],\"rUint32\":[3],\"rUint64\":[\"4\"],"
	"\"rSint32\":[-5,5],\"rSint64\":[\"-6\"],\"rFixed32\":[7],\"rFixed64\":[\"8\"],"
	"\"rSfixed32\":[-9],\"rSfixed64\":[\"-10\"],\"rFloat\":[0.5,\"NaN\",\"-Infinity\"],"
	"\"rDouble\":[1e-300,\"Infinity\"],\"rBool\":[true,false],\"rString\":[\"\",\"x\"],"
	"\"rBytes\":[\"\",\"YQ==\"],\"rEnum\":[\"RED\",7,\"GREEN\"],"
	"\"rNested\":[{},{\"id\":3}],\"rules\":[{\"port\":22,\"action\":\"allow\"}],"
	"\"mStrInt\":{\"a\":1,\"b\":-2},\"mInt64Nested\":{\"-5\":{\"id\":5}},"
	"\"mBoolStr\":{\"true\":\"t\"},\"mUint32Enum\":{\"1\":\"BLUE\"},"
	"\"mSint64Bytes\":{\"-1\":\"AQ==\"},\"snakeCase2Name\":60}";

static void test_types_cross(void **state)
{
	struct vrpc_dyn *dyn = load("tests/proto/types.proto");
	static const char *const alls[] = {
		all_full,
		"{}",
		"{\"oString\":\"\"}",
		"{\"oInt32\":0}",
		"{\"oNested\":{\"id\":9,\"child\":{\"label\":\"deep\"}}}",
		"{\"oEnum\":\"GREEN\"}",
		"{\"oBytes\":\"/w==\"}",
		"{\"fNested\":{},\"rInt32\":[0]}",
	};

	for (size_t i = 0; i < sizeof(alls) / sizeof(alls[0]); i++)
		both_ways(dyn, &vrpc__test__types__all__descriptor, alls[i]);
	both_ways(dyn, &vrpc__test__types__not_amap__descriptor,
		  "{\"entries\":[{\"key\":\"k\",\"value\":1},{}]}");
	vrpc_dyn_free(dyn);

	dyn = load("tests/proto/types2.proto");
	both_ways(dyn, &vrpc__test__types2__opt__descriptor, "{\"reqInt\":0,\"reqStr\":\"\"}");
	both_ways(dyn, &vrpc__test__types2__opt__descriptor,
		  "{\"reqInt\":-1,\"reqStr\":\"r\",\"optInt\":42,\"optStr\":\"dflt\","
		  "\"optBytes\":\"\",\"optBool\":false,\"optMode\":\"MODE_OFF\","
		  "\"optInner\":{\"n\":3},\"optDouble\":0,\"optU64\":\"0\",\"rInt\":[1,2],"
		  "\"mInner\":{\"x\":{\"n\":1}},\"pStr\":\"\"}");
	both_ways(dyn, &vrpc__test__types2__opt__descriptor,
		  "{\"reqInt\":1,\"reqStr\":\"s\",\"pInt\":0}");
	vrpc_dyn_free(dyn);

	dyn = load("tests/proto/echo.proto");
	both_ways(dyn, &vrpc__test__echo_request__descriptor,
		  "{\"text\":\"t\",\"data\":\"AAA=\",\"delayMs\":1,\"count\":2,\"failStatus\":3,"
		  "\"replyBytes\":4}");
	vrpc_dyn_free(dyn);
}

static void test_dyn_proto_cross(void **state)
{
	struct vrpc_dyn *dyn = load("tests/proto/dyn3.proto");

	both_ways(dyn, &vrpc__test__dyn__defaults__descriptor, "{\"flag\":false}");
	both_ways(dyn, &vrpc__test__dyn__defaults__descriptor,
		  "{\"flag\":true,\"dInt32\":1,\"dInt64\":\"2\",\"dUint32\":3,\"dUint64\":\"4\","
		  "\"dSint32\":5,\"dSint64\":\"6\",\"dFixed32\":7,\"dFixed64\":\"8\","
		  "\"dSfixed32\":9,\"dSfixed64\":\"10\",\"dFloat\":11,\"dDouble\":12,"
		  "\"dSmall\":13,\"dBool\":false,\"dString\":\"\",\"dBytes\":\"\","
		  "\"dLevel\":\"TOP\",\"noDefaultLevel\":\"NEG\",\"dExp\":0}");
	both_ways(dyn, &vrpc__test__dyn__layout__descriptor, "{\"i1\":0}");
	both_ways(dyn, &vrpc__test__dyn__layout__descriptor,
		  "{\"b1\":true,\"d1\":0.5,\"i1\":-3,\"child\":{\"i1\":4,\"fMsg\":{\"i1\":5}},"
		  "\"packedInts\":[1,2,-3],\"plainInts\":[\"-4\",\"5\"],"
		  "\"levels\":[\"LOW\",\"HIGH\",\"lower_case_name\",\"NEG\"],\"old\":1,"
		  "\"fDouble\":2.5,\"between\":1.25,\"sString\":\"in a oneof\","
		  "\"inner\":{\"kind\":\"K_ONE\",\"names\":[\"a\",\"\"]},"
		  "\"byId\":{\"7\":{\"kind\":\"K_ZERO\"}},\"kindsByName\":{\"x\":\"K_ONE\"}}");
	both_ways(dyn, &vrpc__test__dyn__layout__descriptor, "{\"i1\":1,\"fBool\":false,"
		  "\"sBytes\":\"\"}");
	both_ways(dyn, &vrpc__test__dyn__layout__descriptor, "{\"i1\":1,\"sFloat\":-0.5}");
	both_ways(dyn, &vrpc__test__dyn3__p3__descriptor,
		  "{\"unpacked\":[1,2,3],\"packed\":[0.5,-1],\"imported\":{},\"b\":true,"
		  "\"s\":[\"a\"],\"bs\":[\"AA==\"],\"nameWithCAPS\":\"c\"}");
	vrpc_dyn_free(dyn);
}

/* A message built field by field with the generated structs. */
static void test_generated_struct(void **state)
{
	struct vrpc_dyn *dyn = load("tests/proto/types2.proto");
	Vrpc__Test__Types2__Opt opt = VRPC__TEST__TYPES2__OPT__INIT;
	Vrpc__Test__Types2__Inner inner = VRPC__TEST__TYPES2__INNER__INIT;
	Vrpc__Test__Types2__Opt__MInnerEntry ent = VRPC__TEST__TYPES2__OPT__MINNER_ENTRY__INIT;
	Vrpc__Test__Types2__Opt__MInnerEntry *ents[] = { &ent };
	int32_t r[] = { 3, -4 };
	uint8_t bytes[] = { 0, 0xff };

	inner.n = 17;
	ent.key = (char *)"k";
	ent.value = &inner;
	opt.req_int = 5;
	opt.req_str = (char *)"required";
	opt.has_opt_int = 1;
	opt.opt_int = -42;
	opt.has_opt_bytes = 1;
	opt.opt_bytes = (ProtobufCBinaryData){ sizeof(bytes), bytes };
	opt.has_opt_mode = 1;
	opt.opt_mode = VRPC__TEST__TYPES2__MODE__MODE_OFF;
	opt.opt_inner = &inner;
	opt.n_r_int = 2;
	opt.r_int = r;
	opt.n_m_inner = 1;
	opt.m_inner = ents;
	opt.pick_case = VRPC__TEST__TYPES2__OPT__PICK_P_STR;
	opt.p_str = (char *)"picked";
	cross(&opt.base, vrpc_dyn_message(dyn, "vrpc.test.types2.Opt"));
	vrpc_dyn_free(dyn);
}

/* The dynamic message_init sets proto2 defaults; JSON shows them unset. */
static void test_defaults(void **state)
{
	struct vrpc_dyn *dyn = load("tests/proto/dyn.proto");
	const ProtobufCMessageDescriptor *d = vrpc_dyn_message(dyn, "vrpc.test.dyn.Defaults");
	ProtobufCMessage *m = from_json(d, "{\"flag\":true}");
	const ProtobufCFieldDescriptor *f;
	char *json = to_json(m);

	assert_string_equal(json, "{\"flag\":true}");
	f = protobuf_c_message_descriptor_get_field_by_name(d, "d_int64");
	assert_int_equal(PBJ_CMEMBER(int64_t, m, f->offset), -9000000000LL);
	f = protobuf_c_message_descriptor_get_field_by_name(d, "d_uint64");
	assert_true(PBJ_CMEMBER(uint64_t, m, f->offset) == UINT64_MAX);
	f = protobuf_c_message_descriptor_get_field_by_name(d, "d_string");
	assert_string_equal(PBJ_CMEMBER(const char *, m, f->offset), "tab\there \"q\" \303\251");
	f = protobuf_c_message_descriptor_get_field_by_name(d, "d_bytes");
	assert_int_equal(PBJ_CMEMBER(ProtobufCBinaryData, m, f->offset).len, 7);
	assert_memory_equal(PBJ_CMEMBER(ProtobufCBinaryData, m, f->offset).data,
			    "\000\001\377ab\nA", 7);
	f = protobuf_c_message_descriptor_get_field_by_name(d, "d_level");
	assert_int_equal(PBJ_CMEMBER(int32_t, m, f->offset), 9);
	f = protobuf_c_message_descriptor_get_field_by_name(d, "no_default_level");
	assert_int_equal(PBJ_CMEMBER(int32_t, m, f->offset), 5);
	f = protobuf_c_message_descriptor_get_field_by_name(d, "d_float");
	assert_true(PBJ_CMEMBER(float, m, f->offset) == 1.5f);
	free(json);
	protobuf_c_message_free_unpacked(m, NULL);
	vrpc_dyn_free(dyn);
}

/* ---------------------------------------------------------------- */
/* What protoc-c cannot compile: checked on its own                 */
/* ---------------------------------------------------------------- */

static char tmpdir[64];

static const char *write_proto(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int setup_tmp(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_dyn.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_inf_nan_defaults(void **state)
{
	const char *p = write_proto("special.proto",
		"syntax = \"proto2\"; package sp;\n"
		"message M { optional double a = 1 [default = inf];\n"
		"  optional double b = 2 [default = -inf];\n"
		"  optional float c = 3 [default = nan]; }\n");
	struct vrpc_dyn *dyn = load(p);
	const ProtobufCMessageDescriptor *d = vrpc_dyn_message(dyn, "sp.M");
	ProtobufCMessage *m = malloc(d->sizeof_message);

	assert_non_null(m);
	protobuf_c_message_init(d, m);
	assert_true(isinf(PBJ_CMEMBER(double, m, d->fields[0].offset)));
	assert_true(PBJ_CMEMBER(double, m, d->fields[1].offset) < 0);
	assert_true(isnan(PBJ_CMEMBER(float, m, d->fields[2].offset)));
	free(m);
	vrpc_dyn_free(dyn);
}

/* proto3 `optional` (protoc-c 1.4 refuses it) is laid out as proto2's. */
static void test_proto3_optional(void **state)
{
	const char *p = write_proto("opt3.proto",
		"syntax = \"proto3\"; package o3;\n"
		"message M { optional int32 x = 1; int32 y = 2; optional string s = 3;\n"
		"  oneof k { int32 a = 4; string b = 5; } optional double z = 6; }\n");
	struct vrpc_dyn *dyn = load(p);
	const ProtobufCMessageDescriptor *d = vrpc_dyn_message(dyn, "o3.M");
	const ProtobufCFieldDescriptor *x = &d->fields[0], *s = &d->fields[2], *a = &d->fields[3];
	ProtobufCMessage *m, *u;
	uint8_t *buf;
	size_t len;
	char *json;

	assert_int_equal(x->label, PROTOBUF_C_LABEL_OPTIONAL);
	assert_int_equal(d->fields[1].label, PROTOBUF_C_LABEL_NONE);
	assert_int_equal(s->label, PROTOBUF_C_LABEL_OPTIONAL);
	assert_int_equal(a->flags & PROTOBUF_C_FIELD_FLAG_ONEOF, PROTOBUF_C_FIELD_FLAG_ONEOF);
	assert_int_equal(d->fields[5].flags, 0);
	/* has_x, x, y, s, has_z, z, k_case, union: 24+4+4+4+(pad)8+4+(pad)8+4+(pad)8 */
	assert_int_equal(x->quantifier_offset, sizeof(ProtobufCMessage));
	assert_int_equal(x->offset, sizeof(ProtobufCMessage) + 4);
	/* Zero is kept when set: presence is tracked. */
	m = from_json(d, "{\"x\":0,\"s\":\"\",\"z\":0}");
	buf = pack(m, &len);
	u = protobuf_c_message_unpack(d, NULL, len, buf);
	assert_non_null(u);
	json = to_json(u);
	assert_string_equal(json, "{\"x\":0,\"s\":\"\",\"z\":0}");
	free(json);
	free(buf);
	protobuf_c_message_free_unpacked(u, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
	m = from_json(d, "{\"y\":0}");
	json = to_json(m);
	assert_string_equal(json, "{}");
	free(json);
	protobuf_c_message_free_unpacked(m, NULL);
	vrpc_dyn_free(dyn);
}

static void load_fails(const char *path, int want_errno, const char *want_text)
{
	char err[512] = "";

	errno = 0;
	assert_null(vrpc_dyn_load(path, NULL, err, sizeof(err)));
	assert_int_equal(errno, want_errno);
	if (!strstr(err, want_text))
		print_error("error \"%s\" does not name \"%s\"\n", err, want_text);
	assert_non_null(strstr(err, want_text));
}

/* vrpc_dyn_load() with $VRPC_PROTOC set to @p protoc. */
static void load_fails_with(const char *protoc, int want_errno, const char *want_text)
{
	char err[512] = "";
	struct vrpc_dyn *d;
	int e;

	setenv("VRPC_PROTOC", protoc, 1);
	d = vrpc_dyn_load("tests/proto/echo.proto", NULL, err, sizeof(err));
	e = errno;
	unsetenv("VRPC_PROTOC");
	assert_null(d);
	assert_int_equal(e, want_errno);
	assert_non_null(strstr(err, want_text));
}

static void test_errors(void **state)
{
	char err[256];

	load_fails("/nonexistent/x.proto", ENOENT, "/nonexistent/x.proto");
	load_fails(write_proto("bad.proto", "syntax = \"proto3\";\nmessage M { int32 = 1; }\n"),
		   EINVAL, "bad.proto:2:");
	load_fails(write_proto("grp.proto", "syntax = \"proto2\";\n"
			       "message M { optional group G = 1 { optional int32 a = 2; } }\n"),
		   EINVAL, "group");
	load_fails(write_proto("ext.proto", "syntax = \"proto2\";\n"
			       "message M { extensions 10 to 20; }\n"
			       "extend M { optional int32 e = 10; }\n"),
		   EINVAL, "extensions");
	load_fails(write_proto("imp.proto", "syntax = \"proto3\";\nimport \"missing.proto\";\n"),
		   EINVAL, "missing.proto");
	load_fails_with("/nonexistent/protoc", ENOENT, "protobuf-compiler");
	/* A protoc that fails without a word is still reported. */
	load_fails_with("false", EINVAL, "protoc failed");

	errno = 0;
	assert_null(vrpc_dyn_load_set("\xff\xff\xff", 3, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "FileDescriptorSet"));
	assert_null(vrpc_dyn_load_set("", 0, err, sizeof(err)));
	vrpc_dyn_free(NULL);
}

/* The set protoc writes for @p proto, read into memory. */
static uint8_t *descriptor_set(const char *proto, size_t *len)
{
	char cmd[512], out[128];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(out, sizeof(out), "%s/set.pb", tmpdir);
	snprintf(cmd, sizeof(cmd), "protoc --include_imports --descriptor_set_out=%s -I. %s",
		 out, proto);
	assert_int_equal(system(cmd), 0);
	f = fopen(out, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A set as the builder ships it in an image: the named service loads, one
 * the set lacks is ENOENT, and no prefix or flipped byte of it crashes. */
static void test_set_bytes(void **state)
{
	size_t len, i;
	uint8_t *buf = descriptor_set("tests/proto/echo.proto", &len);
	struct vrpc_dyn *d;
	char err[256];

	(void)state;
	d = vrpc_dyn_load_set(buf, len, err, sizeof(err));
	assert_non_null(d);
	assert_non_null(vrpc_dyn_service(d, "vrpc.test.Echo"));
	errno = 0;
	assert_null(vrpc_dyn_service(d, "vrpc.test.NoSuch"));
	assert_int_equal(errno, ENOENT);
	vrpc_dyn_free(d);
	/* Truncated: every prefix either fails cleanly or is a smaller valid set. */
	for (i = 0; i < len; i++)
		vrpc_dyn_free(vrpc_dyn_load_set(buf, i, err, sizeof(err)));
	/* Hostile: each byte in turn replaced by values that break lengths and tags. */
	for (i = 0; i < len; i++) {
		static const uint8_t evil[] = { 0x00, 0x7f, 0x80, 0xff };
		uint8_t keep = buf[i];
		size_t k;

		for (k = 0; k < sizeof(evil); k++) {
			buf[i] = evil[k];
			vrpc_dyn_free(vrpc_dyn_load_set(buf, len, err, sizeof(err)));
		}
		buf[i] = keep;
	}
	free(buf);
}

/* Every message type holds an init entry point until its set is freed. */
static void test_slots(void **state)
{
	struct vrpc_dyn *sets[VRPC_DYN_MAX_MESSAGES];
	size_t len, n = 0, i;
	uint8_t *buf = descriptor_set("tests/proto/types.proto", &len);
	char err[256];

	for (;;) {
		assert_true(n < VRPC_DYN_MAX_MESSAGES);
		sets[n] = vrpc_dyn_load_set(buf, len, err, sizeof(err));
		if (!sets[n])
			break;
		n++;
	}
	assert_int_equal(errno, ENOSPC);
	assert_non_null(strstr(err, "message types"));
	/* types.proto has 10 message types (maps are messages too). */
	assert_int_equal(n, VRPC_DYN_MAX_MESSAGES / 10);
	vrpc_dyn_free(sets[--n]);
	sets[n] = vrpc_dyn_load_set(buf, len, err, sizeof(err));
	assert_non_null(sets[n]);
	/* Each set's init still finds its own descriptor. */
	for (i = 0; i <= n; i += n / 4 + 1) {
		const ProtobufCMessageDescriptor *d = vrpc_dyn_message(sets[i], "vrpc.test.types.All");
		ProtobufCMessage *m = malloc(d->sizeof_message);

		assert_non_null(m);
		protobuf_c_message_init(d, m);
		assert_ptr_equal(m->descriptor, d);
		free(m);
	}
	for (i = 0; i <= n; i++)
		vrpc_dyn_free(sets[i]);
	free(buf);
}

/* ---------------------------------------------------------------- */
/* A real call: a dynamic client of vrpc.test.Echo                  */
/* ---------------------------------------------------------------- */

struct items {
	char *text[8];
	unsigned n;
};

static void on_item(void *ud, const char *json)
{
	struct items *it = ud;

	if (it->n < 8)
		it->text[it->n] = strdup(json);
	it->n++;
}

static void test_call(void **state)
{
	struct vrpc_dyn *dyn = load("tests/proto/echo.proto");
	const ProtobufCServiceDescriptor *svc = vrpc_dyn_service(dyn, "vrpc.test.Echo");
	struct server_thread st;
	struct vrpc_client *cli;
	struct items it = { 0 };
	ProtobufCMessage *req, *reply = NULL;
	char *json, *msg;

	assert_non_null(svc);
	assert_int_equal(server_thread_start(&st, NULL, NULL), 0);
	cli = vrpc_client_open(st.addr, svc, NULL);
	assert_non_null(cli);

	assert_int_equal(vrpc_client_call_json(cli, "Echo", "{\"text\":\"hi\",\"data\":\"AAEC\"}",
					       NULL, NULL, 5000, &json, &msg), VRPC_OK);
	assert_null(msg);
	assert_non_null(strstr(json, "\"text\": \"hi\""));
	assert_non_null(strstr(json, "\"data\": \"AAEC\""));
	free(json);

	assert_int_equal(vrpc_client_call_json(cli, "vrpc.test.Echo/Count", "{\"count\":3}",
					       on_item, &it, 5000, &json, &msg), VRPC_OK);
	assert_int_equal(it.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		char want[32];

		/* seq counts from 0, which proto3 JSON leaves out. */
		snprintf(want, sizeof(want), i ? "{\"seq\":%u}" : "{}", i);
		if (strcmp(it.text[i], want))
			print_error("item %u: %s\n", i, it.text[i]);
		assert_string_equal(it.text[i], want);
		free(it.text[i]);
	}
	free(json);

	assert_int_equal(vrpc_client_call_json(cli, "Echo", "{\"txt\":1}", NULL, NULL, 5000,
					       &json, &msg), VRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "txt"));
	free(msg);
	assert_int_equal(vrpc_client_call_json(cli, "Fail", "{\"failStatus\":5}", NULL, NULL,
					       5000, &json, &msg), VRPC_NOT_FOUND);
	free(msg);

	/* The binary API with a dynamic request and reply. */
	req = from_json(svc->methods[0].input, "{\"text\":\"bin\"}");
	assert_int_equal(vrpc_client_call(cli, 0, req, &reply, 5000, NULL), VRPC_OK);
	assert_ptr_equal(reply->descriptor, svc->methods[0].output);
	json = to_json(reply);
	assert_non_null(strstr(json, "\"text\":\"bin\""));
	free(json);
	protobuf_c_message_free_unpacked(reply, NULL);
	protobuf_c_message_free_unpacked(req, NULL);

	vrpc_client_close(cli);
	server_thread_stop(&st);
	vrpc_dyn_free(dyn);
}

/* The three spellings protoc-c uses, on names where they differ. */
static void test_c_names(void **state)
{
	static const struct {
		const char *full, *camel, *lower, *upper;
	} cases[] = {
		{ "vapp.hello.v1.Greeter", "Vapp__Hello__V1__Greeter", "vapp__hello__v1__greeter",
		  "VAPP__HELLO__V1__GREETER" },
		{ "my_pkg.HTTPServer", "MyPkg__HTTPServer", "my_pkg__httpserver", "MY_PKG__HTTPSERVER" },
		{ "a.SayHello", "A__SayHello", "a__say_hello", "A__SAY_HELLO" },
		{ "x.fooBar_baz", "X__FooBarBaz", "x__foo_bar_baz", "X__FOO_BAR_BAZ" },
		{ "\xc3\xa9t\xc3\xa9.Ok", "\xc3\xa9t\xc3\xa9__Ok", "\xc3\xa9t\xc3\xa9__ok", "\xc3\xa9T\xc3\xa9__OK" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *c = vrpc_dyn_c_name(cases[i].full, VRPC_DYN_CAMEL);
		char *l = vrpc_dyn_c_name(cases[i].full, VRPC_DYN_LOWER);
		char *u = vrpc_dyn_c_name(cases[i].full, VRPC_DYN_UPPER);

		assert_string_equal(c, cases[i].camel);
		assert_string_equal(l, cases[i].lower);
		assert_string_equal(u, cases[i].upper);
		free(c);
		free(l);
		free(u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_c_names),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_types_cross),
		cmocka_unit_test(test_dyn_proto_cross),
		cmocka_unit_test(test_generated_struct),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_inf_nan_defaults),
		cmocka_unit_test(test_proto3_optional),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_set_bytes),
		cmocka_unit_test(test_call),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
