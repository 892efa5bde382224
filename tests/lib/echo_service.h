/* echo_service.h - the Echo service of tests/proto/echo.proto, served by the
 * tests, the benchmarks and tests/progs/echo_server. */
#ifndef TESTS_ECHO_SERVICE_H
#define TESTS_ECHO_SERVICE_H

#include "vrpc.h"
#include "tests/proto/echo.pb-c.h"

struct echo_service {
	Vrpc__Test__Echo_Service base;
	struct vrpc_loop *loop; /* for Sleep and slow Count; may be NULL */
	unsigned calls;         /* requests handled */
	unsigned cancelled;     /* Sleep calls found cancelled when they woke */
	struct pending_sleep *pending; /* replies waiting for a timer */
};

/* Methods that stream, for vrpc_server_add_service(). */
extern const char *const echo_streaming[];

void echo_service_init(struct echo_service *svc, struct vrpc_loop *loop);
/* Frees replies still waiting; call after vrpc_server_free(). */
void echo_service_fini(struct echo_service *svc);

#endif
