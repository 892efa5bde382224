/*
 * vapp-init.c - PID 1 of a vapp appliance (the image's /init, linked
 * statically). It sets the appliance up (setup.c), starts the one daemon
 * the manifest names and keeps it running per its restart policy, reaps
 * every process (orphans come to PID 1), and ends the VM on request.
 *
 * The host talks to it on the virtio-serial port vapp.ctl, a line at a time:
 *   guest -> host  "ready"              each time the daemon has been started
 *                  "daemon-exit STATUS" each time it ends (128+N: signal N)
 *   host -> guest  "poweroff"           stop the daemon, unmount, end the VM
 *                  "measurement HEX"    the image's measurement chain that
 *                                       vappd verified before launching it,
 *                                       64 hex digits: written to
 *                                       /run/vapp/measurement for the daemon
 *                                       (an appliance cannot measure itself)
 *                  "setting NAME HEX"   part of a setting, a file of the
 *                  "settings-end"       administrator's for the daemon
 *                                       (initconf.h): when the image takes
 *                                       any, the daemon starts only after
 *                                       "settings-end", with each setting
 *                                       sent in /run/vapp/settings/NAME
 *                  "direct CHAN PEER ADDRESS SERVICE..."  under Xen, a
 *                  "direct-end CHAN PEER"  peer vappd pairs with the
 *                                       daemon's channel (direct.c)
 * SIGTERM, SIGINT (ctrl-alt-del), SIGPWR, and BusyBox halt's and poweroff's
 * SIGUSR1 and SIGUSR2 to PID 1 mean poweroff too (under Xen, `xl shutdown`
 * makes the kernel run /sbin/poweroff).
 *
 * Under Xen there is no virtio: the daemon serves its channels as vchans
 * (chan:NAME), vapp.ctl's lines go through xenstore keys (xenctl.c), and
 * the Xen modules of /etc/vapp/modules.xen are loaded.
 *
 * Poweroff: SIGTERM to the daemon's process group, SIGKILL 5 s later, then
 * SIGKILL to anything left, sync, unmount the state volume and
 * reboot(RB_AUTOBOOT): microvm has no ACPI to power off with, and QEMU runs
 * with -no-reboot, so a reboot ends it. If PID 1 itself died, the kernel
 * would panic and panic=-1 would reboot: the VM ends either way, it never
 * hangs.
 *
 * Everything after setup is one epoll loop (signalfd, a timerfd, the port),
 * so PID 1 sleeps until something happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#define STOP_GRACE_MS 5000
#define KILL_GRACE_MS 2000
#define CTL_OUT_MAX 4096
#define MEASUREMENT_DIR "/run/vapp"
#define SETTINGS_DIR "/run/vapp/settings"

enum phase {
	PHASE_WAITING,  /* for the host's settings: the daemon has not started */
	PHASE_RUNNING,  /* the daemon runs */
	PHASE_BACKOFF,  /* it exited; the timer starts it again */
	PHASE_STOPPING, /* poweroff: SIGTERM sent, the timer sends SIGKILL */
	PHASE_KILLED,   /* SIGKILL sent, the timer gives up waiting */
};

struct sup {
	struct initconf_list argv;
	struct initconf_restart_policy policy;
	struct initconf_backoff backoff;
	struct initconf_settings settings;
	enum phase phase;
	pid_t daemon;
	uint64_t started_ms;
	int epfd, sigfd, timerfd, ctl;
	struct initconf_lines lines;
	char out[CTL_OUT_MAX];
	size_t out_len;
};

uint64_t init_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void vsay(const char *prefix, const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "vapp-init: %s", prefix);

	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	strcat(line, "\n");
	if (write(STDOUT_FILENO, line, strlen(line)) < 0)
		return; /* no console: nothing else to tell it to */
}

void init_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("", fmt, ap);
	va_end(ap);
}

void init_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay("FATAL: ", fmt, ap);
	va_end(ap);
	init_end_vm();
}

