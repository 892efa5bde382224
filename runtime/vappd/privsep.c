/* privsep.c - the parent/child messages of vappd (see privsep.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "privsep.h"
#include "vapp_util.h"

#define NAME_MAX_LEN 255
#define LOG_MAX_LEN 1024

/* What each type carries: an fd or not, and which text. */
enum text { T_EMPTY, T_NAME, T_GUEST, T_UPSTREAM, T_POLICY, T_LOG };

static const struct {
	bool fd, from_parent;
	enum text text;
} rules[VAPPD_PS_N_TYPES] = {
	[VAPPD_PS_GATE] = { true, true, T_GUEST },
	[VAPPD_PS_UPSTREAM] = { true, true, T_UPSTREAM },
	[VAPPD_PS_DOWN] = { false, true, T_NAME },
	[VAPPD_PS_POLICY] = { false, true, T_POLICY },
	[VAPPD_PS_SHUTDOWN] = { false, true, T_EMPTY },
	[VAPPD_PS_LOG] = { false, false, T_LOG },
};

bool vappd_ps_from_parent(enum vappd_ps_type type)
{
	return type > 0 && type < VAPPD_PS_N_TYPES && rules[type].from_parent;
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@"

/* @p n bytes of @p chars, 1 to NAME_MAX_LEN of them. */
static bool chars_ok(const char *s, size_t n, const char *chars)
{
	if (!n || n > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(chars, s[i]))
			return false;
	return true;
}

/* A label, service or appliance name: what the relay and policy accept. */
static bool name_ok(const char *s, size_t n)
{
	return chars_ok(s, n, NAME_CHARS);
}

static bool text_ok(const char *s, size_t n, bool lines)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && !(lines && (c == '\n' || c == '\t'))) || c == 0x7f)
			return false;
	}
	return true;
}

static bool payload_ok(enum vappd_ps_type type, const char *p, size_t n)
{
	const char *nul;

	switch (rules[type].text) {
	case T_EMPTY:
		return n == 0;
	case T_NAME:
		return name_ok(p, n);
	case T_GUEST: /* NAME[:TAG,TAG]: broker.c's parse_guest() says more */
		return chars_ok(p, n, NAME_CHARS ",");
	case T_UPSTREAM: /* the appliance, NUL, the handover (binary) */
		nul = memchr(p, '\0', n);
		return nul && name_ok(p, (size_t)(nul - p)) && nul + 1 < p + n;
	case T_POLICY: /* the file's name, a newline, its text */
		nul = memchr(p, '\n', n);
		return nul && nul > p && n <= VAPPD_PS_MAX && text_ok(p, n, true);
	case T_LOG:
		return n <= LOG_MAX_LEN && text_ok(p, n, false);
	}
	return false;
}

int vappd_ps_send(int sock, enum vappd_ps_type type, const void *payload, size_t len, int fd)
{
	uint8_t hdr[VAPPD_PS_HDR] = { (uint8_t)type, (uint8_t)(type >> 8) };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, len } };
	ssize_t n;

	if (type <= 0 || type >= VAPPD_PS_N_TYPES || len > VAPPD_PS_MAX ||
	    rules[type].fd != (fd >= 0) || !payload_ok(type, payload, len))
		return -EINVAL;
	for (int i = 0; i < 4; i++)
		hdr[4 + i] = (uint8_t)(len >> (8 * i));
	n = vapp_send_fd(sock, iov, len ? 2 : 1, fd);
	return n < 0 ? (int)n : 0;
}

/* The fds that came with a datagram: at most one is taken, every other
 * one is closed. @return how many came. */
static int take_fds(struct msghdr *msg, int *fd)
{
	int n = 0;

	*fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n++ == 0)
				*fd = got;
			else
				close(got);
		}
	}
	return n;
}

/* Checks the datagram in @p m (@p got bytes, @p n_fds fds). */
static int check(struct vappd_ps_msg *m, const uint8_t *hdr, ssize_t got, int n_fds)
{
	uint16_t type = (uint16_t)(hdr[0] | hdr[1] << 8);
	uint32_t len = 0;

	if (got < VAPPD_PS_HDR || hdr[2] || hdr[3])
		return -EBADMSG;
	for (int i = 0; i < 4; i++)
		len |= (uint32_t)hdr[4 + i] << (8 * i);
	if (len != (uint32_t)(got - VAPPD_PS_HDR) || !type || type >= VAPPD_PS_N_TYPES)
		return -EBADMSG;
	if (n_fds != (rules[type].fd ? 1 : 0))
		return -EBADMSG;
	if (!payload_ok(type, m->payload, len))
		return -EBADMSG;
	m->type = (enum vappd_ps_type)type;
	m->len = len;
	m->payload[len] = '\0';
	return 0;
}

int vappd_ps_recv(int sock, struct vappd_ps_msg *m)
{
	uint8_t hdr[VAPPD_PS_HDR];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { m->payload, VAPPD_PS_MAX } };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	ssize_t got;
	int n_fds, err;

	m->fd = -1;
	do
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	n_fds = take_fds(&msg, &m->fd);
	if (got == 0 && !n_fds)
		return -ECONNRESET;
	/* Cut short (a datagram over the maximum, too many fds): never half. */
	err = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -EBADMSG
							 : check(m, hdr, got, n_fds);
	if (err) {
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		m->len = 0;
		m->payload[0] = '\0';
	}
	return err;
}

int vappd_ps_upstream(const struct vappd_ps_msg *m, const char **appliance,
		      const uint8_t **handover, size_t *len)
{
	size_t n;

	if (m->type != VAPPD_PS_UPSTREAM)
		return -EBADMSG;
	n = strlen(m->payload);
	*appliance = m->payload;
	*handover = (const uint8_t *)m->payload + n + 1;
	*len = m->len - n - 1;
	return 0;
}

int vappd_ps_policy(const struct vappd_ps_msg *m, char *name, size_t namelen, const char **text,
		    size_t *len)
{
	const char *nl = m->type == VAPPD_PS_POLICY ? memchr(m->payload, '\n', m->len) : NULL;

	if (!nl || (size_t)(nl - m->payload) >= namelen)
		return -EBADMSG;
	memcpy(name, m->payload, (size_t)(nl - m->payload));
	name[nl - m->payload] = '\0';
	*text = nl + 1;
	*len = m->len - (size_t)(nl - m->payload) - 1;
	return 0;
}
