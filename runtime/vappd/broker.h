/*
 * broker.h - vappd's broker: guests reach appliances only through it.
 *
 * Each guest named with --guest NAME[:TAG,...] gets a gate, the unix socket
 * RUN_DIR/guests/NAME.sock (a guest VM's virtio-serial port is connected
 * there by its QEMU: -chardev socket,path=...,reconnect=1). Whoever comes
 * through a gate IS that guest: the caller's identity is the channel it
 * arrived on, never a claim inside a message. Every call is put to the
 * policy (runtime/policy, --policy FILE) by SERVICE.METHOD, guest and
 * appliance: first match wins, default deny; denied calls get
 * PERMISSION_DENIED and are logged. Allowed calls are relayed to the
 * appliance over vappd's one connection to its channel (vrpc_relay.h), the
 * guest's name attached for the appliance's method to see.
 *
 * The host has a gate too, RUN_DIR/host.sock, where `vapp call APPLIANCE`
 * comes in as "host": the same policy decides its calls.
 *
 * Split in two processes (privsep.h says the messages):
 *   broker.c        in vappd (root): makes the gates, reads the policy
 *                   files, hands each ready appliance's connection over,
 *                   and restarts the child when it dies (the guests'
 *                   channels reconnect, each appliance's is made again);
 *   broker_child.c  vappd re-executed as "vappd-broker", user vapp-broker,
 *                   under jail.h's seccomp filter: the relay and the policy,
 *                   every byte a guest or an appliance sends. It can relay,
 *                   refuse and log; it cannot start or stop anything.
 */
#ifndef VAPPD_BROKER_H
#define VAPPD_BROKER_H

#include "vappd.h"

struct broker;

/**
 * Loads the policy files and opens a gate per guest spec ("NAME" or
 * "NAME:TAG,TAG"). @p err receives the reason on failure.
 * @return the broker, or NULL (errno set).
 */
struct broker *broker_new(struct vappd *d, char *const *policy_files, char *const *guests,
			  char *err, size_t errlen);
/** Starts the child, sets d->on_ready/on_down/on_reaped, and serves the
 * child's messages from d->loop. @p user is who the child runs as. */
int broker_attach(struct broker *b, struct vappd *d, const char *user);
/** May guest @p guest (a --guest name) call @p service of @p appliance on
 * a direct channel (the policy's direct=yes, policy_direct())? The methods
 * of it the policy denies that guest go to @p denied (blank-separated,
 * @p len bytes). */
bool vappd_broker_direct(const struct broker *b, const char *service, const char *guest,
			 const char *appliance, char *denied, size_t len);
/** The services on @p channel of manifest @p m (appliance @p appliance)
 * that guest @p guest may have directly, blank-separated into @p out,
 * each followed by "!METHOD" for each of its methods the policy denies
 * the guest (the appliance refuses those); empty when none (or when they
 * do not fit). */
void vappd_broker_direct_services(const struct broker *b, const struct manifest *m,
				  const char *channel, const char *guest, const char *appliance,
				  char *out, size_t len);
/** The name of the @p i-th --guest (the host's own gate left out) into
 * @p out. @return false past the last. */
bool vappd_broker_guest_name(const struct broker *b, size_t i, char *out, size_t len);
/** Tells the child to stop, waits for it (bounded), removes the gates. */
void broker_free(struct broker *b);

/* ---- shared by both halves ---- */

#define BROKER_MAX_TAGS 16
#define BROKER_HOST_LABEL "host"
/* argv[0] that makes vappd the child (main.c). */
#define BROKER_CHILD_ARGV0 "vappd-broker"
/* The child's end of the socketpair, where the parent puts it. */
#define BROKER_CHILD_FD 3

struct broker_guest {
	char name[64];
	char *tags[BROKER_MAX_TAGS];
	size_t n_tags;
};

/** "NAME" or "NAME:TAG,TAG" (--guest's syntax) into @p g; the host's own
 * label only when @p host_ok (the parent's host gate). @return 0, or
 * -EINVAL/-ENOMEM with @p err saying why. */
int vappd_broker_parse_guest(const char *spec, bool host_ok, struct broker_guest *g, char *err,
		       size_t errlen);
void vappd_broker_guest_free(struct broker_guest *g);

/** The child: main() of "vappd-broker USER". @return its exit status. */
int vappd_broker_child_main(int argc, char **argv);

#endif /* VAPPD_BROKER_H */