int init_read_file(const char *path, char **buf, size_t *len)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0, cap = 4096;
	char *b = NULL, *nb;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return -errno;
	/* sysfs files say size 4096 whatever they hold: read to EOF instead. */
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > (1 << 16)) {
		err = -EFBIG;
		goto err_fd;
	}
	for (;;) {
		nb = realloc(b, cap + 1);
		if (!nb) {
			err = -ENOMEM;
			goto err_buf;
		}
		b = nb;
		n = read(fd, b + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto err_buf;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap) {
			if (cap >= (1 << 16)) {
				err = -EFBIG;
				goto err_buf;
			}
			cap *= 2;
		}
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
err_buf:
	free(b);
err_fd:
	close(fd);
	return err;
}

static void set_reboot_type(const char *type)
{
	int fd = open("/sys/kernel/reboot/type", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, type, strlen(type)) < 0)
		init_say("reboot type %s: %s", type, strerror(errno));
	close(fd);
}

void init_end_vm(void)
{
	int i;

	/* Whatever is left (the daemon's children, orphans) goes now: the
	 * daemon had its SIGTERM and its grace already. kill(-1) spares PID 1. */
	kill(-1, SIGKILL);
	for (i = 0; i < 100 && waitpid(-1, NULL, WNOHANG) >= 0; i++) {
		struct timespec ts = { 0, 10 * 1000000L };

		nanosleep(&ts, NULL);
	}
	setup_unmount_state();
	sync();
	/* microvm resets through its ACPI reset register, which QEMU treats as
	 * a reboot even with -no-reboot (measured: the VM came up again); a
	 * triple fault ends it. The same as reboot=t on the command line, but
	 * the command line is measured and this is PID 1's business. Xen
	 * guests reboot by hypercall whatever the type says. */
	set_reboot_type("triple");
	init_say("powering off");
	/* Let the UART send the last lines before the VM goes. */
	tcdrain(STDOUT_FILENO);
	reboot(RB_AUTOBOOT);
	/* Not PID 1, or not allowed: exiting ends the VM through a panic. */
	_exit(1);
}

static void arm_timer(struct sup *s, uint32_t ms)
{
	struct itimerspec its = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000L } };

	if (!ms)
		its.it_value.tv_nsec = 1; /* 0 would disarm it */
	if (timerfd_settime(s->timerfd, 0, &its, NULL) < 0)
		init_fatal("timerfd: %s", strerror(errno));
}

/* Writes what is queued for the host until the port would block. The host
 * may not be there yet (writes then say EAGAIN): the port's edge-triggered
 * wake-up when it connects brings us back here. Under Xen each write is a
 * xenstore key (xenctl.c), at most XEN_PIECE bytes, as a guest's key is
 * bounded by xenstored. */
static void ctl_flush(struct sup *s)
{
	ssize_t n;

	while (s->out_len) {
		if (init_on_xen()) {
			n = s->out_len < XEN_PIECE ? (ssize_t)s->out_len : XEN_PIECE;
			if (xenctl_write(s->out, (size_t)n) < 0) {
				init_say("vapp.ctl: xenstore refused %zu bytes: dropped", s->out_len);
				n = (ssize_t)s->out_len;
			}
		} else {
			n = write(s->ctl, s->out, s->out_len);
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		memmove(s->out, s->out + n, s->out_len - (size_t)n);
		s->out_len -= (size_t)n;
	}
}

static void ctl_send(struct sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_send(struct sup *s, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	int n;

	if (s->ctl < 0)
		return; /* no channel to the host */
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	/* A host that never reads loses lines, PID 1 never grows for it. */
	if (s->out_len + (size_t)n > sizeof(s->out)) {
		init_say("vapp.ctl: the host is not reading, dropped: %.*s", n - 1, line);
		return;
	}
	memcpy(s->out + s->out_len, line, (size_t)n);
	s->out_len += (size_t)n;
	ctl_flush(s);
}

static void start_daemon(struct sup *s)
{
	static char *const envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				      "HOME=/", "TERM=linux", NULL };
	char cmd[256];
	size_t i, used = 0;
	sigset_t none;
	pid_t pid;
	int fd;

	for (i = 0; i < s->argv.n && used < sizeof(cmd); i++)
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, "%s%s", i ? " " : "",
					 s->argv.v[i]);
	init_say("starting %s", cmd);
	pid = fork();
	if (pid < 0)
		init_fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		/* Its own session and process group, so poweroff can signal the
		 * daemon and whatever it started in one kill(). */
		setsid();
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		fd = open("/dev/null", O_RDONLY);
		if (fd > 0) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		if (chdir("/") < 0)
			_exit(127);
		execve(s->argv.v[0], s->argv.v, envp);
		init_say("exec %s: %s", s->argv.v[0], strerror(errno));
		_exit(127);
	}
	s->daemon = pid;
	s->started_ms = init_now_ms();
	s->phase = PHASE_RUNNING;
	ctl_send(s, "ready\n");
}

