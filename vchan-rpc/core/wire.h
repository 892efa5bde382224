/*
 * wire.h - the vrpc frame as it travels: a fixed 24-byte little-endian header
 * followed by `length` bytes of payload.
 *
 *   offset size field
 *        0    4 magic       "VRPC" (0x56 0x52 0x50 0x43)
 *        4    1 version     protocol version of the sender (VRPC_VERSION)
 *        5    1 type        enum vrpc_frame_type
 *        6    2 flags       VRPC_F_*
 *        8    4 call_id     chosen by the client, unique among its calls in flight
 *       12    2 method      REQUEST: method index in the service descriptor
 *       14    2 status      REPLY, GOAWAY, HELLO_ACK: enum vrpc_status
 *       16    4 timeout_ms  REQUEST: the caller's deadline from now (0: none)
 *       20    4 length      payload bytes that follow (<= the agreed max frame)
 *
 * Payloads: HELLO and HELLO_ACK carry a vrpc.v1.Hello; REQUEST the request
 * message; STREAM_ITEM one item; REPLY with status OK the reply message (or
 * nothing when it ends a stream), otherwise a UTF-8 error text; CANCEL
 * nothing; GOAWAY a UTF-8 reason, after which the sender closes.
 *
 * Every field is decoded into a host struct by wire_decode_header() and
 * checked there before anything else reads it.
 */
#ifndef VRPC_WIRE_H
#define VRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VRPC_MAGIC 0x43505256u /* "VRPC" read as little-endian u32 */
#define VRPC_HDR_SIZE 24
/* How often a HELLO is said again over a virtio-serial channel until it
 * is answered (handshake.c tells why). */
#define VRPC_HELLO_RESEND_MS 1000

enum vrpc_frame_type {
	VRPC_T_HELLO = 1,       /* client -> server, first frame */
	VRPC_T_HELLO_ACK = 2,   /* server -> client, answer to HELLO */
	VRPC_T_REQUEST = 3,     /* client -> server */
	VRPC_T_REPLY = 4,       /* server -> client, ends the call */
	VRPC_T_STREAM_ITEM = 5, /* server -> client, one item of a stream */
	VRPC_T_CANCEL = 6,      /* client -> server */
	VRPC_T_GOAWAY = 7,      /* either way, then close */
	VRPC_T_MAX_ = VRPC_T_GOAWAY,
};

#define VRPC_F_STREAM_END 0x0001 /* REPLY: the call was a stream */
/* REQUEST from a broker: the payload starts with the original caller's
 * label (one length byte, 1..63, then the bytes), then the request. Only an
 * attached endpoint, or chan:NAME's vchan under Xen, accepts it: its one
 * peer is the host's broker. */
#define VRPC_F_ORIGIN 0x0002
#define VRPC_F_KNOWN 0x0003
#define VRPC_ORIGIN_MAX 63

struct vrpc_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t call_id;
	uint16_t method;
	uint16_t status;
	uint32_t timeout_ms;
	uint32_t length;
};

void wire_encode_header(const struct vrpc_hdr *h, uint8_t out[VRPC_HDR_SIZE]);
/*
 * Decodes and checks magic, version (>= VRPC_VERSION_MIN), type, flags and
 * length against @p max_frame.
 * @return 0, -EBADMSG (bad magic, type or flags), -EPROTONOSUPPORT (version),
 *         -EMSGSIZE (length over max_frame: the caller must not allocate it).
 */
int wire_decode_header(const uint8_t in[VRPC_HDR_SIZE], uint32_t max_frame,
		       struct vrpc_hdr *h);

#endif /* VRPC_WIRE_H */
