/*
 * test_vappd_settings.c - vappd --setting (runtime/vappd/settings.c): the
 * option's checks, the refusal of a setting an image does not take, and
 * the vapp.ctl lines, read back by vapp-init's own reader
 * (runtime/guest-init/initconf_settings.c) byte for byte.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "initconf.h"
#include "vapp_util.h"
#include "vappd.h"

static char dir[] = "/tmp/vappd-settings.XXXXXX";

static void put(const char *name, const void *data, size_t len)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* --setting PREFIX + dir/FILE */
static int add(struct vappd *d, const char *prefix, const char *file)
{
	char arg[512], err[512] = "";

	snprintf(arg, sizeof(arg), "%s%s/%s", prefix, dir, file);
	return vappd_setting_add(d, arg, err, sizeof(err));
}

/* The lines a launch sends, put through vapp-init's reader. */
static void guest_reads(const struct vapp_buf *b, struct initconf_settings *s)
{
	struct initconf_lines lines = { 0 };
	const char *p = (const char *)b->p;
	size_t left = b->len;
	char line[INITCONF_LINE_MAX];
	int r = 0;

	while (initconf_lines_feed(&lines, &p, &left, line)) {
		assert_true(initconf_settings_is_line(line));
		r = initconf_settings_line(s, line);
		assert_true(r >= 0);
	}
	assert_int_equal(r, 1); /* the last line was settings-end */
	assert_int_equal(lines.len, 0);
}

static void test_option(void **state)
{
	struct vappd d = { 0 };
	char err[512];

	(void)state;
	put("rules", "* allow *\n", 10);
	assert_int_equal(add(&d, "usb:usb.rules=", "rules"), 0);
	assert_int_equal(d.n_settings, 1);
	assert_string_equal(d.settings[0].appliance, "usb");
	assert_string_equal(d.settings[0].name, "usb.rules");
	assert_int_equal(d.settings[0].file[0], '/');
	/* Twice for the same appliance and name; a name that is a path; no
	 * appliance, no name, no file; a file that is not there. */
	assert_int_equal(add(&d, "usb:usb.rules=", "rules"), -EINVAL);
	assert_int_equal(add(&d, "usb:../x=", "rules"), -EINVAL);
	assert_int_equal(add(&d, ":a=", "rules"), -EINVAL);
	assert_int_equal(add(&d, "usb:=", "rules"), -EINVAL);
	assert_int_equal(vappd_setting_add(&d, "usb:a=", err, sizeof(err)), -EINVAL);
	assert_int_equal(vappd_setting_add(&d, "usb-a", err, sizeof(err)), -EINVAL);
	assert_int_equal(add(&d, "usb:a=", "missing"), -ENOENT);
	assert_non_null(strstr(err, "APPLIANCE:NAME=FILE"));
	/* Another appliance may have a setting of the same name. */
	assert_int_equal(add(&d, "usb2:usb.rules=", "rules"), 0);
	assert_int_equal(d.n_settings, 2);
	vappd_settings_free(&d);
	assert_int_equal(d.n_settings, 0);
}

static void test_too_big(void **state)
{
	struct vappd d = { 0 };
	char *big = calloc(1, VAPPD_SETTING_MAX + 1);

	(void)state;
	assert_non_null(big);
	put("big", big, VAPPD_SETTING_MAX + 1);
	assert_int_equal(add(&d, "usb:big=", "big"), -EFBIG);
	put("big", big, VAPPD_SETTING_MAX);
	assert_int_equal(add(&d, "usb:big=", "big"), 0);
	vappd_settings_free(&d);
	free(big);
}

