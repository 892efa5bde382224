/*
 * vrpc.h - libvrpc: typed RPC over a vchan (and its stand-ins).
 *
 * A connection carries one protobuf-c service. Services are ordinary .proto
 * `service` blocks compiled by protoc-c: the client side implements
 * ProtobufCService.invoke, so the stubs protoc-c generates work unchanged, and
 * the server dispatches to a protoc-c `*_Service` implementation.
 *
 * Addresses (one syntax for every transport):
 *
 *   unix:PATH            unix stream socket (PATH may start with @ for the
 *                        abstract namespace)
 *   shm:PATH[?order=N[,M]]
 *                        the vchan ring protocol between two processes on one
 *                        host: PATH is a unix socket that passes the shared
 *                        memfd and the two eventfds at set-up and then stays
 *                        open to tell a dead peer; ORDER (listening side
 *                        only) sets the rings to 2^N bytes, 10..20 (default
 *                        16), N client-to-server and M back
 *   xen:DOMID:PATH[:RECV[:SEND]]
 *                        libxenvchan: DOMID is the peer domain, PATH the
 *                        xenstore directory of the vchan; RECV and SEND the
 *                        ring sizes when listening (bytes, K/M suffix,
 *                        default 64K); one connection per listener
 *   serial:PATH          a virtio-serial port: inside a guest a character
 *                        device (/dev/virtio-ports/NAME), on the host the unix
 *                        socket of QEMU's `-chardev socket`; on Windows NAME
 *                        opens \\.\Global\NAME
 *   vsock:CID:PORT       AF_VSOCK (CID may be "any" when listening)
 *   hvsock:PATH:PORT     host side of hybrid vsock (Firecracker, Cloud
 *                        Hypervisor): CONNECT PORT over the unix socket PATH
 *   tcp:HOST:PORT        TCP, for development only (never a manifest default)
 *   chan:NAME            inside an appliance, for vrpc_server_attach(): its
 *                        channel NAME whichever hypervisor runs it, the
 *                        virtio-serial port /dev/virtio-ports/NAME under
 *                        QEMU/KVM, a vchan granted to dom0 under Xen
 *                        (listened on at vrpc_chan_xen_path(); NAME at most
 *                        19 bytes there)
 *
 * Error convention: functions returning int return 0 (or a count) on success
 * and a negative errno value on failure; functions returning pointers return
 * NULL and set errno. RPC outcomes are enum vrpc_status values, never errno.
 *
 * Threads: a vrpc_client or vrpc_server is used from one thread at a time.
 */
#ifndef VRPC_H
#define VRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Protocol version spoken by this library, and the oldest one it accepts. */
#define VRPC_VERSION 1
#define VRPC_VERSION_MIN 1

/* Frame payload limit used when the caller does not choose one. */
#define VRPC_DEFAULT_MAX_FRAME (1u << 20)
/* No caller may agree to frames larger than this (the header's length field
 * is 32 bits; this bound keeps a hostile peer from asking for gigabytes). */
#define VRPC_MAX_FRAME_LIMIT (64u << 20)

/* Call outcomes, numbered as gRPC numbers them. */
enum vrpc_status {
	VRPC_OK = 0,
	VRPC_CANCELLED = 1,
	VRPC_UNKNOWN = 2,
	VRPC_INVALID_ARGUMENT = 3,
	VRPC_DEADLINE_EXCEEDED = 4,
	VRPC_NOT_FOUND = 5,
	VRPC_ALREADY_EXISTS = 6,
	VRPC_PERMISSION_DENIED = 7,
	VRPC_RESOURCE_EXHAUSTED = 8,
	VRPC_FAILED_PRECONDITION = 9,
	VRPC_UNIMPLEMENTED = 12,
	VRPC_INTERNAL = 13,
	VRPC_UNAVAILABLE = 14,
};

/** @return the upper-case name of @p status ("PERMISSION_DENIED"), never NULL. */
const char *vrpc_status_name(int status);

