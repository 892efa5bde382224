/*
 * test_hvconfig.c - the hypervisor configs of hand-built manifests against
 * golden files tests/hvconfig/NAME.{qemu.args,libvirt.xml,xl.cfg}, each
 * xl.cfg also read back through Xen's own parser (libxlutil), and what the
 * generators must refuse.
 *
 * On a mismatch the generated text is written to
 * $BUILD/hvconfig-actual/NAME.EXT and the message gives the first differing
 * line and the diff command. After an intended change, rewrite the golden
 * files with:
 *     UPDATE_GOLDEN=1 build/tests/unit/test_hvconfig
 * and review them with git diff before committing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libxlutil.h>

#include "hvconfig.h"

/* ---- the manifests ---- */

static char *no_args[] = { NULL };

static void base(struct manifest *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	m->name = (char *)name;
	m->version = "1.0.0";
	m->vendor = "vapp tests";
	m->vcpus = 1;
	m->memory_mib = 64;
	m->kernel.modules = no_args;
	m->daemon.argv = no_args;
}

static void minimal(struct manifest *m, struct hv_params *p)
{
	base(m, "minimal");
}

static struct manifest_channel two_channels[] = { { "vapp.rpc" }, { "vapp.log" } };

static void channels_state(struct manifest *m, struct hv_params *p)
{
	base(m, "channels-state");
	m->vcpus = 2;
	m->memory_mib = 96;
	m->kernel.cmdline = "loglevel=4";
	m->channels = two_channels;
	m->n_channels = 2;
	m->state.size_mib = 16;
	m->state.mount = "/var/lib/vapp";
}

static struct manifest_nic nics[] = {
	{ "eth0", MANIFEST_NIC_UPLINK, "52:54:00:12:34:56", NULL },
	{ "eth1", MANIFEST_NIC_GUEST, NULL, NULL },
};

static void two_nics(struct manifest *m, struct hv_params *p)
{
	base(m, "firewall");
	m->nics = nics;
	m->n_nics = 2;
	m->channels = two_channels;
	m->n_channels = 1;
	m->hv.xen_type = MANIFEST_XEN_PV;
}

static struct manifest_pci gpu[] = { { "0000:01:00.0" }, { "02:00.1" } };
static char *extra_qemu[] = { "-cpu", "max", NULL };
static char *extra_xen[] = { "max_grant_frames = 64", "vcpus = 2", NULL };

static void pci_usb(struct manifest *m, struct hv_params *p)
{
	base(m, "usb-proxy");
	m->memory_mib = 256;
	m->usb = true;
	m->pci = gpu;
	m->n_pci = 2;
	m->state.size_mib = 8;
	m->hv.qemu_args = extra_qemu;
	m->hv.n_qemu_args = 2;
	m->hv.xen_lines = extra_xen;
	m->hv.n_xen_lines = 2;
	m->hv.libvirt_xml = "    <rng model='virtio'>\n"
			    "      <backend model='random'>/dev/urandom</backend>\n"
			    "    </rng>";
}

/* The VoIP appliance's shape: a sound card, a NIC, one channel; vappd
 * gives the audiodev (tests: a WAV file of what the speaker plays). */
static struct manifest_nic voip_nic[] = { { "eth0", MANIFEST_NIC_UPLINK, NULL, NULL } };

static void sound(struct manifest *m, struct hv_params *p)
{
	base(m, "voip");
	m->sound = true;
	m->nics = voip_nic;
	m->n_nics = 1;
	m->channels = two_channels;
	m->n_channels = 1;
	p->audiodev = "wav";
	p->audio_file = "/run/vapp/voip/speaker.wav";
}

/* Values each format must escape, given as parameters (a placeholder's
 * value never needs escaping, see hv_expand). No comma in run_dir: xl
 * channel specs cannot hold one (a test below checks that it is refused). */
static const char *esc_taps[] = { "vapp-tap.0" }; /* libvirt: [a-zA-Z0-9_.:/\\-]+ */
static const char *esc_bridges[] = { "br-guest" };
static struct manifest_nic esc_nic[] = { { "eth0", MANIFEST_NIC_GUEST, NULL, NULL } };