static void request_poweroff(struct sup *s, const char *why)
{
	if (s->phase == PHASE_STOPPING || s->phase == PHASE_KILLED)
		return;
	init_say("poweroff requested (%s)", why);
	if (s->phase == PHASE_BACKOFF || s->phase == PHASE_WAITING)
		init_end_vm();
	init_say("stopping the daemon (SIGTERM, SIGKILL after %d s)", STOP_GRACE_MS / 1000);
	kill(-s->daemon, SIGTERM);
	kill(s->daemon, SIGTERM); /* in case setsid() had not run yet */
	s->phase = PHASE_STOPPING;
	arm_timer(s, STOP_GRACE_MS);
}

static void daemon_exited(struct sup *s, int st)
{
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	uint64_t ran = init_now_ms() - s->started_ms;
	uint32_t delay;

	s->daemon = 0;
	ctl_send(s, "daemon-exit %d\n", status);
	if (s->phase == PHASE_STOPPING || s->phase == PHASE_KILLED) {
		init_say("daemon stopped (status %d)", status);
		init_end_vm();
	}
	if (!initconf_should_restart(s->policy.when, status)) {
		init_say("daemon exited (status %d), not restarting (restart: %s)", status,
			 initconf_restart_name(s->policy.when));
		init_end_vm();
	}
	delay = initconf_backoff_next(&s->backoff, ran);
	init_say("daemon exited (status %d), restarting in %u ms", status, delay);
	s->phase = PHASE_BACKOFF;
	arm_timer(s, delay);
}

static void reap(struct sup *s)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (pid == s->daemon)
			daemon_exited(s, st);
}

static void on_signal(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(s);
			break;
		case SIGTERM:
			request_poweroff(s, "SIGTERM");
			break;
		case SIGINT:
			request_poweroff(s, "SIGINT");
			break;
		case SIGPWR:
			request_poweroff(s, "SIGPWR");
			break;
		case SIGUSR1:
		case SIGUSR2:
			request_poweroff(s, si.ssi_signo == SIGUSR1 ? "halt" : "poweroff");
			break;
		}
	}
}

static void on_timer(struct sup *s)
{
	uint64_t ticks;

	if (read(s->timerfd, &ticks, sizeof(ticks)) != (ssize_t)sizeof(ticks))
		return;
	switch (s->phase) {
	case PHASE_BACKOFF:
		start_daemon(s);
		break;
	case PHASE_STOPPING:
		init_say("the daemon is still running after %d s: SIGKILL", STOP_GRACE_MS / 1000);
		kill(-s->daemon, SIGKILL);
		kill(s->daemon, SIGKILL);
		s->phase = PHASE_KILLED;
		arm_timer(s, KILL_GRACE_MS);
		break;
	case PHASE_KILLED:
		init_say("the daemon did not die of SIGKILL; going anyway");
		init_end_vm();
	case PHASE_WAITING:
	case PHASE_RUNNING:
		break;
	}
}

/* DIR/NAME holds @p len bytes, or the old file stays (a temporary file
 * renamed over it): a reader never sees half of one. Said on failure. */
static void write_whole(const char *dir, const char *name, const void *buf, size_t len,
			mode_t mode)
{
	char path[128], tmp[136];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) < 0 ||
	    rename(tmp, path) < 0)
		init_say("cannot write %s: %s", path, strerror(errno));
}

