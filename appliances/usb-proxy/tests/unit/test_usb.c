/* test_usb.c - the USB proxy's parts that read what others wrote: the data
 * stream's opening line (usbip_line.c: the guest believes only a line of
 * two valid numbers), the devices read from a sysfs tree made here
 * (devices.c: a hostile device's strings made harmless, interfaces'
 * classes, busids told from hubs and interfaces) and the device rules
 * (rules.c: FILE:LINE:COL errors, nothing kept from a bad file, the first
 * rule that fits decides, no rule no device). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "usbd.h"
#include "usbip_line.h"

static void test_line_roundtrip(void **state)
{
	char line[USBIP_LINE_MAX];
	uint32_t devid = 0;
	int speed = 0, n;

	(void)state;
	n = usbip_line_format(1 << 16 | 3, 3, line);
	assert_string_equal(line, "65539 3\n");
	/* The USB/IP stream follows the line at once: the length says where. */
	memcpy(line + n, "\x00\x00\x00\x03", 4);
	assert_int_equal(usbip_line_parse(line, (size_t)n + 4, &devid, &speed), n);
	assert_int_equal(devid, 65539);
	assert_int_equal(speed, 3);
	assert_int_equal(usbip_line_format(0, 3, line), -EINVAL);          /* bus 0 */
	assert_int_equal(usbip_line_format(1 << 16 | 128, 3, line), -EINVAL); /* address 128 */
	assert_int_equal(usbip_line_format(1 << 16 | 1, 7, line), -EINVAL);
	assert_int_equal(usbip_speed_of("480"), 3);
	assert_int_equal(usbip_speed_of("5000"), 5);
	assert_int_equal(usbip_speed_of("480 "), 0);
}

static void test_line_refusals(void **state)
{
	static const char *const bad[] = {
		"65539\n", "65539 \n", " 65539 3\n", "65539  3\n", "65539 3 \n", "65539 03\n",
		"065539 3\n", "-65539 3\n", "+65539 3\n", "65539 0\n", "65539 7\n", "3 3\n",
		"65536 3\n", "99999999999 3\n", "4294967296 3\n", "16842879 3\n", "65539 3\r\n",
		"0x10003 3\n", "\n", "65539\t3\n", "1,2 3\n",
	};
	uint32_t devid = 7;
	int speed = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(usbip_line_parse(bad[i], strlen(bad[i]), &devid, &speed), -EINVAL);
		assert_int_equal(devid, 7);
		assert_int_equal(speed, 7);
	}
	/* No newline yet: more may come, until there is no room for one. */
	assert_int_equal(usbip_line_parse("65539 3", 7, &devid, &speed), -EAGAIN);
	assert_int_equal(usbip_line_parse("", 0, &devid, &speed), -EAGAIN);
	assert_int_equal(usbip_line_parse("111111111111111111111111111", 27, &devid, &speed),
			 -EINVAL);
	/* A newline beyond the line's room does not count. */
	assert_int_equal(usbip_line_parse("65539 3                        \n", 32, &devid, &speed),
			 -EINVAL);
}

static void test_busids(void **state)
{
	static const char *const good[] = { "1-1", "1-2", "3-1.4", "12-3.4.2", "2-10" };
	static const char *const bad[] = { "usb1", "1-2:1.0", "1-", "-1", "0-1", "1-1.", "1-.1",
					   "1-1..2", "1-a", "", "../1-1", "1-1/..",
					   "1-1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(usb_busid_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(usb_busid_ok(bad[i]));
}

/* A sysfs tree of the test's own. */
static char root[64];

static void put(const char *entry, const char *name, const char *value, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, entry);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", root, entry, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(value, 1, len, f), len);
	fclose(f);
}
#define PUT(e, n, v) put(e, n, v, strlen(v))

static void device(const char *busid, const char *vid, const char *pid, const char *cls,
		   const char *bus, const char *dev, const char *speed)
{
	PUT(busid, "idVendor", vid);
	PUT(busid, "idProduct", pid);
	PUT(busid, "bDeviceClass", cls);
	PUT(busid, "busnum", bus);
	PUT(busid, "devnum", dev);
	PUT(busid, "speed", speed);
}