static void escaping(struct manifest *m, struct hv_params *p)
{
	base(m, "escape");
	m->version = "1.0 <beta> & \"more\"";
	m->vendor = "Smith & Sons's";
	m->kernel.cmdline = "vapp.msg=\"a<b>&c\" x=1,2 back\\slash\ttab";
	m->channels = two_channels;
	m->n_channels = 1;
	m->state.size_mib = 4;
	m->nics = esc_nic;
	m->n_nics = 1;
	p->run_dir = "/run/it's <\"here\"> & there";
	p->kernel = "/images/k,1/kernel";
	p->initrd = "/images/k,1/initrd \"x\"";
	p->console_log = "/var/log/a,b.log";
	p->state_image = "/srv/x,y \"q\".img";
	p->accel = "tcg";
	p->virt_type = "qemu";
	p->taps = esc_taps;
	p->bridges = esc_bridges;
}

/* The form vappd gives Xen: the state volume a loop device it holds,
 * attached with no hotplug script of dom0's. */
static void xen_loop(struct manifest *m, struct hv_params *p)
{
	channels_state(m, p);
	m->name = (char *)"xen-loop";
	p->state_image = "/dev/loop3";
	p->xen_disk_script = "/bin/true";
	p->xen_pv = true;
}

struct golden_case {
	const char *name;
	void (*make)(struct manifest *m, struct hv_params *p);
};

static const struct golden_case cases[] = {
	{ "minimal", minimal },
	{ "channels-state", channels_state },
	{ "two-nics", two_nics },
	{ "pci-usb", pci_usb },
	{ "sound", sound },
	{ "escaping", escaping },
	{ "xen-loop", xen_loop },
};

/* ---- golden files ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&s, &len, '\0', f) < 0) {
		free(s);
		s = strdup("");
	}
	fclose(f);
	return s;
}

static void spew(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static const char *top(void)
{
	const char *t = getenv("TOP");

	return t && *t ? t : ".";
}

/* Prints where @p want and @p got first differ, one line each. */
static void print_first_difference(const char *want, const char *got)
{
	int line = 1;
	const char *w = want, *g = got, *ws = want, *gs = got;

	while (*w && *w == *g) {
		if (*w == '\n') {
			line++;
			ws = w + 1;
			gs = g + 1;
		}
		w++, g++;
	}
	print_error("first difference at line %d:\n  want: %.*s\n  got:  %.*s\n", line,
		    (int)strcspn(ws, "\n"), ws, (int)strcspn(gs, "\n"), gs);
}

static void check_golden(const char *name, const char *ext, const char *got)
{
	char path[4096], actual[4096];
	const char *build = getenv("BUILD");
	char *want;

	snprintf(path, sizeof(path), "%s/tests/hvconfig/%s.%s", top(), name, ext);
	if (getenv("UPDATE_GOLDEN") && !strcmp(getenv("UPDATE_GOLDEN"), "1")) {
		spew(path, got);
		return;
	}
	want = slurp(path);
	if (want && !strcmp(want, got)) {
		free(want);
		return;
	}
	snprintf(actual, sizeof(actual), "%s/%s/hvconfig-actual", top(),
		 build && *build ? build : "build");
	mkdir(actual, 0755);
	snprintf(actual + strlen(actual), sizeof(actual) - strlen(actual), "/%s.%s", name, ext);
	spew(actual, got);
	if (!want)
		print_error("%s: missing (UPDATE_GOLDEN=1 writes it)\n", path);
	else
		print_first_difference(want, got);
	print_error("see: diff -u %s %s\n", path, actual);
	free(want);
	fail_msg("%s.%s differs from its golden file", name, ext);
}

/* ---- xl.cfg read back by libxlutil, the parser xl itself uses ---- */

static const char *xl_string(XLU_Config *cfg, const char *key)
{
	const char *v = NULL;

	if (xlu_cfg_get_string(cfg, key, &v, 0))
		fail_msg("xl.cfg: no string %s", key);
	return v;
}

