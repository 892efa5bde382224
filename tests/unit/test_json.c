/*
 * test_json.c - protobuf-c messages to and from JSON (vrpc_json.h): round
 * trips of every field kind, exact output, every error with its text,
 * hostile input. Run under SAN=1 too: LeakSanitizer checks that failed
 * parses free what they built.
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

#include <cmocka.h>

#include "tests/proto/types.pb-c.h"
#include "tests/proto/types2.pb-c.h"
#include "vrpc_json.h"

#define ALL (&vrpc__test__types__all__descriptor)
#define OPT (&vrpc__test__types2__opt__descriptor)

static ProtobufCMessage *parse(const ProtobufCMessageDescriptor *desc, const char *json)
{
	char err[256] = "";
	ProtobufCMessage *m = vrpc_json_to_message(desc, json, strlen(json), err, sizeof(err));

	if (!m)
		print_error("unexpected error: %s\n  for %s\n", err, json);
	assert_non_null(m);
	assert_string_equal(err, "");
	return m;
}

static char *print(const ProtobufCMessage *m, int flags)
{
	char *s = vrpc_json_from_message(m, flags);

	assert_non_null(s);
	return s;
}

/* JSON in, JSON out: @p want is the exact text printed for @p in. */
static void check_reprint(const ProtobufCMessageDescriptor *desc, const char *in,
			  const char *want)
{
	ProtobufCMessage *m = parse(desc, in);
	char *out = print(m, 0);

	assert_string_equal(out, want);
	free(out);
	protobuf_c_message_free_unpacked(m, NULL);
}

