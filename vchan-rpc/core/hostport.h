/*
 * hostport.h - private: "HOST:PORT" as the tcp transport spells it, shared
 * by its POSIX and winsock halves.
 *
 * HOST is a name, an IPv4 address, or an IPv6 address in brackets
 * ("[::1]:7000", as in URLs: the port is after the last colon only once the
 * brackets are gone). PORT is decimal, 1 to 65535.
 */
#ifndef VRPC_HOSTPORT_H
#define VRPC_HOSTPORT_H

#include <stddef.h>

/* Longest HOST accepted: a DNS name is at most 253 characters, an IPv6
 * address with a zone ("fe80::1%eth0") far less. */
#define HOSTPORT_HOST_MAX 255

struct hostport {
	char host[HOSTPORT_HOST_MAX + 1]; /* brackets removed */
	char port[6];                     /* decimal, for getaddrinfo() */
};

/** @return 0, or -EINVAL for an empty, overlong or malformed HOST or PORT. */
int hostport_parse(const char *s, struct hostport *hp);

#endif /* VRPC_HOSTPORT_H */
