/* fuzz_json.c - libFuzzer: arbitrary text into vrpc_json_to_message(), and
 * whatever parses must print, parse again and print the same, and survive
 * protobuf-c's pack/unpack unchanged. The first input byte picks the
 * message type (low two bits) and pretty printing (bit 2); the rest is the
 * JSON text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/proto/types.pb-c.h"
#include "tests/proto/types2.pb-c.h"
#include "vrpc_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ProtobufCMessageDescriptor *const types[4] = {
	&vrpc__test__types__all__descriptor,
	&vrpc__test__types2__opt__descriptor,
	&vrpc__test__types__nested__descriptor,
	&vrpc__test__types__not_amap__descriptor,
};

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_json: %s: %s\n", what, detail ? detail : "");
	abort();
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(m);
	buf = malloc(*len + 1);
	if (!buf)
		abort();
	protobuf_c_message_pack(m, buf);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *m1, *m2, *u;
	char err[256], *j1, *j2, *j3;
	uint8_t *p1, *p2;
	size_t l1, l2;
	int flags;

	if (size < 1)
		return 0;
	desc = types[data[0] & 3];
	flags = data[0] & 4 ? VRPC_JSON_PRETTY : 0;
	err[0] = '\0';
	m1 = vrpc_json_to_message(desc, (const char *)data + 1, size - 1, err, sizeof(err));
	if (!m1) {
		if (err[0] == '\0')
			fail("refused without a reason", NULL);
		return 0;
	}
	j1 = vrpc_json_from_message(m1, flags);
	if (!j1)
		fail("cannot print what was parsed", NULL);
	m2 = vrpc_json_to_message(desc, j1, strlen(j1), err, sizeof(err));
	if (!m2)
		fail(err, j1);
	j2 = vrpc_json_from_message(m2, flags);
	if (!j2 || strcmp(j1, j2) != 0)
		fail("printed differently the second time", j2);

	/* Both messages carry the same wire bytes, which unpack and print alike. */
	p1 = pack(m1, &l1);
	p2 = pack(m2, &l2);
	if (l1 != l2 || memcmp(p1, p2, l1) != 0)
		fail("packed differently", j1);
	u = protobuf_c_message_unpack(desc, NULL, l1, p1);
	if (!u)
		fail("protobuf-c cannot unpack it", j1);
	j3 = vrpc_json_from_message(u, flags);
	if (!j3 || strcmp(j1, j3) != 0)
		fail("unpacked copy prints differently", j3);

	free(j1);
	free(j2);
	free(j3);
	free(p1);
	free(p2);
	protobuf_c_message_free_unpacked(u, NULL);
	protobuf_c_message_free_unpacked(m1, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
	return 0;
}
