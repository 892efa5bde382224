/* vappd_client.c - the CLI's side of vappd's control socket. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vappd_client.h"

const char *vappd_socket(const char *opt)
{
	const char *env = getenv("VAPPD_SOCKET");

	if (opt && opt[0])
		return opt;
	return env && env[0] ? env : VAPPD_SOCKET_DEFAULT;
}

struct vrpc_client *vappd_connect(const struct vapp_cmd *cmd, const char *socket)
{
	struct vrpc_client_opts o = { .connect_timeout_ms = 5000 };
	struct vrpc_client *cli;
	char addr[4200];

	snprintf(addr, sizeof(addr), "unix:%s", socket);
	cli = vrpc_client_open(addr, &vapp__runtime__v1__control__descriptor, &o);
	if (cli)
		return cli;
	switch (errno) {
	case ENOENT:
	case ECONNREFUSED:
		cmd_error(cmd, "vappd is not running at %s (start it with: vappd)", socket);
		break;
	case EACCES:
	case EPERM:
		cmd_error(cmd, "no permission to use %s (vappd's socket is for root and the "
			       "group given to vappd --group)", socket);
		break;
	case ETIMEDOUT:
		cmd_error(cmd, "vappd at %s does not answer", socket);
		break;
	default:
		cmd_error(cmd, "cannot reach vappd at %s: %s", socket, strerror(errno));
	}
	return NULL;
}

int vappd_call(const struct vapp_cmd *cmd, struct vrpc_client *cli, unsigned method,
	       const ProtobufCMessage *req, ProtobufCMessage **reply, int timeout_ms)
{
	char *msg = NULL;
	int st = vrpc_client_call(cli, method, req, reply, timeout_ms, &msg);

	if (st != VRPC_OK) {
		if (st == VRPC_UNAVAILABLE || st == VRPC_PERMISSION_DENIED || st == VRPC_NOT_FOUND ||
		    st == VRPC_INVALID_ARGUMENT)
			cmd_error(cmd, "%s", msg && msg[0] ? msg : vrpc_status_name(st));
		else
			cmd_error(cmd, "%s%s%s", vrpc_status_name(st), msg && msg[0] ? ": " : "",
				  msg ? msg : "");
	}
	free(msg);
	return st;
}

const char *vappd_state_name(Vapp__Runtime__V1__State s)
{
	switch (s) {
	case VAPP__RUNTIME__V1__STATE__STARTING: return "starting";
	case VAPP__RUNTIME__V1__STATE__RUNNING: return "running";
	case VAPP__RUNTIME__V1__STATE__BACKOFF: return "backoff";
	case VAPP__RUNTIME__V1__STATE__STOPPING: return "stopping";
	case VAPP__RUNTIME__V1__STATE__STOPPED: return "stopped";
	case VAPP__RUNTIME__V1__STATE__FAILED: return "failed";
	default: return "unknown";
	}
}

void vappd_fmt_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (!ms)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s / 3600 % 24);
}

void vappd_fmt_bytes(uint64_t b, char *buf, size_t len)
{
	if (!b)
		snprintf(buf, len, "-");
	else if (b < (1u << 20))
		snprintf(buf, len, "%.1fK", b / 1024.0);
	else if (b < (1u << 30))
		snprintf(buf, len, "%.1fM", b / 1048576.0);
	else
		snprintf(buf, len, "%.2fG", b / 1073741824.0);
}
