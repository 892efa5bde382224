/* status.c - names of status codes and peer identities, for messages and logs. */
#include <stdio.h>

#include "vrpc.h"

const char *vrpc_status_name(int status)
{
	switch (status) {
	case VRPC_OK: return "OK";
	case VRPC_CANCELLED: return "CANCELLED";
	case VRPC_UNKNOWN: return "UNKNOWN";
	case VRPC_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
	case VRPC_DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
	case VRPC_NOT_FOUND: return "NOT_FOUND";
	case VRPC_ALREADY_EXISTS: return "ALREADY_EXISTS";
	case VRPC_PERMISSION_DENIED: return "PERMISSION_DENIED";
	case VRPC_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
	case VRPC_RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
	case VRPC_UNIMPLEMENTED: return "UNIMPLEMENTED";
	case VRPC_INTERNAL: return "INTERNAL";
	case VRPC_UNAVAILABLE: return "UNAVAILABLE";
	default: return "UNKNOWN";
	}
}

void vrpc_peer_format(const struct vrpc_peer *peer, char *buf, size_t len)
{
	switch (peer->kind) {
	case VRPC_PEER_UID: snprintf(buf, len, "uid:%u", peer->id); break;
	case VRPC_PEER_DOMID: snprintf(buf, len, "domid:%u", peer->id); break;
	case VRPC_PEER_CID: snprintf(buf, len, "cid:%u", peer->id); break;
	case VRPC_PEER_LABEL: snprintf(buf, len, "label:%.63s", peer->label); break;
	case VRPC_PEER_HOST: snprintf(buf, len, "host:%.63s:%u", peer->label, peer->aux); break;
	default: snprintf(buf, len, "unknown"); break;
	}
}