/*
 * Who is calling, as the transport knows it. A method learns its caller only
 * from here, never from a field of the request.
 */
enum vrpc_peer_kind {
	VRPC_PEER_NONE = 0,
	VRPC_PEER_UID,   /* unix/shm: SO_PEERCRED uid (pid in aux) */
	VRPC_PEER_DOMID, /* xen: peer domain id */
	VRPC_PEER_CID,   /* vsock: peer context id (port in aux) */
	VRPC_PEER_LABEL, /* a broker (vappd) or a channel's configured name */
	VRPC_PEER_HOST,  /* tcp: peer address in label, port in aux */
};

struct vrpc_peer {
	enum vrpc_peer_kind kind;
	uint32_t id;
	uint32_t aux;
	char label[64];
};

/** Writes "uid:1000", "domid:3", "cid:5", "label:NAME" ... into @p buf. */
void vrpc_peer_format(const struct vrpc_peer *peer, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Client                                                             */
/* ------------------------------------------------------------------ */

struct vrpc_client;

struct vrpc_client_opts {
	int connect_timeout_ms; /* 0: 5000 */
	uint32_t max_frame;     /* 0: VRPC_DEFAULT_MAX_FRAME */
	unsigned max_inflight;  /* 0: 4096 */
};

/**
 * Connects to @p addr and performs the HELLO exchange for @p service.
 * @param opts may be NULL for defaults.
 * @return the client, or NULL with errno set: ECONNREFUSED (nobody at the
 *         address, or a broker saying the service's appliance is not
 *         running now), ETIMEDOUT, ENOENT (no such socket, or no such
 *         service there), EACCES (refused by policy), EPROTO (a handshake
 *         the server refused otherwise), EINVAL (a malformed address).
 */
struct vrpc_client *vrpc_client_open(const char *addr,
				     const ProtobufCServiceDescriptor *service,
				     const struct vrpc_client_opts *opts);

/** Fails every call still in flight with CANCELLED and frees. NULL is fine. */
void vrpc_client_close(struct vrpc_client *cli);

/**
 * The ProtobufCService to hand to protoc-c's generated stubs. A stub call
 * sends the request and returns; the closure runs from vrpc_client_process()
 * (or a blocking call) with the reply, or with NULL when the call failed, in
 * which case vrpc_client_status() tells why. For a streaming method the
 * closure runs once per item and then once with NULL: status VRPC_OK then
 * means the stream ended normally.
 */
ProtobufCService *vrpc_client_service(struct vrpc_client *cli);

/** Within a closure: the status and message of the call being completed. */
int vrpc_client_status(const struct vrpc_client *cli, const char **message);

/** Deadline for calls started from now on through the stub interface (0: none). */
void vrpc_client_set_timeout(struct vrpc_client *cli, int timeout_ms);

/*
 * Callback of an asynchronous call. @p msg is a reply (or a stream item)
 * owned by the library and freed after the callback returns; it is NULL when
 * @p done is true for a stream end or a failure. @p status and @p message
 * are meaningful when @p done is true.
 */
typedef void (*vrpc_reply_fn)(void *ud, const ProtobufCMessage *msg, bool done,
			      int status, const char *message);

/**
 * Starts a call of method @p method with request @p req.
 * @param timeout_ms deadline from now; 0 means none.
 * @return a call id (> 0) for vrpc_client_cancel(), or -errno
 *         (-EINVAL bad method index or request type, -EAGAIN too many in
 *         flight, -ENOBUFS send queue full, -ENOTCONN connection lost).
 */
int64_t vrpc_client_call_async(struct vrpc_client *cli, unsigned method,
			       const ProtobufCMessage *req, int timeout_ms,
			       vrpc_reply_fn fn, void *ud);

/** Cancels call @p id: its callback runs at once with CANCELLED. */
int vrpc_client_cancel(struct vrpc_client *cli, int64_t id);

/**
 * Blocking unary call. On VRPC_OK *reply holds the reply, to be freed with
 * protobuf_c_message_free_unpacked(*reply, NULL).
 * @param message if not NULL, receives a malloc'd error text (or NULL).
 * @return an enum vrpc_status.
 */
int vrpc_client_call(struct vrpc_client *cli, unsigned method,
		     const ProtobufCMessage *req, ProtobufCMessage **reply,
		     int timeout_ms, char **message);

/* Event-loop integration: poll fd for events, then call process. */
int vrpc_client_fd(const struct vrpc_client *cli);
short vrpc_client_events(const struct vrpc_client *cli);
#ifdef _WIN32
/**
 * Windows has no fd to poll: the event HANDLEs (at most 2, written into
 * @p handles as void *) to wait on, with a GUI's message loop, say:
 *     n = vrpc_client_handles(cli, h, 2);
 *     MsgWaitForMultipleObjects(n, h, FALSE, vrpc_client_next_timeout(cli), QS_ALLINPUT);
 *     vrpc_client_process(cli);
 * Any is set once vrpc_client_process() has something to do; call this
 * again before each wait (it readies the next read). @return how many; 0
 * when the port's far end is absent (wait 100 ms, then process and ask
 * again); -errno once the connection is lost.
 */
int vrpc_client_handles(struct vrpc_client *cli, void **handles, int max);
#endif
/**
 * Does whatever is ready without blocking: reads, runs callbacks, writes,
 * expires deadlines. @return 0, or -errno once the connection is lost (all
 * calls in flight have then been failed with UNAVAILABLE).
 */
int vrpc_client_process(struct vrpc_client *cli);
/** Like process, but waits up to @p timeout_ms (-1: forever) for something to happen. */
int vrpc_client_wait(struct vrpc_client *cli, int timeout_ms);
/** Milliseconds until the nearest deadline, or -1 if none. */
int vrpc_client_next_timeout(const struct vrpc_client *cli);
/** Number of calls in flight. */
unsigned vrpc_client_inflight(const struct vrpc_client *cli);

/* ------------------------------------------------------------------ */
/* Server                                                             */
/* ------------------------------------------------------------------ */

struct vrpc_server;
struct vrpc_call;

struct vrpc_server_opts {
	uint32_t max_frame;        /* 0: VRPC_DEFAULT_MAX_FRAME */
	unsigned max_inflight;     /* per connection; 0: 4096 */
	size_t max_send_queue;     /* bytes queued per connection; 0: 8 MiB */
	unsigned max_connections;  /* 0: 256 */
	int handshake_timeout_ms;  /* 0: 5000 */
	int stall_timeout_ms;      /* drop a peer that reads none of its replies for
				    * this long; 0: 30000 */
};

struct vrpc_server *vrpc_server_new(const struct vrpc_server_opts *opts);
/** Closes every connection and listener, then frees. NULL is fine. */
void vrpc_server_free(struct vrpc_server *srv);

/**
 * Offers @p impl (a protoc-c `*_Service` initialised with its INIT macro)
 * under its descriptor's full name.
 * @param streaming NULL-terminated list of method names that stream their
 *        replies (see vrpc_call_of()), or NULL.
 * @return 0, -EEXIST if a service of that name is already offered.
 */
int vrpc_server_add_service(struct vrpc_server *srv, ProtobufCService *impl,
			    const char *const *streaming);

/** Listens on @p addr (see the address syntax above). @return 0 or -errno. */
int vrpc_server_listen(struct vrpc_server *srv, const char *addr);

/**
 * Serves the single connection at @p addr (a virtio-serial port, or a
 * connection made outward), reopening its session whenever the peer goes
 * away and comes back. @return 0 or -errno.
 */
int vrpc_server_attach(struct vrpc_server *srv, const char *addr);

/**
 * Serves the direct channels granted in directory @p dir, one file a peer
 * (vapp-init writes them from vappd's word; chan:NAME watches
 * /run/vapp/direct/NAME by itself when it is there): line 1 the address to
 * listen on, line 2 the peer's name (each call's peer is then label:NAME),
 * then one service a line, the only ones that peer may HELLO. Files come,
 * change and go while the server runs (inotify). @return 0 or -errno.
 */
int vrpc_server_watch_direct(struct vrpc_server *srv, const char *dir);

/**
 * The xenstore directory where the appliance in domain @p domid serves its
 * channel @p name under Xen ("chan:NAME"), into @p buf: for dom0's
 * xen:DOMID:PATH. @return 0, -EINVAL (not a channel name), -ENAMETOOLONG.
 */
int vrpc_chan_xen_path(const char *name, uint32_t domid, char *buf, size_t len);

/* ---- forwarding: bytes between two kinds of channel, never parsed ---- */

struct vrpc_forward;
/**
 * Serves @p listen_addr on a thread of its own: each connection accepted
 * there (one at a time) is joined to a new connection to @p connect_addr,
 * and bytes are copied both ways, unread, until either side ends; then
 * both are closed and the next is accepted. The far side is tried every
 * 100 ms while the accepted one stays (it may still be starting), what
 * the accepted one sends meanwhile waiting (64 KiB at most).
 * @return the forwarder, or NULL with errno (the listen failed).
 */
struct vrpc_forward *vrpc_forward_start(const char *listen_addr, const char *connect_addr);
/** Stops it: both connections and the listener closed, the thread joined. */
void vrpc_forward_stop(struct vrpc_forward *f);

/* Event-loop integration: one fd for the whole server (an epoll fd). */
int vrpc_server_fd(const struct vrpc_server *srv);
/** Does whatever is ready without blocking. @return 0 or -errno. */
int vrpc_server_process(struct vrpc_server *srv);
/** Milliseconds until the server next needs process() without fd activity, or -1. */
int vrpc_server_next_timeout(const struct vrpc_server *srv);

/*
 * Inside a handler. protoc-c hands each method (input, closure,
 * closure_data); closure_data is the call. Reply by calling closure(&reply,
 * closure_data) once, now or later from the event loop. To fail, set a
 * status and call closure(NULL, closure_data). A streaming method calls
 * closure(&item, closure_data) once per item and closure(NULL, closure_data)
 * to end the stream (status OK unless one was set).
 */
struct vrpc_call *vrpc_call_of(void *closure_data);
const struct vrpc_peer *vrpc_call_peer(const struct vrpc_call *call);
/** Sets the status and message the next closure(NULL, ...) sends. */
void vrpc_call_set_status(struct vrpc_call *call, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** True once the caller cancelled, the deadline passed, or the connection closed. */
bool vrpc_call_cancelled(const struct vrpc_call *call);
/** Milliseconds left before the caller's deadline, or -1 for none. */
int vrpc_call_remaining_ms(const struct vrpc_call *call);

/* ------------------------------------------------------------------ */
/* A small event loop for appliances (any other loop works as well)   */
/* ------------------------------------------------------------------ */

struct vrpc_loop;
typedef void (*vrpc_fd_fn)(void *ud, int fd, short revents);
typedef void (*vrpc_timer_fn)(void *ud);

struct vrpc_loop *vrpc_loop_new(void);
void vrpc_loop_free(struct vrpc_loop *loop);
int vrpc_loop_add_fd(struct vrpc_loop *loop, int fd, short events, vrpc_fd_fn fn, void *ud);
int vrpc_loop_del_fd(struct vrpc_loop *loop, int fd);
/** One-shot timer. @return a timer id (> 0) or -errno. */
int vrpc_loop_add_timer(struct vrpc_loop *loop, int ms, vrpc_timer_fn fn, void *ud);
void vrpc_loop_cancel_timer(struct vrpc_loop *loop, int id);
/** Serves @p srv from this loop (fd and timeouts). */
int vrpc_loop_add_server(struct vrpc_loop *loop, struct vrpc_server *srv);
/** Runs until vrpc_loop_quit(). @return 0 or -errno. */
int vrpc_loop_run(struct vrpc_loop *loop);
void vrpc_loop_quit(struct vrpc_loop *loop);

#ifdef __cplusplus
}
#endif
#endif /* VRPC_H */
