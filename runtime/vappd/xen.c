/*
 * xen.c - the Xen backend: an appliance as a domU of the Xen host vappd
 * runs in (dom0), behind the same appliance life as QEMU's (appliance.c).
 *
 *   start    RUN_DIR/xl.cfg from the measured manifest and the image's
 *            measured cmdline.xen (hypervisor-config's hv_xl_cfg), then
 *            `xl create -p -F`: the domain is made paused, and that xl stays
 *            until the domain is gone (it watches @releaseDomain), so the
 *            appliance's pid is xl's and its exit is the domain's death.
 *   created  xl says "Waiting for domain vapp-NAME (domid N) to die" (in
 *            RUN_DIR/xl.log, read every XL_POLL_MS): vappd makes
 *            /local/domain/N/vapp (owner N, nobody else: the appliance and
 *            dom0 only), writes the launch lines into vapp/in/0.. (the
 *            measurement, the settings), watches vapp/out, gives the
 *            state volume's loop device to its disk (xen_disk.c), opens the
 *            domain's console (xenconsoled's pty, console/tty) into
 *            RUN_DIR/console.log, and only then `xl unpause`s it.
 *   ctl      vapp.ctl's lines both ways as xenstore keys (vapp-init's
 *            runtime/guest-init/xenctl.c is the other end); a poweroff is
 *            such a line, and the next piece vapp/in/N.
 *   ready    the HELLO on the appliance's chan:NAME, a vchan at
 *            xen:N:/local/domain/N/data/vapp/NAME (vrpc_chan_xen_path).
 *   death    a watch on @releaseDomain: a domain of ours that xenstore no
 *            longer knows has ended. xl create ends by itself after a
 *            shutdown; after a destroy it is ended (XL_LINGER_MS).
 *   kill     `xl destroy`; the death follows.
 *
 * What the appliance writes (vapp/out) is read as hostile: at most
 * OUT_PIECES_PER_EVENT pieces a wake-up, each cut to what vapp.ctl's line
 * reader takes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <xenstore.h>

#include "appliance.h"
#include "hvconfig.h"
#include "hvrun.h"
#include "vapp_util.h"

#define XL_POLL_MS 100
#define CONSOLE_WAIT_POLLS 20     /* console/tty: up to 2 s after creation */
#define XL_LOG_MAX (64 << 10)
#define IN_PIECE 2048             /* bytes in one vapp/in key */
#define OUT_PIECES_PER_EVENT 64
#define MAX_HELPERS 32
#define STALE_DESTROY_S 30
#define RELEASE_TOKEN "vapp:@releaseDomain"
#define INTRODUCE_TOKEN "vapp:@introduceDomain"
/* After Xen released the domain, xl create has this long to end by
 * itself (it does after a shutdown; after a destroy by another xl it
 * stays, measured with Xen 4.17), then it is killed. */
#define XL_LINGER_MS 3000

struct xen_dom {
	char name[80];        /* vapp-NAME */
	uint32_t domid;       /* 0 until created */
	int poll_timer, polls;
	int con_fd, log_fd;
	uint32_t in_next, out_next;
	char token[80];
	bool watching, unpaused, destroying, died;
	int linger_timer;
	struct vrpc_forward *fwd; /* RUN_DIR/CHANNEL.sock <-> the channel's vchan */
	int loop_fd;          /* the state volume's loop device (xen_disk.c), or -1 */
	char loop_dev[32];
};

/* xl unpause and xl destroy run beside the loop; reaped here. */
static pid_t helpers[MAX_HELPERS];

static struct xs_handle *xs_of(struct vappd *d)
{
	return d->xs;
}

bool vappd_xen_is_dom0(void)
{
	char *text;
	size_t len;
	bool yes;

	if (read_small_file("/proc/xen/capabilities", 4096, &text, &len) < 0)
		return false;
	yes = strstr(text, "control_d") != NULL;
	free(text);
	return yes;
}

/* Can this Xen run PVH? It needs HVM and a paging mode for it (HAP, or
 * shadow paging where Xen has it): `xl info`'s virt_caps says, once a
 * vappd. Xen under QEMU's TCG says "pv hvm gnttab-v1 gnttab-v2": PV. */
