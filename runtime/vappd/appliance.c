/*
 * appliance.c - one appliance in vappd: its private image copy, verified;
 * its QEMU process; its vapp.ctl line channel; the HELLO that makes it
 * ready; and the actions of supervise.c's state machine.
 *
 * Run folder (RUN_DIR = --run-dir/NAME, mode 0700: its sockets are the
 * appliance's channels, which guests reach only through vappd):
 *   image/        the verified copy QEMU boots (${IMAGE_DIR})
 *   NAME.sock     one per channel, vapp.ctl.sock, qmp.sock (QEMU's)
 *   console.log   this boot's console; console.log.1 the boot before
 *   qemu.log      QEMU's own stdout and stderr
 *   state.img     a link to --state-dir/NAME/state.img, which survives
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvconfig.h"
#include "measure.h"
#include "hvrun.h"
#include "vrpc_relay.h"
#include "vapp_util.h"
#include "vappd.h"
#include "appliance.h"

#define CTL_RETRY_MS 50
#define HELLO_RETRY_MS 500
/* A new broker child's connection to a ready appliance: each try's bound,
 * and how many. */
#define RELINK_MS 10000
#define RELINK_TRIES 5
#define QEMU_LOG_TAIL 5


int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void path_in(char *out, size_t len, const char *dir, const char *file)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, file) >= len)
		out[0] = 0; /* callers' paths are far below PATH_MAX; never silently cut */
}

const char *appliance_name(const struct appliance *a)
{
	return a->name;
}

const char *appliance_run_dir(const struct appliance *a)
{
	return a->run_dir;
}

struct vrpc_client *appliance_client(struct appliance *a)
{
	return a->state == SUP_RUNNING ? a->cli : NULL;
}

struct appliance *appliance_next(struct vappd *d, struct appliance *a)
{
	return a ? a->next : d->apps;
}

struct appliance *appliance_find(struct vappd *d, const char *name)
{
	for (struct appliance *a = d->apps; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

/* ---- timers ---- */

static void cancel(struct appliance *a, int *timer)
{
	if (*timer > 0)
		vrpc_loop_cancel_timer(a->d->loop, *timer);
	*timer = 0;
}

static void on_boot_timer(void *ud)
{
	struct appliance *a = ud;

	a->boot_timer = 0;
	feed(a, SUP_EV_BOOT_TIMEOUT);
}

void arm_boot(struct appliance *a)
{
	cancel(a, &a->boot_timer);
	a->boot_timer = vrpc_loop_add_timer(a->d->loop, a->boot_timeout_ms, on_boot_timer, a);
}

static void on_backoff_timer(void *ud)
{
	struct appliance *a = ud;

	a->backoff_timer = 0;
	feed(a, SUP_EV_BACKOFF_DONE);
}

static void on_stop_timer(void *ud)
{
	struct appliance *a = ud;

	a->stop_timer = 0;
	vappd_log("%s: no poweroff within %d s, killing it", a->name, VAPPD_STOP_GRACE_MS / 1000);
	feed(a, SUP_EV_STOP_TIMEOUT);
}

/* ---- vapp.ctl: lines from vapp-init ---- */

static void ctl_close(struct appliance *a)
{
	cancel(a, &a->ctl_timer);
	if (a->ctl_fd < 0)
		return;
	vrpc_loop_del_fd(a->d->loop, a->ctl_fd);
	close(a->ctl_fd);
	a->ctl_fd = -1;
	a->ctl_len = 0;
}

static void ctl_line(struct appliance *a, char *line)
{
	int status;
	char extra;

	if (!strcmp(line, "ready")) {
		vappd_log("%s: vapp-init started the daemon", a->name);
		/* Without a service, the daemon's start is all "ready" can mean. */
		if (!a->info.service)
			feed(a, SUP_EV_READY);
	} else if (sscanf(line, "daemon-exit %d%c", &status, &extra) == 1) {
		vappd_log("%s: the daemon exited (status %d)", a->name, status);
		a->daemon_exit_seen = true;
		a->daemon_status = status;
		snprintf(a->error, sizeof(a->error), "the daemon exited with status %d", status);
		a->ctx.status = status;
		feed(a, SUP_EV_DAEMON_EXIT);
	}
	/* Anything else is a newer vapp-init's news: ignored, not an error. */
}

static bool ctl_connected(const struct appliance *a)
{
	return a->ctl_fd >= 0 || vappd_xen_ctl_up(a);
}

/* Bytes from the appliance, cut into lines (it is not trusted: a line
 * longer than any vapp-init sends is dropped). */
void vappd_ctl_input(struct appliance *a, const char *data, size_t len)
{
	while (len) {
		size_t take = sizeof(a->ctl_buf) - 1 - a->ctl_len;
		char *nl;

		if (take > len)
			take = len;
		memcpy(a->ctl_buf + a->ctl_len, data, take);
		data += take;
		len -= take;
		a->ctl_len += take;
		a->ctl_buf[a->ctl_len] = 0;
		while ((nl = memchr(a->ctl_buf, '\n', a->ctl_len))) {
			size_t used = (size_t)(nl - a->ctl_buf) + 1;

			*nl = 0;
			ctl_line(a, a->ctl_buf);
			if (!ctl_connected(a))
				return; /* the line's action closed it */
			memmove(a->ctl_buf, a->ctl_buf + used, a->ctl_len - used);
			a->ctl_len -= used;
		}
		if (a->ctl_len == sizeof(a->ctl_buf) - 1)
			a->ctl_len = 0;
	}
}

static void on_ctl(void *ud, int fd, short revents)
{
	struct appliance *a = ud;
	char buf[256];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* QEMU went away; SIGCHLD tells the rest. */
			ctl_close(a);
			return;
		}
		vappd_ctl_input(a, buf, (size_t)n);
		if (a->ctl_fd < 0)
			return;
	}
}