/* "measurement HEX": 64 lower-case hex digits, else ignored (said). */
static void save_measurement(const char *hex)
{
	char line[66];

	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64) {
		init_say(INIT_CTL_PORT ": a measurement that is not 64 hex digits, ignored");
		return;
	}
	snprintf(line, sizeof(line), "%s\n", hex);
	mkdir(MEASUREMENT_DIR, 0755);
	write_whole(MEASUREMENT_DIR, "measurement", line, 65, 0644);
}

/* The host sent every setting it has: each one sent whole is written (root
 * only: a setting may be a key), then the daemon starts. */
static void settings_done(struct sup *s)
{
	const struct initconf_settings *st = &s->settings;

	mkdir(MEASUREMENT_DIR, 0755);
	mkdir(SETTINGS_DIR, 0700);
	for (size_t i = 0; i < st->n; i++) {
		if (st->bad[i])
			init_say("setting %s: the host sent it malformed; not written", st->name[i]);
		else if (!st->sent[i])
			init_say("setting %s: the host has none; the daemon's default", st->name[i]);
		else {
			write_whole(SETTINGS_DIR, st->name[i], st->data[i], st->len[i], 0600);
			init_say("setting %s: %zu bytes from the host", st->name[i], st->len[i]);
		}
	}
	if (s->phase == PHASE_WAITING)
		start_daemon(s);
}

static void on_settings_line(struct sup *s, const char *line)
{
	int r = initconf_settings_line(&s->settings, line);

	if (r == 1)
		settings_done(s);
	else if (r == -ENOMEM)
		init_fatal("out of memory for the settings");
	else if (r < 0)
		init_say(INIT_CTL_PORT ": a settings line refused (%.40s%s)", line,
			 strlen(line) > 40 ? "..." : "");
}

static void ctl_take(struct sup *s, const char *p, size_t left)
{
	char line[INITCONF_LINE_MAX];

	while (initconf_lines_feed(&s->lines, &p, &left, line)) {
		if (!strcmp(line, "poweroff"))
			request_poweroff(s, INIT_CTL_PORT);
		else if (!strncmp(line, "measurement ", 12))
			save_measurement(line + 12);
		else if (initconf_settings_is_line(line))
			on_settings_line(s, line);
		else if (initconf_direct_is_line(line))
			direct_line(line);
		else
			init_say(INIT_CTL_PORT ": unknown request ignored (%zu bytes)", strlen(line));
	}
}

/* The host's lines. Reads until the port is empty (edge-triggered), or
 * until read() says 0: the host went away, and its return is a wake-up.
 * Under Xen: the pieces of xenstore's vapp/in, in order (xenctl.c). */
