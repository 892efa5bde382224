/*
 * connector.h - vrpc_client_open() on a thread of its own, so that the
 * loop of a window never waits for a connection (a HELLO unanswered while
 * the appliance restarts takes the whole connect timeout). The thread
 * touches nothing but its own struct connector; the client it made is
 * handed over when it is done, then used by the caller's thread alone.
 */
#ifndef VVUI_CONNECTOR_H
#define VVUI_CONNECTOR_H

#include <stdbool.h>

#include "vrpc.h"

struct connector;

/** Starts connecting to @p addr. @return NULL with errno on failure. */
struct connector *connector_start(const char *addr, const ProtobufCServiceDescriptor *svc,
				  int timeout_ms);
/** What is signalled when it is done: a HANDLE on Windows, elsewhere an fd
 * as (void *)(intptr_t)fd that becomes readable. */
void *connector_handle(const struct connector *c);
bool connector_done(struct connector *c);
/** Waits for it to be done (at once after connector_done()), frees it.
 * @return the client, or NULL if it could not connect. */
struct vrpc_client *connector_finish(struct connector *c);

#endif
