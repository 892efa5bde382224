/*
 * dyn_init.c - message_init for descriptors built at run time.
 *
 * protobuf-c calls desc->message_init(msg) with the message alone, before
 * msg->descriptor is set, and every user (protobuf_c_message_unpack, the
 * JSON decoder) calls it: so each message type needs an entry point of its
 * own that knows its descriptor. C cannot make functions at run time
 * without executable memory, so there is a fixed table of them, each
 * reading its descriptor from a slot; a set takes one slot per message
 * type and gives it back when it is freed.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "dyn_priv.h"

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
/* Written under the lock before a descriptor is handed out, cleared after
 * its set is freed: a caller that uses a descriptor holds its set alive, so
 * it never reads a slot while that slot changes. */
static const struct dyn_msg *slots[VRPC_DYN_MAX_MESSAGES];

void dyn_message_init(const struct dyn_msg *m, ProtobufCMessage *msg)
{
	unsigned i;

	memset(msg, 0, m->d.sizeof_message);
	msg->descriptor = &m->d;
	for (i = 0; i < m->n_ops; i++)
		memcpy((char *)msg + m->ops[i].offset, m->ops[i].src, m->ops[i].size);
}

/* Entry point number a*256 + b*64 + c*16 + d*4 + e, digits in base 4. */
#define SLOT(a, b, c, d, e)                                                    \
	static void init_##a##b##c##d##e(ProtobufCMessage *msg)                \
	{                                                                      \
		dyn_message_init(slots[a * 256 + b * 64 + c * 16 + d * 4 + e], msg); \
	}
#define SLOT4(a, b, c, d) SLOT(a, b, c, d, 0) SLOT(a, b, c, d, 1) \
	SLOT(a, b, c, d, 2) SLOT(a, b, c, d, 3)
#define SLOT16(a, b, c) SLOT4(a, b, c, 0) SLOT4(a, b, c, 1) SLOT4(a, b, c, 2) SLOT4(a, b, c, 3)
#define SLOT64(a, b) SLOT16(a, b, 0) SLOT16(a, b, 1) SLOT16(a, b, 2) SLOT16(a, b, 3)
#define SLOT256(a) SLOT64(a, 0) SLOT64(a, 1) SLOT64(a, 2) SLOT64(a, 3)
SLOT256(0) SLOT256(1) SLOT256(2) SLOT256(3)

#define FN(a, b, c, d, e) init_##a##b##c##d##e,
#define FN4(a, b, c, d) FN(a, b, c, d, 0) FN(a, b, c, d, 1) FN(a, b, c, d, 2) FN(a, b, c, d, 3)
#define FN16(a, b, c) FN4(a, b, c, 0) FN4(a, b, c, 1) FN4(a, b, c, 2) FN4(a, b, c, 3)
#define FN64(a, b) FN16(a, b, 0) FN16(a, b, 1) FN16(a, b, 2) FN16(a, b, 3)
#define FN256(a) FN64(a, 0) FN64(a, 1) FN64(a, 2) FN64(a, 3)
static const ProtobufCMessageInit entry[] = { FN256(0) FN256(1) FN256(2) FN256(3) };

_Static_assert(sizeof(entry) / sizeof(entry[0]) == VRPC_DYN_MAX_MESSAGES,
	       "one entry point per slot");

int dyn_init_bind(struct dyn_msg *m)
{
	int i, ret = -ENOSPC;

	pthread_mutex_lock(&slots_lock);
	for (i = 0; i < VRPC_DYN_MAX_MESSAGES; i++) {
		if (!slots[i]) {
			slots[i] = m;
			m->slot = i;
			m->d.message_init = entry[i];
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&slots_lock);
	return ret;
}

void dyn_init_release(struct dyn_msg *m)
{
	if (m->slot < 0)
		return;
	pthread_mutex_lock(&slots_lock);
	slots[m->slot] = NULL;
	pthread_mutex_unlock(&slots_lock);
	m->slot = -1;
}