static void test_check(void **state)
{
	char *takes[] = { "usb.rules", "key.pem" };
	struct manifest m = { .daemon = { .settings = takes, .n_settings = 2 } };
	struct manifest none = { 0 };
	struct vappd d = { 0 };
	char err[512] = "";

	(void)state;
	put("rules", "x\n", 2);
	assert_int_equal(add(&d, "usb:usb.rules=", "rules"), 0);
	assert_int_equal(vappd_settings_check(&d, "usb", &m, err, sizeof(err)), 0);
	/* Another appliance's settings do not count. */
	assert_int_equal(vappd_settings_check(&d, "fw", &none, err, sizeof(err)), 0);
	assert_int_equal(vappd_settings_check(&d, "usb", &none, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "takes no setting 'usb.rules'"));
	vappd_settings_free(&d);
}

static void test_round_trip(void **state)
{
	char *takes[] = { "usb.rules", "key.pem", "unset" };
	struct manifest m = { .daemon = { .settings = takes, .n_settings = 3 } };
	struct initconf_settings s;
	struct vapp_buf b = { 0 };
	struct vappd d = { 0 };
	unsigned char bin[5000];
	char err[512] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 131 + 7); /* every byte value, NULs and newlines */
	put("rules", "alice allow *\n", 14);
	put("key", bin, sizeof(bin));
	assert_int_equal(add(&d, "usb:usb.rules=", "rules"), 0);
	assert_int_equal(add(&d, "usb:key.pem=", "key"), 0);
	assert_int_equal(vappd_settings_text(&d, "usb", &m, &b, err, sizeof(err)), 0);
	assert_int_equal(initconf_settings_init(&s, "usb.rules\nkey.pem\nunset\n", 24), 0);
	guest_reads(&b, &s);
	assert_true(s.sent[0] && s.sent[1] && !s.sent[2]);
	assert_false(s.bad[0] || s.bad[1]);
	assert_int_equal(s.len[0], 14);
	assert_memory_equal(s.data[0], "alice allow *\n", 14);
	assert_int_equal(s.len[1], sizeof(bin));
	assert_memory_equal(s.data[1], bin, sizeof(bin));
	initconf_settings_free(&s);
	vapp_buf_free(&b);

	/* An appliance with no setting given still gets its settings-end, so
	 * its daemon starts with its defaults; one that takes none gets
	 * nothing at all. */
	assert_int_equal(vappd_settings_text(&d, "other", &m, &b, err, sizeof(err)), 0);
	assert_int_equal(b.len, strlen("settings-end\n"));
	assert_memory_equal(b.p, "settings-end\n", b.len);
	vapp_buf_free(&b);
	m.daemon.n_settings = 0;
	assert_int_equal(vappd_settings_text(&d, "usb", &m, &b, err, sizeof(err)), 0);
	assert_int_equal(b.len, 0);
	vapp_buf_free(&b);
	vappd_settings_free(&d);
}

/* A file gone or grown since vappd started: nothing is sent, no
 * settings-end, so the daemon does not start without its setting. */
static void test_file_gone(void **state)
{
	char *takes[] = { "usb.rules" };
	struct manifest m = { .daemon = { .settings = takes, .n_settings = 1 } };
	struct vapp_buf b = { 0 };
	struct vappd d = { 0 };
	char err[512] = "", p[256], *big;

	(void)state;
	put("gone", "x\n", 2);
	assert_int_equal(add(&d, "usb:usb.rules=", "gone"), 0);
	snprintf(p, sizeof(p), "%s/gone", dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(vappd_settings_text(&d, "usb", &m, &b, err, sizeof(err)), -ENOENT);
	assert_int_equal(b.len, 0);
	assert_non_null(strstr(err, "setting usb.rules"));
	big = calloc(1, VAPPD_SETTING_MAX + 1);
	assert_non_null(big);
	put("gone", big, VAPPD_SETTING_MAX + 1);
	free(big);
	assert_int_equal(vappd_settings_text(&d, "usb", &m, &b, err, sizeof(err)), -EFBIG);
	assert_int_equal(b.len, 0);
	vappd_settings_free(&d);
	vapp_buf_free(&b);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return vapp_rm_rf(dir) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_file_gone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
