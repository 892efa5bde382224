/*
 * main.c - vappd: owns the appliances of this host. Options, the control
 * socket, signals (signalfd in the loop), daemon mode, and a clean exit
 * that stops every appliance.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vapp_util.h"
#include "broker.h"
#include "control.h"
#include "jail.h"
#include "vappd.h"

#define EXIT_STOP_MS (VAPPD_STOP_GRACE_MS + 5000)

static const char usage[] =
	"Usage: vappd [OPTIONS]\n"
	"\n"
	"The vapp runtime daemon: verifies, starts, supervises and stops appliances\n"
	"(service VMs built by 'vapp build'), and answers the 'vapp run', 'stop', 'ps'\n"
	"and 'logs' commands on its control socket.\n"
	"\n"
	"Before an appliance boots, its image folder is copied into the run folder\n"
	"and the copy's measurement and signature are checked against the trusted\n"
	"keys; an image that does not match is refused, naming the part. An\n"
	"appliance is ready when its first service answers the vrpc HELLO on its\n"
	"channel. One that ends or crashes is started again after a back-off (1 s\n"
	"doubling to 60 s, reset after 5 minutes up), its state volume kept.\n"
	"\n"
	"Options:\n"
	"  -f, --foreground        stay in the foreground, log to stderr (default:\n"
	"                          become a daemon, log to RUN_DIR/vappd.log)\n"
	"  -s, --socket PATH       control socket (default " VAPPD_DEFAULT_SOCKET ")\n"
	"  -g, --group NAME        group that may use the socket (mode 0660; default root)\n"
	"      --run-dir DIR       sockets, consoles, image copies (default " VAPPD_DEFAULT_RUN_DIR ")\n"
	"      --state-dir DIR     persistent state volumes, DIR/NAME/state.img\n"
	"                          (default " VAPPD_DEFAULT_STATE_DIR ")\n"
	"      --images DIR        where 'vapp run NAME' finds image NAME\n"
	"                          (default " VAPPD_DEFAULT_IMAGES ")\n"
	"  -t, --trust KEY.pub     trust images signed by this Ed25519 public key;\n"
	"                          may be repeated\n"
	"      --trust-dir DIR     trust every *.pub in DIR (default " VAPPD_DEFAULT_TRUST_DIR ",\n"
	"                          read when it exists)\n"
	"      --trust-image-key   development: trust each image's own signer.pub (this\n"
	"                          proves the image is intact, not who made it)\n"
	"      --hypervisor HV     what runs appliances: qemu, xen or auto (default:\n"
	"                          xen when vappd runs in Xen's dom0, that is when\n"
	"                          /proc/xen/capabilities says control_d, else qemu).\n"
	"                          Under xen each appliance is a PV (PVH where Xen has\n"
	"                          HVM) domain named vapp-NAME, made by xl from the\n"
	"                          measured manifest and cmdline.xen; its vapp.ctl is\n"
	"                          xenstore's /local/domain/ID/vapp, its channels are\n"
	"                          vchans, its console is RUN_DIR/NAME/console.log\n"
	"                          (from xenconsoled)\n"
	"  -a, --accel MODE        auto, kvm or tcg (default: $VAPP_ACCEL, else auto:\n"
	"                          a bounded probe boots the first image's kernel under\n"
	"                          KVM once, and TCG is used unless that works)\n"
	"      --boot-timeout SEC  time to ready before a boot fails (default 60)\n"
	"      --probe-timeout SEC the KVM probe's bound (default 5)\n"
	"      --qemu PATH         the QEMU binary (default: qemu-system-x86_64 from PATH);\n"
	"                          its arguments are vappd's own, built from the image's\n"
	"                          measured manifest (no file of the image is run)\n"
	"      --qemu-user NAME    the user QEMU runs as, never root (default\n"
	"                          " VAPPD_DEFAULT_QEMU_USER "), with no capability and under its\n"
	"                          -sandbox; vappd opens an appliance's taps for it\n"
	"      --audiodev none|wav|alsa\n"
	"                          what an appliance's sound card (devices.sound) plays\n"
	"                          into and records from: nothing (default), the file\n"
	"                          RUN_DIR/NAME/speaker.wav (its microphone silent), or\n"
	"                          the host's ALSA default device\n"
	"      --release-channel   close the service connection once the appliance\n"
	"                          answered HELLO, so that a tool can use the channel\n"
	"                          socket directly (QEMU serves one client; tests)\n"
	"  -p, --policy FILE       the call policy (see 'vapp policy check --help'):\n"
	"                          SERVICE[.METHOD] SOURCE TARGET allow|deny, first\n"
	"                          match wins, default deny; may be repeated\n"
	"      --guest NAME[:TAG,...]\n"
	"                          a guest that may call appliances through vappd:\n"
	"                          its gate is RUN_DIR/guests/NAME.sock, where the\n"
	"                          guest VM's virtio-serial port is connected\n"
	"                          (-chardev socket,path=GATE,reconnect=1); whoever\n"
	"                          comes through it is NAME; may be repeated\n"
	"      --broker-user NAME  the user the broker runs as, never root (default\n"
	"                          " VAPPD_DEFAULT_BROKER_USER "). The broker is the part that reads what\n"
	"                          guests and appliances send: a process of its own,\n"
	"                          under a seccomp filter, holding only the gates and\n"
	"                          channels vappd hands it; it cannot start or stop\n"
	"                          anything, and is started again if it dies\n"
	"      --setting APPLIANCE:NAME=FILE\n"
	"                          hand FILE to appliance APPLIANCE at each launch as\n"
	"                          its setting NAME, which its manifest must take\n"
	"                          (daemon.settings; for example the USB proxy's\n"
	"                          device rules, usb.rules). FILE is read at each\n"
	"                          launch, at most 32 KiB (64 KiB in all); when it\n"
	"                          cannot be read the appliance's daemon does not\n"
	"                          start. May be repeated\n"
	"  -h, --help              this help\n"
	"\n"
	"Signals: SIGTERM or SIGINT stop every appliance (poweroff, SIGKILL after\n"
	"15 s) and end vappd.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 when vappd could not start (the reason\n"
	"is printed), 2 on a usage error.\n"
	"\n"
	"Example:\n"
	"  vappd --foreground --trust /etc/vapp/vendor.pub --group vapp\n";

static bool foreground;

void vappd_log(const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s.%03ld vappd: ", ts, now.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static int seconds_ms(const char *s, int *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v <= 0 || v > 86400)
		return -EINVAL;
	*out = (int)(v * 1000);
	return 0;
}

/* Appends a copy of @p path to the NULL-terminated list *@p keys. */
static int add_key(char ***keys, size_t *n, const char *path)
{
	char **k = reallocarray(*keys, *n + 2, sizeof(**keys));

	if (!k)
		return -ENOMEM;
	*keys = k;
	k[*n] = strdup(path);
	if (!k[*n])
		return -ENOMEM;
	k[++*n] = NULL;
	return 0;
}