/* What a launch tells the appliance first: the measurement verified before
 * it (for the appliance to put in what it signs: it cannot measure
 * itself), then its settings (settings.c). */
void vappd_launch_text(struct appliance *a, struct vapp_buf *b)
{
	char err[512] = "";

	if (strlen(a->measurement) != MEASURE_HEX_LEN ||
	    vapp_buf_printf(b, "measurement %s\n", a->measurement) < 0) {
		vappd_log("%s: the measurement was not sent on vapp.ctl", a->name);
		b->len = 0;
	}
	if (vappd_settings_text(a->d, a->name, a->info.m, b, err, sizeof(err)) < 0)
		vappd_log("%s: its settings were not sent, so its daemon will not start: %s",
			  a->name, err[0] ? err : "out of memory");
	vappd_kvm_direct_text(a, b);
}

/* The launch lines on QEMU's port. A fresh connection's socket buffer
 * takes them all (64 KiB of settings are 130 KiB of lines; the buffer is
 * made 256 KiB); QEMU hands them over once the port is open. */
static void ctl_send_launch(struct appliance *a)
{
	struct vapp_buf b = { 0 };
	int size = 256 << 10;
	ssize_t n = -1;

	vappd_launch_text(a, &b);
	if (b.len > 4096 && setsockopt(a->ctl_fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(a->ctl_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (b.len)
		n = write(a->ctl_fd, b.p, b.len);
	if (b.len && n != (ssize_t)b.len)
		vappd_log("%s: vapp.ctl took %zd of %zu bytes: the rest is lost", a->name, n, b.len);
	vapp_buf_free(&b);
}

static void ctl_try_connect(void *ud)
{
	struct appliance *a = ud;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	a->ctl_timer = 0;
	if (a->pid <= 0 || a->ctl_fd >= 0)
		return;
	path_in(sun.sun_path, sizeof(sun.sun_path), a->run_dir, CTL_SOCK);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    vrpc_loop_add_fd(a->d->loop, fd, POLLIN, on_ctl, a) == 0) {
		a->ctl_fd = fd;
		ctl_send_launch(a);
		return;
	}
	if (fd >= 0)
		close(fd);
	/* QEMU has not made the socket yet. */
	a->ctl_timer = vrpc_loop_add_timer(a->d->loop, CTL_RETRY_MS, ctl_try_connect, a);
}

/* ---- HELLO ---- */

static void hello_drop(struct appliance *a)
{
	cancel(a, &a->hello_timer);
	hello_abandon(a->hello);
	a->hello = NULL;
	a->relinking = false;
	if (a->up && a->d->on_down)
		a->d->on_down(a->d, a);
	a->up = false;
	vrpc_client_close(a->cli);
	a->cli = NULL;
}

static void hello_begin(void *ud)
{
	struct appliance *a = ud;
	int left = a->boot_timeout_ms;

	a->hello_timer = 0;
	if (!a->info.service || a->pid <= 0)
		return;
	a->hello = hello_start(a->d, a->chan_addr, a->info.service, a->d->broker != NULL, left,
			       a);
	if (!a->hello)
		snprintf(a->hello_err, sizeof(a->hello_err), "no thread for the HELLO");
}

static void relink_begin(void *ud)
{
	struct appliance *a = ud;

	a->hello_timer = 0;
	if (!a->up || a->hello || !a->info.service)
		return;
	a->relinking = true;
	a->hello = hello_start(a->d, a->chan_addr, a->info.service, true, RELINK_MS, a);
	if (!a->hello)
		a->relinking = false;
}

void vappd_appliance_relink(struct appliance *a)
{
	a->relink_tries = 0;
	relink_begin(a);
}

/* A relink's HELLO came back: the broker takes the connection, or another
 * try is made (a few, each bounded: an appliance that stopped answering
 * is unreachable through the broker until it restarts). */
static void relink_done(struct appliance *a, struct vrpc_relay_upstream *up, int err)
{
	a->relinking = false;
	if (up && a->up && a->d->on_ready) {
		a->upstream = up;
		a->d->on_ready(a->d, a);
		up = a->upstream;
		a->upstream = NULL;
	}
	vrpc_relay_upstream_free(up);
	if (err && a->up && ++a->relink_tries < RELINK_TRIES) {
		vappd_log("%s: its channel for the broker: %s; trying again", a->name,
			  strerror(-err));
		a->hello_timer = vrpc_loop_add_timer(a->d->loop, HELLO_RETRY_MS, relink_begin, a);
	}
}

void appliance_hello_done(struct appliance *a, struct vrpc_client *cli,
			  struct vrpc_relay_upstream *up, int err, uint32_t elapsed_ms)
{
	a->hello = NULL;
	if (a->relinking) {
		vrpc_client_close(cli);
		relink_done(a, up, err);
		return;
	}
	if ((cli || up) && a->state == SUP_STARTING) {
		a->cli = cli;
		a->upstream = up; /* the broker adopts it in on_ready */
		a->boot_ms = (uint32_t)(mono_ms() - a->started_ms);
		a->hello_err[0] = 0;
		feed(a, SUP_EV_READY);
		a->up = a->state == SUP_RUNNING;
		if (a->up && a->d->on_ready)
			a->d->on_ready(a->d, a);
		vrpc_relay_upstream_free(a->upstream); /* not adopted */
		a->upstream = NULL;
		/* QEMU's chardev serves one client: let a tool have it. */
		if (a->d->release_channel) {
			vrpc_client_close(a->cli);
			a->cli = NULL;
		}
		return;
	}
	vrpc_client_close(cli);
	vrpc_relay_upstream_free(up);
	if (err)
		snprintf(a->hello_err, sizeof(a->hello_err), "%s", strerror(-err));
	/* Still booting: try again; the boot timer bounds it. */
	if (a->state == SUP_STARTING && a->pid > 0 && !a->hello_timer)
		a->hello_timer = vrpc_loop_add_timer(a->d->loop, HELLO_RETRY_MS, hello_begin, a);
}

/* ---- the VM ---- */

static void unlink_sockets(struct appliance *a)
{
	char p[PATH_MAX];

	path_in(p, sizeof(p), a->run_dir, CTL_SOCK);
	unlink(p);
	path_in(p, sizeof(p), a->run_dir, "qmp.sock");
	unlink(p);
	if (a->info.channel) {
		char f[128];

		snprintf(f, sizeof(f), "%.100s.sock", a->info.channel);
		path_in(p, sizeof(p), a->run_dir, f);
		unlink(p);
	}
}

void vappd_tap_name(const char *appliance, const struct manifest *m, size_t i, char name[16])
{
	/* An interface name is at most 15 bytes (IFNAMSIZ - 1); a guest's
	 * name is at most 8 (MANIFEST_NIC_GUEST_MAX). */
	if (m->nics[i].guest)
		snprintf(name, 16, "%.6s-%.8s", appliance, m->nics[i].guest);
	else
		snprintf(name, 16, "vp%.8sn%zu", appliance, i);
}

/* The appliance's taps, opened (made) by vappd for QEMU to inherit. */
static int open_taps(struct appliance *a, int *fds)
{
	size_t n = a->info.m->n_nics;
	char name[16];

	for (size_t i = 0; i < n; i++) {
		vappd_tap_name(a->name, a->info.m, i, name);
		fds[i] = hv_tap_open(name);
		if (fds[i] < 0) {
			int err = fds[i];

			snprintf(a->error, sizeof(a->error), "tap %s: %s", name, strerror(-err));
			while (i--)
				close(fds[i]);
			return err;
		}
	}
	return 0;
}

int start_vm(struct appliance *a)
{
	int taps[HV_SPAWN_MAX_FDS];
	size_t n_taps = a->info.m->n_nics;
	char log[PATH_MAX], con[PATH_MAX], old[PATH_MAX];
	pid_t pid;

	path_in(con, sizeof(con), a->run_dir, "console.log");
	path_in(old, sizeof(old), a->run_dir, "console.log.1");
	rename(con, old); /* the boot before, for `vapp logs` and post-mortems */
	path_in(log, sizeof(log), a->run_dir, "qemu.log");
	unlink_sockets(a);
	a->daemon_exit_seen = false;
	a->daemon_status = 0;
	a->ctx.status = 0;
	if (a->xen) {
		int rc = vappd_xen_start(a);

		if (rc == 0) {
			a->started_ms = mono_ms();
			vappd_log("%s: xl create started (pid %d), domain %s", a->name, (int)a->pid,
				  "paused until its vapp.ctl keys are written");
		}
		return rc;
	}
	if ((pid = open_taps(a, taps)) < 0)
		return (int)pid;
	pid = hv_qemu_spawn(a->argv, log, &a->d->qemu_user, taps, n_taps);
	for (size_t i = 0; i < n_taps; i++)
		close(taps[i]);
	if (pid < 0) {
		snprintf(a->error, sizeof(a->error), "cannot start %s: %s", a->argv[0],
			 strerror((int)-pid));
		return (int)pid;
	}
	a->pid = pid;
	a->started_ms = mono_ms();
	vappd_log("%s: QEMU started (pid %d, accel %s)", a->name, (int)pid, a->accel);
	/* hypervisor-config gives every appliance the control channel. */
	ctl_try_connect(a);
	hello_begin(a);
	return 0;
}

/* Under Xen: the channel is the same socket as under QEMU, forwarded to
 * the domain's vchan, so the HELLO and the broker are the same. */
void vappd_vm_created(struct appliance *a)
{
	int rc = a->info.channel ? vappd_xen_forward_channel(a, a->chan_addr, sizeof(a->chan_addr)) : 0;

	if (rc < 0)
		snprintf(a->hello_err, sizeof(a->hello_err), "channel %.64s: %s", a->info.channel,
			 rc == -EINVAL ? "no vchan name for it" : strerror(-rc));
	hello_begin(a);
}

/* The last lines of qemu.log (xl.log under Xen), which says why QEMU (xl)
 * itself failed. */
static void qemu_log_tail(struct appliance *a, char *out, size_t len)
{
	char p[PATH_MAX];

	path_in(p, sizeof(p), a->run_dir, a->xen ? "xl.log" : "qemu.log");
	console_tail(p, QEMU_LOG_TAIL, out, len);
}

/* Why the first boot failed, with the console's last lines. */
static void fail_message(struct appliance *a, const char *why, char *out, size_t len)
{
	char con[PATH_MAX], tail[2048], qlog[512];
	int n;

	path_in(con, sizeof(con), a->run_dir, "console.log");
	n = console_tail(con, VAPPD_CONSOLE_TAIL, tail, sizeof(tail));
	qemu_log_tail(a, qlog, sizeof(qlog));
	snprintf(out, len, "%s: %.600s; the VM was stopped.%s%s%s%s\n--- last %d console lines (%.300s) ---\n%s",
		 a->name, why, qlog[0] ? "\n--- " : "", qlog[0] ? (a->xen ? "xl.log" : "qemu.log") : "",
		 qlog[0] ? " ---\n" : "", qlog, n, con,
		 n ? tail : "(the console is empty)");
}

static void kill_vm(struct appliance *a)
{
	if (a->pid <= 0)
		return;
	if (a->xen) {
		vappd_xen_kill(a); /* xl create ends when the domain is gone */
		return;
	}
	kill(-a->pid, SIGKILL);
	kill(a->pid, SIGKILL);
}

static void poweroff(struct appliance *a)
{
	static const char cmd[] = "poweroff\n";

	cancel(a, &a->stop_timer);
	a->stop_timer = vrpc_loop_add_timer(a->d->loop, VAPPD_STOP_GRACE_MS, on_stop_timer, a);
	if ((a->ctl_fd >= 0 && write(a->ctl_fd, cmd, sizeof(cmd) - 1) == sizeof(cmd) - 1) ||
	    (vappd_xen_ctl_up(a) && vappd_xen_ctl_write(a, cmd, sizeof(cmd) - 1) == 0)) {
		vappd_log("%s: poweroff sent on vapp.ctl", a->name);
		return;
	}
	/* No control channel (yet): nobody to ask; the VM goes the hard way. */
	vappd_log("%s: vapp.ctl not connected, killing the VM", a->name);
	kill_vm(a);
}

void appliance_free(struct appliance *a)
{
	struct appliance **p;

	for (p = &a->d->apps; *p && *p != a; p = &(*p)->next)
		;
	if (*p)
		*p = a->next;
	hello_drop(a);
	ctl_close(a);
	cancel(a, &a->boot_timer);
	cancel(a, &a->backoff_timer);
	cancel(a, &a->stop_timer);
	vappd_xen_free(a);
	vappd_kvm_direct_close(a);
	hv_argv_free(a->argv);
	image_info_free(&a->info);
	free(a);
}

/* Timers that only make sense in one state go when it is left. */
static void settle(struct appliance *a)
{
	if (a->state != SUP_STARTING) {
		cancel(a, &a->boot_timer);
		cancel(a, &a->hello_timer);
	}
	if (a->state != SUP_STOPPING)
		cancel(a, &a->stop_timer);
	if (a->state != SUP_BACKOFF)
		cancel(a, &a->backoff_timer);
}

static void run_failed(struct appliance *a, enum sup_event ev)
{
	char why[512], *msg = malloc(VAPPD_ERR_LEN);

	if (ev == SUP_EV_BOOT_TIMEOUT)
		snprintf(why, sizeof(why), "not ready within %d ms (no HELLO answered by %.128s on %.200s%s%.100s)",
			 a->boot_timeout_ms, a->info.service ? a->info.service : "vapp-init",
			 a->info.service ? a->chan_addr : HV_CTL_CHANNEL,
			 a->hello_err[0] ? ": " : "", a->hello_err);
	else if (ev == SUP_EV_STOP)
		snprintf(why, sizeof(why), "stopped before it was ready");
	else
		snprintf(why, sizeof(why), "the VM ended before it was ready (%.400s)",
			 a->error[0] ? a->error : "QEMU exited");
	if (msg)
		fail_message(a, why, msg, VAPPD_ERR_LEN);
	snprintf(a->error, sizeof(a->error), "%s", why);
	vappd_log("%s", msg ? msg : why);
	if (a->run_done)
		a->run_done(a->run_ud, a, false, msg ? msg : why);
	a->run_done = NULL;
	free(msg);
}

static void run_ok(struct appliance *a)
{
	a->ctx.ever_ready = true;
	a->error[0] = 0;
	vappd_log("%s: ready in %u ms", a->name, a->boot_ms);
	if (a->run_done)
		a->run_done(a->run_ud, a, true, NULL);
	a->run_done = NULL;
}

/* @return false when QEMU could not be started (its "exit" was fed). */
static bool start_again(struct appliance *a)
{
	if (a->pid > 0) {
		/* Killed but not reaped yet: it goes within moments. */
		kill_vm(a);
		waitpid(a->pid, NULL, 0);
		a->pid = 0;
		if (a->xen)
			vappd_xen_gone(a);
	}
	if (start_vm(a) < 0) {
		a->ctx.status = 127;
		a->ctx.ran_ms = 0;
		feed(a, SUP_EV_VM_EXIT);
		return false;
	}
	return true;
}

/* A stop finished: its caller is told, and the appliance is freed. */
static void stop_finished(struct appliance *a)
{
	app_stop_done_fn done = a->stop_done;

	ctl_close(a);
	a->stop_done = NULL;
	if (done) {
		done(a->stop_ud, a);
		appliance_free(a);
	}
}

/* supervise.c decides; this does what it asked, in its order. */
void feed(struct appliance *a, enum sup_event ev)
{
	enum sup_state was = a->state;
	struct sup_step st;

	a->ctx.vm_alive = a->pid > 0;
	st = sup_step(a->state, ev, &a->ctx);
	a->state = st.next;
	if (was != st.next)
		vappd_log("%s: %s -> %s (%s)", a->name, sup_state_name(was),
			  sup_state_name(st.next), sup_event_name(ev));
	settle(a);
	/* Under Xen, direct channels exist while the appliance runs. */
	if (a->xen && was != st.next && (was == SUP_RUNNING || st.next == SUP_RUNNING))
		vappd_xen_direct_sync(a->d);
	if (st.actions & SUP_DO_DROP_RPC)
		hello_drop(a);
	if (st.actions & SUP_DO_KILL)
		kill_vm(a);
	if (st.actions & SUP_DO_POWEROFF)
		poweroff(a);
	if (st.actions & SUP_DO_COUNT)
		a->restarts++;
	if (st.actions & SUP_DO_RECONNECT) {
		hello_drop(a);
		hello_begin(a);
	}
	if (st.actions & SUP_DO_ARM_BOOT)
		arm_boot(a);
	if (st.actions & SUP_DO_SCHEDULE) {
		a->backoff_ms = st.delay_ms;
		vappd_log("%s: restarting in %u ms (restart %u)", a->name, st.delay_ms, a->restarts);
		a->backoff_timer = vrpc_loop_add_timer(a->d->loop, (int)st.delay_ms,
						       on_backoff_timer, a);
	}
	if (st.actions & SUP_DO_RUN_OK)
		run_ok(a);
	if (st.actions & SUP_DO_RUN_FAIL)
		run_failed(a, ev);
	if ((st.actions & SUP_DO_START) && !start_again(a))
		return;
	if (st.actions & SUP_DO_STOP_DONE)
		stop_finished(a); /* may free a */
	else if (a->state == SUP_STOPPED || a->state == SUP_FAILED)
		ctl_close(a);
}

/* A QEMU process ended. */
static void vm_exited(struct appliance *a, int st)
{
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);

	/* Under Xen the domain's end was seen first: xl's own status (killed
	 * after it, or 0) says no more than "the VM ended". */
	if (vappd_xen_domain_died(a))
		code = 0;

	vappd_log("%s: %s (pid %d) ended: %s %d", a->name, a->xen ? "xl create" : "QEMU",
		  (int)a->pid, WIFEXITED(st) ? "status" : "signal",
		  WIFEXITED(st) ? code : WTERMSIG(st));
	a->pid = 0;
	a->ctx.ran_ms = (uint64_t)(mono_ms() - a->started_ms);
	/* QEMU's 0 after the guest ended on its own says only "the VM ended":
	 * what the daemon said decides; no daemon exit means a crash
	 * (a kernel panic reboots, and -no-reboot makes that an exit). */
	if (code == 0)
		a->ctx.status = a->daemon_exit_seen ? a->daemon_status : 1;
	else
		a->ctx.status = code;
	if (code && a->state != SUP_STOPPING)
		snprintf(a->error, sizeof(a->error), "%s ended with %s %d",
			 a->xen ? "xl create" : "QEMU", WIFEXITED(st) ? "status" : "signal",
			 WIFEXITED(st) ? code : WTERMSIG(st));
	ctl_close(a);
	if (a->xen)
		vappd_xen_gone(a);
	feed(a, SUP_EV_VM_EXIT);
}

void appliances_reap(struct vappd *d)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct appliance *a;

		for (a = d->apps; a && a->pid != pid; a = a->next)
			;
		if (a)
			vm_exited(a, st);
		else if (vappd_xen_reaped(d, pid, st))
			;
		else if (d->on_reaped)
			d->on_reaped(d, pid, st);
	}
}