static bool xen_can_pvh(void)
{
	static int known = -1;
	char *argv[] = { "xl", "info", NULL }, why[128];
	struct vapp_buf out = { 0 };
	const char *caps;

	if (known >= 0)
		return known;
	known = 0;
	if (vapp_run_cmd(argv, NULL, 30, &out, why, sizeof(why)) == 0 &&
	    vapp_buf_printf(&out, "%c", 0) == 0 && (caps = strstr((char *)out.p, "\nvirt_caps"))) {
		size_t n = strcspn(caps + 1, "\n");
		char line[256];

		snprintf(line, sizeof(line), "%.*s ", (int)(n < 200 ? n : 200), caps + 1);
		known = strstr(line, " hvm ") && (strstr(line, " hap ") || strstr(line, " shadow "));
	}
	vapp_buf_free(&out);
	return known;
}

/* ---- children: xl create (the appliance's pid), unpause, destroy ---- */

/* xl's absolute path, found in PATH once (before any fork: the child of
 * a process with threads may only make async-signal-safe calls). */
static char xl_path[PATH_MAX];

static int find_xl(void)
{
	const char *path = getenv("PATH");
	char dirs[4096], *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", path && path[0] ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(xl_path, sizeof(xl_path), "%s/xl", d);
		if (access(xl_path, X_OK) == 0)
			return 0;
	}
	xl_path[0] = 0;
	return -ENOENT;
}

static pid_t spawn_xl(char *const argv[], int out_fd)
{
	static const char fail[] = "vappd: cannot run xl\n";
	pid_t pid = fork();

	if (pid != 0)
		return pid < 0 ? -errno : pid;
	sigset_t none;
	int null = open("/dev/null", O_RDONLY);

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
	}
	execv(xl_path, argv);
	if (write(STDERR_FILENO, fail, sizeof(fail) - 1) < 0)
		_exit(127);
	_exit(127);
}

static void helper(struct appliance *a, const char *verb)
{
	char id[16];
	char *argv[] = { "xl", (char *)verb, id, NULL };
	char p[PATH_MAX];
	int fd;
	pid_t pid;

	snprintf(id, sizeof(id), "%u", a->xen->domid);
	path_in(p, sizeof(p), a->run_dir, "xl.log");
	fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	pid = spawn_xl(argv, fd);
	if (fd >= 0)
		close(fd);
	if (pid < 0) {
		vappd_log("%s: xl %s: %s", a->name, verb, strerror((int)-pid));
		return;
	}
	for (size_t i = 0; i < MAX_HELPERS; i++)
		if (!helpers[i]) {
			helpers[i] = pid;
			return;
		}
	/* More at once than any sane host has: it is reaped as "not ours". */
}

