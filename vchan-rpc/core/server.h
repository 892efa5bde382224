/*
 * server.h - private: the server's connections and calls, shared by
 * server.c (connections, epoll, HELLO) and dispatch.c (requests, replies).
 */
#ifndef VRPC_SERVER_H
#define VRPC_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

struct service_entry {
	ProtobufCService *impl;
	bool *streaming; /* per method index */
};

/* What an epoll event points at. */
enum ev_kind { EV_LISTENER, EV_CONN, EV_DIRECT };

/* A listener (server.c). A direct channel's (direct.c) also names its one
 * peer and the services that peer may HELLO. */
struct listener_entry {
	enum ev_kind kind; /* EV_LISTENER; first, like struct sconn */
	struct vrpc_listener *l;
	/* chan:NAME under Xen: a vchan only dom0 can reach, so its peer is
	 * the host's broker, like an attached endpoint's (caller labels). */
	bool host_channel;
	char label[64];      /* direct: the peer, as vappd named it; else "" */
	char *services;      /* direct: "A\0B\0\0", the services granted; else NULL */
	size_t services_len;
	struct listener_entry *next;
};

struct sconn {
	enum ev_kind kind; /* EV_CONN; first, see struct listener_entry */
	struct vrpc_server *srv;
	struct vrpc_conn c;
	const struct service_entry *svc; /* NULL until HELLO */
	struct vrpc_call **calls;        /* open addressing by call id */
	uint32_t mask;
	unsigned inflight;
	uint32_t events;       /* registered with epoll; 0: not registered */
	int64_t hello_deadline;   /* -1 once HELLO is done */
	int64_t retry_at;         /* serial peer absent: read again then; else -1 */
	int64_t last_write;       /* when the peer last took bytes from us */
	bool attached;         /* a single endpoint (serial): reset, never close */
	bool host_peer;        /* its peer is the host's broker: caller labels taken */
	bool paused;           /* not reading: the peer does not read our replies */
	bool dirty;            /* on srv->dirty: has output to flush */
	bool dead;
	char *services;        /* direct: a copy of the listener's grant; NULL: any */
	struct sconn *next, *prev;   /* srv->conns */
	struct sconn *dirty_next;
};

struct vrpc_call {
	struct vrpc_server *srv;
	struct sconn *conn; /* NULL once the connection is gone */
	uint32_t id;
	unsigned method;
	bool streaming;
	bool cancelled;
	int status;
	char *message;
	int64_t deadline; /* -1: none */
	ProtobufCMessage *input;
	struct vrpc_peer peer;
	struct vrpc_call *next, *prev; /* srv->calls: every call not yet finished */
};

struct vrpc_server {
	int epfd;
	struct vrpc_server_opts opts;
	struct service_entry *services;
	unsigned n_services;
	struct listener_entry *listeners;
	struct sconn *conns;
	unsigned n_conns;
	struct sconn *dirty;   /* connections with output queued during process() */
	struct sconn *zombies; /* dead connections, freed after process() */
	struct vrpc_call *calls;
	struct direct_watch *directs; /* direct.c */
	bool in_process;
};

/* dispatch.c */
int server_on_request(struct sconn *sc, const struct vrpc_hdr *h, const uint8_t *payload);
void server_on_cancel(struct sconn *sc, uint32_t id);
/* Ends every call of @p sc: handlers still running see them cancelled. */
void server_orphan_calls(struct sconn *sc);
void server_free_call(struct vrpc_call *call);

/* sconn.c: a connection */
void sconn_update_events(struct sconn *sc);
/* Reads and dispatches what the connection has; handles every way it ends. */
void sconn_ready(struct sconn *sc);
/* Closes the connection; its memory waits on srv->zombies. */
void sconn_kill(struct sconn *sc, int err);
/* Kills it, or for an attached endpoint forgets the session. */
void sconn_fail(struct sconn *sc, int err);
/* Writes what the peer takes. @return as conn_flush(). */
int sconn_flush(struct sconn *sc);
/* When a peer that reads none of what is queued for it is dropped, or -1. */
int64_t stall_deadline(const struct sconn *sc);
const struct service_entry *find_service(struct vrpc_server *srv, const char *name);
/* A direct channel's peer may not call @p method of @p service: vappd's
 * grant names it after the service ("!METHOD"). */
bool vrpc_sconn_method_denied(const struct sconn *sc, const char *service, const char *method);
/* Serves an open transport (taken over even on failure). @p attached: a
 * single endpoint whose peer may go and come back. @return 0 or -errno. */
int server_adopt(struct vrpc_server *srv, struct vrpc_transport *t, bool attached,
		 bool host_peer);
/* server.c */
/* Listens on @p addr for the peer @p label alone, which may HELLO only the
 * services of @p services ("A\0B\0\0", @p len bytes, copied).
 * @return the listener, or NULL with errno set. */
struct listener_entry *vrpc_server_listen_granted(struct vrpc_server *srv, const char *addr,
					     const char *label, const char *services, size_t len);
void vrpc_server_unlisten(struct vrpc_server *srv, struct listener_entry *le);
/* direct.c */
void vrpc_direct_ready(struct direct_watch *w);
void vrpc_direct_free_all(struct vrpc_server *srv);
/* chan:NAME's direct peers, when /run/vapp/direct/NAME is there (vapp-init
 * makes it under Xen). @return 0 or -errno. */
int vrpc_chan_watch_direct(struct vrpc_server *srv, const char *chan);
/* Queues a frame on @p sc and arranges for it to be written. @return 0 or -errno. */
int sconn_send(struct sconn *sc, struct vrpc_hdr *h, const ProtobufCMessage *msg,
	       const void *raw, size_t len);
/* Sends GOAWAY with @p status and a reason, then drops the connection (or,
 * for an attached endpoint, its session). */
void sconn_goaway(struct sconn *sc, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Spins up to @p max_us for input on connections whose transport can tell
 * without a syscall (shm), and serves what comes. @return 1 if something
 * was served, else 0. */
int server_spin(struct vrpc_server *srv, int max_us);

/* Logs a problem with a peer when VRPC_DEBUG is set in the environment. */
void vrpc_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* VRPC_SERVER_H */
