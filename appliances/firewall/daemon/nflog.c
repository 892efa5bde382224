/*
 * nflog.c - drop events from the kernel: the drop rules log to
 * nfnetlink_log group FW_LOG_GROUP with a prefix the daemon wrote
 * ("fw:rule:ID", "fw:default", "fw:uplink", "fw:spoof", "fw:guest"); this
 * reads them over a netlink socket with libmnl.
 *
 * The packet bytes are the guest's: every header length is copied and
 * checked against what was received before a field is read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "fw.h"

#define COPY_RANGE 96 /* enough for IPv6 + a transport header */

struct fw_nflog {
	struct mnl_socket *nl;
	uint16_t group;
	fw_drop_fn fn;
	void *ud;
	char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE is not a constant (it follows the page size) */
};

uint64_t fw_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct nlmsghdr *cfg_msg(char *buf, uint16_t group)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	return nlh;
}

static int talk(struct fw_nflog *l, struct nlmsghdr *nlh)
{
	uint32_t seq = (uint32_t)fw_now_ms(), port = mnl_socket_get_portid(l->nl);
	ssize_t n;

	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(l->nl, l->buf, sizeof(l->buf));
	if (n < 0)
		return -errno;
	return mnl_cb_run(l->buf, (size_t)n, seq, port, NULL, NULL) < 0 ? -errno : 0;
}

struct fw_nflog *fw_nflog_open(uint16_t group, fw_drop_fn fn, void *ud)
{
	struct fw_nflog *l = calloc(1, sizeof(*l));
	struct nfulnl_msg_config_cmd bind = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(COPY_RANGE),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct nlmsghdr *nlh;
	int err, fd;

	if (!l)
		return NULL;
	l->group = group;
	l->fn = fn;
	l->ud = ud;
	/* Blocking while configuring (the acks come at once), then not. */
	l->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!l->nl || mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_sock;
	}
	nlh = cfg_msg(l->buf, group);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(bind), &bind);
	err = talk(l, nlh);
	if (err)
		goto err_sock;
	nlh = cfg_msg(l->buf, group);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	/* The kernel batches up to 100 packets or 1 s by default: a watcher
	 * wants each drop as it happens. */
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(1));
	err = talk(l, nlh);
	if (err)
		goto err_sock;
	fd = mnl_socket_get_fd(l->nl);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		err = -errno;
		goto err_sock;
	}
	return l;

err_sock:
	if (l->nl)
		mnl_socket_close(l->nl);
	free(l);
	errno = -err;
	return NULL;
}

void fw_nflog_close(struct fw_nflog *l)
{
	if (!l)
		return;
	mnl_socket_close(l->nl);
	free(l);
}

int fw_nflog_fd(const struct fw_nflog *l)
{
	return mnl_socket_get_fd(l->nl);
}

/* The transport ports, when the payload holds them whole. */
static void ports(struct fw_drop *d, const uint8_t *p, size_t len)
{
	if ((d->ip_proto == IPPROTO_TCP || d->ip_proto == IPPROTO_UDP) && len >= 4) {
		d->sport = (uint16_t)(p[0] << 8 | p[1]);
		d->dport = (uint16_t)(p[2] << 8 | p[3]);
	}
}

static void parse_payload(struct fw_drop *d, const uint8_t *p, size_t len)
{
	if (d->family == AF_INET && len >= 20 && p[0] >> 4 == 4) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4;

		d->ip_proto = p[9];
		d->length = (uint32_t)(p[2] << 8 | p[3]);
		inet_ntop(AF_INET, p + 12, d->src, sizeof(d->src));
		inet_ntop(AF_INET, p + 16, d->dst, sizeof(d->dst));
		if (ihl >= 20 && ihl <= len)
			ports(d, p + ihl, len - ihl);
	} else if (d->family == AF_INET6 && len >= 40 && p[0] >> 4 == 6) {
		/* Extension headers are not walked: ports only for a plain header. */
		d->ip_proto = p[6];
		d->length = (uint32_t)(p[4] << 8 | p[5]) + 40;
		inet_ntop(AF_INET6, p + 8, d->src, sizeof(d->src));
		inet_ntop(AF_INET6, p + 24, d->dst, sizeof(d->dst));
		ports(d, p + 40, len - 40);
	}
}