int appliance_stop(struct appliance *a, bool force, app_stop_done_fn done, void *ud)
{
	if (a->stop_done) {
		a->ctx.force = force;
		if (force)
			feed(a, SUP_EV_STOP);
		return -EALREADY;
	}
	a->stop_done = done;
	a->stop_ud = ud;
	a->ctx.force = force;
	feed(a, SUP_EV_STOP);
	return 0;
}

bool appliances_stop_all(struct vappd *d, bool force)
{
	bool none = true;
	struct appliance *next;

	for (struct appliance *a = d->apps; a; a = next) {
		next = a->next;
		if (a->pid <= 0 && (a->state == SUP_STOPPED || a->state == SUP_FAILED))
			continue;
		if (a->pid > 0)
			none = false;
		if (a->state != SUP_STOPPING || force) {
			a->ctx.force = force;
			feed(a, SUP_EV_STOP); /* may free a (a pending vapp stop) */
		}
	}
	return none;
}

void appliances_free(struct vappd *d)
{
	while (d->apps) {
		kill_vm(d->apps);
		if (d->apps->pid > 0)
			waitpid(d->apps->pid, NULL, 0);
		if (d->apps->run_done)
			d->apps->run_done(d->apps->run_ud, d->apps, false, "vappd is exiting");
		d->apps->run_done = NULL;
		if (d->apps->stop_done)
			d->apps->stop_done(d->apps->stop_ud, d->apps);
		appliance_free(d->apps);
	}
}

