/*
 * supervise.h - the life of one appliance as pure functions: the restart
 * back-off and the state machine. No clocks, no processes: the caller
 * (appliance.c) turns events into sup_step() calls and carries out the
 * actions it returns, so every transition is unit-tested
 * (tests/unit/test_supervise.c) without a VM.
 */
#ifndef VAPPD_SUPERVISE_H
#define VAPPD_SUPERVISE_H

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"

/* Back-off: first delay, doubled per restart up to the cap; a VM that ran
 * at least SUP_RESET_MS before it ended starts again from the first delay. */
#define SUP_BACKOFF_FIRST_MS 1000u
#define SUP_BACKOFF_CAP_MS 60000u
#define SUP_RESET_MS (5u * 60u * 1000u)

struct sup_backoff {
	uint32_t first_ms, cap_ms, reset_ms;
	uint32_t next_ms; /* the delay the next restart gets */
};

void sup_backoff_init(struct sup_backoff *b, uint32_t first_ms, uint32_t cap_ms,
		      uint32_t reset_ms);
/** The delay before restarting a VM that ran @p ran_ms; advances @p b. */
uint32_t sup_backoff_next(struct sup_backoff *b, uint64_t ran_ms);

enum sup_state {
	SUP_STARTING, /* QEMU started, waiting for HELLO */
	SUP_RUNNING,  /* ready */
	SUP_BACKOFF,  /* ended; the back-off timer starts it again */
	SUP_STOPPING, /* poweroff sent (or SIGKILL): waiting for QEMU to end */
	SUP_STOPPED,  /* ended for good, as asked or as its policy says */
	SUP_FAILED,   /* never became ready, or ended badly with restart: never */
};

enum sup_event {
	SUP_EV_READY,         /* the service answered HELLO */
	SUP_EV_DAEMON_EXIT,   /* vapp-init: "daemon-exit N" on vapp.ctl */
	SUP_EV_VM_EXIT,       /* the QEMU process ended (reaped) */
	SUP_EV_BOOT_TIMEOUT,  /* no HELLO within the boot timeout */
	SUP_EV_BACKOFF_DONE,  /* the back-off timer fired */
	SUP_EV_STOP,          /* vapp stop (force: SIGKILL at once) */
	SUP_EV_STOP_TIMEOUT,  /* poweroff's grace is over */
};

/* What the caller must do, in this order (bits of sup_step.actions). */
enum sup_action {
	SUP_DO_DROP_RPC = 1 << 0,   /* close the service connection (daemon gone) */
	SUP_DO_KILL = 1 << 1,       /* SIGKILL the QEMU process group */
	SUP_DO_POWEROFF = 1 << 2,   /* "poweroff" on vapp.ctl, arm the stop timer */
	SUP_DO_RECONNECT = 1 << 3,  /* drop any HELLO attempt, start a new one */
	SUP_DO_SCHEDULE = 1 << 4,   /* arm the back-off timer (sup_step.delay_ms) */
	SUP_DO_START = 1 << 5,      /* launch QEMU, connect vapp.ctl, HELLO */
	SUP_DO_COUNT = 1 << 6,      /* one more restart */
	SUP_DO_RUN_OK = 1 << 7,     /* answer the waiting `vapp run`: ready */
	SUP_DO_RUN_FAIL = 1 << 8,   /* answer it: failed (with the console tail) */
	SUP_DO_STOP_DONE = 1 << 9,  /* answer the waiting `vapp stop` */
	SUP_DO_CANCEL_TIMER = 1 << 10, /* the back-off timer is not needed any more */
	SUP_DO_ARM_BOOT = 1 << 11,  /* (re)start the boot timer: ready by then */
};

/* What the machine knows besides its state. */
struct sup_ctx {
	enum manifest_restart policy; /* the manifest's daemon.restart */
	bool ever_ready;   /* this `vapp run` reached ready once: failures are
			    * restarts, no longer a failed `vapp run` */
	bool force;        /* SUP_EV_STOP: SIGKILL now */
	bool vm_alive;     /* a QEMU process exists (not yet reaped) */
	int status;        /* SUP_EV_DAEMON_EXIT: the daemon's status;
			    * SUP_EV_VM_EXIT: 0 when QEMU ended by itself with
			    * status 0 after a daemon exit of 0, else nonzero */
	uint64_t ran_ms;   /* SUP_EV_VM_EXIT: how long this VM ran */
	struct sup_backoff backoff;
};

struct sup_step {
	enum sup_state next;
	unsigned actions;   /* enum sup_action bits */
	uint32_t delay_ms;  /* SUP_DO_SCHEDULE */
};

/** Whether an appliance that ended with @p status restarts under @p policy. */
bool sup_should_restart(enum manifest_restart policy, int status);

/** The transition from @p state on @p ev; may advance c->backoff. */
struct sup_step sup_step(enum sup_state state, enum sup_event ev, struct sup_ctx *c);

const char *sup_state_name(enum sup_state s);
const char *sup_event_name(enum sup_event e);

#endif /* VAPPD_SUPERVISE_H */