static void parse_prefix(struct fw_drop *d, const char *s, size_t len)
{
	unsigned id;
	char buf[32];

	if (len >= sizeof(buf))
		return;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!strcmp(buf, "fw:default")) {
		d->reason = "default";
	} else if (!strcmp(buf, "fw:uplink")) {
		d->reason = "uplink";
	} else if (!strcmp(buf, "fw:spoof")) {
		d->reason = "spoof";
	} else if (!strcmp(buf, "fw:guest")) {
		d->reason = "guest";
	} else if (sscanf(buf, "fw:rule:%u", &id) == 1) {
		d->reason = "rule";
		d->rule_id = id;
	}
}

struct attrs {
	const struct nlattr *a[NFULA_MAX + 1];
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *at = data;
	uint16_t type = mnl_attr_get_type(attr);

	/* Unknown or repeated attributes are skipped, never indexed blindly. */
	if (type <= NFULA_MAX && !at->a[type])
		at->a[type] = attr;
	return MNL_CB_OK;
}

int fw_nflog_parse(const void *buf, size_t len, struct fw_drop *d)
{
	const struct nlmsghdr *nlh = buf;
	const struct nfgenmsg *g;
	struct attrs at = { { 0 } };
	const struct nlattr *a;
	uint32_t mlen;

	memset(d, 0, sizeof(*d));
	d->reason = "unknown";
	if (len < sizeof(*nlh) || len > INT32_MAX)
		return -EINVAL;
	/* mnl_nlmsg_ok() compares the length as an int: a length with the top
	 * bit set would pass it. Copy, then check, ourselves; and libmnl walks
	 * attributes up to the *aligned* end, so that must be in the buffer too
	 * (the kernel pads its messages, so it always is for them). */
	mlen = nlh->nlmsg_len;
	if (mlen < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g)) || mlen > INT32_MAX - 4 ||
	    NLMSG_ALIGN(mlen) > len ||
	    nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET))
		return -EINVAL;
	g = mnl_nlmsg_get_payload(nlh);
	d->family = g->nfgen_family == NFPROTO_IPV6 ? AF_INET6
		    : g->nfgen_family == NFPROTO_IPV4 ? AF_INET : 0;
	if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, &at) < 0)
		return -EINVAL;
	if ((a = at.a[NFULA_PREFIX]) && mnl_attr_get_payload_len(a) > 0)
		parse_prefix(d, mnl_attr_get_payload(a),
			     strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a)));
	if ((a = at.a[NFULA_IFINDEX_INDEV]) && mnl_attr_get_payload_len(a) == 4) {
		uint32_t idx = ntohl(mnl_attr_get_u32(a));
		char name[IF_NAMESIZE];

		if (if_indextoname(idx, name))
			snprintf(d->in_if, sizeof(d->in_if), "%s", name);
	}
	if ((a = at.a[NFULA_PAYLOAD]))
		parse_payload(d, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
	d->time_ms = fw_now_ms();
	return 0;
}

static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fw_nflog *l = data;
	struct fw_drop d;

	if (fw_nflog_parse(nlh, nlh->nlmsg_len, &d) == 0)
		l->fn(l->ud, &d);
	return MNL_CB_OK;
}

int fw_nflog_process(struct fw_nflog *l)
{
	/* Bounded: a flood of drops must not starve the RPC server. */
	for (int i = 0; i < 64; i++) {
		ssize_t n = mnl_socket_recvfrom(l->nl, l->buf, sizeof(l->buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		/* ENOBUFS: the kernel dropped log messages; the next ones still come. */
		if (n < 0 && errno == ENOBUFS)
			continue;
		if (n < 0)
			return -errno;
		mnl_cb_run(l->buf, (size_t)n, 0, 0, msg_cb, l);
	}
	return 0;
}