/* xl's own parser on our xl.cfg, then every key checked in turn: a list. */
static void check_xl_parse(const struct manifest *m, const struct hv_params *p,
			   const char *text)
{
	XLU_Config *cfg = xlu_cfg_init(stderr, "xl.cfg");
	XLU_ConfigList *list;
	char *cmdline = p->cmdline ? NULL : hv_cmdline(m, HV_BACKEND_XEN);
	const char *want_cmdline = p->cmdline ? p->cmdline : cmdline;
	long l;
	int n;

	assert_non_null(cfg);
	assert_int_equal(xlu_cfg_readdata(cfg, text, (int)strlen(text)), 0);
	assert_string_equal(xl_string(cfg, "name"), m->name);
	/* Extra lines come last and win: pci-usb sets vcpus = 2. */
	assert_int_equal(xlu_cfg_get_long(cfg, "vcpus", &l, 0), 0);
	assert_int_equal(l, m->hv.n_xen_lines ? 2 : (long)m->vcpus);
	assert_int_equal(xlu_cfg_get_long(cfg, "memory", &l, 0), 0);
	assert_int_equal(l, (long)m->memory_mib);
	assert_string_equal(xl_string(cfg, "cmdline"), want_cmdline);
	assert_string_equal(xl_string(cfg, "kernel"), p->kernel ? p->kernel : "${IMAGE_DIR}/kernel");
	assert_string_equal(xl_string(cfg, "type"),
			    m->n_pci || m->hv.xen_type == MANIFEST_XEN_PV || p->xen_pv ? "pv" : "pvh");

	/* The channels are the appliance's vchans: no PV console channel,
	 * which would need a QEMU in dom0. */
	assert_int_not_equal(xlu_cfg_get_list(cfg, "channel", &list, &n, 0), 0);

	if (m->state.size_mib) {
		libxl_device_disk disk;
		const char *spec;

		assert_int_equal(xlu_cfg_get_list(cfg, "disk", &list, &n, 0), 0);
		assert_int_equal(n, 1);
		spec = xlu_cfg_get_listitem(list, 0);
		libxl_device_disk_init(&disk);
		assert_int_equal(xlu_disk_parse(cfg, 1, &spec, &disk), 0);
		assert_string_equal(disk.pdev_path,
				    p->state_image ? p->state_image : "${RUN_DIR}/state.img");
		assert_string_equal(disk.vdev, "xvda");
		if (p->xen_disk_script)
			assert_string_equal(disk.script, p->xen_disk_script);
		else
			assert_null(disk.script);
		libxl_device_disk_dispose(&disk);
	} else {
		assert_int_not_equal(xlu_cfg_get_list(cfg, "disk", &list, &n, 0), 0);
	}
	for (size_t i = 0; i < m->n_pci; i++) {
		libxl_device_pci pci;
		unsigned d, b, s, f;

		assert_int_equal(xlu_cfg_get_list(cfg, "pci", &list, &n, 0), 0);
		assert_int_equal(n, (int)m->n_pci);
		libxl_device_pci_init(&pci);
		assert_int_equal(xlu_pci_parse_spec_string(cfg, &pci,
							   xlu_cfg_get_listitem(list, (int)i)), 0);
		if (sscanf(m->pci[i].address, "%x:%x:%x.%x", &d, &b, &s, &f) != 4) {
			d = 0;
			assert_int_equal(sscanf(m->pci[i].address, "%x:%x.%x", &b, &s, &f), 3);
		}
		assert_int_equal(pci.domain, d);
		assert_int_equal(pci.bus, b);
		assert_int_equal(pci.dev, s);
		assert_int_equal(pci.func, f);
		libxl_device_pci_dispose(&pci);
	}
	if (m->n_nics) {
		assert_int_equal(xlu_cfg_get_list(cfg, "vif", &list, &n, 0), 0);
		assert_int_equal(n, (int)m->n_nics);
	}
	free(cmdline);
	xlu_cfg_destroy(cfg);
}

