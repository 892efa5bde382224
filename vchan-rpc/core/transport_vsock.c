/*
 * transport_vsock.c - "vsock:CID:PORT": AF_VSOCK stream sockets.
 *
 * CID is a number or one of the names "host" (2, VMADDR_CID_HOST), "local"
 * (1, VMADDR_CID_LOCAL: the vsock_loopback module) or, when listening only,
 * "any" (VMADDR_CID_ANY: every CID this machine answers to). PORT is a
 * decimal number below 2^32 - 1 (that value is VMADDR_PORT_ANY).
 *
 * The peer identity is VRPC_PEER_CID with the peer's port in aux, as the
 * kernel reports them (getpeername): a guest cannot claim another CID, the
 * hypervisor stamps it on every packet.
 *
 * This is the plain kernel AF_VSOCK (vhost-vsock hosts, guests under any
 * hypervisor). Firecracker and Cloud Hypervisor have no vhost on the host
 * side: there, the host uses transport_hvsock.c.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "sock.h"

/* Parses "CID:PORT" into @p svm. @return 0 or -EINVAL. */
static int vsock_addr(const char *rest, int listening, struct sockaddr_vm *svm)
{
	static const struct {
		const char *name;
		unsigned cid;
	} names[] = {
		{ "host", VMADDR_CID_HOST },
		{ "local", VMADDR_CID_LOCAL },
	};
	const char *colon = strchr(rest, ':');
	size_t clen;
	uint32_t cid, port;
	int found = 0;

	if (!colon)
		return -EINVAL;
	clen = (size_t)(colon - rest);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i].name) == clen && !memcmp(names[i].name, rest, clen)) {
			cid = names[i].cid;
			found = 1;
		}
	}
	if (!found && clen == 3 && !memcmp(rest, "any", 3)) {
		/* "any" names no one to connect to. */
		if (!listening)
			return -EINVAL;
		cid = VMADDR_CID_ANY;
		found = 1;
	}
	/* A numeric CID: VMADDR_CID_ANY is only spelt "any". */
	if (!found && sock_parse_u32(rest, clen, VMADDR_CID_ANY - 1, &cid))
		return -EINVAL;
	if (sock_parse_u32(colon + 1, strlen(colon + 1), VMADDR_PORT_ANY - 1, &port))
		return -EINVAL;
	memset(svm, 0, sizeof(*svm));
	svm->svm_family = AF_VSOCK;
	svm->svm_cid = cid;
	svm->svm_port = port;
	return 0;
}

/* The peer's CID and port, as the kernel (and so the hypervisor) sees them. */
static void vsock_fill_peer(struct vrpc_transport *t)
{
	struct sockaddr_vm svm;
	socklen_t len = sizeof(svm);

	if (getpeername(t->fd, (struct sockaddr *)&svm, &len) == 0 &&
	    len >= sizeof(svm) && svm.svm_family == AF_VSOCK) {
		t->peer.kind = VRPC_PEER_CID;
		t->peer.id = svm.svm_cid;
		t->peer.aux = svm.svm_port;
	}
}

static int vsock_connect(const char *rest, int timeout_ms, struct vrpc_transport **out)
{
	struct sockaddr_vm svm;
	int fd, err = vsock_addr(rest, 0, &svm);

	if (err)
		return err;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = sock_connect(fd, (struct sockaddr *)&svm, sizeof(svm), timeout_ms);
	if (err)
		goto err_fd;
	*out = sock_transport_new(&vrpc_transport_vsock, fd);
	if (!*out) {
		err = -ENOMEM;
		goto err_fd;
	}
	vsock_fill_peer(*out);
	return 0;
err_fd:
	close(fd);
	return err;
}

static int vsock_listen(const char *rest, struct vrpc_listener **out)
{
	struct sockaddr_vm svm;
	int err = vsock_addr(rest, 1, &svm);

	if (err)
		return err;
	return sock_listen((struct sockaddr *)&svm, sizeof(svm), &vrpc_transport_vsock,
			   vsock_fill_peer, out);
}

const struct vrpc_transport_ops vrpc_transport_vsock = {
	.scheme = "vsock",
	.connect = vsock_connect,
	.listen = vsock_listen,
	.read = sock_read,
	.write = sock_write,
	.close = sock_close,
};
