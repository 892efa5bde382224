/*
 * supervise.c - the restart back-off and the state machine of one appliance
 * (see supervise.h). Pure: the caller owns clocks, processes and replies.
 *
 * Two supervisors are stacked. vapp-init restarts the daemon inside the VM
 * with its own back-off (the manifest's restart_delay_ms); vappd restarts
 * the VM when it ends or hangs. A daemon restart inside the VM is counted
 * here and costs a new HELLO, not a new VM.
 */
#include "supervise.h"

void sup_backoff_init(struct sup_backoff *b, uint32_t first_ms, uint32_t cap_ms,
		      uint32_t reset_ms)
{
	b->first_ms = first_ms ? first_ms : 1;
	b->cap_ms = cap_ms < b->first_ms ? b->first_ms : cap_ms;
	b->reset_ms = reset_ms;
	b->next_ms = b->first_ms;
}

uint32_t sup_backoff_next(struct sup_backoff *b, uint64_t ran_ms)
{
	uint32_t delay;

	/* A VM that stayed up long enough was healthy: its next failure is a
	 * new story, not the tail of a crash loop. */
	if (ran_ms >= b->reset_ms)
		b->next_ms = b->first_ms;
	delay = b->next_ms;
	b->next_ms = delay > b->cap_ms / 2 ? b->cap_ms : delay * 2;
	return delay;
}

bool sup_should_restart(enum manifest_restart policy, int status)
{
	switch (policy) {
	case MANIFEST_RESTART_ALWAYS:
		return true;
	case MANIFEST_RESTART_ON_FAILURE:
		return status != 0;
	case MANIFEST_RESTART_NEVER:
		break;
	}
	return false;
}

static struct sup_step stay(enum sup_state s)
{
	return (struct sup_step){ .next = s };
}

/* The VM ended (or was killed) on its own account: restart it after the
 * back-off if its policy says so. */
static struct sup_step ended(struct sup_ctx *c, unsigned actions)
{
	struct sup_step st = { .actions = actions };

	if (!sup_should_restart(c->policy, c->status)) {
		st.next = c->status ? SUP_FAILED : SUP_STOPPED;
		return st;
	}
	st.next = SUP_BACKOFF;
	st.actions |= SUP_DO_COUNT | SUP_DO_SCHEDULE;
	st.delay_ms = sup_backoff_next(&c->backoff, c->ran_ms);
	return st;
}

static struct sup_step stop(enum sup_state s, struct sup_ctx *c)
{
	unsigned fail = s == SUP_STARTING && !c->ever_ready ? SUP_DO_RUN_FAIL : 0;

	if (!c->vm_alive)
		return (struct sup_step){ .next = SUP_STOPPED,
					  .actions = SUP_DO_CANCEL_TIMER | SUP_DO_STOP_DONE | fail };
	return (struct sup_step){
		.next = SUP_STOPPING,
		.actions = SUP_DO_CANCEL_TIMER | SUP_DO_DROP_RPC | fail |
			   (c->force || s == SUP_BACKOFF || s == SUP_FAILED || s == SUP_STOPPED
				    ? SUP_DO_KILL
				    : SUP_DO_POWEROFF),
	};
}

static struct sup_step starting(enum sup_event ev, struct sup_ctx *c)
{
	switch (ev) {
	case SUP_EV_READY:
		return (struct sup_step){ .next = SUP_RUNNING, .actions = SUP_DO_RUN_OK };
	case SUP_EV_DAEMON_EXIT:
		/* A HELLO the dead daemon had read is lost with it. */
		return (struct sup_step){ .next = SUP_STARTING, .actions = SUP_DO_RECONNECT };
	case SUP_EV_VM_EXIT:
		if (!c->ever_ready)
			return (struct sup_step){ .next = SUP_FAILED,
						  .actions = SUP_DO_DROP_RPC | SUP_DO_RUN_FAIL };
		return ended(c, SUP_DO_DROP_RPC);
	case SUP_EV_BOOT_TIMEOUT:
		if (!c->ever_ready)
			return (struct sup_step){ .next = SUP_FAILED,
						  .actions = SUP_DO_DROP_RPC | SUP_DO_KILL |
							     SUP_DO_RUN_FAIL };
		/* A restart that hangs is a crash like any other; a hang says
		 * nothing good about the status, so never "clean". */
		if (!c->status)
			c->status = 1;
		return ended(c, SUP_DO_DROP_RPC | SUP_DO_KILL);
	case SUP_EV_STOP:
		return stop(SUP_STARTING, c);
	case SUP_EV_BACKOFF_DONE:
	case SUP_EV_STOP_TIMEOUT:
		break;
	}
	return stay(SUP_STARTING);
}

