/* wire.c - encoding and checking of the frame header (layout in wire.h). */
#include <errno.h>

#include "vrpc.h"
#include "wire.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

void wire_encode_header(const struct vrpc_hdr *h, uint8_t out[VRPC_HDR_SIZE])
{
	put32(out, VRPC_MAGIC);
	out[4] = h->version;
	out[5] = h->type;
	put16(out + 6, h->flags);
	put32(out + 8, h->call_id);
	put16(out + 12, h->method);
	put16(out + 14, h->status);
	put32(out + 16, h->timeout_ms);
	put32(out + 20, h->length);
}

int wire_decode_header(const uint8_t in[VRPC_HDR_SIZE], uint32_t max_frame,
		       struct vrpc_hdr *h)
{
	if (get32(in) != VRPC_MAGIC)
		return -EBADMSG;
	h->version = in[4];
	h->type = in[5];
	h->flags = get16(in + 6);
	h->call_id = get32(in + 8);
	h->method = get16(in + 12);
	h->status = get16(in + 14);
	h->timeout_ms = get32(in + 16);
	h->length = get32(in + 20);
	if (h->version < VRPC_VERSION_MIN)
		return -EPROTONOSUPPORT;
	if (h->type < VRPC_T_HELLO || h->type > VRPC_T_MAX_ || (h->flags & ~VRPC_F_KNOWN))
		return -EBADMSG;
	/* The length is the peer's claim: refuse it before anyone allocates. */
	if (h->length > max_frame)
		return -EMSGSIZE;
	return 0;
}
