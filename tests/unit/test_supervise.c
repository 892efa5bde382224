/* test_supervise.c - vappd's restart back-off and appliance state machine
 * (runtime/vappd/supervise.c), transition by transition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "supervise.h"

static struct sup_ctx ctx(enum manifest_restart policy)
{
	struct sup_ctx c = { .policy = policy, .vm_alive = true };

	sup_backoff_init(&c.backoff, SUP_BACKOFF_FIRST_MS, SUP_BACKOFF_CAP_MS, SUP_RESET_MS);
	return c;
}

static void backoff_doubles_to_cap_and_resets(void **state)
{
	struct sup_backoff b;
	uint32_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 };

	sup_backoff_init(&b, 1000, 60000, 300000);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(sup_backoff_next(&b, 10), want[i]);
	/* A VM that ran 5 minutes starts the sequence again. */
	assert_int_equal(sup_backoff_next(&b, 300000), 1000);
	assert_int_equal(sup_backoff_next(&b, 299999), 2000);
	/* A cap that is not a power-of-two multiple is still reached, never passed. */
	sup_backoff_init(&b, 700, 5000, 1000);
	assert_int_equal(sup_backoff_next(&b, 0), 700);
	assert_int_equal(sup_backoff_next(&b, 0), 1400);
	assert_int_equal(sup_backoff_next(&b, 0), 2800);
	assert_int_equal(sup_backoff_next(&b, 0), 5000);
	assert_int_equal(sup_backoff_next(&b, 0), 5000);
}

static void restart_policy(void **state)
{
	assert_true(sup_should_restart(MANIFEST_RESTART_ALWAYS, 0));
	assert_true(sup_should_restart(MANIFEST_RESTART_ALWAYS, 1));
	assert_false(sup_should_restart(MANIFEST_RESTART_ON_FAILURE, 0));
	assert_true(sup_should_restart(MANIFEST_RESTART_ON_FAILURE, 137));
	assert_false(sup_should_restart(MANIFEST_RESTART_NEVER, 1));
}

static void first_boot(void **state)
{
	struct sup_ctx c = ctx(MANIFEST_RESTART_ALWAYS);
	struct sup_step s = sup_step(SUP_STARTING, SUP_EV_READY, &c);

	assert_int_equal(s.next, SUP_RUNNING);
	assert_true(s.actions & SUP_DO_RUN_OK);
	/* Not ready in time: VM killed, `vapp run` fails, no restart. */
	s = sup_step(SUP_STARTING, SUP_EV_BOOT_TIMEOUT, &c);
	assert_int_equal(s.next, SUP_FAILED);
	assert_int_equal(s.actions & (SUP_DO_KILL | SUP_DO_RUN_FAIL | SUP_DO_SCHEDULE),
			 SUP_DO_KILL | SUP_DO_RUN_FAIL);
	/* The VM ends during the first boot: failed at once, even with always. */
	s = sup_step(SUP_STARTING, SUP_EV_VM_EXIT, &c);
	assert_int_equal(s.next, SUP_FAILED);
	assert_true(s.actions & SUP_DO_RUN_FAIL);
	assert_false(s.actions & SUP_DO_SCHEDULE);
	/* A daemon exit while booting only asks for a new HELLO. */
	s = sup_step(SUP_STARTING, SUP_EV_DAEMON_EXIT, &c);
	assert_int_equal(s.next, SUP_STARTING);
	assert_int_equal(s.actions, SUP_DO_RECONNECT);
}

static void crash_restarts_with_backoff(void **state)
{
	struct sup_ctx c = ctx(MANIFEST_RESTART_ON_FAILURE);
	struct sup_step s;

	c.ever_ready = true;
	c.status = 137; /* SIGKILL */
	c.ran_ms = 1000;
	s = sup_step(SUP_RUNNING, SUP_EV_VM_EXIT, &c);
	assert_int_equal(s.next, SUP_BACKOFF);
	assert_true(s.actions & SUP_DO_COUNT);
	assert_true(s.actions & SUP_DO_SCHEDULE);
	assert_true(s.actions & SUP_DO_DROP_RPC);
	assert_int_equal(s.delay_ms, 1000);
	s = sup_step(SUP_BACKOFF, SUP_EV_BACKOFF_DONE, &c);
	assert_int_equal(s.next, SUP_STARTING);
	assert_int_equal(s.actions, SUP_DO_START | SUP_DO_ARM_BOOT);
	/* The restart hangs: killed, and the next delay has doubled. */
	c.status = 0;
	s = sup_step(SUP_STARTING, SUP_EV_BOOT_TIMEOUT, &c);
	assert_int_equal(s.next, SUP_BACKOFF);
	assert_true(s.actions & SUP_DO_KILL);
	assert_false(s.actions & SUP_DO_RUN_FAIL);
	assert_int_equal(s.delay_ms, 2000);
	/* A clean end under on-failure is the end. */
	c.status = 0;
	s = sup_step(SUP_RUNNING, SUP_EV_VM_EXIT, &c);
	assert_int_equal(s.next, SUP_STOPPED);
	assert_false(s.actions & SUP_DO_SCHEDULE);
	/* never: a crash leaves it failed. */
	c.policy = MANIFEST_RESTART_NEVER;
	c.status = 1;
	s = sup_step(SUP_RUNNING, SUP_EV_VM_EXIT, &c);
	assert_int_equal(s.next, SUP_FAILED);
}

