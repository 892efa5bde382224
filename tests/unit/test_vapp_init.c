/* test_vapp_init.c - the pure half of vapp-init (runtime/guest-init/initconf.c):
 * the /etc/vapp files, the restart back-off, the control-channel lines and
 * the state disk probe. The rest needs a VM (tests/integration/boot_hello.sh). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "initconf.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_list(void **state)
{
	struct initconf_list l;

	assert_int_equal(initconf_parse_list(S("# load order\n\n  kernel/a.ko \r\n/lib/b.ko\nc.ko"), &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "kernel/a.ko");
	assert_string_equal(l.v[1], "/lib/b.ko");
	assert_string_equal(l.v[2], "c.ko");
	assert_null(l.v[3]);
	initconf_list_free(&l);

	assert_int_equal(initconf_parse_list(S(""), &l), 0);
	assert_int_equal(l.n, 0);
	assert_non_null(l.v);
	assert_null(l.v[0]);
	initconf_list_free(&l);

	assert_int_equal(initconf_parse_list(S("a.ko\0b.ko\n"), &l), -EINVAL);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	initconf_list_free(NULL);
}

static void test_channels(void **state)
{
	struct initconf_list l;

	assert_int_equal(initconf_parse_channels(S("vapp.rpc\nvapp.ctl\nvapp.rpc\n"), &l), 0);
	assert_int_equal(l.n, 2); /* a name given twice is waited for once */
	assert_true(initconf_list_has(&l, "vapp.rpc"));
	assert_true(initconf_list_has(&l, "vapp.ctl"));
	assert_false(initconf_list_has(&l, "vapp"));
	initconf_list_free(&l);

	assert_int_equal(initconf_parse_channels(S("../etc/passwd\n"), &l), -EINVAL);
	assert_int_equal(initconf_parse_channels(S("a/b\n"), &l), -EINVAL);
	assert_int_equal(initconf_parse_channels(S("has space\n"), &l), -EINVAL);
	assert_int_equal(initconf_parse_channels(
		S("a234567890123456789012345678901234567890123456789012345678901234\n"), &l), -EINVAL);
	assert_null(l.v);
}

static void test_port_name(void **state)
{
	assert_true(initconf_port_name_ok("vapp.ctl"));
	assert_true(initconf_port_name_ok("org.qemu.guest_agent.0"));
	assert_true(initconf_port_name_ok("A-b_9"));
	assert_false(initconf_port_name_ok(""));
	assert_false(initconf_port_name_ok("."));
	assert_false(initconf_port_name_ok(".."));
	assert_false(initconf_port_name_ok(".hidden"));
	assert_false(initconf_port_name_ok("a/b"));
	assert_false(initconf_port_name_ok("a\nb"));
}