/* ---- the golden tests ---- */

static char *argv_text(char **argv)
{
	size_t len = 1;
	char *s;

	for (char **a = argv; *a; a++)
		len += strlen(*a) + 1;
	s = calloc(1, len);
	assert_non_null(s);
	for (char **a = argv; *a; a++) {
		strcat(s, *a);
		strcat(s, "\n");
	}
	return s;
}

static void test_golden(void **state)
{
	const struct golden_case *c = *state;
	struct manifest m;
	struct hv_params p = { 0 };
	char **argv, *text;

	c->make(&m, &p);

	argv = hv_qemu_argv(&m, &p);
	assert_non_null(argv);
	text = argv_text(argv);
	check_golden(c->name, "qemu.args", text);
	free(text);
	hv_argv_free(argv);

	text = hv_libvirt_xml(&m, &p);
	assert_non_null(text);
	check_golden(c->name, "libvirt.xml", text);
	free(text);

	text = hv_xl_cfg(&m, &p);
	assert_non_null(text);
	check_golden(c->name, "xl.cfg", text);
	check_xl_parse(&m, &p, text);
	free(text);
}

/* Whatever the golden files say, these must hold. */
static void test_qemu_essentials(void **state)
{
	struct manifest m;
	struct hv_params p = { 0 };
	char **argv, *text;

	channels_state(&m, &p);
	argv = hv_qemu_argv(&m, &p);
	assert_non_null(argv);
	text = argv_text(argv);
	assert_string_equal(argv[0], "qemu-system-x86_64");
	assert_non_null(strstr(text, "\n-M\nmicrovm\n"));
	assert_non_null(strstr(text, "\n-accel\n${ACCEL}\n"));
	assert_non_null(strstr(text, "\n-no-reboot\n"));
	assert_non_null(strstr(text, "name=vapp.ctl\n"));
	assert_non_null(strstr(text, "virtserialport,chardev=ch1,name=vapp.rpc\n"));
	assert_non_null(strstr(text, "socket,id=ch2,path=${RUN_DIR}/vapp.log.sock,server=on,wait=off\n"));
	assert_non_null(strstr(text, "file=${RUN_DIR}/state.img,format=raw,if=none,id=state\n"
				     "-device\nvirtio-blk-device,drive=state\n"));
	assert_null(strstr(text, "-pci"));
	assert_null(strstr(text, "-cpu"));
	free(text);
	hv_argv_free(argv);

	pci_usb(&m, &p);
	argv = hv_qemu_argv(&m, &p);
	assert_non_null(argv);
	text = argv_text(argv);
	assert_non_null(strstr(text, "\n-M\nq35\n"));
	assert_non_null(strstr(text, "\nvfio-pci,host=0000:02:00.1\n"));
	assert_non_null(strstr(text, "\nqemu-xhci,id=usb\n"));
	assert_non_null(strstr(text, "\nvirtio-serial-pci\n"));
	assert_non_null(strstr(text, "\nvirtio-blk-pci,drive=state\n"));
	assert_null(strstr(text, "virtio-blk-device"));
	/* the extra arguments come last */
	assert_non_null(strstr(text, "\n-cpu\nmax\n"));
	assert_string_equal(text + strlen(text) - strlen("-cpu\nmax\n"), "-cpu\nmax\n");
	free(text);
	hv_argv_free(argv);

	/* A sound card's WAV file is a path in an option: a comma is doubled;
	 * by default the file is in the run folder. */
	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	sound(&m, &p);
	p.audio_file = "/run/a,b/speaker.wav";
	argv = hv_qemu_argv(&m, &p);
	assert_non_null(argv);
	text = argv_text(argv);
	assert_non_null(strstr(text, "\n-audiodev\nwav,path=/run/a,,b/speaker.wav,id=snd0\n"));
	free(text);
	hv_argv_free(argv);
	p.audio_file = NULL;
	p.audiodev = "none";
	argv = hv_qemu_argv(&m, &p);
	text = argv_text(argv);
	assert_non_null(strstr(text, "\n-audiodev\nnone,id=snd0\n"));
	free(text);
	hv_argv_free(argv);

	/* An appliance that takes direct channels gets ivshmem devices from
	 * vappd: PCI, so q35, with its virtio devices on PCI too. */
	memset(&m, 0, sizeof(m));
	memset(&p, 0, sizeof(p));
	channels_state(&m, &p);
	m.direct = true;
	argv = hv_qemu_argv(&m, &p);
	assert_non_null(argv);
	text = argv_text(argv);
	assert_non_null(strstr(text, "\n-M\nq35\n"));
	assert_non_null(strstr(text, "\nvirtio-serial-pci\n"));
	assert_null(strstr(text, "microvm"));
	free(text);
	hv_argv_free(argv);
}

