/* test_spin.c - the adaptive spin (transport.h, struct spin_ctl): it stops
 * when spinning does not pay, comes back when it does, and probes now and
 * then. VRPC_SPIN_US is fixed at 40 for the whole program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "transport.h"

static void test_budget_adapts(void **state)
{
	struct spin_ctl s = { .budget_us = -1 };
	int probes = 0;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		/* One CPU: the peer cannot run while we spin. */
		assert_int_equal(vrpc_spin_budget(&s), 0);
		skip();
	}
	assert_int_equal(vrpc_spin_budget(&s), 40);
	/* Spins that find nothing: 20, 10, 5, 2, then none. */
	vrpc_spin_result(&s, false);
	assert_int_equal(vrpc_spin_budget(&s), 20);
	vrpc_spin_result(&s, false);
	assert_int_equal(vrpc_spin_budget(&s), 10);
	vrpc_spin_result(&s, false);
	vrpc_spin_result(&s, false);
	assert_int_equal(vrpc_spin_budget(&s), 2);
	vrpc_spin_result(&s, false);
	/* No budget: one short probe every 64 waits. */
	for (int i = 0; i < 128; i++) {
		int b = vrpc_spin_budget(&s);

		if (b) {
			assert_int_equal(b, 10);
			probes++;
			vrpc_spin_result(&s, false);
		}
	}
	assert_int_equal(probes, 2);
	/* A probe that finds work gives the whole budget back. */
	for (int b = 0; !b;)
		b = vrpc_spin_budget(&s);
	vrpc_spin_result(&s, true);
	assert_int_equal(vrpc_spin_budget(&s), 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_budget_adapts),
	};

	setenv("VRPC_SPIN_US", "40", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