static void test_scan(void **state)
{
	struct usb_dev d[8];
	char cmd[128];
	int n;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/test_usb.XXXXXX");
	assert_non_null(mkdtemp(root));
	/* A stick: class in its interface. A keyboard with hostile strings. */
	device("1-2", "0781\n", "5567\n", "00\n", "1\n", "3\n", "480\n");
	PUT("1-2", "product", "Cruzer Blade\n");
	PUT("1-2", "serial", "4C530001\n");
	PUT("1-2:1.0", "bInterfaceClass", "08\n");
	device("1-1", "0627\n", "0001\n", "00\n", "1\n", "2\n", "12\n");
	put("1-1", "product", "Key\x1b[2Jboard\x7f\xc3\xa9\n", 17);
	char longname[400];
	memset(longname, 'A', sizeof(longname));
	put("1-1", "manufacturer", longname, sizeof(longname));
	PUT("1-1:1.0", "bInterfaceClass", "03\n");
	PUT("1-1:1.1", "bInterfaceClass", "03\n");
	/* Not devices: a root hub, a half-written device, a bad id. */
	device("usb1", "1d6b\n", "0002\n", "09\n", "1\n", "1\n", "480\n");
	PUT("2-1", "idVendor", "1234\n");
	device("2-2", "12345\n", "0001\n", "00\n", "2\n", "2\n", "12\n");
	device("2-3", "1234\n", "0001\n", "00\n", "2\n", "200\n", "12\n");

	n = usb_scan(root, d, 8);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].busid, "1-1");
	assert_int_equal(d[0].vendor, 0x0627);
	assert_int_equal(d[0].speed, 2);
	assert_int_equal(d[0].n_if, 2);
	assert_true(usb_has_class(&d[0], 3));
	assert_false(usb_has_class(&d[0], 8));
	assert_string_equal(d[0].product_name, "Key?[2Jboard???");
	assert_int_equal(strlen(d[0].manufacturer), USB_STRING_MAX - 1);
	assert_string_equal(d[1].busid, "1-2");
	assert_int_equal(d[1].vendor, 0x0781);
	assert_int_equal(d[1].product, 0x5567);
	assert_int_equal(d[1].busnum << 16 | d[1].devnum, 65539);
	assert_int_equal(d[1].speed, 3);
	assert_true(usb_has_class(&d[1], 8));
	assert_string_equal(d[1].product_name, "Cruzer Blade");
	assert_string_equal(d[1].serial, "4C530001");
	assert_string_equal(d[1].manufacturer, "");
	assert_int_equal(usb_scan(root, d, 1), 1);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(usb_scan(root, d, 8), -ENOENT);
}

static const struct usb_dev stick = { .busid = "1-2", .vendor = 0x0781, .product = 0x5567,
				      .if_classes = { 8 }, .n_if = 1 };
static const struct usb_dev kbd = { .busid = "1-1", .vendor = 0x0627, .product = 0x0001,
				    .if_classes = { 3, 3 }, .n_if = 2 };

static void test_rules(void **state)
{
	static const char text[] =
		"# the seed's rule: no copying data to USB memory for bob\n"
		"bob    deny   class:08\n"
		"bob    allow  *          # anything else\n"
		"alice  allow  usb:0781:*\n"
		"carol  allow  busid:1-1\n"
		"*      allow  class:03\n";
	struct usb_rules r;
	char why[256];
	int rule;

	(void)state;
	assert_int_equal(usb_rules_parse(text, strlen(text), "rules", &r, why, sizeof(why)), 0);
	assert_int_equal(r.n, 5);
	assert_false(usb_rules_allow(&r, "bob", &stick, &rule));
	assert_int_equal(rule, 1);
	assert_true(usb_rules_allow(&r, "bob", &kbd, &rule));
	assert_int_equal(rule, 2);
	assert_true(usb_rules_allow(&r, "alice", &stick, &rule));
	assert_int_equal(rule, 3);
	assert_true(usb_rules_allow(&r, "alice", &kbd, &rule));
	assert_int_equal(rule, 5);
	assert_true(usb_rules_allow(&r, "carol", &kbd, NULL));
	assert_false(usb_rules_allow(&r, "carol", &stick, &rule));
	assert_int_equal(rule, 0); /* no rule: no device */
	assert_false(usb_rules_allow(&r, "dave", &stick, NULL));
	/* A name is matched whole: bob's rules are not bo's. */
	assert_false(usb_rules_allow(&r, "bo", &stick, &rule));
	assert_int_equal(rule, 0);
	assert_true(usb_rules_allow(&r, "bo", &kbd, &rule));
	assert_int_equal(rule, 5);
}

static void test_rules_errors(void **state)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "bob allow\n", "rules:1:10: the device is missing" },
		{ "bob\n", "rules:1:4: allow or deny is missing" },
		{ "\nbob permit *\n", "rules:2:5: 'permit': allow or deny" },
		{ "Bob allow *\n", "rules:1:1: 'Bob' is not a guest's name" },
		{ "bob allow usb:781:5567\n", "rules:1:11: 'usb:781:5567': not usb:VVVV:PPPP" },
		{ "bob allow usb:0781\n", "rules:1:11: 'usb:0781': not usb:VVVV:PPPP" },
		{ "bob allow usb:0781:55g7\n", "rules:1:11: 'usb:0781:55g7'" },
		{ "bob allow class:8\n", "rules:1:11: 'class:8': not class:HH" },
		{ "bob allow class:*\n", "rules:1:11: 'class:*': not class:HH" },
		{ "bob allow busid:../x\n", "rules:1:17: '../x' is not a busid" },
		{ "bob allow * *\n", "rules:1:13: '*': one device a rule" },
		{ "bob allow vid:1\n", "rules:1:11: 'vid:1': a device is" },
		{ "bob allow *\nbob deny \0x\n", "rules:2:1: a NUL byte" },
	};
	struct usb_rules r = { .n = 42 };
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = strlen(bad[i].text);

		if (strstr(bad[i].why, "NUL"))
			len += 3;
		assert_int_equal(usb_rules_parse(bad[i].text, len, "rules", &r, why, sizeof(why)),
				 -EINVAL);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)))
			fail_msg("'%s' said '%s', not '%s'", bad[i].text, why, bad[i].why);
		assert_int_equal(r.n, 42); /* nothing kept */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_roundtrip),
		cmocka_unit_test(test_line_refusals),
		cmocka_unit_test(test_busids),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_rules_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
