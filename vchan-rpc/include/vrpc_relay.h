/*
 * vrpc_relay.h - a broker between guests and appliances.
 *
 * Guests reach labelled endpoints (one per guest: the label is who the
 * guest is, taken from the channel it arrived on, never from a message).
 * After a guest's HELLO names a service, each call it makes is put to a
 * policy hook by service and method name, and, when allowed, relayed to the
 * appliance offering that service over one long-lived upstream connection,
 * with the guest's label attached (VRPC_F_ORIGIN in wire.h) so the
 * appliance's method learns its real caller. Frames are forwarded as they
 * are: only call ids are rewritten, payloads are never decoded or copied
 * more than once into each queue.
 *
 * Error convention as in vrpc.h.
 */
#ifndef VRPC_RELAY_H
#define VRPC_RELAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vrpc_relay;

/*
 * Decides one call. @p method is NULL at HELLO time (may the guest reach
 * the service at all?). @return VRPC_OK to allow, or a status (usually
 * VRPC_PERMISSION_DENIED) with a reason written to @p why.
 */
typedef int (*vrpc_relay_check_fn)(void *ud, const char *guest, const char *service,
				   const char *method, const char *appliance, char *why,
				   size_t whylen);

/*
 * Every guest (caller label: one gate) has its share, so that none can
 * starve another: calls in flight per connection and per label,
 * connections per label (more are closed at once), and a HELLO deadline
 * for each new connection. An appliance takes 4096 calls in flight, its
 * last 512 kept for labels with fewer than 64 in flight.
 */
struct vrpc_relay_opts {
	unsigned max_inflight_per_guest; /* per connection; 0: 1024 */
	unsigned max_inflight_per_label; /* over a label's connections; 0: 1024 */
	unsigned max_conns_per_label;    /* 0: 16 */
	int hello_timeout_ms;            /* a connection's HELLO; 0: 10 s */
	size_t max_queue;                /* bytes queued per connection; 0: 8 MiB */
};

struct vrpc_relay *vrpc_relay_new(vrpc_relay_check_fn check, void *ud,
				  const struct vrpc_relay_opts *opts);
/** Closes everything; guests' calls in flight end with UNAVAILABLE. NULL is fine. */
void vrpc_relay_free(struct vrpc_relay *r);

/** Guests connecting to @p addr (any listening address) are @p label. */
int vrpc_relay_listen(struct vrpc_relay *r, const char *addr, const char *label);
/**
 * The same with a socket already listening, made by another process (a
 * relay that may not bind, confined): @p fd, of transport @p scheme
 * ("unix"), is taken, also on failure. @return 0 or -errno (-ENOTSOCK: not
 * a listening stream socket; -ENOTSUP: the scheme has no such socket).
 */
int vrpc_relay_listen_fd(struct vrpc_relay *r, const char *scheme, int fd, const char *label);

/* A connection to an appliance's service whose HELLO is done, not yet a
 * relay's. */
struct vrpc_relay_upstream;

/**
 * Connects to @p addr and says HELLO for @p service, bounded by
 * @p timeout_ms. It blocks and touches no relay, so a launcher runs it on a
 * thread of its own; the answer is its proof that the appliance is ready,
 * and the connection is then given to the relay as it is (no second
 * connection, no wait on the relay's loop).
 * @return 0 with *out set, or -errno (-ETIMEDOUT, -ECONNREFUSED, -EPROTO,
 *         -ENOENT: the appliance does not offer that service).
 */
int vrpc_relay_upstream_open(const char *addr, const char *service, int timeout_ms,
			     struct vrpc_relay_upstream **out);
void vrpc_relay_upstream_free(struct vrpc_relay_upstream *u);
/** The service @p u's appliance answered HELLO for. */
const char *vrpc_relay_upstream_service(const struct vrpc_relay_upstream *u);

/* The largest handover blob (below). */
#define VRPC_RELAY_HANDOVER_MAX (192u * 1024)

/**
 * Hands @p u to another process (a privileged launcher proved the
 * appliance ready; its confined broker relays): @p fd gets the connection's
 * socket, *@p blob (malloc'ed, *@p len bytes, at most
 * VRPC_RELAY_HANDOVER_MAX) what the HELLO established and what was read
 * after it. Takes @p u, also on failure. @return 0, -ENOTSUP (not a socket
 * transport), -EMSGSIZE, -EBUSY (the HELLO could not be written out), or
 * -errno.
 */
int vrpc_relay_upstream_export(struct vrpc_relay_upstream *u, int *fd, uint8_t **blob,
			       size_t *len);
/**
 * The other side: @p fd and the blob become an upstream again, ready for
 * vrpc_relay_adopt(). The blob is checked as hostile input (the HELLO_ACK
 * in it exactly as vrpc_relay_upstream_open() checks the appliance's).
 * Takes @p fd, also on failure. @return 0, -EBADMSG, -EINVAL (unknown
 * scheme), -ENOTSOCK, or -errno.
 */
int vrpc_relay_upstream_import(int fd, const uint8_t *blob, size_t len,
			       struct vrpc_relay_upstream **out);

/**
 * @p u, opened by vrpc_relay_upstream_open(), becomes the upstream of its
 * service, offered by appliance @p appliance, replacing an earlier one
 * (whose calls end with UNAVAILABLE). Never blocks. Takes @p u, also on
 * failure. @return 0 or -ENOMEM.
 */
int vrpc_relay_adopt(struct vrpc_relay *r, struct vrpc_relay_upstream *u, const char *appliance);

/**
 * vrpc_relay_upstream_open() then vrpc_relay_adopt(): blocks the caller up
 * to @p timeout_ms (tests and tools; a daemon's loop opens on a thread).
 * @return 0, or as vrpc_relay_upstream_open().
 */
int vrpc_relay_set_upstream(struct vrpc_relay *r, const char *service, const char *appliance,
			    const char *addr, int timeout_ms);
/** Forgets the upstream of @p service (the appliance stopped). */
void vrpc_relay_drop_upstream(struct vrpc_relay *r, const char *service);

/* Event-loop integration, as vrpc_server_fd/process. */
int vrpc_relay_fd(const struct vrpc_relay *r);
int vrpc_relay_process(struct vrpc_relay *r);

/* Counters, for logs and tests. */
struct vrpc_relay_stats {
	unsigned long relayed, denied, failed;
	unsigned long refused;        /* connections over a label's share, closed at once */
	unsigned long hello_timeouts; /* connections closed for no HELLO in time */
};
void vrpc_relay_stats(const struct vrpc_relay *r, struct vrpc_relay_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* VRPC_RELAY_H */