static struct sup_step running(enum sup_event ev, struct sup_ctx *c)
{
	switch (ev) {
	case SUP_EV_DAEMON_EXIT:
		return (struct sup_step){
			.next = SUP_STARTING,
			.actions = SUP_DO_DROP_RPC | SUP_DO_COUNT | SUP_DO_RECONNECT |
				   SUP_DO_ARM_BOOT,
		};
	case SUP_EV_VM_EXIT:
		return ended(c, SUP_DO_DROP_RPC);
	case SUP_EV_STOP:
		return stop(SUP_RUNNING, c);
	case SUP_EV_READY:
	case SUP_EV_BOOT_TIMEOUT:
	case SUP_EV_BACKOFF_DONE:
	case SUP_EV_STOP_TIMEOUT:
		break;
	}
	return stay(SUP_RUNNING);
}

static struct sup_step backoff(enum sup_event ev, struct sup_ctx *c)
{
	switch (ev) {
	case SUP_EV_BACKOFF_DONE:
		return (struct sup_step){ .next = SUP_STARTING,
					  .actions = SUP_DO_START | SUP_DO_ARM_BOOT };
	case SUP_EV_STOP:
		return stop(SUP_BACKOFF, c);
	default:
		break;
	}
	return stay(SUP_BACKOFF);
}

static struct sup_step stopping(enum sup_event ev, struct sup_ctx *c)
{
	switch (ev) {
	case SUP_EV_VM_EXIT:
		return (struct sup_step){ .next = SUP_STOPPED, .actions = SUP_DO_STOP_DONE };
	case SUP_EV_STOP_TIMEOUT:
		return (struct sup_step){ .next = SUP_STOPPING, .actions = SUP_DO_KILL };
	case SUP_EV_STOP:
		return (struct sup_step){ .next = SUP_STOPPING,
					  .actions = c->force ? SUP_DO_KILL : 0 };
	default:
		break;
	}
	return stay(SUP_STOPPING);
}

struct sup_step sup_step(enum sup_state state, enum sup_event ev, struct sup_ctx *c)
{
	switch (state) {
	case SUP_STARTING:
		return starting(ev, c);
	case SUP_RUNNING:
		return running(ev, c);
	case SUP_BACKOFF:
		return backoff(ev, c);
	case SUP_STOPPING:
		return stopping(ev, c);
	case SUP_STOPPED:
	case SUP_FAILED:
		if (ev == SUP_EV_STOP)
			return stop(state, c);
		break;
	}
	return stay(state);
}

const char *sup_state_name(enum sup_state s)
{
	static const char *const names[] = {
		[SUP_STARTING] = "starting", [SUP_RUNNING] = "running",
		[SUP_BACKOFF] = "backoff",   [SUP_STOPPING] = "stopping",
		[SUP_STOPPED] = "stopped",   [SUP_FAILED] = "failed",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

const char *sup_event_name(enum sup_event e)
{
	static const char *const names[] = {
		[SUP_EV_READY] = "ready",
		[SUP_EV_DAEMON_EXIT] = "daemon-exit",
		[SUP_EV_VM_EXIT] = "vm-exit",
		[SUP_EV_BOOT_TIMEOUT] = "boot-timeout",
		[SUP_EV_BACKOFF_DONE] = "backoff-done",
		[SUP_EV_STOP] = "stop",
		[SUP_EV_STOP_TIMEOUT] = "stop-timeout",
	};

	return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "?";
}
