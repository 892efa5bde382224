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
/** Also sets d->on_ready/on_down, and serves the relay from d->loop. */
int broker_attach(struct broker *b, struct vappd *d);
void broker_free(struct broker *b);

#endif /* VAPPD_BROKER_H */