void appliance_info(struct appliance *a, struct appliance_info *o)
{
	memset(o, 0, sizeof(*o));
	o->name = a->name;
	o->image = a->image_src;
	o->accel = a->accel;
	o->service = a->info.service ? a->info.service : "";
	o->channel = a->info.service ? a->chan_addr : "";
	o->measurement = a->measurement;
	o->signer = a->signer;
	o->error = a->state == SUP_RUNNING ? "" : a->error;
	o->state = a->state;
	o->pid = a->pid;
	o->uptime_ms = a->pid > 0 ? (uint64_t)(mono_ms() - a->started_ms) : 0;
	/* A domain's memory is what it was given; QEMU's is what it uses. */
	o->memory_bytes = a->xen ? (a->pid > 0 ? (uint64_t)a->info.m->memory_mib << 20 : 0)
				 : hv_proc_rss_bytes(a->pid);
	o->restarts = a->restarts;
	o->boot_ms = a->boot_ms;
	o->backoff_ms = a->state == SUP_BACKOFF ? a->backoff_ms : 0;
	o->run_dir = a->run_dir;
	o->image_copy = a->image_dir;
	o->manifest = a->info.m;
	o->gate = a->d->host_gate;
	o->direct = vappd_kvm_direct_lines(a);
	o->n_direct = a->n_direct;
}