static void test_argv(void **state)
{
	struct initconf_list l;

	assert_int_equal(initconf_parse_argv(S("/bin/hello-server\n--attach\nserial:/dev/virtio-ports/vapp.rpc\n"), &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "/bin/hello-server");
	assert_string_equal(l.v[2], "serial:/dev/virtio-ports/vapp.rpc");
	assert_null(l.v[3]);
	initconf_list_free(&l);

	/* Verbatim: blanks, '#' and empty arguments are the daemon's business. */
	assert_int_equal(initconf_parse_argv(S("/bin/d\n # not a comment \n\n"), &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[1], " # not a comment ");
	assert_string_equal(l.v[2], "");
	initconf_list_free(&l);

	assert_int_equal(initconf_parse_argv(S("/bin/d"), &l), 0); /* no final newline */
	assert_int_equal(l.n, 1);
	initconf_list_free(&l);

	assert_int_equal(initconf_parse_argv(S(""), &l), -EINVAL);
	assert_int_equal(initconf_parse_argv(S("\n"), &l), -EINVAL);
	assert_int_equal(initconf_parse_argv(S("hello-server\n"), &l), -EINVAL); /* no PATH search */
	assert_int_equal(initconf_parse_argv(S("/bin/d\n\0x\n"), &l), -EINVAL);
	assert_null(l.v);
}

static void test_restart(void **state)
{
	struct initconf_restart_policy p;

	assert_int_equal(initconf_parse_restart(S("on-failure\n250\n"), &p), 0);
	assert_int_equal(p.when, INITCONF_RESTART_ON_FAILURE);
	assert_int_equal(p.first_ms, 250);
	assert_int_equal(initconf_parse_restart(S("never"), &p), 0);
	assert_int_equal(p.when, INITCONF_RESTART_NEVER);
	assert_int_equal(p.first_ms, INITCONF_BACKOFF_DEFAULT_MS);
	assert_int_equal(initconf_parse_restart(S("always\n0\n\n"), &p), 0);
	assert_int_equal(p.when, INITCONF_RESTART_ALWAYS);
	assert_int_equal(p.first_ms, 0);

	assert_int_equal(initconf_parse_restart(S(""), &p), -EINVAL);
	assert_int_equal(initconf_parse_restart(S("sometimes\n500\n"), &p), -EINVAL);
	assert_int_equal(initconf_parse_restart(S("Always\n"), &p), -EINVAL);
	assert_int_equal(initconf_parse_restart(S("always\n-5\n"), &p), -EINVAL);
	assert_int_equal(initconf_parse_restart(S("always\n5s\n"), &p), -EINVAL);
	assert_int_equal(initconf_parse_restart(S("always\n99999999999\n"), &p), -EINVAL);
	assert_int_equal(initconf_parse_restart(S("always\n500\nextra\n"), &p), -EINVAL);
	/* A failed parse leaves the defaults, not half a policy. */
	assert_int_equal(initconf_parse_restart(S("never\nx\n"), &p), -EINVAL);
	assert_int_equal(p.when, INITCONF_RESTART_ALWAYS);

	assert_true(initconf_should_restart(INITCONF_RESTART_ALWAYS, 0));
	assert_true(initconf_should_restart(INITCONF_RESTART_ALWAYS, 1));
	assert_false(initconf_should_restart(INITCONF_RESTART_ON_FAILURE, 0));
	assert_true(initconf_should_restart(INITCONF_RESTART_ON_FAILURE, 128 + 9));
	assert_false(initconf_should_restart(INITCONF_RESTART_NEVER, 1));
	assert_string_equal(initconf_restart_name(INITCONF_RESTART_ON_FAILURE), "on-failure");
}

static void test_state(void **state)
{
	struct initconf_state st;

	assert_int_equal(initconf_parse_state(S("16 /var/lib/vapp\n"), &st), 0);
	assert_int_equal(st.size_mib, 16);
	assert_string_equal(st.mount, "/var/lib/vapp");
	assert_int_equal(initconf_parse_state(S("  1   /data "), &st), 0);
	assert_string_equal(st.mount, "/data");

	assert_int_equal(initconf_parse_state(S("0 /data\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 data\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /var/../etc\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /var/./x\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /var//x\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /var/x/\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /a b\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("16 /data\n32 /other\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("2000000 /data\n"), &st), -EINVAL);
	assert_int_equal(initconf_parse_state(S("x16 /data\n"), &st), -EINVAL);
	assert_int_equal(st.size_mib, 0);
	assert_string_equal(st.mount, "");
}

static void test_name_file(void **state)
{
	char name[INITCONF_NAME_MAX + 1];

	assert_int_equal(initconf_parse_name(S("hello\n"), name), 0);
	assert_string_equal(name, "hello");
	assert_int_equal(initconf_parse_name(S("fw-2"), name), 0);
	assert_string_equal(name, "fw-2");
	assert_int_equal(initconf_parse_name(S("Hello\n"), name), -EINVAL);
	assert_int_equal(initconf_parse_name(S("a.b\n"), name), -EINVAL);
	assert_int_equal(initconf_parse_name(S("-a\n"), name), -EINVAL);
	assert_int_equal(initconf_parse_name(S("a\nb\n"), name), -EINVAL);
	assert_int_equal(initconf_parse_name(S("a b\n"), name), -EINVAL);
	assert_int_equal(initconf_parse_name(S("\n"), name), -EINVAL);
	assert_int_equal(initconf_parse_name("ab\0c", 4, name), -EINVAL);
	assert_int_equal(initconf_parse_name(
		S("a234567890123456789012345678901234567890123456789012345678901234\n"), name), -EINVAL);
	assert_string_equal(name, "");
}

static void test_backoff(void **state)
{
	static const uint32_t want[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	struct initconf_backoff b;
	size_t i;

	initconf_backoff_init(&b, 500);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(initconf_backoff_next(&b, 10), want[i]);
	/* A run of a minute starts over; just under does not. */
	assert_int_equal(initconf_backoff_next(&b, INITCONF_BACKOFF_RESET_MS - 1), 30000);
	assert_int_equal(initconf_backoff_next(&b, INITCONF_BACKOFF_RESET_MS), 500);
	assert_int_equal(initconf_backoff_next(&b, 0), 1000);

	/* 0 would restart a crashing daemon in a loop: 1 ms, doubling. */
	initconf_backoff_init(&b, 0);
	assert_int_equal(initconf_backoff_next(&b, 0), 1);
	assert_int_equal(initconf_backoff_next(&b, 0), 2);
	initconf_backoff_init(&b, 3600000);
	assert_int_equal(initconf_backoff_next(&b, 0), INITCONF_BACKOFF_CAP_MS);
	assert_int_equal(initconf_backoff_next(&b, 0), INITCONF_BACKOFF_CAP_MS);
	initconf_backoff_init(&b, 20000);
	assert_int_equal(initconf_backoff_next(&b, 0), 20000);
	assert_int_equal(initconf_backoff_next(&b, 0), 30000);
}

static int feed_all(struct initconf_lines *l, const char *data, size_t len, char out[][INITCONF_LINE_MAX],
		    int max)
{
	int n = 0;

	while (n < max && initconf_lines_feed(l, &data, &len, out[n]))
		n++;
	assert_int_equal(len, 0);
	return n;
}

static void test_lines(void **state)
{
	struct initconf_lines l = { 0 };
	char out[4][INITCONF_LINE_MAX];
	char big[INITCONF_LINE_MAX + 10];

	assert_int_equal(feed_all(&l, S("pow"), out, 4), 0);
	assert_int_equal(feed_all(&l, S("eroff\r\nx\n\nrest"), out, 4), 3);
	assert_string_equal(out[0], "poweroff");
	assert_string_equal(out[1], "x");
	assert_string_equal(out[2], "");
	assert_int_equal(feed_all(&l, S("\n"), out, 4), 1);
	assert_string_equal(out[0], "rest");

	/* An overlong line is dropped whole, in however many pieces it comes. */
	memset(big, 'p', sizeof(big));
	assert_int_equal(feed_all(&l, big, sizeof(big), out, 4), 0);
	assert_int_equal(feed_all(&l, S("poweroff\nok\n"), out, 4), 1);
	assert_string_equal(out[0], "ok");
	/* Exactly the most a line may hold is still a line. */
	memset(big, 'a', INITCONF_LINE_MAX - 1);
	big[INITCONF_LINE_MAX - 1] = '\n';
	assert_int_equal(feed_all(&l, big, INITCONF_LINE_MAX, out, 4), 1);
	assert_int_equal(strlen(out[0]), INITCONF_LINE_MAX - 1);
	/* A NUL spoils its line: "power\0off" is not "power". */
	assert_int_equal(feed_all(&l, S("power\0off\nb\n"), out, 4), 1);
	assert_string_equal(out[0], "b");
}

static void test_settings(void **state)
{
	static const char names[] = "usb.rules\n# a comment\nkey.pem\n";
	struct initconf_settings s;
	char big[INITCONF_LINE_MAX];

	(void)state;
	assert_int_equal(initconf_settings_init(&s, names, sizeof(names) - 1), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "usb.rules");
	assert_true(initconf_settings_is_line("settings-end"));
	assert_true(initconf_settings_is_line("setting x 00"));
	assert_false(initconf_settings_is_line("settings-endx"));
	assert_false(initconf_settings_is_line("measurement 00"));
	/* Pieces append, either case of hex. */
	assert_int_equal(initconf_settings_line(&s, "setting usb.rules 2a2061"), 0);
	assert_int_equal(initconf_settings_line(&s, "setting usb.rules 6C6C6f770a"), 0);
	assert_int_equal(s.len[0], 8);
	assert_memory_equal(s.data[0], "* allow\n", 8);
	/* A name the image does not take, a name that is a prefix of one, no
	 * bytes part: refused, nothing changes. */
	assert_int_equal(initconf_settings_line(&s, "setting ../etc/passwd 00"), -EINVAL);
	assert_int_equal(initconf_settings_line(&s, "setting usb 00"), -EINVAL);
	assert_int_equal(initconf_settings_line(&s, "setting usb.rules"), -EINVAL);
	assert_int_equal(s.len[0], 8);
	assert_false(s.bad[0]);
	/* Bad hex marks the setting bad for good: never half of one. */
	assert_int_equal(initconf_settings_line(&s, "setting key.pem 0g"), -EINVAL);
	assert_true(s.bad[1]);
	assert_int_equal(initconf_settings_line(&s, "setting key.pem 00"), -EINVAL);
	assert_int_equal(initconf_settings_line(&s, "setting key.pem 0"), -EINVAL);
	/* The end, once. */
	assert_int_equal(initconf_settings_line(&s, "settings-end"), 1);
	assert_int_equal(initconf_settings_line(&s, "settings-end"), -EINVAL);
	assert_int_equal(initconf_settings_line(&s, "setting usb.rules 00"), -EINVAL);
	assert_int_equal(s.len[0], 8);
	initconf_settings_free(&s);

	/* Past INITCONF_SETTING_BYTES: bad. */
	assert_int_equal(initconf_settings_init(&s, "a\n", 2), 0);
	memcpy(big, "setting a ", 10);
	memset(big + 10, 'f', 128);
	big[138] = '\0';
	for (size_t sent = 0; sent < INITCONF_SETTING_BYTES; sent += 64)
		assert_int_equal(initconf_settings_line(&s, big), 0);
	assert_int_equal(initconf_settings_line(&s, big), -EINVAL);
	assert_true(s.bad[0]);
	initconf_settings_free(&s);

	/* A name repeated counts once; a bad name, too many: refused. */
	assert_int_equal(initconf_settings_init(&s, "a\na\n", 4), 0);
	assert_int_equal(s.n, 1);
	initconf_settings_free(&s);
	assert_int_equal(initconf_settings_init(&s, "a/b\n", 4), -EINVAL);
	assert_int_equal(initconf_settings_init(&s, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\np\nq\n", 34),
			 -EINVAL);
}

static void test_disk(void **state)
{
	static uint8_t disk[INITCONF_DISK_PROBE];

	memset(disk, 0, sizeof(disk));
	assert_int_equal(initconf_disk_kind(disk, sizeof(disk)), INITCONF_DISK_BLANK);
	/* A short read is not proof of a blank disk. */
	assert_int_equal(initconf_disk_kind(disk, sizeof(disk) - 1), INITCONF_DISK_UNKNOWN);
	/* btrfs keeps its superblock at 64 KiB: never formatted over. */
	memcpy(disk + 0x10040, "_BHRfS_M", 8);
	assert_int_equal(initconf_disk_kind(disk, sizeof(disk)), INITCONF_DISK_UNKNOWN);
	disk[sizeof(disk) - 1] = 0;
	memset(disk, 0, sizeof(disk));
	disk[sizeof(disk) - 1] = 1;
	assert_int_equal(initconf_disk_kind(disk, sizeof(disk)), INITCONF_DISK_UNKNOWN);
	disk[1080] = 0x53;
	disk[1081] = 0xef;
	assert_int_equal(initconf_disk_kind(disk, sizeof(disk)), INITCONF_DISK_EXT);
	assert_int_equal(initconf_disk_kind(disk, 2048), INITCONF_DISK_EXT);
	disk[1081] = 0xee;
	assert_int_equal(initconf_disk_kind(disk, 2048), INITCONF_DISK_UNKNOWN);
}

/* The direct-channel lines: only the image's channels, good names, an
 * address without blanks, 1..16 services; the file says them a line each. */
static void test_direct(void **state)
{
	static const char chans_text[] = "vapp.rpc\nvapp.log\n";
	struct initconf_list chans;
	struct initconf_direct d;
	char file[512], line[INITCONF_LINE_MAX];

	assert_int_equal(initconf_parse_channels(chans_text, sizeof(chans_text) - 1, &chans), 0);
	assert_true(initconf_direct_is_line("direct vapp.rpc carol x A"));
	assert_true(initconf_direct_is_line("direct-end vapp.rpc carol"));
	assert_false(initconf_direct_is_line("directx"));
	assert_false(initconf_direct_is_line("settings-end"));

	assert_int_equal(initconf_direct_line("direct vapp.rpc carol xen:5:data/vapp/vapp@rpc-5 "
					      "vapp.hello.v1.Greeter  b.C",
					      &chans, &d), 0);
	assert_false(d.end);
	assert_string_equal(d.chan, "vapp.rpc");
	assert_string_equal(d.peer, "carol");
	assert_string_equal(d.address, "xen:5:data/vapp/vapp@rpc-5");
	assert_string_equal(d.services, "vapp.hello.v1.Greeter b.C");
	assert_int_equal(initconf_direct_file(&d, file, sizeof(file)), 59);
	assert_string_equal(file, "xen:5:data/vapp/vapp@rpc-5\ncarol\nvapp.hello.v1.Greeter\nb.C\n");
	assert_int_equal(initconf_direct_file(&d, file, 40), -ENOSPC);

	/* A method the policy denies, after its service: a line of its own. */
	assert_int_equal(initconf_direct_line("direct vapp.rpc carol ivshmem:0000:00:10.0 "
					      "vapp.hello.v1.Greeter !SayHello b.C",
					      &chans, &d), 0);
	assert_string_equal(d.services, "vapp.hello.v1.Greeter !SayHello b.C");
	assert_true(initconf_direct_file(&d, file, sizeof(file)) > 0);
	assert_string_equal(file, "ivshmem:0000:00:10.0\ncarol\nvapp.hello.v1.Greeter\n!SayHello\n"
				  "b.C\n");

	assert_int_equal(initconf_direct_line("direct-end vapp.log carol", &chans, &d), 0);
	assert_true(d.end);
	assert_string_equal(d.chan, "vapp.log");

	static const char *const bad[] = {
		"direct vapp.nope carol x A",          /* not the image's channel */
		"direct ../x carol x A",
		"direct vapp.rpc ../etc x A",          /* the peer is a file name */
		"direct vapp.rpc .carol x A",
		"direct vapp.rpc ca/rol x A",
		"direct vapp.rpc carol x",             /* no service */
		"direct vapp.rpc carol",
		"direct vapp.rpc carol x A/B",
		"direct vapp.rpc carol x \x01",
		"direct-end vapp.rpc carol more",
		"direct-end vapp.rpc",
		"direct vapp.rpc carol x\x7f A",
		"direct vapp.rpc carol x !SayHello A", /* a method before any service */
		"direct vapp.rpc carol x A !a.b",      /* a method is one name */
		"direct vapp.rpc carol x A !",
		"direct vapp.rpc carol x A !!B",
		"direct vapp.rpc carol x A !../B",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(initconf_direct_line(bad[i], &chans, &d), -EINVAL);

	/* At most 16 services; a peer of 63 bytes, not 64. */
	snprintf(line, sizeof(line), "direct vapp.rpc p x");
	for (int i = 0; i < 16; i++)
		strcat(line, " S");
	assert_int_equal(initconf_direct_line(line, &chans, &d), 0);
	strcat(line, " S");
	assert_int_equal(initconf_direct_line(line, &chans, &d), -EINVAL);
	memset(file, 'p', 64);
	file[64] = '\0';
	snprintf(line, sizeof(line), "direct-end vapp.rpc %.64s", file);
	assert_int_equal(initconf_direct_line(line, &chans, &d), -EINVAL);
	file[63] = '\0';
	snprintf(line, sizeof(line), "direct-end vapp.rpc %.64s", file);
	assert_int_equal(initconf_direct_line(line, &chans, &d), 0);
	initconf_list_free(&chans);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_channels),
		cmocka_unit_test(test_port_name),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_name_file),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_disk),
		cmocka_unit_test(test_direct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
