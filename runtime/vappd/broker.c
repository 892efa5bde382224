/*
 * broker.c - the privileged half of vappd's broker (see broker.h): the
 * gates, the policy files, the child that relays, and every ready
 * appliance's connection handed to it. Nothing here reads a byte a guest
 * sends; what the child sends back is one-line logs, checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appliance.h"
#include "broker.h"
#include "jail.h"
#include "policy.h"
#include "privsep.h"
#include "vapp_util.h"
#include "vrpc_relay.h"

/* A child that dies is started again after this, doubling to the most
 * while it keeps dying within a minute of its start. */
#define RESTART_MIN_MS 100
#define RESTART_MAX_MS 5000
#define STABLE_MS 60000
#define EXIT_WAIT_MS 2000
/* Room for the first messages (every policy file, every gate) before the
 * child reads any. */
#define SOCK_BUF (4 << 20)

struct gate {
	char spec[256];      /* NAME[:TAG,TAG], as the child gets it */
	char path[PATH_MAX]; /* the socket file */
	int fd;              /* listening; a copy goes to each child */
};

struct policy_file {
	char name[256];
	struct vapp_buf text;
};

struct broker {
	struct vappd *d;
	struct gate *gates;
	size_t n_gates;
	struct policy_file *pols;
	size_t n_pols;
	struct policy *policy; /* the same files, for vappd's own questions */
	char user[64];
	pid_t pid;
	int sock;
	int64_t started_ms;
	int backoff_ms, restart_timer;
	unsigned restarts;
	struct vappd_ps_msg *m;
};

static int spawn(struct broker *b);

/* ---- shared with the child ---- */