static int add_key_dir(char ***keys, size_t *n, const char *dir, bool must)
{
	struct dirent **ents;
	int count = scandir(dir, &ents, NULL, alphasort), rc = 0;
	char p[4096];

	if (count < 0)
		return must || errno != ENOENT ? -errno : 0;
	for (int i = 0; i < count; i++) {
		size_t l = strlen(ents[i]->d_name);

		if (!rc && l > 4 && !strcmp(ents[i]->d_name + l - 4, ".pub")) {
			snprintf(p, sizeof(p), "%s/%s", dir, ents[i]->d_name);
			rc = add_key(keys, n, p);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* A socket someone answers on is a running vappd: never take it over. */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return alive;
}

static int open_socket(struct vappd *d, const char *group)
{
	char addr[4200], dir[4096], *slash;
	gid_t gid = 0;
	int rc;

	if (strlen(d->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "vappd: socket path %s is too long\n", d->socket_path);
		return -ENAMETOOLONG;
	}
	if (group) {
		struct group *g = getgrnam(group);

		if (!g) {
			fprintf(stderr, "vappd: no group '%s'\n", group);
			return -ENOENT;
		}
		gid = g->gr_gid;
	}
	snprintf(dir, sizeof(dir), "%s", d->socket_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		vapp_mkdir_p(dir, 0755);
	}
	if (socket_alive(d->socket_path)) {
		fprintf(stderr, "vappd: another vappd is running at %s\n", d->socket_path);
		return -EADDRINUSE;
	}
	snprintf(addr, sizeof(addr), "unix:%s", d->socket_path);
	/* The socket is born 0600 (umask), then opened to the group: never a
	 * moment when others could connect. */
	mode_t old = umask(0177);
	rc = vrpc_server_listen(d->srv, addr);
	umask(old);
	if (rc < 0) {
		fprintf(stderr, "vappd: cannot listen on %s: %s\n", d->socket_path, strerror(-rc));
		return rc;
	}
	d->gid = gid;
	if (chown(d->socket_path, 0, gid) < 0 || chmod(d->socket_path, 0660) < 0) {
		rc = -errno;
		fprintf(stderr, "vappd: %s: %s\n", d->socket_path, strerror(errno));
		return rc;
	}
	return 0;
}

static void on_signal(void *ud, int fd, short revents)
{
	struct vappd *d = ud;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			appliances_reap(d);
		} else if (!d->quitting) {
			vappd_log("signal %u: stopping every appliance", si.ssi_signo);
			d->quitting = true;
			vrpc_loop_quit(d->loop);
		} else {
			vappd_log("signal %u again: killing every appliance", si.ssi_signo);
			appliances_stop_all(d, true);
		}
	}
}

