/*
 * vappd_client.h - what the CLI commands that talk to vappd share: finding
 * its socket, connecting with a message a user can act on, and calling the
 * Control service (runtime/proto/control.proto).
 */
#ifndef VAPP_VAPPD_CLIENT_H
#define VAPP_VAPPD_CLIENT_H

#include <stdint.h>

#include "cmd.h"
#include "vrpc.h"
#include "runtime/proto/control.pb-c.h"

#define VAPPD_SOCKET_DEFAULT "/run/vapp/vappd.sock"

/* The socket to use: @p opt (--socket), else $VAPPD_SOCKET, else the default. */
const char *vappd_socket(const char *opt);

/** Connects to vappd at @p socket; on failure prints why (and how to start
 * vappd) as @p cmd and returns NULL. */
struct vrpc_client *vappd_connect(const struct vapp_cmd *cmd, const char *socket);

/** A unary Control call; on failure prints "vapp CMD: message" (with the
 * status name when it adds something) and returns the vrpc status. */
int vappd_call(const struct vapp_cmd *cmd, struct vrpc_client *cli, unsigned method,
	       const ProtobufCMessage *req, ProtobufCMessage **reply, int timeout_ms);

const char *vappd_state_name(Vapp__Runtime__V1__State s);
/* "3h12m", "45s" ... into @p buf. */
void vappd_fmt_duration(uint64_t ms, char *buf, size_t len);
/* "34.2M" ... into @p buf. */
void vappd_fmt_bytes(uint64_t bytes, char *buf, size_t len);

/* The Control service's method indexes, as declared in control.proto. */
enum { CONTROL_RUN, CONTROL_STOP, CONTROL_LIST, CONTROL_LOGS, CONTROL_DESCRIBE };

#endif /* VAPP_VAPPD_CLIENT_H */