static void test_refused(void **state)
{
	struct manifest m;
	struct hv_params p = { 0 };
	struct manifest_channel ctl[] = { { "vapp.ctl" } };
	struct manifest_channel comma[] = { { "a,b" } };
	struct manifest_pci bad[] = { { "0000:01:20.0" } }; /* slot > 0x1f */
	char **argv, *s;

	minimal(&m, &p);
	m.memory_mib = 0;
	errno = 0;
	assert_null(hv_qemu_argv(&m, &p));
	assert_int_equal(errno, EINVAL);
	assert_null(hv_libvirt_xml(&m, &p));
	assert_null(hv_xl_cfg(&m, &p));

	minimal(&m, &p);
	m.channels = ctl;
	m.n_channels = 1;
	assert_null(hv_xl_cfg(&m, &p));
	assert_int_equal(errno, EINVAL);

	minimal(&m, &p);
	m.pci = bad;
	m.n_pci = 1;
	assert_null(hv_libvirt_xml(&m, &p));
	assert_int_equal(errno, EINVAL);

	/* A comma: QEMU escapes it; xl.cfg has no channel list to hold it. */
	minimal(&m, &p);
	m.channels = comma;
	m.n_channels = 1;
	argv = hv_qemu_argv(&m, &p);
	assert_non_null(argv);
	s = argv_text(argv);
	assert_non_null(strstr(s, "virtserialport,chardev=ch1,name=a,,b\n"));
	assert_non_null(strstr(s, "path=${RUN_DIR}/a,,b.sock,"));
	free(s);
	hv_argv_free(argv);
	s = hv_xl_cfg(&m, &p);
	assert_non_null(s);
	assert_null(strstr(s, "a,b"));
	free(s);

	/* XML cannot carry most control characters at all. */
	minimal(&m, &p);
	m.kernel.cmdline = "a\001b";
	assert_null(hv_libvirt_xml(&m, &p));
	assert_int_equal(errno, EINVAL);
}

static void test_mac(void **state)
{
	struct manifest m, m2;
	struct hv_params p = { 0 };
	char a[18], b[18], c[18];

	two_nics(&m, &p);
	hv_nic_mac(&m, 0, a);
	assert_string_equal(a, "52:54:00:12:34:56");
	hv_nic_mac(&m, 1, b);
	assert_memory_equal(b, "52:54:00:", 9);
	assert_int_equal(strlen(b), 17);
	/* another appliance with the same NIC gets another MAC */
	two_nics(&m2, &p);
	m2.name = "firewall2";
	hv_nic_mac(&m2, 1, c);
	assert_string_not_equal(b, c);
	hv_nic_mac(&m, 1, c);
	assert_string_equal(b, c);
}

static void test_expand(void **state)
{
	const struct manifest_var vars[] = {
		{ "RUN_DIR", "/run/vapp/x" }, { "ACCEL", "tcg" }, { NULL, NULL },
	};
	const struct manifest_var comma[] = { { "RUN_DIR", "/run/a,b" }, { NULL, NULL } };
	const struct manifest_var amp[] = { { "RUN_DIR", "/run/a&b" }, { NULL, NULL } };
	char *s;

	s = hv_expand("-accel\n${ACCEL}\npath=${RUN_DIR}/a.sock ${TAP_eth0} ${RUN_DIR", vars);
	assert_non_null(s);
	assert_string_equal(s, "-accel\ntcg\npath=/run/vapp/x/a.sock ${TAP_eth0} ${RUN_DIR");
	free(s);
	errno = 0;
	assert_null(hv_expand("${RUN_DIR}", comma));
	assert_int_equal(errno, EINVAL);
	assert_null(hv_expand("${RUN_DIR}", amp));
	s = hv_expand("$$ {x} $", NULL);
	assert_string_equal(s, "$$ {x} $");
	free(s);
}