static void on_exit_tick(void *ud)
{
	struct vappd *d = ud;

	if (appliances_stop_all(d, false))
		vrpc_loop_quit(d->loop);
	else
		vrpc_loop_add_timer(d->loop, 100, on_exit_tick, d);
}

static void on_exit_deadline(void *ud)
{
	struct vappd *d = ud;

	vappd_log("appliances still running after %d s: killing them", EXIT_STOP_MS / 1000);
	appliances_stop_all(d, true);
}

/* Stops every appliance, running the loop until they are gone (bounded). */
static void stop_everything(struct vappd *d)
{
	d->quitting = true;
	if (appliances_stop_all(d, false))
		return;
	vrpc_loop_add_timer(d->loop, 100, on_exit_tick, d);
	vrpc_loop_add_timer(d->loop, EXIT_STOP_MS, on_exit_deadline, d);
	vrpc_loop_run(d->loop);
}

static int daemonise(const char *run_dir)
{
	char log[4096];
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	snprintf(log, sizeof(log), "%s/vappd.log", run_dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	dup2(fd, 2);
	close(fd);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		close(fd);
	}
	return chdir("/") < 0 ? -errno : 0;
}

static int parse_accel(const char *s, enum vappd_accel *out)
{
	if (!strcmp(s, "auto"))
		*out = ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*out = ACCEL_TCG;
	else
		return -EINVAL;
	return 0;
}

enum { OPT_RUN_DIR = 256, OPT_STATE_DIR, OPT_IMAGES, OPT_TRUST_DIR, OPT_TRUST_IMAGE,
       OPT_BOOT_TIMEOUT, OPT_PROBE_TIMEOUT, OPT_QEMU, OPT_QEMU_USER, OPT_RELEASE, OPT_GUEST,
       OPT_BROKER_USER, OPT_AUDIODEV, OPT_SETTING, OPT_HYPERVISOR };

/* The trusted keys from --trust-dir (or the default folder), the warnings
 * about trust, and the run and state folders. @return 0 or -1 (said). */
