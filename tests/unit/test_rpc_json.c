/* test_rpc_json.c - calling methods by name with JSON in and out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server_thread.h"
#include "vrpc_json.h"

static struct server_thread st;
static struct vrpc_client *cli;

static int setup(void **state)
{
	if (server_thread_start(&st, NULL, NULL))
		return -1;
	cli = vrpc_client_open(st.addr, &vrpc__test__echo__descriptor, NULL);
	return cli ? 0 : -1;
}

static int teardown(void **state)
{
	vrpc_client_close(cli);
	server_thread_stop(&st);
	return 0;
}

static void test_unary_by_name(void **state)
{
	const char *names[] = { "Echo", "vrpc.test.Echo.Echo", "vrpc.test.Echo/Echo" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *reply, *msg;

		assert_int_equal(vrpc_client_call_json(cli, names[i],
						       "{\"text\": \"hi\", \"data\": \"AAEC\"}",
						       NULL, NULL, 2000, &reply, &msg),
				 VRPC_OK);
		assert_null(msg);
		assert_non_null(strstr(reply, "\"text\": \"hi\""));
		assert_non_null(strstr(reply, "\"data\": \"AAEC\""));
		free(reply);
	}
}

static void collect(void *ud, const char *json)
{
	char *all = ud;

	strcat(all, json);
	strcat(all, "\n");
}

static void test_stream_items(void **state)
{
	char all[1024] = "", *reply, *msg;

	assert_int_equal(vrpc_client_call_json(cli, "Count", "{\"text\":\"x\",\"count\":3}",
					       collect, all, 2000, &reply, &msg),
			 VRPC_OK);
	assert_null(reply);
	assert_string_equal(all, "{\"text\":\"x\"}\n{\"text\":\"x\",\"seq\":1}\n"
				 "{\"text\":\"x\",\"seq\":2}\n");
}

static void test_bad_request_is_not_sent(void **state)
{
	unsigned before = __atomic_load_n(&st.echo.calls, __ATOMIC_SEQ_CST);
	char *reply, *msg;

	assert_int_equal(vrpc_client_call_json(cli, "Echo", "{\"count\": \"many\"}", NULL, NULL,
					       2000, &reply, &msg),
			 VRPC_INVALID_ARGUMENT);
	assert_null(reply);
	assert_non_null(strstr(msg, "count"));
	free(msg);
	assert_int_equal(vrpc_client_call_json(cli, "Echo", "{\"nosuchfield\": 1}", NULL, NULL,
					       2000, &reply, &msg),
			 VRPC_INVALID_ARGUMENT);
	assert_non_null(strstr(msg, "nosuchfield"));
	free(msg);
	assert_int_equal(vrpc_client_call_json(cli, "NoSuchMethod", "{}", NULL, NULL, 2000, &reply,
					       &msg),
			 VRPC_NOT_FOUND);
	free(msg);
	assert_int_equal(__atomic_load_n(&st.echo.calls, __ATOMIC_SEQ_CST), before);
}

static void test_failure_message(void **state)
{
	char *reply, *msg;

	assert_int_equal(vrpc_client_call_json(cli, "Fail", "{\"text\":\"t\",\"failStatus\":7}",
					       NULL, NULL, 2000, &reply, &msg),
			 VRPC_PERMISSION_DENIED);
	assert_string_equal(msg, "asked to fail: t");
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unary_by_name),
		cmocka_unit_test(test_stream_items),
		cmocka_unit_test(test_bad_request_is_not_sent),
		cmocka_unit_test(test_failure_message),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