bool vappd_xen_reaped(struct vappd *d, pid_t pid, int st)
{
	for (size_t i = 0; i < MAX_HELPERS; i++)
		if (helpers[i] == pid) {
			helpers[i] = 0;
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				vappd_log("an xl command (pid %d) failed: status %d (see the "
					  "appliance's xl.log)", (int)pid, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			return true;
		}
	(void)d;
	return false;
}

/* ---- xenstore: the handle, vapp.ctl's keys ---- */

static void on_watch(void *ud, int fd, short revents);

int vappd_xen_open(struct vappd *d, char *err, size_t errlen)
{
	struct xs_handle *xs;

	if (find_xl() < 0) {
		snprintf(err, errlen, "xl, Xen's toolstack, is not in PATH (Debian: xen-utils)");
		return -ENOENT;
	}
	xs = xs_open(0);
	if (!xs) {
		snprintf(err, errlen, "xenstore: %s (is xenstored running?)", strerror(errno));
		return -EIO;
	}
	d->xs = xs;
	d->xs_fd = xs_fileno(xs);
	if (d->xs_fd < 0 || !xs_watch(xs, "@releaseDomain", RELEASE_TOKEN) ||
	    !xs_watch(xs, "@introduceDomain", INTRODUCE_TOKEN) ||
	    vrpc_loop_add_fd(d->loop, d->xs_fd, POLLIN, on_watch, d) < 0) {
		snprintf(err, errlen, "xenstore: cannot watch @releaseDomain");
		xs_close(xs);
		d->xs = NULL;
		return -EIO;
	}
	return 0;
}

void vappd_xen_close(struct vappd *d)
{
	if (!d->xs)
		return;
	vrpc_loop_del_fd(d->loop, d->xs_fd);
	xs_close(xs_of(d));
	d->xs = NULL;
}

static void dom_path(const struct appliance *a, char *out, size_t len, const char *rest)
{
	snprintf(out, len, "/local/domain/%u/vapp%s%s", a->xen->domid, rest[0] ? "/" : "", rest);
}

int vappd_xen_ctl_write(struct appliance *a, const char *buf, size_t len)
{
	struct xen_dom *x = a->xen;
	char key[96], n[24];

	if (!x || !x->watching)
		return -ENOTCONN;
	while (len) {
		size_t piece = len < IN_PIECE ? len : IN_PIECE;

		snprintf(n, sizeof(n), "in/%u", x->in_next);
		dom_path(a, key, sizeof(key), n);
		if (!xs_write(xs_of(a->d), XBT_NULL, key, buf, (unsigned)piece))
			return -errno ? -errno : -EIO;
		x->in_next++;
		buf += piece;
		len -= piece;
	}
	return 0;
}

/* The appliance's new pieces of vapp/out, in order. */
static void read_out(struct appliance *a)
{
	struct xen_dom *x = a->xen;
	char key[96], n[24];

	for (int i = 0; i < OUT_PIECES_PER_EVENT; i++) {
		unsigned int len = 0;
		char *v;

		snprintf(n, sizeof(n), "out/%u", x->out_next);
		dom_path(a, key, sizeof(key), n);
		v = xs_read(xs_of(a->d), XBT_NULL, key, &len);
		if (!v)
			return;
		x->out_next++;
		xs_rm(xs_of(a->d), XBT_NULL, key);
		vappd_ctl_input(a, v, len);
		free(v);
		if (!a->xen || !a->xen->watching)
			return; /* the line's action ended it */
	}
}

static void on_linger(void *ud)
{
	struct appliance *a = ud;

	a->xen->linger_timer = 0;
	if (a->pid <= 0)
		return;
	vappd_log("%s: domain %u is gone but xl create (pid %d) is not: ending it", a->name,
		  a->xen->domid, (int)a->pid);
	kill(-a->pid, SIGKILL);
	kill(a->pid, SIGKILL);
}

/* Is domain @p domid gone? Its xenstore home goes when it is destroyed. */
static bool domain_gone(struct vappd *d, uint32_t domid)
{
	char path[64], *v;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
	v = xs_read(xs_of(d), XBT_NULL, path, &len);
	free(v);
	return !v && errno == ENOENT;
}

/* Xen released a domain: ours, if it is gone. */
static void on_release(struct vappd *d)
{
	for (struct appliance *a = d->apps; a; a = a->next) {
		struct xen_dom *x = a->xen;

		if (!x || !x->domid || a->pid <= 0 || x->died)
			continue;
		if (!domain_gone(d, x->domid))
			continue;
		x->died = true;
		vappd_log("%s: domain %u ended", a->name, x->domid);
		x->linger_timer = vrpc_loop_add_timer(d->loop, XL_LINGER_MS, on_linger, a);
	}
}

static void on_watch(void *ud, int fd, short revents)
{
	struct vappd *d = ud;
	char **vec;

	(void)fd;
	(void)revents;
	while (d->xs && (vec = xs_check_watch(xs_of(d)))) {
		const char *token = vec[XS_WATCH_TOKEN];

		if (!strcmp(token, RELEASE_TOKEN))
			on_release(d);
		if (!strcmp(token, RELEASE_TOKEN) || !strcmp(token, INTRODUCE_TOKEN))
			vappd_xen_gates_scan(d);
		for (struct appliance *a = d->apps; a; a = a->next)
			if (a->xen && a->xen->watching && !strcmp(a->xen->token, token)) {
				read_out(a);
				break;
			}
		free(vec);
	}
}

/* /local/domain/N/vapp: the appliance's and dom0's only, then the launch
 * lines, then the watch on what it says. */
static int ctl_open(struct appliance *a)
{
	struct xen_dom *x = a->xen;
	struct xs_permissions perm = { .id = x->domid, .perms = XS_PERM_NONE };
	struct vapp_buf b = { 0 };
	char dir[64], out[80];
	int rc;

	dom_path(a, dir, sizeof(dir), "");
	dom_path(a, out, sizeof(out), "out");
	xs_rm(xs_of(a->d), XBT_NULL, dir);
	if (!xs_mkdir(xs_of(a->d), XBT_NULL, dir) ||
	    !xs_set_permissions(xs_of(a->d), XBT_NULL, dir, &perm, 1)) {
		snprintf(a->error, sizeof(a->error), "xenstore %s: %s", dir, strerror(errno));
		return -EIO;
	}
	snprintf(x->token, sizeof(x->token), "vapp:%s", a->name);
	if (!xs_watch(xs_of(a->d), out, x->token)) {
		snprintf(a->error, sizeof(a->error), "xenstore watch %s: %s", out, strerror(errno));
		return -EIO;
	}
	x->watching = true;
	vappd_launch_text(a, &b);
	rc = b.len ? vappd_xen_ctl_write(a, (const char *)b.p, b.len) : 0;
	vapp_buf_free(&b);
	if (rc < 0)
		vappd_log("%s: vapp.ctl's launch lines: %s", a->name, strerror(-rc));
	return 0;
}

/* ---- the console: xenconsoled's pty for the domain ---- */

static void console_close(struct xen_dom *x, struct vappd *d)
{
	if (x->con_fd >= 0) {
		vrpc_loop_del_fd(d->loop, x->con_fd);
		close(x->con_fd);
	}
	if (x->log_fd >= 0)
		close(x->log_fd);
	x->con_fd = x->log_fd = -1;
}

static void on_console(void *ud, int fd, short revents)
{
	struct appliance *a = ud;
	char buf[4096];
	ssize_t n;

	(void)revents;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			console_close(a->xen, a->d); /* the domain is gone */
			return;
		}
		if (write(a->xen->log_fd, buf, (size_t)n) != n)
			return;
	}
}