int vappd_broker_parse_guest(const char *spec, bool host_ok, struct broker_guest *g, char *err,
		       size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	char *tags, *save, *t;

	memset(g, 0, sizeof(*g));
	if (n > POLICY_NAME_MAX) {
		snprintf(err, errlen, "--guest %s: name longer than %d", spec, POLICY_NAME_MAX);
		return -EINVAL;
	}
	memcpy(g->name, spec, n);
	if (!policy_name_valid(g->name)) {
		snprintf(err, errlen, "--guest %s: '%s' is not a valid name", spec, g->name);
		return -EINVAL;
	}
	/* The host's gate has that label: a guest named so would be the host. */
	if (!host_ok && !strcmp(g->name, BROKER_HOST_LABEL)) {
		snprintf(err, errlen, "--guest %s: '%s' is the host's own label (vapp call on "
				      "this machine); name the guest otherwise", spec,
			 BROKER_HOST_LABEL);
		return -EINVAL;
	}
	if (!colon)
		return 0;
	tags = strdup(colon + 1);
	if (!tags)
		return -ENOMEM;
	for (t = strtok_r(tags, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (g->n_tags == BROKER_MAX_TAGS || !policy_name_valid(t)) {
			snprintf(err, errlen, "--guest %s: bad or too many tags", spec);
			free(tags);
			vappd_broker_guest_free(g);
			return -EINVAL;
		}
		if (!(g->tags[g->n_tags] = strdup(t))) {
			free(tags);
			vappd_broker_guest_free(g);
			return -ENOMEM;
		}
		g->n_tags++;
	}
	free(tags);
	return 0;
}

void vappd_broker_guest_free(struct broker_guest *g)
{
	for (size_t i = 0; i < g->n_tags; i++)
		free(g->tags[i]);
	g->n_tags = 0;
}

/* ---- set-up: what the parent does once ---- */

static void policy_diag(void *arg, const char *file, unsigned line, bool warning,
			const char *msg)
{
	vappd_log("policy %s:%u: %s%s", file, line, warning ? "warning: " : "", msg);
}

/* Each file is checked here, where its errors can stop vappd from
 * starting, and kept to be given to every child. */
static int load_policies(struct broker *b, char *const *files, char *err, size_t errlen)
{
	struct policy *check = policy_new(policy_diag, NULL);
	int e = check ? 0 : -ENOMEM;

	for (; !e && files && *files; files++) {
		struct policy_file *pf = realloc(b->pols, (b->n_pols + 1) * sizeof(*pf));

		if (!pf) {
			e = -ENOMEM;
			break;
		}
		b->pols = pf;
		pf = &b->pols[b->n_pols++];
		memset(pf, 0, sizeof(*pf));
		snprintf(pf->name, sizeof(pf->name), "%s", *files);
		e = vapp_read_file(*files, &pf->text);
		if (!e && pf->text.len + strlen(pf->name) + 1 > VAPPD_PS_MAX)
			e = -EFBIG;
		if (!e)
			e = policy_load_text(check, pf->name, (const char *)pf->text.p, pf->text.len);
		if (e < 0 || policy_errors(check))
			snprintf(err, errlen, "policy %s: %s", *files,
				 e < 0 ? strerror(-e) : "has errors (see above)");
		if (!e && policy_errors(check))
			e = -EINVAL;
	}
	if (e < 0)
		policy_free(check);
	else
		b->policy = check;
	return e < 0 ? e : 0;
}

bool vappd_broker_direct(const struct broker *b, const char *service, const char *guest,
			 const char *appliance, char *denied, size_t len)
{
	struct policy_peer src = { .name = guest }, dst = { .name = appliance };
	struct broker_guest g = { .n_tags = 0 };
	char err[128];
	bool yes = false;

	for (size_t i = 0; b && i < b->n_gates; i++) {
		if (vappd_broker_parse_guest(b->gates[i].spec, true, &g, err, sizeof(err)))
			continue;
		if (!strcmp(g.name, guest)) {
			src.tags = (const char *const *)g.tags;
			src.n_tags = g.n_tags;
			yes = policy_direct(b->policy, service, &src, &dst, denied, len);
			vappd_broker_guest_free(&g);
			break;
		}
		vappd_broker_guest_free(&g);
	}
	return yes;
}

void vappd_broker_direct_services(const struct broker *b, const struct manifest *m,
				  const char *channel, const char *guest, const char *appliance,
				  char *out, size_t len)
{
	size_t used = 0;
	char denied[256];

	out[0] = '\0';
	for (size_t i = 0; i < m->n_services; i++) {
		const struct manifest_service *s = &m->services[i];
		char *save = NULL, *method;
		int n;

		if (strcmp(s->channel, channel) ||
		    !vappd_broker_direct(b, s->name, guest, appliance, denied, sizeof(denied)))
			continue;
		n = snprintf(out + used, len - used, "%s%s", used ? " " : "", s->name);
		for (method = strtok_r(denied, " ", &save); method && n >= 0 &&
		     (size_t)n < len - used; method = strtok_r(NULL, " ", &save)) {
			used += (size_t)n;
			n = snprintf(out + used, len - used, " !%s", method);
		}
		if (n < 0 || (size_t)n >= len - used) {
			out[0] = '\0';
			return;
		}
		used += (size_t)n;
	}
}

bool vappd_broker_guest_name(const struct broker *b, size_t i, char *out, size_t len)
{
	struct broker_guest g;
	char err[128];

	for (size_t k = 0; b && k < b->n_gates; k++) {
		if (vappd_broker_parse_guest(b->gates[k].spec, true, &g, err, sizeof(err)))
			continue;
		if (strcmp(g.name, BROKER_HOST_LABEL) && i-- == 0) {
			snprintf(out, len, "%s", g.name);
			vappd_broker_guest_free(&g);
			return true;
		}
		vappd_broker_guest_free(&g);
	}
	return false;
}

/* A gate's socket, bound by vappd: born 0600 root's (umask), then given to
 * vappd's group and opened to it; never a moment when it is wider. */
static int bind_gate(struct broker *b, struct gate *g)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int e = 0;

	if (strlen(g->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, g->path, strlen(g->path));
	/* A socket left by a vappd that died is replaced; nothing else is. */
	if (lstat(g->path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(g->path);
	g->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (g->fd < 0)
		return -errno;
	old = umask(0177);
	if (bind(g->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(g->fd, 64) < 0)
		e = -errno;
	umask(old);
	if (!e && (chown(g->path, 0, b->d->gid) < 0 || chmod(g->path, 0660) < 0))
		e = -errno;
	return e;
}

static int add_gate(struct broker *b, const char *spec, const char *path, char *err,
		    size_t errlen)
{
	struct gate *g = realloc(b->gates, (b->n_gates + 1) * sizeof(*g));
	int e;

	if (!g)
		return -ENOMEM;
	b->gates = g;
	g = &b->gates[b->n_gates++];
	g->fd = -1;
	snprintf(g->spec, sizeof(g->spec), "%s", spec);
	/* A unix socket path has 108 bytes, the NUL included. */
	if ((size_t)snprintf(g->path, sizeof(g->path), "%s", path) >= 108) {
		g->path[0] = '\0';
		snprintf(err, errlen, "gate %s: run folder path too long", path);
		return -ENAMETOOLONG;
	}
	e = bind_gate(b, g);
	if (e)
		snprintf(err, errlen, "gate %s: %s", path, strerror(-e));
	return e;
}

/* The host's own gate: `vapp call APPLIANCE ...` comes in as "host", under
 * the same policy as any guest. */
static int open_host_gate(struct broker *b, char *err, size_t errlen)
{
	struct vappd *d = b->d;
	int e;

	snprintf(d->host_gate, sizeof(d->host_gate), "unix:%s/host.sock", d->run_dir);
	e = add_gate(b, BROKER_HOST_LABEL, d->host_gate + 5, err, errlen);
	if (e)
		d->host_gate[0] = '\0';
	return e;
}

static int open_guest_gates(struct broker *b, char *const *guests, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX + 128];
	struct broker_guest g;
	int e;

	if (!guests || !*guests)
		return 0;
	snprintf(dir, sizeof(dir), "%s/guests", b->d->run_dir);
	if ((mkdir(dir, 0750) < 0 && errno != EEXIST) || chown(dir, 0, b->d->gid) < 0 ||
	    chmod(dir, 0750) < 0) {
		e = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return e;
	}
	for (; *guests; guests++) {
		if ((e = vappd_broker_parse_guest(*guests, false, &g, err, errlen)))
			return e;
		snprintf(path, sizeof(path), "%s/%s.sock", dir, g.name);
		vappd_broker_guest_free(&g);
		/* Only vappd's group may connect a guest's channel here. */
		if ((e = add_gate(b, *guests, path, err, errlen)))
			return e;
		vappd_log("gate for guest %s: %s", *guests, path);
	}
	return 0;
}

struct broker *broker_new(struct vappd *d, char *const *policy_files, char *const *guests,
			  char *err, size_t errlen)
{
	struct broker *b = calloc(1, sizeof(*b));
	int e = -ENOMEM;

	if (!b)
		goto fail;
	b->d = d;
	b->pid = -1;
	b->sock = -1;
	b->backoff_ms = RESTART_MIN_MS;
	if (!(b->m = malloc(sizeof(*b->m))))
		goto fail;
	if ((e = load_policies(b, policy_files, err, errlen)) ||
	    (e = open_host_gate(b, err, errlen)) ||
	    (e = open_guest_gates(b, guests, err, errlen)))
		goto fail;
	return b;
fail:
	if (e == -ENOMEM && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	broker_free(b);
	errno = -e;
	return NULL;
}

/* ---- the child ---- */

/* After fork, in a parent that has threads: only async-signal-safe calls
 * until exec. The child's end goes to BROKER_CHILD_FD, stdin, stdout and
 * stderr are /dev/null (it writes no file, vappd's log included: it says
 * LOG), nothing else stays open, and it dies with vappd. */
static void exec_child(int sock, int null, char *const argv[])
{
	sigset_t none;

	if (dup2(sock, BROKER_CHILD_FD) < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(null, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, BROKER_CHILD_FD + 1, ~0u, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv("/proc/self/exe", argv);
	_exit(127);
}

/* Every POLICY, then every GATE: what a new child is told first. */
static int brief(struct broker *b)
{
	char buf[VAPPD_PS_MAX];
	int e = 0;

	for (size_t i = 0; !e && i < b->n_pols; i++) {
		struct policy_file *pf = &b->pols[i];
		int n = snprintf(buf, sizeof(buf), "%s\n", pf->name);

		memcpy(buf + n, pf->text.p, pf->text.len);
		e = vappd_ps_send(b->sock, VAPPD_PS_POLICY, buf, (size_t)n + pf->text.len, -1);
	}
	for (size_t i = 0; !e && i < b->n_gates; i++)
		e = vappd_ps_send(b->sock, VAPPD_PS_GATE, b->gates[i].spec, strlen(b->gates[i].spec),
				  b->gates[i].fd);
	return e;
}

static void kill_child(struct broker *b, const char *why)
{
	if (b->pid > 0) {
		vappd_log("broker: %s: killing it", why);
		kill(b->pid, SIGKILL);
	}
}

/* The child's messages: log lines; anything else kills it. */
static void on_child(void *ud, int fd, short revents)
{
	struct broker *b = ud;

	for (;;) {
		int e = vappd_ps_recv(fd, b->m);

		if (e == -EAGAIN)
			return;
		if (e == -EBADMSG || (!e && vappd_ps_from_parent(b->m->type))) {
			kill_child(b, "a message vappd does not take");
			return;
		}
		if (e) {
			/* Gone: on_reaped() starts the next one. */
			vrpc_loop_del_fd(b->d->loop, fd);
			return;
		}
		vappd_log("broker: %s", b->m->payload);
	}
}

static int spawn(struct broker *b)
{
	char *argv[] = { BROKER_CHILD_ARGV0, b->user, NULL };
	int sp[2], sz = SOCK_BUF, e, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	pid_t pid;

	if (null < 0)
		return -errno;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		e = -errno;
		close(null);
		return e;
	}
	setsockopt(sp[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	pid = fork();
	if (pid == 0)
		exec_child(sp[1], null, argv);
	e = -errno;
	close(sp[1]);
	close(null);
	if (pid < 0) {
		close(sp[0]);
		return e;
	}
	b->pid = pid;
	b->sock = sp[0];
	b->started_ms = mono_ms();
	/* Never blocks: a child that stops reading is killed, not waited for. */
	if (fcntl(b->sock, F_SETFL, O_NONBLOCK) < 0 || (e = brief(b)) < 0 ||
	    (e = vrpc_loop_add_fd(b->d->loop, b->sock, POLLIN, on_child, b)) < 0) {
		kill_child(b, "it could not be briefed");
		return 0; /* reaped and started again */
	}
	return 0;
}

static void restart(void *ud)
{
	struct broker *b = ud;
	int e;

	b->restart_timer = 0;
	if (b->d->quitting)
		return;
	e = spawn(b);
	if (e) {
		vappd_log("broker: cannot start: %s", strerror(-e));
		b->restart_timer = vrpc_loop_add_timer(b->d->loop, RESTART_MAX_MS, restart, b);
		return;
	}
	/* Each appliance's channel died with the old child: made again. */
	for (struct appliance *a = appliance_next(b->d, NULL); a; a = appliance_next(b->d, a))
		vappd_appliance_relink(a);
}

static void on_reaped(struct vappd *d, pid_t pid, int status)
{
	struct broker *b = d->broker;

	if (!b || pid != b->pid)
		return;
	if (WIFSIGNALED(status))
		vappd_log("broker: died of signal %d%s", WTERMSIG(status),
			  WTERMSIG(status) == SIGSYS ? " (a system call its jail forbids)" : "");
	else
		vappd_log("broker: exited with status %d", WEXITSTATUS(status));
	vrpc_loop_del_fd(d->loop, b->sock);
	close(b->sock);
	b->sock = -1;
	b->pid = -1;
	if (d->quitting)
		return;
	if (mono_ms() - b->started_ms > STABLE_MS)
		b->backoff_ms = RESTART_MIN_MS;
	b->restarts++;
	vappd_log("broker: starting it again in %d ms (restart %u)", b->backoff_ms, b->restarts);
	b->restart_timer = vrpc_loop_add_timer(d->loop, b->backoff_ms, restart, b);
	b->backoff_ms = b->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : b->backoff_ms * 2;
}

/* ---- appliances coming and going ---- */

/* The appliance answered HELLO on a connection made for the relay: that
 * very connection goes to the child (QEMU's chardev socket serves one
 * client at a time). */
static void on_ready(struct vappd *d, struct appliance *a)
{
	struct broker *b = d->broker;
	struct vrpc_relay_upstream *up = a->upstream;
	uint8_t *blob = NULL, *msg;
	size_t len, n = strlen(a->name);
	int fd = -1, e;

	a->upstream = NULL;
	if (!up)
		return;
	if (b->sock < 0) {
		/* No child now: the next one gets it through vappd_appliance_relink(). */
		vrpc_relay_upstream_free(up);
		return;
	}
	e = vrpc_relay_upstream_export(up, &fd, &blob, &len);
	msg = e ? NULL : malloc(n + 1 + len);
	if (!e && !msg)
		e = -ENOMEM;
	if (!e) {
		memcpy(msg, a->name, n + 1);
		memcpy(msg + n + 1, blob, len);
		e = vappd_ps_send(b->sock, VAPPD_PS_UPSTREAM, msg, n + 1 + len, fd);
	}
	if (e == -EAGAIN)
		kill_child(b, "it does not read");
	else if (e)
		vappd_log("%s: cannot hand its channel to the broker: %s", a->name, strerror(-e));
	if (fd >= 0)
		close(fd);
	free(blob);
	free(msg);
}

static void on_down(struct vappd *d, struct appliance *a)
{
	struct broker *b = d->broker;

	if (a->info.service && b->sock >= 0 &&
	    vappd_ps_send(b->sock, VAPPD_PS_DOWN, a->info.service, strlen(a->info.service), -1) ==
		    -EAGAIN)
		kill_child(b, "it does not read");
}

int broker_attach(struct broker *b, struct vappd *d, const char *user)
{
	struct vappd_jail j;
	char err[512];

	/* Said now, once, rather than by a child that dies at every start. */
	if (vappd_jail_lookup(user, &j, err, sizeof(err))) {
		vappd_log("broker: %s", err);
		return -ENOENT;
	}
	snprintf(b->user, sizeof(b->user), "%s", user);
	d->broker = b;
	d->on_ready = on_ready;
	d->on_down = on_down;
	d->on_reaped = on_reaped;
	return spawn(b);
}

/* Stops the child: SHUTDOWN, then its end, then SIGKILL (bounded). */
static void stop_child(struct broker *b)
{
	int64_t deadline = mono_ms() + EXIT_WAIT_MS;

	if (b->pid <= 0)
		return;
	vappd_ps_send(b->sock, VAPPD_PS_SHUTDOWN, NULL, 0, -1);
	while (waitpid(b->pid, NULL, WNOHANG) == 0) {
		if (mono_ms() > deadline) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, NULL, 0);
			break;
		}
		usleep(10 * 1000);
	}
	b->pid = -1;
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	stop_child(b);
	if (b->sock >= 0) {
		vrpc_loop_del_fd(b->d->loop, b->sock);
		close(b->sock);
	}
	if (b->restart_timer)
		vrpc_loop_cancel_timer(b->d->loop, b->restart_timer);
	for (size_t i = 0; i < b->n_gates; i++) {
		if (b->gates[i].fd >= 0)
			close(b->gates[i].fd);
		if (b->gates[i].path[0])
			unlink(b->gates[i].path);
	}
	free(b->gates);
	for (size_t i = 0; i < b->n_pols; i++)
		vapp_buf_free(&b->pols[i].text);
	free(b->pols);
	policy_free(b->policy);
	if (b->d && b->d->host_gate[0])
		b->d->host_gate[0] = '\0';
	if (b->d && b->d->broker == b)
		b->d->broker = NULL;
	free(b->m);
	free(b);
}