static char *read_in(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return slurp(path);
}

/* Each backend's command line: what it needs and nothing that would be
 * wrong for it, then the manifest's own part. */
static void test_cmdlines(void **state)
{
	struct manifest m;
	struct hv_params p = { 0 };
	char *tcg, *kvm, *xen;

	channels_state(&m, &p);
	tcg = hv_cmdline(&m, HV_BACKEND_TCG);
	kvm = hv_cmdline(&m, HV_BACKEND_KVM);
	xen = hv_cmdline(&m, HV_BACKEND_XEN);
	assert_non_null(strstr(tcg, "tsc_early_khz="));
	assert_null(strstr(kvm, "tsc_early_khz"));
	assert_null(strstr(xen, "tsc_early_khz"));
	assert_non_null(strstr(tcg, "console=ttyS0"));
	assert_non_null(strstr(kvm, "console=ttyS0"));
	assert_non_null(strstr(xen, "console=hvc0"));
	assert_null(strstr(xen, "ttyS0"));
	for (char *const *c = (char *const[]){ tcg, kvm, xen, NULL }; *c; c++) {
		size_t n = strlen(*c);

		assert_true(n > 11 && !strcmp(*c + n - 11, " loglevel=4"));
	}
	errno = 0;
	assert_null(hv_cmdline(&m, HV_N_BACKENDS));
	assert_int_equal(errno, EINVAL);
	free(tcg);
	free(kvm);
	free(xen);
}

static void test_write_all(void **state)
{
	char dir[] = "/tmp/test_hvconfig.XXXXXX", path[256];
	struct manifest m;
	struct hv_params p = { 0 };
	char *s, *want;

	assert_non_null(mkdtemp(dir));
	channels_state(&m, &p);
	assert_int_equal(hv_write_all(&m, dir), 0);
	/* The three measured command lines, byte for byte hv_cmdline(). */
	for (int b = 0; b < HV_N_BACKENDS; b++) {
		s = read_in(dir, hv_backends[b].cmdline_file);
		want = hv_cmdline(&m, (enum hv_backend)b);
		assert_string_equal(s, want);
		free(s);
		free(want);
	}
	/* Each config carries its own backend's line. */
	s = read_in(dir, "qemu.args");
	want = hv_cmdline(&m, HV_BACKEND_TCG);
	assert_non_null(strstr(s, want));
	free(s);
	free(want);
	s = read_in(dir, "libvirt.xml");
	want = hv_cmdline(&m, HV_BACKEND_KVM);
	assert_non_null(strstr(s, want));
	assert_null(strstr(s, "tsc_early_khz"));
	free(s);
	free(want);
	s = read_in(dir, "xl.cfg");
	assert_non_null(strstr(s, "console=hvc0"));
	free(s);

	/* A newline cannot go into a command line file or qemu.args. */
	m.kernel.cmdline = "a\nb";
	assert_int_equal(hv_write_all(&m, dir), -EINVAL);

	for (const char *f = "cmdline.tcg\0cmdline.kvm\0cmdline.xen\0qemu.args\0libvirt.xml\0"
			     "xl.cfg\0"; *f; f += strlen(f) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, f);
		unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 6];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		tests[n++] = (struct CMUnitTest){ .name = cases[i].name,
						  .test_func = test_golden,
						  .initial_state = (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_qemu_essentials);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_refused);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_mac);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_expand);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_cmdlines);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_write_all);
	return _cmocka_run_group_tests("hvconfig", tests, n, NULL, NULL);
}