static void daemon_restart_inside_vm(void **state)
{
	struct sup_ctx c = ctx(MANIFEST_RESTART_ALWAYS);
	struct sup_step s;

	c.ever_ready = true;
	s = sup_step(SUP_RUNNING, SUP_EV_DAEMON_EXIT, &c);
	assert_int_equal(s.next, SUP_STARTING);
	assert_int_equal(s.actions,
			 SUP_DO_DROP_RPC | SUP_DO_COUNT | SUP_DO_RECONNECT | SUP_DO_ARM_BOOT);
	s = sup_step(SUP_STARTING, SUP_EV_READY, &c);
	assert_int_equal(s.next, SUP_RUNNING);
}

static void stop(void **state)
{
	struct sup_ctx c = ctx(MANIFEST_RESTART_ALWAYS);
	struct sup_step s;

	c.ever_ready = true;
	s = sup_step(SUP_RUNNING, SUP_EV_STOP, &c);
	assert_int_equal(s.next, SUP_STOPPING);
	assert_true(s.actions & SUP_DO_POWEROFF);
	assert_false(s.actions & SUP_DO_KILL);
	s = sup_step(SUP_STOPPING, SUP_EV_STOP_TIMEOUT, &c);
	assert_int_equal(s.next, SUP_STOPPING);
	assert_int_equal(s.actions, SUP_DO_KILL);
	/* While stopping, an exit is the end: never a restart. */
	c.status = 137;
	s = sup_step(SUP_STOPPING, SUP_EV_VM_EXIT, &c);
	assert_int_equal(s.next, SUP_STOPPED);
	assert_int_equal(s.actions, SUP_DO_STOP_DONE);
	s = sup_step(SUP_STOPPING, SUP_EV_BACKOFF_DONE, &c);
	assert_int_equal(s.actions, 0);
	/* force: SIGKILL now. */
	c.force = true;
	s = sup_step(SUP_RUNNING, SUP_EV_STOP, &c);
	assert_true(s.actions & SUP_DO_KILL);
	assert_false(s.actions & SUP_DO_POWEROFF);
	/* In back-off there is no VM: stopped at once, the timer cancelled. */
	c.force = false;
	c.vm_alive = false;
	s = sup_step(SUP_BACKOFF, SUP_EV_STOP, &c);
	assert_int_equal(s.next, SUP_STOPPED);
	assert_true(s.actions & SUP_DO_CANCEL_TIMER);
	assert_true(s.actions & SUP_DO_STOP_DONE);
	/* Stopping during the first boot fails the waiting `vapp run`. */
	c.ever_ready = false;
	c.vm_alive = true;
	s = sup_step(SUP_STARTING, SUP_EV_STOP, &c);
	assert_true(s.actions & SUP_DO_RUN_FAIL);
	/* A failed appliance is forgotten by stop. */
	c.vm_alive = false;
	s = sup_step(SUP_FAILED, SUP_EV_STOP, &c);
	assert_int_equal(s.next, SUP_STOPPED);
	assert_true(s.actions & SUP_DO_STOP_DONE);
}

static void stale_events_do_nothing(void **state)
{
	struct sup_ctx c = ctx(MANIFEST_RESTART_ALWAYS);
	enum sup_state states[] = { SUP_RUNNING, SUP_BACKOFF, SUP_STOPPED, SUP_FAILED };

	c.ever_ready = true;
	for (size_t i = 0; i < 4; i++) {
		struct sup_step s = sup_step(states[i], SUP_EV_BOOT_TIMEOUT, &c);

		assert_int_equal(s.next, states[i]);
		assert_int_equal(s.actions, 0);
		s = sup_step(states[i], SUP_EV_STOP_TIMEOUT, &c);
		assert_int_equal(s.actions, 0);
	}
	assert_string_equal(sup_state_name(SUP_BACKOFF), "backoff");
	assert_string_equal(sup_event_name(SUP_EV_DAEMON_EXIT), "daemon-exit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_to_cap_and_resets),
		cmocka_unit_test(restart_policy),
		cmocka_unit_test(first_boot),
		cmocka_unit_test(crash_restarts_with_backoff),
		cmocka_unit_test(daemon_restart_inside_vm),
		cmocka_unit_test(stop),
		cmocka_unit_test(stale_events_do_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