/* @return 0, or -EAGAIN while xenconsoled has not made the pty yet. */
static int console_open(struct appliance *a)
{
	struct xen_dom *x = a->xen;
	char key[64], log[PATH_MAX], *tty;
	unsigned int len = 0;
	struct termios t;

	snprintf(key, sizeof(key), "/local/domain/%u/console/tty", x->domid);
	tty = xs_read(xs_of(a->d), XBT_NULL, key, &len);
	if (!tty || strncmp(tty, "/dev/pts/", 9) || strchr(tty + 9, '/')) {
		free(tty);
		return -EAGAIN;
	}
	x->con_fd = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	free(tty);
	if (x->con_fd < 0)
		return -errno;
	/* Raw: no echo, or the console's output would go back in as input. */
	if (tcgetattr(x->con_fd, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(x->con_fd, TCSANOW, &t);
	}
	path_in(log, sizeof(log), a->run_dir, "console.log");
	x->log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (x->log_fd < 0 || vrpc_loop_add_fd(a->d->loop, x->con_fd, POLLIN, on_console, a) < 0) {
		int rc = -errno;

		close(x->con_fd);
		if (x->log_fd >= 0)
			close(x->log_fd);
		x->con_fd = x->log_fd = -1;
		return rc ? rc : -EIO;
	}
	return 0;
}

/* ---- creation ---- */

static int disk_connect(struct appliance *a)
{
	struct xen_dom *x = a->xen;

	if (x->loop_fd < 0)
		return 0;
	return vappd_xen_disk_connect(xs_of(a->d), x->domid, x->loop_fd, x->loop_dev, a->error,
				      sizeof(a->error));
}

static void unpause(struct appliance *a)
{
	a->xen->unpaused = true;
	helper(a, "unpause");
	vappd_log("%s: domain %s (domid %u) made; unpaused%s", a->name, a->xen->name,
		  a->xen->domid, a->xen->con_fd < 0 ? " (no console log: xenconsoled gave no pty)" : "");
	vappd_vm_created(a);
}

static void on_poll(void *ud)
{
	struct appliance *a = ud;
	struct xen_dom *x = a->xen;
	char p[PATH_MAX], *text;
	size_t len;
	int rc;

	x->poll_timer = 0;
	if (a->pid <= 0)
		return;
	if (!x->domid) {
		path_in(p, sizeof(p), a->run_dir, "xl.log");
		if (read_small_file(p, XL_LOG_MAX, &text, &len) < 0)
			text = NULL;
		rc = text ? hv_xen_parse_created(text, x->name, &x->domid) : -ENOENT;
		free(text);
		if (rc == -EINVAL) {
			snprintf(a->error, sizeof(a->error), "xl create said something unexpected "
				 "(see xl.log): destroying it");
			vappd_xen_kill(a);
			return;
		}
		if (rc == 0 && (ctl_open(a) < 0 || disk_connect(a) < 0)) {
			vappd_log("%s: %s", a->name, a->error);
			vappd_xen_kill(a);
			return;
		}
	}
	if (x->domid && !x->unpaused) {
		if (console_open(a) == 0 || ++x->polls > CONSOLE_WAIT_POLLS) {
			unpause(a);
			return;
		}
	}
	x->poll_timer = vrpc_loop_add_timer(a->d->loop, XL_POLL_MS, on_poll, a);
}

/* RUN_DIR/xl.cfg: the measured manifest and command line, concrete paths. */
static int write_config(struct appliance *a, const char *cmdline, char *err, size_t errlen)
{
	char kernel[PATH_MAX], initrd[PATH_MAX], state[PATH_MAX], cfg[PATH_MAX], *text;
	const struct manifest *m = a->info.m;
	int rc;

	if (m->n_nics || m->n_pci || m->usb || m->sound) {
		snprintf(err, errlen, "%s asks for %s, which vappd does not give a Xen domain yet",
			 m->name, m->n_nics ? "NICs" : m->n_pci ? "PCI devices" : m->usb ? "USB" : "sound");
		return -EOPNOTSUPP;
	}
	path_in(kernel, sizeof(kernel), a->image_dir, "kernel");
	path_in(initrd, sizeof(initrd), a->image_dir, "initramfs");
	path_in(state, sizeof(state), a->run_dir, "state.img");
	if (m->state.size_mib && a->xen->loop_fd < 0) {
		a->xen->loop_fd = vappd_xen_disk_attach(state, a->xen->loop_dev,
							sizeof(a->xen->loop_dev), err, errlen);
		if (a->xen->loop_fd < 0)
			return a->xen->loop_fd;
	}
	struct hv_params p = {
		.kernel = kernel,
		.initrd = initrd,
		.cmdline = cmdline,
		.run_dir = a->run_dir,
		.state_image = a->xen->loop_fd >= 0 ? a->xen->loop_dev : state,
		.xen_disk_script = a->xen->loop_fd >= 0 ? "/bin/true" : NULL,
		.xen_pv = !xen_can_pvh(),
	};
	text = hv_xl_cfg(m, &p);
	if (!text) {
		snprintf(err, errlen, "xl.cfg for %s: %s", m->name, strerror(errno));
		return -errno;
	}
	path_in(cfg, sizeof(cfg), a->run_dir, "xl.cfg");
	rc = vapp_write_file_atomic(cfg, text, strlen(text), 0600);
	free(text);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", cfg, strerror(-rc));
	return rc;
}

int vappd_xen_prepare(struct appliance *a, const char *cmdline, char *err, size_t errlen)
{
	struct xen_dom *x = calloc(1, sizeof(*x));

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->con_fd = x->log_fd = x->loop_fd = -1;
	snprintf(x->name, sizeof(x->name), "vapp-%s", a->name);
	a->xen = x;
	return write_config(a, cmdline, err, errlen);
}

/* A domain of our name left by a vappd before this one (killed, crashed):
 * it holds the name, and nobody supervises it. */
uint32_t vappd_xen_find_domain(struct vappd *d, const char *name)
{
	char **dirs, path[64], *v;
	unsigned int n = 0, len;
	uint32_t found = 0;

	dirs = xs_directory(xs_of(d), XBT_NULL, "/local/domain", &n);
	for (unsigned int i = 0; dirs && i < n && !found; i++) {
		unsigned long id = strtoul(dirs[i], NULL, 10);

		if (!id || id > 0x7FEF)
			continue;
		snprintf(path, sizeof(path), "/local/domain/%lu/name", id);
		v = xs_read(xs_of(d), XBT_NULL, path, &len);
		if (v && !strcmp(v, name))
			found = (uint32_t)id;
		free(v);
	}
	free(dirs);
	return found;
}

static void destroy_stale(struct appliance *a)
{
	uint32_t domid = vappd_xen_find_domain(a->d, a->xen->name);
	char id[16], why[256] = "";
	char *argv[] = { "xl", "destroy", id, NULL };

	if (!domid)
		return;
	snprintf(id, sizeof(id), "%u", domid);
	vappd_log("%s: domain %s (domid %u) is left from before: destroying it", a->name,
		  a->xen->name, domid);
	vapp_run_cmd(argv, NULL, STALE_DESTROY_S, NULL, why, sizeof(why));
}

int vappd_xen_start(struct appliance *a)
{
	struct xen_dom *x = a->xen;
	char cfg[PATH_MAX], log[PATH_MAX], **argv;
	int fd;
	pid_t pid;

	x->domid = 0;
	x->polls = 0;
	x->in_next = x->out_next = 0;
	x->unpaused = x->destroying = x->died = false;
	destroy_stale(a);
	path_in(cfg, sizeof(cfg), a->run_dir, "xl.cfg");
	path_in(log, sizeof(log), a->run_dir, "xl.log");
	argv = hv_xen_create_argv(cfg, x->name);
	if (!argv) {
		snprintf(a->error, sizeof(a->error), "xl create: %s", strerror(errno));
		return -errno;
	}
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid = fd < 0 ? -errno : spawn_xl(argv, fd);
	if (fd >= 0)
		close(fd);
	hv_argv_free(argv);
	if (pid < 0) {
		snprintf(a->error, sizeof(a->error), "cannot start xl: %s", strerror((int)-pid));
		return (int)pid;
	}
	a->pid = pid;
	x->poll_timer = vrpc_loop_add_timer(a->d->loop, XL_POLL_MS, on_poll, a);
	return 0;
}

void vappd_xen_kill(struct appliance *a)
{
	struct xen_dom *x = a->xen;

	if (a->pid <= 0 || x->destroying)
		return;
	if (!x->domid) {
		/* Not made yet: xl create itself is stopped, and it tears the
		 * half-made domain down (SIGTERM is what xl handles). */
		kill(a->pid, SIGTERM);
		return;
	}
	x->destroying = true;
	helper(a, "destroy");
}

/* xl create ended: the domain is gone. */
void vappd_xen_gone(struct appliance *a)
{
	struct xen_dom *x = a->xen;
	char dir[64];

	if (!x)
		return;
	if (x->poll_timer)
		vrpc_loop_cancel_timer(a->d->loop, x->poll_timer);
	if (x->linger_timer)
		vrpc_loop_cancel_timer(a->d->loop, x->linger_timer);
	x->poll_timer = x->linger_timer = 0;
	if (x->watching && x->domid) {
		char out[80];

		dom_path(a, out, sizeof(out), "out");
		xs_unwatch(xs_of(a->d), out, x->token);
		dom_path(a, dir, sizeof(dir), "");
		xs_rm(xs_of(a->d), XBT_NULL, dir);
	}
	x->watching = false;
	console_close(x, a->d);
	vrpc_forward_stop(x->fwd);
	x->fwd = NULL;
	vappd_xen_direct_sync(a->d); /* its pairs end with it */
}

/* The appliance's channel as QEMU would give it, RUN_DIR/CHANNEL.sock,
 * forwarded to its vchan (bytes only: the broker and the HELLO read
 * them). The same socket, so the same address, after each restart. */
int vappd_xen_forward_channel(struct appliance *a, char *addr, size_t len)
{
	struct xen_dom *x = a->xen;
	char path[128], near[PATH_MAX + 128], far[160];

	if (!a->info.channel || vrpc_chan_xen_path(a->info.channel, x->domid, path, sizeof(path)))
		return -EINVAL;
	snprintf(near, sizeof(near), "unix:%s/%.100s.sock", a->run_dir, a->info.channel);
	snprintf(far, sizeof(far), "xen:%u:%s", x->domid, path);
	unlink(near + 5);
	vrpc_forward_stop(x->fwd);
	x->fwd = vrpc_forward_start(near, far);
	if (!x->fwd)
		return -errno;
	/* unix:, not serial: behind it is a vchan made for each connection,
	 * where a HELLO said again (as serial's is, for a port that may drop
	 * it) would be a second HELLO. */
	snprintf(addr, len, "%s", near);
	return 0;
}

void vappd_xen_free(struct appliance *a)
{
	if (!a->xen)
		return;
	vappd_xen_gone(a);
	if (a->xen->loop_fd >= 0)
		close(a->xen->loop_fd);
	free(a->xen);
	a->xen = NULL;
}

bool vappd_xen_ctl_up(const struct appliance *a)
{
	return a->xen && a->xen->watching;
}

bool vappd_xen_domain_died(const struct appliance *a)
{
	return a->xen && a->xen->died;
}

uint32_t vappd_xen_domid(const struct appliance *a)
{
	return a->xen ? a->xen->domid : 0;
}