static void check_error(const ProtobufCMessageDescriptor *desc, const char *in,
			const char *want)
{
	char err[256] = "unset";

	errno = 0;
	assert_null(vrpc_json_to_message(desc, in, strlen(in), err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, want);
}

/* The packed bytes of @p m, to compare two messages field by field. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

/* Message -> JSON -> message gives the same bytes on the wire; and
 * printing the copy gives the same JSON. */
static void check_message_roundtrip(const ProtobufCMessage *m)
{
	char *json = print(m, 0), *json2;
	ProtobufCMessage *copy = parse(m->descriptor, json);
	uint8_t *a, *b;
	size_t alen, blen;

	a = pack(m, &alen);
	b = pack(copy, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	json2 = print(copy, 0);
	assert_string_equal(json, json2);
	free(a);
	free(b);
	free(json);
	free(json2);
	protobuf_c_message_free_unpacked(copy, NULL);
}

static void test_scalars_roundtrip(void **state)
{
	Vrpc__Test__Types__All m = VRPC__TEST__TYPES__ALL__INIT;
	Vrpc__Test__Types__Nested n = VRPC__TEST__TYPES__NESTED__INIT;
	uint8_t bytes[] = { 0, 1, 2, 0xfe, 0xff };

	n.id = 7;
	n.label = "seven";
	m.f_int32 = INT32_MIN;
	m.f_int64 = INT64_MIN;
	m.f_uint32 = UINT32_MAX;
	m.f_uint64 = UINT64_MAX;
	m.f_sint32 = -1;
	m.f_sint64 = INT64_MAX;
	m.f_fixed32 = 123456789;
	m.f_fixed64 = 1ull << 63;
	m.f_sfixed32 = INT32_MAX;
	m.f_sfixed64 = -(1ll << 53) - 1;
	m.f_float = 3.4028235e38f;
	m.f_double = 2.2250738585072014e-308;
	m.f_bool = 1;
	m.f_string = "tab\t quote\" back\\ slash/ é 日本 \U0001F600";
	m.f_bytes.len = sizeof(bytes);
	m.f_bytes.data = bytes;
	m.f_enum = VRPC__TEST__TYPES__COLOR__BLUE;
	m.f_nested = &n;
	m.snake_case_2_name = 5;
	check_message_roundtrip(&m.base);

	/* Each float and double value class. */
	m.f_float = 0.1f;
	m.f_double = 0.1;
	check_message_roundtrip(&m.base);
	m.f_float = -1e-45f;
	m.f_double = 1e308;
	check_message_roundtrip(&m.base);
	m.f_float = NAN;
	m.f_double = -INFINITY;
	check_message_roundtrip(&m.base);
	m.f_float = INFINITY;
	m.f_double = NAN;
	check_message_roundtrip(&m.base);
}

static void test_repeated_roundtrip(void **state)
{
	Vrpc__Test__Types__All m = VRPC__TEST__TYPES__ALL__INIT;
	Vrpc__Test__Types__Nested n1 = VRPC__TEST__TYPES__NESTED__INIT, n2 = n1;
	Vrpc__Test__Types__Nested *ns[] = { &n1, &n2 };
	int32_t i32[] = { 0, -1, INT32_MAX, INT32_MIN };
	int64_t i64[] = { 0, -1, INT64_MAX, INT64_MIN };
	uint32_t u32[] = { 0, 1, UINT32_MAX };
	uint64_t u64[] = { 0, 1, UINT64_MAX };
	float fl[] = { 0, -0.0f, 1.5f, NAN, -INFINITY };
	double db[] = { 0, -0.0, 1e-300, NAN, INFINITY };
	protobuf_c_boolean bo[] = { 1, 0, 1 };
	char *st[] = { "", "a", "\x01\x1f" };
	ProtobufCBinaryData by[] = { { 0, NULL }, { 1, (uint8_t *)"x" }, { 3, (uint8_t *)"\xff\0\x80" } };
	Vrpc__Test__Types__Color en[] = { 0, 1, 2, -3, 99 };

	n2.id = 2;
	n2.child = &n1;
	m.n_r_int32 = m.n_r_sint32 = m.n_r_sfixed32 = 4;
	m.r_int32 = m.r_sint32 = m.r_sfixed32 = i32;
	m.n_r_int64 = m.n_r_sint64 = m.n_r_sfixed64 = 4;
	m.r_int64 = m.r_sint64 = m.r_sfixed64 = i64;
	m.n_r_uint32 = m.n_r_fixed32 = 3;
	m.r_uint32 = m.r_fixed32 = u32;
	m.n_r_uint64 = m.n_r_fixed64 = 3;
	m.r_uint64 = m.r_fixed64 = u64;
	m.n_r_float = 5;
	m.r_float = fl;
	m.n_r_double = 5;
	m.r_double = db;
	m.n_r_bool = 3;
	m.r_bool = bo;
	m.n_r_string = 3;
	m.r_string = st;
	m.n_r_bytes = 3;
	m.r_bytes = by;
	m.n_r_enum = 5;
	m.r_enum = en;
	m.n_r_nested = 2;
	m.r_nested = ns;
	check_message_roundtrip(&m.base);
}

static void test_maps_roundtrip(void **state)
{
	Vrpc__Test__Types__All m = VRPC__TEST__TYPES__ALL__INIT;
	Vrpc__Test__Types__All__MStrIntEntry e1 = VRPC__TEST__TYPES__ALL__MSTR_INT_ENTRY__INIT;
	Vrpc__Test__Types__All__MStrIntEntry e2 = e1, *es[] = { &e1, &e2 };
	Vrpc__Test__Types__All__MInt64NestedEntry n1 =
		VRPC__TEST__TYPES__ALL__MINT64_NESTED_ENTRY__INIT;
	Vrpc__Test__Types__All__MInt64NestedEntry n2 = n1, *nes[] = { &n1, &n2 };
	Vrpc__Test__Types__Nested nv = VRPC__TEST__TYPES__NESTED__INIT;
	Vrpc__Test__Types__All__MBoolStrEntry b1 = VRPC__TEST__TYPES__ALL__MBOOL_STR_ENTRY__INIT;
	Vrpc__Test__Types__All__MBoolStrEntry b2 = b1, *bs[] = { &b1, &b2 };
	Vrpc__Test__Types__All__MUint32EnumEntry u1 =
		VRPC__TEST__TYPES__ALL__MUINT32_ENUM_ENTRY__INIT, *us[] = { &u1 };
	Vrpc__Test__Types__All__MSint64BytesEntry s1 =
		VRPC__TEST__TYPES__ALL__MSINT64_BYTES_ENTRY__INIT, *ss[] = { &s1 };

	e1.key = "one";
	e1.value = 1;
	e2.key = "";
	e2.value = -2;
	n1.key = INT64_MIN;
	n1.value = &nv;
	nv.label = "v";
	n2.key = 5;
	n2.value = &nv;
	b1.key = 1;
	b1.value = "yes";
	b2.key = 0;
	b2.value = "no";
	u1.key = UINT32_MAX;
	u1.value = VRPC__TEST__TYPES__COLOR__GREEN;
	s1.key = -9;
	s1.value.len = 2;
	s1.value.data = (uint8_t *)"hi";
	m.n_m_str_int = 2;
	m.m_str_int = es;
	m.n_m_int64_nested = 2;
	m.m_int64_nested = nes;
	m.n_m_bool_str = 2;
	m.m_bool_str = bs;
	m.n_m_uint32_enum = 1;
	m.m_uint32_enum = us;
	m.n_m_sint64_bytes = 1;
	m.m_sint64_bytes = ss;
	check_message_roundtrip(&m.base);
}

static void test_oneof_roundtrip(void **state)
{
	Vrpc__Test__Types__All m = VRPC__TEST__TYPES__ALL__INIT;
	Vrpc__Test__Types__Nested n = VRPC__TEST__TYPES__NESTED__INIT;
	char *s;

	m.choice_case = VRPC__TEST__TYPES__ALL__CHOICE_O_NESTED;
	m.o_nested = &n;
	s = print(&m.base, 0);
	assert_string_equal(s, "{\"oNested\":{}}");
	free(s);
	check_message_roundtrip(&m.base);
	/* A oneof member holding its default is still the set member. */
	m.choice_case = VRPC__TEST__TYPES__ALL__CHOICE_O_INT32;
	m.o_int32 = 0;
	s = print(&m.base, 0);
	assert_string_equal(s, "{\"oInt32\":0}");
	free(s);
	check_message_roundtrip(&m.base);
	m.choice_case = VRPC__TEST__TYPES__ALL__CHOICE_O_BYTES;
	m.o_bytes.len = 0;
	m.o_bytes.data = NULL;
	check_message_roundtrip(&m.base);
	check_reprint(ALL, "{\"oString\":\"\"}", "{\"oString\":\"\"}");
	check_reprint(ALL, "{\"o_enum\":\"RED\",\"oInt32\":null}", "{\"oEnum\":\"RED\"}");
}

static void test_exact_output(void **state)
{
	Vrpc__Test__Types__All m = VRPC__TEST__TYPES__ALL__INIT;
	Vrpc__Test__Types__Rule r1 = VRPC__TEST__TYPES__RULE__INIT, r2 = r1, *rs[] = { &r1, &r2 };
	char *s;

	/* Defaults of a proto3 message print nothing. */
	s = print(&m.base, 0);
	assert_string_equal(s, "{}");
	free(s);
	s = print(&m.base, VRPC_JSON_PRETTY);
	assert_string_equal(s, "{\n}"); /* json-c's way */
	free(s);

	r1.port = 22;
	r1.action = "allow";
	r2.port = 65535;
	m.n_rules = 2;
	m.rules = rs;
	m.f_int64 = -3;
	m.f_uint64 = 10;
	m.f_bytes.len = 4;
	m.f_bytes.data = (uint8_t *)"\xfb\xff\xbf\x00";
	m.f_enum = 42; /* no name: printed as a number */
	m.f_double = 1.0;
	m.f_float = -2.5f;
	s = print(&m.base, 0);
	assert_string_equal(s, "{\"fInt64\":\"-3\",\"fUint64\":\"10\",\"fFloat\":-2.5,"
			       "\"fDouble\":1,\"fBytes\":\"+/+/AA==\",\"fEnum\":42,"
			       "\"rules\":[{\"port\":22,\"action\":\"allow\"},{\"port\":65535}]}");
	free(s);
	s = print(&m.base, VRPC_JSON_PRETTY);
	assert_string_equal(s, "{\n"
			       "  \"fInt64\": \"-3\",\n"
			       "  \"fUint64\": \"10\",\n"
			       "  \"fFloat\": -2.5,\n"
			       "  \"fDouble\": 1,\n"
			       "  \"fBytes\": \"+/+/AA==\",\n"
			       "  \"fEnum\": 42,\n"
			       "  \"rules\": [\n"
			       "    {\n"
			       "      \"port\": 22,\n"
			       "      \"action\": \"allow\"\n"
			       "    },\n"
			       "    {\n"
			       "      \"port\": 65535\n"
			       "    }\n"
			       "  ]\n"
			       "}");
	free(s);
}

static void test_input_forms(void **state)
{
	/* Original names and JSON names; numbers as strings and exponents. */
	check_reprint(ALL, "{\"f_int32\":\"-12\",\"fUint32\":1e3,\"f_int64\":12,"
			   "\"fUint64\":\"18446744073709551615\",\"f_sint64\":\"-9223372036854775808\","
			   "\"fFixed32\":\"4294967295\",\"fSfixed32\":-2147483648,\"fSint32\":2.0,"
			   "\"fFixed64\":\"1e2\"}",
		      "{\"fInt32\":-12,\"fInt64\":\"12\",\"fUint32\":1000,"
		      "\"fUint64\":\"18446744073709551615\",\"fSint32\":2,"
		      "\"fSint64\":\"-9223372036854775808\",\"fFixed32\":4294967295,"
		      "\"fFixed64\":\"100\",\"fSfixed32\":-2147483648}");
	/* Floats from strings, special values, shortest exact printing. */
	check_reprint(ALL, "{\"fFloat\":\"1.5\",\"fDouble\":\"-Infinity\","
			   "\"rFloat\":[0.1,\"NaN\",3.4028235e38,-0.0],\"rDouble\":[0.1,1e-320,-0]}",
		      "{\"fFloat\":1.5,\"fDouble\":\"-Infinity\","
		      "\"rFloat\":[0.1,\"NaN\",3.4028235e+38,-0.0],\"rDouble\":[0.1,1e-320,0]}");
	/* Enums by name or number; bytes standard, URL-safe, unpadded. */
	check_reprint(ALL, "{\"fEnum\":2,\"rEnum\":[\"RED\",-3,7],"
			   "\"rBytes\":[\"-_-_AA\",\"+/+/AA==\",\"\",\"YQ\"]}",
		      "{\"fEnum\":\"GREEN\",\"rBytes\":[\"+/+/AA==\",\"+/+/AA==\",\"\",\"YQ==\"],"
		      "\"rEnum\":[\"RED\",\"BLUE\",7]}");
	/* null means unset, everywhere; defaults are not printed. */
	check_reprint(ALL, "{\"fInt32\":null,\"fNested\":null,\"rInt32\":null,\"mStrInt\":null,"
			   "\"fString\":\"\",\"fBool\":false,\"fNested\":{},\"rString\":[]}",
		      "{\"fNested\":{}}");
	/* Map keys of each kind; a map is an object, a look-alike stays an array. */
	check_reprint(ALL, "{\"mBoolStr\":{\"false\":\"f\",\"true\":\"t\"},"
			   "\"m_uint32_enum\":{\"4294967295\":\"BLUE\",\"0\":0},"
			   "\"mInt64Nested\":{\"-1\":{\"id\":1},\"2\":{}},"
			   "\"mSint64Bytes\":{\"-5\":\"AQID\"},\"mStrInt\":{\"\":0,\"k\\\"\":-1}}",
		      "{\"mStrInt\":{\"\":0,\"k\\\"\":-1},"
		      "\"mInt64Nested\":{\"-1\":{\"id\":1},\"2\":{}},"
		      "\"mBoolStr\":{\"false\":\"f\",\"true\":\"t\"},"
		      "\"mUint32Enum\":{\"4294967295\":\"BLUE\",\"0\":\"COLOR_UNSPECIFIED\"},"
		      "\"mSint64Bytes\":{\"-5\":\"AQID\"}}");
	check_reprint(&vrpc__test__types__not_amap__descriptor,
		      "{\"entries\":[{\"key\":\"a\",\"value\":1}]}",
		      "{\"entries\":[{\"key\":\"a\",\"value\":1}]}");
	/* Whitespace around the object is fine. */
	check_reprint(ALL, " \n\t{ \"snakeCase2Name\" : 3 }\n ", "{\"snakeCase2Name\":3}");
	check_reprint(ALL, "{\"snake_case_2_name\":-3}", "{\"snakeCase2Name\":-3}");
}

/* One table of bad inputs and the error each must give: long as the list is. */
static void test_errors(void **state)
{
	static const struct {
		const char *in, *err;
	} cases[] = {
		{ "{\"rules\":[{\"port\":1},{},{\"port\":\"x\"}]}",
		  "at .rules[2].port: expected integer 0..4294967295, got \"x\"" },
		{ "{\"fUint32\":-1}", "at .fUint32: expected integer 0..4294967295, got -1" },
		{ "{\"f_int32\":2147483648}",
		  "at .f_int32: expected integer -2147483648..2147483647, got 2147483648" },
		{ "{\"fInt32\":1.5}",
		  "at .fInt32: expected integer -2147483648..2147483647, got 1.5" },
		{ "{\"fInt32\":true}",
		  "at .fInt32: expected integer -2147483648..2147483647, got true" },
		{ "{\"fInt32\":\" 1\"}",
		  "at .fInt32: expected integer -2147483648..2147483647, got \" 1\"" },
		{ "{\"fInt32\":\"0x10\"}",
		  "at .fInt32: expected integer -2147483648..2147483647, got \"0x10\"" },
		{ "{\"fInt64\":\"9223372036854775808\"}",
		  "at .fInt64: expected integer -9223372036854775808..9223372036854775807, "
		  "got \"9223372036854775808\"" },
		{ "{\"fInt64\":9223372036854775808}",
		  "at .fInt64: expected integer -9223372036854775808..9223372036854775807, "
		  "got 9223372036854775808" },
		{ "{\"fUint64\":\"18446744073709551616\"}",
		  "at .fUint64: expected integer 0..18446744073709551615, got \"18446744073709551616\"" },
		/* json-c clamps this literal to 2^64-1: refused, not clamped. */
		{ "{\"fUint64\":99999999999999999999}",
		  "at .fUint64: expected integer 0..18446744073709551615, got 18446744073709551615" },
		{ "{\"fUint64\":\"-1\"}",
		  "at .fUint64: expected integer 0..18446744073709551615, got \"-1\"" },
		{ "{\"fSint32\":-2147483649}",
		  "at .fSint32: expected integer -2147483648..2147483647, got -2147483649" },
		{ "{\"fSfixed32\":\"2147483648\"}",
		  "at .fSfixed32: expected integer -2147483648..2147483647, got \"2147483648\"" },
		{ "{\"fFixed32\":4294967296}",
		  "at .fFixed32: expected integer 0..4294967295, got 4294967296" },
		{ "{\"fFixed64\":-1}", "at .fFixed64: expected integer 0..18446744073709551615, got -1" },
		{ "{\"fSint64\":\"-9223372036854775809\"}",
		  "at .fSint64: expected integer -9223372036854775808..9223372036854775807, "
		  "got \"-9223372036854775809\"" },
		{ "{\"fSfixed64\":1e19}",
		  "at .fSfixed64: expected integer -9223372036854775808..9223372036854775807, got 1e19" },
		{ "{\"fUint32\":\"\"}", "at .fUint32: expected integer 0..4294967295, got \"\"" },
		{ "{\"fUint32\":\"-\"}", "at .fUint32: expected integer 0..4294967295, got \"-\"" },
		{ "{\"fDouble\":1e400}", "at .fDouble: expected double, got 1e400" },
		{ "{\"fDouble\":-1e400}", "at .fDouble: expected double, got -1e400" },
		{ "{\"fFloat\":1e39}", "at .fFloat: expected float, got 1e39" },
		{ "{\"fFloat\":\"1e39\"}", "at .fFloat: expected float, got \"1e39\"" },
		{ "{\"fDouble\":\"inf\"}", "at .fDouble: expected double, got \"inf\"" },
		{ "{\"fDouble\":\"1.0x\"}", "at .fDouble: expected double, got \"1.0x\"" },
		{ "{\"fDouble\":NaN}", "at .fDouble: expected double, got NaN" },
		{ "{\"fDouble\":[]}", "at .fDouble: expected double, got an array" },
		{ "{\"fBool\":\"true\"}", "at .fBool: expected true or false, got \"true\"" },
		{ "{\"fBool\":1}", "at .fBool: expected true or false, got 1" },
		{ "{\"fString\":5}", "at .fString: expected string, got 5" },
		{ "{\"fString\":\"a\\u0000b\"}", "at .fString: string holds a NUL character (\\u0000)" },
		{ "{\"fBytes\":\"a\"}", "at .fBytes: invalid base64, got \"a\"" },
		{ "{\"fBytes\":\"ab=c\"}", "at .fBytes: invalid base64, got \"ab=c\"" },
		{ "{\"fBytes\":\"ab c\"}", "at .fBytes: invalid base64, got \"ab c\"" },
		{ "{\"fBytes\":\"abc==\"}", "at .fBytes: invalid base64, got \"abc==\"" },
		{ "{\"fBytes\":{}}", "at .fBytes: expected base64 string, got an object" },
		{ "{\"fEnum\":\"PURPLE\"}",
		  "at .fEnum: unknown value \"PURPLE\" of enum vrpc.test.types.Color" },
		{ "{\"fEnum\":2147483648}",
		  "at .fEnum: expected integer -2147483648..2147483647, got 2147483648" },
		{ "{\"fEnum\":false}",
		  "at .fEnum: expected a name of enum vrpc.test.types.Color or an integer, got false" },
		{ "{\"fNested\":{\"id\":1,\"child\":{\"lable\":\"x\"}}}",
		  "at .fNested.child: unknown field \"lable\" in message vrpc.test.types.Nested" },
		{ "{\"fNested\":[]}",
		  "at .fNested: expected an object (message vrpc.test.types.Nested), got an array" },
		{ "{\"rInt32\":[1,null]}",
		  "at .rInt32[1]: expected integer -2147483648..2147483647, got null" },
		{ "{\"rInt32\":{}}", "at .rInt32: expected an array, got an object" },
		{ "{\"rInt32\":1}", "at .rInt32: expected an array, got 1" },
		{ "{\"mStrInt\":[]}", "at .mStrInt: expected an object (a map), got an array" },
		{ "{\"mStrInt\":{\"a\":\"b\"}}",
		  "at .mStrInt[\"a\"]: expected integer -2147483648..2147483647, got \"b\"" },
		{ "{\"mStrInt\":{\"a\":null}}", "at .mStrInt[\"a\"]: expected a map value, got null" },
		{ "{\"mInt64Nested\":{\"x\":{}}}",
		  "at .mInt64Nested[\"x\"]: expected integer -9223372036854775808..9223372036854775807, "
		  "got \"x\"" },
		/* One key, two spellings: the map would hold it twice. */
		{ "{\"mUint32Enum\":{\"7\":2,\"07\":1}}",
		  "at .mUint32Enum[\"07\"]: map key not in canonical form, expected \"7\"" },
		{ "{\"mInt64Nested\":{\"-0\":{}}}",
		  "at .mInt64Nested[\"-0\"]: map key not in canonical form, expected \"0\"" },
		{ "{\"mSint64Bytes\":{\"1e0\":\"\"}}",
		  "at .mSint64Bytes[\"1e0\"]: map key not in canonical form, expected \"1\"" },
		{ "{\"mBoolStr\":{\"yes\":\"\"}}",
		  "at .mBoolStr[\"yes\"]: expected true or false, got \"yes\"" },
		{ "{\"oInt32\":1,\"o_string\":\"a\"}",
		  "at .o_string: \"o_string\" and \"o_int32\" are in the same oneof: set only one" },
		{ "{\"fInt32\":1,\"f_int32\":2}",
		  "at .: field \"f_int32\" given twice (as \"fInt32\" and \"f_int32\")" },
		{ "{\"nope\":1}", "at .: unknown field \"nope\" in message vrpc.test.types.All" },
		{ "{\"FInt32\":1}", "at .: unknown field \"FInt32\" in message vrpc.test.types.All" },
		{ "[]", "at .: expected an object (message vrpc.test.types.All), got an array" },
		{ "null", "at .: expected an object (message vrpc.test.types.All), got null" },
		{ "", "JSON text ends too early" },
		{ "{\"a\":", "JSON text ends too early" },
		{ "{} {}", "JSON error at offset 3: unexpected character" },
		{ "{\"fInt32\":01}", "JSON error at offset 12: number expected" },
		{ "{\"fString\":\"\xff\"}", "JSON error at offset 12: invalid utf-8 string" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_error(ALL, cases[i].in, cases[i].err);
}

static void test_proto2(void **state)
{
	Vrpc__Test__Types2__Opt *o;
	char *s;

	check_error(OPT, "{\"reqInt\":1}", "at .: missing required field \"req_str\"");
	check_error(OPT, "{\"reqInt\":1,\"reqStr\":null}",
		    "at .: missing required field \"req_str\"");
	check_error(OPT, "{\"reqInt\":1,\"reqStr\":\"\",\"optInner\":{}}",
		    "at .optInner: missing required field \"n\"");
	check_error(OPT, "{\"reqInt\":1,\"reqStr\":\"\",\"pInt\":1,\"pStr\":\"\"}",
		    "at .pStr: \"p_str\" and \"p_int\" are in the same oneof: set only one");

	/* Required fields print even when zero; unset optionals do not, even
	 * though their defaults (42, "dflt", MODE_ON) are in the struct. */
	o = (Vrpc__Test__Types2__Opt *)parse(OPT, "{\"reqInt\":0,\"reqStr\":\"\"}");
	assert_int_equal(o->opt_int, 42);
	assert_false(o->has_opt_int);
	assert_string_equal(o->opt_str, "dflt");
	s = print(&o->base, 0);
	assert_string_equal(s, "{\"reqInt\":0,\"reqStr\":\"\"}");
	free(s);
	protobuf_c_message_free_unpacked(&o->base, NULL);

	/* Optionals set to their defaults or zero print: has_ is what counts. */
	o = (Vrpc__Test__Types2__Opt *)parse(OPT,
		"{\"reqInt\":1,\"reqStr\":\"r\",\"optInt\":42,\"optStr\":\"dflt\","
		"\"optBytes\":\"\",\"optBool\":false,\"optMode\":\"MODE_OFF\","
		"\"optInner\":{\"n\":0},\"optDouble\":0,\"optU64\":\"0\",\"rInt\":[0],"
		"\"mInner\":{\"k\":{\"n\":-1}},\"pStr\":\"\"}");
	assert_true(o->has_opt_int);
	assert_true(o->has_opt_bytes);
	assert_true(o->has_opt_bool);
	assert_true(o->has_opt_mode);
	assert_true(o->has_opt_double);
	assert_true(o->has_opt_u64);
	assert_int_equal(o->pick_case, VRPC__TEST__TYPES2__OPT__PICK_P_STR);
	s = print(&o->base, 0);
	assert_string_equal(s, "{\"reqInt\":1,\"reqStr\":\"r\",\"optInt\":42,\"optStr\":\"dflt\","
			       "\"optBytes\":\"\",\"optBool\":false,\"optMode\":\"MODE_OFF\","
			       "\"optInner\":{\"n\":0},\"optDouble\":0,\"optU64\":\"0\","
			       "\"rInt\":[0],\"mInner\":{\"k\":{\"n\":-1}},\"pStr\":\"\"}");
	check_message_roundtrip(&o->base);
	free(s);
	protobuf_c_message_free_unpacked(&o->base, NULL);
}

/* The parsed message is built as protobuf-c's unpacker builds one: pack it,
 * unpack it, and both free the same way and print the same. */
static void test_unpacked_equivalent(void **state)
{
	ProtobufCMessage *m = parse(ALL,
		"{\"fString\":\"s\",\"fBytes\":\"AAEC\",\"fNested\":{\"child\":{\"label\":\"x\"}},"
		"\"rString\":[\"a\",\"b\"],\"rBytes\":[\"AA==\"],\"rNested\":[{},{\"id\":1}],"
		"\"mStrInt\":{\"a\":1},\"mInt64Nested\":{\"3\":{\"label\":\"n\"}},"
		"\"oNested\":{\"id\":9}}");
	ProtobufCMessage *u;
	uint8_t *buf;
	size_t len;
	char *a, *b;

	buf = pack(m, &len);
	u = protobuf_c_message_unpack(ALL, NULL, len, buf);
	assert_non_null(u);
	a = print(m, 0);
	b = print(u, 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(buf);
	protobuf_c_message_free_unpacked(u, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

static char *repeat(const char *open, size_t n, const char *mid, const char *close)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close), i;
	char *s = malloc(n * (lo + lc) + lm + 1), *p = s;

	assert_non_null(s);
	for (i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void test_depth(void **state)
{
	char err[256], big[1024], want[1024], *s, *out;
	ProtobufCMessage *m;

	/* 10000 levels of arrays and of messages: refused early, no recursion. */
	s = repeat("[", 10000, "", "]");
	assert_null(vrpc_json_to_message(ALL, s, strlen(s), err, sizeof(err)));
	assert_string_equal(err, "JSON error at offset 65: nested deeper than 64 levels");
	free(s);
	s = repeat("{\"child\":", 10000, "{}", "}");
	assert_null(vrpc_json_to_message(&vrpc__test__types__nested__descriptor, s, strlen(s),
					 err, sizeof(err)));
	assert_string_equal(err, "JSON error at offset 585: nested deeper than 64 levels");
	free(s);

	/* An error at the deepest level names the whole path. */
	s = repeat("{\"child\":", 63, "{\"id\":\"x\"}", "}");
	assert_null(vrpc_json_to_message(&vrpc__test__types__nested__descriptor, s, strlen(s),
					 big, sizeof(big)));
	free(s);
	s = repeat(".child", 63, "", "");
	snprintf(want, sizeof(want), "at %s.id: expected integer -2147483648..2147483647, "
		 "got \"x\"", s);
	assert_string_equal(big, want);
	free(s);

	/* Exactly 64 levels is fine, and prints back the same. */
	s = repeat("{\"child\":", 63, "{\"id\":1}", "}");
	m = parse(&vrpc__test__types__nested__descriptor, s);
	out = print(m, 0);
	assert_string_equal(out, s);
	free(out);
	free(s);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* A peer can send messages nested deeper than JSON output allows. */
static void test_encode_limits(void **state)
{
	Vrpc__Test__Types__Nested ns[VRPC_JSON_MAX_DEPTH + 1];
	Vrpc__Test__Types__All m = VRPC__TEST__TYPES__ALL__INIT;
	Vrpc__Test__Types__Rule *null_rule = NULL;
	char *s;
	int i;

	for (i = 0; i <= VRPC_JSON_MAX_DEPTH; i++) {
		vrpc__test__types__nested__init(&ns[i]);
		ns[i].child = i < VRPC_JSON_MAX_DEPTH ? &ns[i + 1] : NULL;
	}
	errno = 0;
	assert_null(vrpc_json_from_message(&ns[0].base, 0));
	assert_int_equal(errno, E2BIG);
	s = vrpc_json_from_message(&ns[1].base, 0);
	assert_non_null(s);
	free(s);

	/* Malformed messages: a NULL in a repeated message field. */
	m.n_rules = 1;
	m.rules = &null_rule;
	errno = 0;
	assert_null(vrpc_json_from_message(&m.base, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(vrpc_json_from_message(NULL, 0));
	assert_int_equal(errno, EINVAL);

	/* Bytes that are not UTF-8 in a string print as U+FFFD. */
	vrpc__test__types__all__init(&m);
	m.f_string = "a\xff" "b\xe2\x82";
	s = print(&m.base, 0);
	assert_string_equal(s, "{\"fString\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\"}");
	free(s);
}

static void test_hostile(void **state)
{
	size_t big = 1 << 20, i;
	char *s = malloc(big + 64), err[256];
	ProtobufCMessage *m;

	/* A 1 MiB string and a 1 MiB base64 value. */
	assert_non_null(s);
	i = (size_t)sprintf(s, "{\"fString\":\"");
	memset(s + i, 'A', big);
	sprintf(s + i + big, "\",\"fBytes\":\"%s\"}", "QUJD");
	m = parse(ALL, s);
	assert_int_equal(strlen(((Vrpc__Test__Types__All *)m)->f_string), big);
	protobuf_c_message_free_unpacked(m, NULL);
	i = (size_t)sprintf(s, "{\"fBytes\":\"");
	memset(s + i, 'A', big);
	strcpy(s + i + big, "\"}");
	m = parse(ALL, s);
	assert_int_equal(((Vrpc__Test__Types__All *)m)->f_bytes.len, big / 4 * 3);
	protobuf_c_message_free_unpacked(m, NULL);

	/* Long unknown keys and map keys are cut in the message. */
	memcpy(s, "{\"", 2);
	memset(s + 2, 'k', 100);
	strcpy(s + 102, "\":1}");
	check_error(ALL, s, "at .: unknown field \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\" "
			    "in message vrpc.test.types.All");
	free(s);

	check_error(ALL, "{\"mStrInt\":{\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\":\"v\"}}",
		    "at .mStrInt[\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...\"]: "
		    "expected integer -2147483648..2147483647, got \"v\"");

	/* A failure deep inside maps and arrays frees what was built. */
	check_error(ALL, "{\"mInt64Nested\":{\"1\":{\"child\":{\"label\":\"a\"}},\"2\":{\"child\":"
			 "{\"child\":{\"id\":\"z\"}}}},\"rString\":[\"x\"]}",
		    "at .mInt64Nested[\"2\"].child.child.id: expected integer "
		    "-2147483648..2147483647, got \"z\"");
	check_error(ALL, "{\"rString\":[\"a\",\"b\",3]}", "at .rString[2]: expected string, got 3");
	check_error(ALL, "{\"oNested\":{\"child\":{\"id\":true}}}",
		    "at .oNested.child.id: expected integer -2147483648..2147483647, got true");

	/* No error buffer, or a tiny one. */
	errno = 0;
	assert_null(vrpc_json_to_message(ALL, "{\"x\":1}", 7, NULL, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(vrpc_json_to_message(ALL, "{\"x\":1}", 7, err, 4));
	assert_string_equal(err, "at ");
	/* The length bounds the text: no NUL needed, none read past. */
	m = vrpc_json_to_message(ALL, "{}garbage", 2, err, sizeof(err));
	assert_non_null(m);
	protobuf_c_message_free_unpacked(m, NULL);
	assert_null(vrpc_json_to_message(ALL, "{}\0", 3, err, sizeof(err)));
	assert_null(vrpc_json_to_message(NULL, "{}", 2, err, sizeof(err)));
}

static void test_find_method(void **state)
{
	const ProtobufCServiceDescriptor *svc = &vrpc__test__types__types_service__descriptor;

	assert_int_equal(vrpc_json_find_method(svc, "Echo"), 0);
	assert_int_equal(vrpc_json_find_method(svc, "Ping"), 1);
	assert_int_equal(vrpc_json_find_method(svc, "Watch"), 2);
	assert_int_equal(vrpc_json_find_method(svc, "vrpc.test.types.TypesService.Ping"), 1);
	assert_int_equal(vrpc_json_find_method(svc, "vrpc.test.types.TypesService/Watch"), 2);
	assert_int_equal(vrpc_json_find_method(svc, "/vrpc.test.types.TypesService/Echo"), 0);
	assert_int_equal(vrpc_json_find_method(svc, "TypesService.Ping"), 1);
	assert_int_equal(vrpc_json_find_method(svc, "ping"), -ENOENT);
	assert_int_equal(vrpc_json_find_method(svc, "Other.Ping"), -ENOENT);
	assert_int_equal(vrpc_json_find_method(svc, "vrpc.test.types.TypesService."), -ENOENT);
	assert_int_equal(vrpc_json_find_method(svc, ""), -ENOENT);
	assert_int_equal(vrpc_json_find_method(svc, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_roundtrip),
		cmocka_unit_test(test_repeated_roundtrip),
		cmocka_unit_test(test_maps_roundtrip),
		cmocka_unit_test(test_oneof_roundtrip),
		cmocka_unit_test(test_exact_output),
		cmocka_unit_test(test_input_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_proto2),
		cmocka_unit_test(test_unpacked_equivalent),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_find_method),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
