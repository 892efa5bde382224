/*
 * privsep.h - the messages between vappd's privileged parent and its
 * confined broker child (see docs/ARCHITECTURE.md, "Trust").
 *
 * The parent keeps what needs root: image copies and verification, QEMU,
 * taps, the control socket. The child parses every byte guests and
 * appliances send (relay, policy) as its own user under seccomp. They talk
 * over a SOCK_SEQPACKET socketpair: one message a datagram, an 8-byte
 * header then the payload, and at most one fd (SCM_RIGHTS).
 *
 *   parent -> child   GATE      NAME[:TAG,TAG]    + a listening socket: the
 *                               gate of that guest (--guest's syntax)
 *                     UPSTREAM  appliance\0HANDOVER + the connection whose
 *                               HELLO proved the appliance ready; HANDOVER
 *                               is vrpc_relay_upstream_export()'s blob
 *                     DOWN      service           (the appliance stopped)
 *                     POLICY    FILE\nTEXT        one policy file
 *                     SHUTDOWN  (empty)
 *   child -> parent   LOG       one line
 *
 * There is no message by which the child can start, stop or launch
 * anything: a broker taken over by a guest can refuse calls, and no more.
 * Every message is hostile input to its receiver: a short or truncated
 * datagram, a length that is not the datagram's, an unknown type, an fd
 * where none belongs or none where one must be, a payload that is not the
 * text its type says, all are refused (and any fd that came is closed).
 */
#ifndef VAPPD_PRIVSEP_H
#define VAPPD_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vappd_ps_type {
	VAPPD_PS_GATE = 1,
	VAPPD_PS_UPSTREAM,
	VAPPD_PS_DOWN,
	VAPPD_PS_POLICY,
	VAPPD_PS_SHUTDOWN,
	VAPPD_PS_LOG,
	VAPPD_PS_N_TYPES,
};

#define VAPPD_PS_HDR 8
/* The largest payload: a policy file fits, a flood does not. */
#define VAPPD_PS_MAX (256u * 1024)

struct vappd_ps_msg {
	enum vappd_ps_type type;
	uint32_t len;
	int fd; /* -1 when the type carries none */
	/* NUL-terminated after len; for UPSTREAM, two strings. */
	char payload[VAPPD_PS_MAX + 1];
};

/**
 * Sends one message of @p type with @p payload (@p len bytes) and @p fd
 * (-1: none), as its type requires. @return 0 or -errno (-EINVAL: a
 * payload or fd the type does not allow).
 */
int vappd_ps_send(int sock, enum vappd_ps_type type, const void *payload, size_t len, int fd);

/**
 * Receives one message into @p m, checked as the header above says.
 * @return 0, -EAGAIN (nothing yet, non-blocking socket), -ECONNRESET (the
 *         other side is gone), -EBADMSG (refused: @p m holds nothing, no fd
 *         is left open), or another -errno.
 */
int vappd_ps_recv(int sock, struct vappd_ps_msg *m);

/** May the parent send @p type (else only the child may)? A receiver
 * refuses a message from the wrong side. */
bool vappd_ps_from_parent(enum vappd_ps_type type);

/** UPSTREAM's parts. @return 0, or -EBADMSG. */
int vappd_ps_upstream(const struct vappd_ps_msg *m, const char **appliance,
		      const uint8_t **handover, size_t *len);
/** POLICY's parts: the file's name into @p name. @return 0, or -EBADMSG. */
int vappd_ps_policy(const struct vappd_ps_msg *m, char *name, size_t namelen, const char **text,
		    size_t *len);

#endif /* VAPPD_PRIVSEP_H */