static int trust_and_dirs(struct vappd *d, size_t *n_keys, const char *trust_dir)
{
	if (add_key_dir(&d->trusted, n_keys, trust_dir ? trust_dir : VAPPD_DEFAULT_TRUST_DIR,
			trust_dir != NULL) < 0) {
		fprintf(stderr, "vappd: --trust-dir %s: %s\n", trust_dir, strerror(errno));
		return -1;
	}
	if (!*n_keys && !d->trust_image_key)
		fprintf(stderr, "vappd: warning: no trusted keys (--trust, %s): every image will be "
				"refused\n", trust_dir ? trust_dir : VAPPD_DEFAULT_TRUST_DIR);
	if (d->trust_image_key)
		fprintf(stderr, "vappd: warning: --trust-image-key: each image's own signer.pub is "
				"trusted (development only)\n");
	if (vapp_mkdir_p(d->run_dir, 0755) < 0 || vapp_mkdir_p(d->state_dir, 0711) < 0) {
		fprintf(stderr, "vappd: cannot make %s or %s: %s\n", d->run_dir, d->state_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* QEMU's user, and the folders it must reach: each appliance's own
 * folders below them are handed to it at launch. @return 0 or -1 (said). */
static int qemu_user_setup(struct vappd *d, const char *name)
{
	char err[512];
	const char *dirs[] = { d->run_dir, d->state_dir };

	if (hv_user_lookup(name, &d->qemu_user, err, sizeof(err)) < 0) {
		fprintf(stderr, "vappd: %s\n", err);
		return -1;
	}
	/* Searchable, not listable: each appliance's folder below is its own. */
	if (chmod(d->state_dir, 0711) < 0) {
		fprintf(stderr, "vappd: %s: %s\n", d->state_dir, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < 2; i++)
		if (hv_user_can_reach(&d->qemu_user, dirs[i]) < 0) {
			fprintf(stderr, "vappd: QEMU runs as user %s, who cannot reach %s: a folder "
					"above it is not searchable by others (chmod o+x it, or "
					"choose another folder)\n", name, dirs[i]);
			return -1;
		}
	return 0;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void block_signals(sigset_t *mask)
{
	/* Every thread (the HELLO ones too) inherits this mask: the signals
	 * arrive only through the signalfd, in the loop. */
	sigemptyset(mask);
	sigaddset(mask, SIGCHLD);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGHUP);
	sigprocmask(SIG_BLOCK, mask, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* What the options say besides the fields of struct vappd. */
struct opts {
	const char *group, *trust_dir, *qemu_user, *broker_user;
	char **policies, **guests;
	size_t n_keys, n_policies, n_guests;
};

static const struct option long_opts[] = {
	{ "foreground", no_argument, NULL, 'f' },
	{ "socket", required_argument, NULL, 's' },
	{ "group", required_argument, NULL, 'g' },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "images", required_argument, NULL, OPT_IMAGES },
	{ "trust", required_argument, NULL, 't' },
	{ "trust-dir", required_argument, NULL, OPT_TRUST_DIR },
	{ "trust-image-key", no_argument, NULL, OPT_TRUST_IMAGE },
	{ "accel", required_argument, NULL, 'a' },
	{ "hypervisor", required_argument, NULL, OPT_HYPERVISOR },
	{ "boot-timeout", required_argument, NULL, OPT_BOOT_TIMEOUT },
	{ "probe-timeout", required_argument, NULL, OPT_PROBE_TIMEOUT },
	{ "qemu", required_argument, NULL, OPT_QEMU },
	{ "qemu-user", required_argument, NULL, OPT_QEMU_USER },
	{ "release-channel", no_argument, NULL, OPT_RELEASE },
	{ "policy", required_argument, NULL, 'p' },
	{ "guest", required_argument, NULL, OPT_GUEST },
	{ "broker-user", required_argument, NULL, OPT_BROKER_USER },
	{ "audiodev", required_argument, NULL, OPT_AUDIODEV },
	{ "setting", required_argument, NULL, OPT_SETTING },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* One option with a value to check. @return -1 to go on, else the exit
 * status (said). */
static int parse_value(int c, struct vappd *d, struct opts *o)
{
	switch (c) {
	case 't': return add_key(&d->trusted, &o->n_keys, optarg) < 0 ? 1 : -1;
	case 'p': return add_key(&o->policies, &o->n_policies, optarg) < 0 ? 1 : -1;
	case OPT_GUEST: return add_key(&o->guests, &o->n_guests, optarg) < 0 ? 1 : -1;
	case OPT_SETTING: {
		char err[512] = "";
		int rc = vappd_setting_add(d, optarg, err, sizeof(err));

		if (!rc)
			return -1;
		fprintf(stderr, "vappd: %s\n", err[0] ? err : strerror(-rc));
		return rc == -EINVAL ? 2 : 1;
	}
	case 'a':
		if (parse_accel(optarg, &d->accel) == 0)
			return -1;
		fprintf(stderr, "vappd: --accel %s: give auto, kvm or tcg\n", optarg);
		return 2;
	case OPT_HYPERVISOR:
		if (!strcmp(optarg, "auto") || !strcmp(optarg, "qemu") || !strcmp(optarg, "xen")) {
			d->hypervisor = optarg[0] == 'a' ? HYPERVISOR_AUTO
				      : optarg[0] == 'q' ? HYPERVISOR_QEMU : HYPERVISOR_XEN;
			return -1;
		}
		fprintf(stderr, "vappd: --hypervisor %s: give auto, qemu or xen\n", optarg);
		return 2;
	case OPT_AUDIODEV:
		if (!strcmp(optarg, "none") || !strcmp(optarg, "wav") || !strcmp(optarg, "alsa")) {
			d->audiodev = optarg;
			return -1;
		}
		fprintf(stderr, "vappd: --audiodev %s: give none, wav or alsa\n", optarg);
		return 2;
	case OPT_BOOT_TIMEOUT:
	case OPT_PROBE_TIMEOUT:
		if (seconds_ms(optarg, c == OPT_BOOT_TIMEOUT ? &d->boot_timeout_ms
							     : &d->probe_timeout_ms) == 0)
			return -1;
		fprintf(stderr, "vappd: '%s' is not a number of seconds\n", optarg);
		return 2;
	}
	fputs("Run 'vappd --help' for usage.\n", stderr);
	return 2;
}

/* auto becomes xen in dom0, else qemu. @return -1 to go on, or 1 (said). */
static int resolve_hypervisor(struct vappd *d)
{
	bool dom0 = vappd_xen_is_dom0();

	if (d->hypervisor == HYPERVISOR_AUTO)
		d->hypervisor = dom0 ? HYPERVISOR_XEN : HYPERVISOR_QEMU;
	if (d->hypervisor == HYPERVISOR_XEN && !dom0) {
		fprintf(stderr, "vappd: --hypervisor xen: this is not Xen's dom0 "
				"(/proc/xen/capabilities does not say control_d)\n");
		return 1;
	}
	return -1;
}

/* @return -1 to go on, else the exit status (said). */
static int parse_args(int argc, char **argv, struct vappd *d, struct opts *o)
{
	const char *env = getenv("VAPP_ACCEL");
	int c, rc;

	if (env && env[0] && parse_accel(env, &d->accel) < 0) {
		fprintf(stderr, "vappd: VAPP_ACCEL='%s' is not auto, kvm or tcg\n", env);
		return 2;
	}
	while ((c = getopt_long(argc, argv, "fs:g:t:a:p:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 's': d->socket_path = optarg; break;
		case 'g': o->group = optarg; break;
		case OPT_RUN_DIR: d->run_dir = optarg; break;
		case OPT_STATE_DIR: d->state_dir = optarg; break;
		case OPT_IMAGES: d->images_dir = optarg; break;
		case OPT_TRUST_DIR: o->trust_dir = optarg; break;
		case OPT_TRUST_IMAGE: d->trust_image_key = true; break;
		case OPT_QEMU: d->qemu = optarg; break;
		case OPT_QEMU_USER: o->qemu_user = optarg; break;
		case OPT_RELEASE: d->release_channel = true; break;
		case OPT_BROKER_USER: o->broker_user = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default:
			if ((rc = parse_value(c, d, o)) >= 0)
				return rc;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vappd: unexpected argument '%s'\nRun 'vappd --help' for usage.\n",
			argv[optind]);
		return 2;
	}
	return resolve_hypervisor(d);
}

static int run_loop(struct vappd *d, struct opts *o, sigset_t *mask, struct broker **broker);

/* The control socket, the broker, the signals, then the loop until a
 * signal ends it. @return 0, or -1 when vappd could not start (said). */
static int serve(struct vappd *d, struct opts *o, sigset_t *mask, struct broker **broker)
{
	int rc;

	if (control_register(d) < 0 || open_socket(d, o->group) < 0)
		return -1; /* the socket, if there is one, is not ours */
	rc = run_loop(d, o, mask, broker);
	unlink(d->socket_path);
	return rc;
}

static int run_loop(struct vappd *d, struct opts *o, sigset_t *mask, struct broker **broker)
{
	int rc;

	if (o->n_policies || o->n_guests) {
		char why[512] = "";

		*broker = broker_new(d, o->policies, o->guests, why, sizeof(why));
		if (!*broker) {
			fprintf(stderr, "vappd: broker: %s\n", why[0] ? why : strerror(errno));
			return -1;
		}
	}
	if (!foreground && daemonise(d->run_dir) < 0) {
		fprintf(stderr, "vappd: cannot become a daemon: %s\n", strerror(errno));
		return -1;
	}
	/* Its child is the daemon's, so it starts after daemonise(). */
	if (*broker && (rc = broker_attach(*broker, d, o->broker_user)) < 0) {
		vappd_log("broker: cannot start (%s): vappd stops", strerror(-rc));
		return -1;
	}
	/* After daemonise(): libxenstore's watch thread would not survive a fork. */
	if (d->hypervisor == HYPERVISOR_XEN) {
		char why[512];

		if (vappd_xen_open(d, why, sizeof(why)) < 0) {
			vappd_log("%s: vappd stops", why);
			return -1;
		}
		if (*broker && vappd_xen_gates_init(d, o->guests) < 0)
			return -1;
	}
	d->sigfd = signalfd(-1, mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0 || vrpc_loop_add_fd(d->loop, d->sigfd, POLLIN, on_signal, d) < 0 ||
	    vrpc_loop_add_fd(d->loop, d->hello_fd[0], POLLIN, hello_on_done, d) < 0 ||
	    vrpc_loop_add_server(d->loop, d->srv) < 0)
		return -1;
	vappd_log("listening on %s (run %s, state %s, %zu trusted key%s%s, %s)", d->socket_path,
		  d->run_dir, d->state_dir, o->n_keys, o->n_keys == 1 ? "" : "s",
		  d->trust_image_key ? ", images' own keys" : "",
		  d->hypervisor == HYPERVISOR_XEN ? "under Xen" : "under QEMU");
	vrpc_loop_run(d->loop);
	control_shutdown(d);
	stop_everything(d);
	vappd_log("stopped");
	return 0;
}

static void release(struct vappd *d, struct opts *o, struct broker *broker)
{
	appliances_free(d);
	vappd_xen_gates_free(d);
	vappd_xen_close(d);
	broker_free(broker);
	free_strv(o->policies, o->n_policies);
	free_strv(o->guests, o->n_guests);
	hello_drain(d, 5000);
	vrpc_server_free(d->srv);
	vappd_control_free(d);
	vrpc_loop_free(d->loop);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->hello_fd[0] >= 0) {
		close(d->hello_fd[0]);
		close(d->hello_fd[1]);
	}
	free_strv(d->trusted, o->n_keys);
	vappd_settings_free(d);
}

int main(int argc, char **argv)
{
	struct vappd d = {
		.socket_path = VAPPD_DEFAULT_SOCKET, .run_dir = VAPPD_DEFAULT_RUN_DIR,
		.state_dir = VAPPD_DEFAULT_STATE_DIR, .images_dir = VAPPD_DEFAULT_IMAGES,
		.boot_timeout_ms = VAPPD_BOOT_TIMEOUT_MS, .probe_timeout_ms = VAPPD_PROBE_TIMEOUT_MS,
		.probe_result = -1, .sigfd = -1, .hello_fd = { -1, -1 },
	};
	struct opts o = { .qemu_user = VAPPD_DEFAULT_QEMU_USER,
			  .broker_user = VAPPD_DEFAULT_BROKER_USER };
	struct broker *broker = NULL;
	sigset_t mask;
	const char *slash = strrchr(argv[0], '/');
	int rc;

	/* vappd starts its broker as itself under another name (broker.h). */
	if (!strcmp(slash ? slash + 1 : argv[0], BROKER_CHILD_ARGV0))
		return vappd_broker_child_main(argc, argv);
	rc = parse_args(argc, argv, &d, &o);

	if (rc >= 0) {
		free_strv(d.trusted, o.n_keys);
		free_strv(o.policies, o.n_policies);
		free_strv(o.guests, o.n_guests);
		vappd_settings_free(&d);
		return rc;
	}
	if (trust_and_dirs(&d, &o.n_keys, o.trust_dir) < 0 ||
	    (d.hypervisor == HYPERVISOR_QEMU && qemu_user_setup(&d, o.qemu_user) < 0))
		return 1;
	block_signals(&mask);
	d.loop = vrpc_loop_new();
	d.srv = vrpc_server_new(NULL);
	rc = 1;
	if (d.loop && d.srv && pipe2(d.hello_fd, O_CLOEXEC | O_NONBLOCK) == 0) {
		rc = serve(&d, &o, &mask, &broker) < 0 ? 1 : 0;
	}
	release(&d, &o, broker);
	return rc;
}
