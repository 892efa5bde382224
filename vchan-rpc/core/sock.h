/*
 * sock.h - private: helpers shared by the socket-based transports (unix,
 * tcp, vsock, hvsock, the host side of serial): a transport or listener that
 * is just a non-blocking socket fd.
 */
#ifndef VRPC_SOCK_H
#define VRPC_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

#include "transport.h"

/* A transport whose ops read/write/close are the socket ones below. */
struct vrpc_transport *sock_transport_new(const struct vrpc_transport_ops *ops, int fd);
ssize_t sock_read(struct vrpc_transport *t, void *buf, size_t len);
ssize_t sock_write(struct vrpc_transport *t, const void *buf, size_t len);
void sock_close(struct vrpc_transport *t);

/* Connects @p fd (blocking or not) to @p sa within @p timeout_ms, and leaves
 * it non-blocking. @return 0 or -errno (-ETIMEDOUT). */
int sock_connect(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms);

/* A listener on the bound, listening socket @p fd; accepted transports get
 * @p ops, and @p fill_peer (may be NULL) fills their peer identity. */
struct vrpc_listener *sock_listener_new(int fd, const struct vrpc_transport_ops *ops,
					void (*fill_peer)(struct vrpc_transport *t));

/* Binds a non-blocking stream socket to @p sa, listens, and wraps it as
 * above; a stale unix socket file at a path address is replaced first.
 * @return 0 or -errno. */
int sock_listen(const struct sockaddr *sa, socklen_t len, const struct vrpc_transport_ops *ops,
		void (*fill_peer)(struct vrpc_transport *t), struct vrpc_listener **out);

int sock_set_nonblock(int fd);

/* The from_fd and listen_fd of a socket transport (transport.h): @p fd must
 * be a stream socket, connected or listening as the name says; it is made
 * non-blocking and taken (closed on failure). @return 0 or -errno
 * (-ENOTSOCK: not a stream socket in that state). */
int vrpc_sock_from_fd(int fd, const struct vrpc_transport_ops *ops,
		 void (*fill_peer)(struct vrpc_transport *t), struct vrpc_transport **out);
int vrpc_sock_listen_fd(int fd, const struct vrpc_transport_ops *ops,
		   void (*fill_peer)(struct vrpc_transport *t), struct vrpc_listener **out);

/* Parses the @p len bytes at @p s as a decimal number no greater than @p max
 * (digits only: no sign, space, or leading zero but "0"). For the numbers in
 * addresses (ports, CIDs). @return 0 or -EINVAL. */
int sock_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out);

#endif /* VRPC_SOCK_H */