static void on_ctl(struct sup *s)
{
	static char buf[4 * 4096];
	bool readable = true;
	ssize_t n;

	for (;;) {
		if (init_on_xen()) {
			if (!readable && !xenctl_more())
				break;
			n = xenctl_read(buf, sizeof(buf), readable);
			readable = false;
			if (n < 0) {
				init_say(INIT_CTL_PORT ": xenstore: %s", strerror((int)-n));
				break;
			}
		} else {
			n = read(s->ctl, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
		}
		ctl_take(s, buf, (size_t)n);
	}
	ctl_flush(s);
}

static void load_daemon(struct sup *s)
{
	char *buf;
	size_t len;
	int err;

	err = init_read_file(INIT_ETC "/daemon", &buf, &len);
	if (!err) {
		err = initconf_parse_argv(buf, len, &s->argv);
		free(buf);
	}
	if (err)
		init_fatal(INIT_ETC "/daemon: %s", strerror(-err));
	if (access(s->argv.v[0], X_OK) < 0)
		init_fatal("daemon %s: %s", s->argv.v[0], strerror(errno));
	err = init_read_file(INIT_ETC "/restart", &buf, &len);
	if (err == -ENOENT) {
		s->policy.when = INITCONF_RESTART_ALWAYS;
		s->policy.first_ms = INITCONF_BACKOFF_DEFAULT_MS;
		err = 0;
	} else if (!err) {
		err = initconf_parse_restart(buf, len, &s->policy);
		free(buf);
	}
	if (err)
		init_fatal(INIT_ETC "/restart: %s", strerror(-err));
	initconf_backoff_init(&s->backoff, s->policy.first_ms);
	err = init_read_file(INIT_ETC "/settings", &buf, &len);
	if (err == -ENOENT)
		return; /* the image takes no settings */
	if (!err) {
		err = initconf_settings_init(&s->settings, buf, len);
		free(buf);
	}
	if (err)
		init_fatal(INIT_ETC "/settings: %s", strerror(-err));
}

static void watch(struct sup *s, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		init_fatal("epoll: %s", strerror(errno));
}

static void loop_init(struct sup *s, const sigset_t *mask)
{
	s->sigfd = signalfd(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->sigfd < 0 || s->timerfd < 0 || s->epfd < 0)
		init_fatal("signalfd/timerfd/epoll: %s", strerror(errno));
	watch(s, s->sigfd, EPOLLIN);
	watch(s, s->timerfd, EPOLLIN);
	s->ctl = -1;
	if (init_on_xen()) {
		s->ctl = xenctl_open();
		if (s->ctl < 0)
			init_fatal("vapp.ctl under Xen: xenstore (/dev/xen/xenbus): %s",
				   strerror(-s->ctl));
		watch(s, s->ctl, EPOLLIN);
		return;
	}
	s->ctl = open(INIT_PORTS "/" INIT_CTL_PORT, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (s->ctl < 0)
		init_fatal(INIT_PORTS "/" INIT_CTL_PORT ": %s", strerror(errno));
	/* POLLHUP is level while the host is away, so poll() would spin;
	 * edge-triggered reports each change of the port once (see
	 * vchan-rpc/core/transport_serial.c). */
	watch(s, s->ctl, EPOLLIN | EPOLLOUT | EPOLLET);
}

int main(int argc, char **argv)
{
	static struct sup s;
	struct epoll_event ev[4];
	sigset_t mask;
	uint64_t t0, t_mods, t_state;
	size_t nmods;
	int i, n;

	if (getpid() != 1) {
		fprintf(stderr, "vapp-init: the appliance's PID 1; not to be run by hand\n");
		return 2;
	}
	/* Blocked from the start, read through a signalfd later: a SIGTERM
	 * during setup waits its turn instead of killing PID 1 (a panic). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGPWR);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGUSR2);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* ctrl-alt-del becomes SIGINT to PID 1, a clean poweroff. */
	reboot(RB_DISABLE_CAD);

	setup_mounts();
	setup_console();
	t0 = init_now_ms();
	setup_hostname();
	setup_loopback();
	t_mods = init_now_ms();
	nmods = setup_modules();
	t_mods = init_now_ms() - t_mods;
	setup_channels();
	direct_setup();
	t_state = init_now_ms();
	setup_state();
	t_state = init_now_ms() - t_state;
	load_daemon(&s);
	loop_init(&s, &mask);
	/* What the boot costs past the kernel's own, for bench_boot. */
	init_say("set up in %llu ms (%zu modules in %llu ms, state volume %llu ms), %llu ms "
		 "after boot", (unsigned long long)(init_now_ms() - t0), nmods,
		 (unsigned long long)t_mods, (unsigned long long)t_state,
		 (unsigned long long)init_now_ms());
	if (s.settings.n) {
		init_say("waiting for the host's settings");
		s.phase = PHASE_WAITING;
	} else
		start_daemon(&s);
	/* Under Xen: what vappd wrote before the domain ran, which may have
	 * come with no wake-up of its own (xenctl.c). */
	if (init_on_xen())
		on_ctl(&s);
	for (;;) {
		n = epoll_wait(s.epfd, ev, 4, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			init_fatal("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == s.sigfd)
				on_signal(&s);
			else if (ev[i].data.fd == s.timerfd)
				on_timer(&s);
			else if (ev[i].data.fd == s.ctl)
				on_ctl(&s);
		}
	}
}
