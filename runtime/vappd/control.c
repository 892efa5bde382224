/*
 * control.c - vappd's control API, the vapp.runtime.v1.Control service
 * (runtime/proto/control.proto), served on vappd's unix socket.
 *
 * Run and Stop answer when the appliance is ready or gone, from the loop;
 * Logs streams console lines, following the file with a timer (the console
 * is a plain file QEMU appends to; a restart starts a new one).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "manifest.h"
#include "runtime/proto/control.pb-c.h"

#define LOGS_POLL_MS 200
#define LOGS_MAX_BACKLOG (1u << 20) /* bytes of old console sent at most */
#define LINE_MAX_BYTES 4096

typedef Vapp__Runtime__V1__Appliance Appliance;

/* The service vappd serves; each method finds vappd through it. */
struct control {
	Vapp__Runtime__V1__Control_Service service; /* first: a method's svc is this */
	struct vappd *d;
	struct follower *followers; /* Logs calls that follow a console */
};

static struct vappd *vappd_of(Vapp__Runtime__V1__Control_Service *svc)
{
	return ((struct control *)svc)->d;
}

/* ---- Appliance messages ---- */

static Vapp__Runtime__V1__State state_of(enum sup_state s)
{
	switch (s) {
	case SUP_STARTING:
		return VAPP__RUNTIME__V1__STATE__STARTING;
	case SUP_RUNNING:
		return VAPP__RUNTIME__V1__STATE__RUNNING;
	case SUP_BACKOFF:
		return VAPP__RUNTIME__V1__STATE__BACKOFF;
	case SUP_STOPPING:
		return VAPP__RUNTIME__V1__STATE__STOPPING;
	case SUP_STOPPED:
		return VAPP__RUNTIME__V1__STATE__STOPPED;
	case SUP_FAILED:
		return VAPP__RUNTIME__V1__STATE__FAILED;
	}
	return VAPP__RUNTIME__V1__STATE__STATE_UNKNOWN;
}

/* Fills @p m from @p a; the strings point into the appliance, so @p m is
 * sent before anything changes it. */
static void describe(struct appliance *a, Appliance *m)
{
	struct appliance_info i;

	appliance_info(a, &i);
	vapp__runtime__v1__appliance__init(m);
	m->name = (char *)i.name;
	m->state = state_of(i.state);
	m->image = (char *)i.image;
	m->accel = (char *)i.accel;
	m->pid = i.pid;
	m->uptime_ms = i.uptime_ms;
	m->restarts = i.restarts;
	m->memory_bytes = i.memory_bytes;
	m->boot_ms = i.boot_ms;
	m->service = (char *)i.service;
	m->channel = (char *)i.channel;
	m->measurement = (char *)i.measurement;
	m->signer = (char *)i.signer;
	m->error = (char *)i.error;
	m->backoff_ms = i.backoff_ms;
	m->gate = (char *)i.gate;
	m->image_copy = (char *)i.image_copy;
	m->direct = i.direct;
	m->n_direct = i.n_direct;
}

/* ---- Run ---- */

struct pending {
	void *closure;
	void *data;
	char *notes;
};

static void run_done(void *ud, struct appliance *a, bool ok, const char *err)
{
	struct pending *p = ud;
	Vapp__Runtime__V1__RunReply_Closure closure = (Vapp__Runtime__V1__RunReply_Closure)p->closure;
	Vapp__Runtime__V1__RunReply reply = VAPP__RUNTIME__V1__RUN_REPLY__INIT;
	Appliance m;
	char *note = p->notes;

	/* A boot that failed is an answer, not a failed call: the reply says
	 * FAILED with the whole story (console tail included), which a status
	 * message could not carry (vrpc keeps those to one line). */
	describe(a, &m);
	if (!ok)
		m.error = (char *)err;
	reply.appliance = &m;
	if (note && note[0]) {
		reply.notes = &note;
		reply.n_notes = 1;
	}
	closure(&reply, p->data);
	free(p->notes);
	free(p);
}

static int status_of(int err)
{
	switch (err) {
	case EPERM:
		return VRPC_PERMISSION_DENIED;
	case ENOENT:
		return VRPC_NOT_FOUND;
	case EEXIST:
	case EINVAL:
		return VRPC_INVALID_ARGUMENT;
	}
	return VRPC_INTERNAL;
}

static int parse_accel(const struct vappd *d, const char *s, enum vappd_accel *out)
{
	if (!s[0])
		*out = d->accel;
	else if (!strcmp(s, "auto"))
		*out = ACCEL_AUTO;
	else if (!strcmp(s, "kvm"))
		*out = ACCEL_KVM;
	else if (!strcmp(s, "tcg"))
		*out = ACCEL_TCG;
	else
		return -EINVAL;
	return 0;
}

static void ctl_run(Vapp__Runtime__V1__Control_Service *svc,
		    const Vapp__Runtime__V1__RunRequest *in,
		    Vapp__Runtime__V1__RunReply_Closure closure, void *data)
{
	struct vappd *d = vappd_of(svc);
	struct pending *p = calloc(1, sizeof(*p));
	char *err = malloc(VAPPD_ERR_LEN);
	enum vappd_accel accel;

	if (!p || !err || !(p->notes = calloc(1, 1024))) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto err_reply;
	}
	if (parse_accel(d, in->accel, &accel) < 0) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_INVALID_ARGUMENT,
				     "accel '%.16s' is not auto, kvm or tcg", in->accel);
		goto err_reply;
	}
	if (d->quitting) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_UNAVAILABLE, "vappd is exiting");
		goto err_reply;
	}
	p->closure = (void *)closure;
	p->data = data;
	if (!appliance_run(d, in->image, in->name, accel, (int)in->boot_timeout_ms, run_done, p,
			   err, VAPPD_ERR_LEN, p->notes, 1024)) {
		vrpc_call_set_status(vrpc_call_of(data), status_of(errno), "%s", err);
		vappd_log("run %s: %s", in->image, err);
		goto err_reply;
	}
	free(err);
	return;
err_reply:
	closure(NULL, data);
	if (p)
		free(p->notes);
	free(p);
	free(err);
}

/* ---- Stop ---- */

static void stop_done(void *ud, struct appliance *a)
{
	struct pending *p = ud;
	Vapp__Runtime__V1__StopReply_Closure closure = (Vapp__Runtime__V1__StopReply_Closure)p->closure;
	Vapp__Runtime__V1__StopReply reply = VAPP__RUNTIME__V1__STOP_REPLY__INIT;
	Appliance m;

	describe(a, &m);
	m.state = VAPP__RUNTIME__V1__STATE__STOPPED;
	reply.appliance = &m;
	closure(&reply, p->data);
	free(p);
}

static void ctl_stop(Vapp__Runtime__V1__Control_Service *svc,
		     const Vapp__Runtime__V1__StopRequest *in,
		     Vapp__Runtime__V1__StopReply_Closure closure, void *data)
{
	struct appliance *a = appliance_find(vappd_of(svc), in->name);
	struct pending *p;

	if (!a) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_NOT_FOUND,
				     "no appliance '%.64s' (see vapp ps)", in->name);
		closure(NULL, data);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, data);
		return;
	}
	p->closure = (void *)closure;
	p->data = data;
	if (appliance_stop(a, in->force, stop_done, p) == -EALREADY) {
		Vapp__Runtime__V1__StopReply reply = VAPP__RUNTIME__V1__STOP_REPLY__INIT;
		Appliance m;

		/* Another stop is under way and will finish it. */
		describe(a, &m);
		reply.appliance = &m;
		closure(&reply, data);
		free(p);
	}
}

/* ---- List ---- */

static void ctl_list(Vapp__Runtime__V1__Control_Service *svc,
		     const Vapp__Runtime__V1__ListRequest *in,
		     Vapp__Runtime__V1__ListReply_Closure closure, void *data)
{
	Vapp__Runtime__V1__ListReply reply = VAPP__RUNTIME__V1__LIST_REPLY__INIT;
	struct vappd *d = vappd_of(svc);
	size_t n = 0;
	Appliance *ms, **ptrs;

	for (struct appliance *a = appliance_next(d, NULL); a; a = appliance_next(d, a))
		n++;
	ms = calloc(n + 1, sizeof(*ms));
	ptrs = calloc(n + 1, sizeof(*ptrs));
	if (!ms || !ptrs) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, data);
		goto out;
	}
	for (struct appliance *a = appliance_next(d, NULL); a; a = appliance_next(d, a)) {
		if (in->name[0] && strcmp(in->name, appliance_name(a)))
			continue;
		describe(a, &ms[reply.n_appliances]);
		ptrs[reply.n_appliances] = &ms[reply.n_appliances];
		reply.n_appliances++;
	}
	if (in->name[0] && !reply.n_appliances) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_NOT_FOUND,
				     "no appliance '%.64s'", in->name);
		closure(NULL, data);
		goto out;
	}
	reply.appliances = ptrs;
	closure(&reply, data);
out:
	free(ms);
	free(ptrs);
}

/* ---- Logs ---- */

struct follower {
	struct follower *next;
	Vapp__Runtime__V1__LogLine_Closure closure;
	void *data;
	char name[64];
	char path[4096];
	ino_t ino;
	off_t off;
	char line[LINE_MAX_BYTES + 1];
	size_t len;
};

static void send_line(struct follower *f, char *text, size_t len)
{
	Vapp__Runtime__V1__LogLine item = VAPP__RUNTIME__V1__LOG_LINE__INIT;

	len = console_sanitize(text, len);
	text[len] = 0;
	item.line = text;
	f->closure(&item, f->data);
}

/* Reads what was added to the console since last time; sends whole lines.
 * A file that shrank or was replaced (the VM restarted) is read anew. */
static void follow_read(struct follower *f)
{
	char buf[16384];
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && (st.st_ino != f->ino || st.st_size < f->off)) {
		f->ino = st.st_ino;
		f->off = 0;
		f->len = 0;
	}
	if (!f->off && st.st_size > (off_t)LOGS_MAX_BACKLOG)
		f->off = st.st_size - LOGS_MAX_BACKLOG;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), f->off);

		if (n <= 0)
			break;
		f->off += n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || f->len == LINE_MAX_BYTES) {
				send_line(f, f->line, f->len);
				f->len = 0;
				if (buf[i] == '\n')
					continue;
			}
			f->line[f->len++] = buf[i];
		}
	}
	close(fd);
}

static void follower_end(struct control *c, struct follower *f)
{
	struct follower **p;

	for (p = &c->followers; *p && *p != f; p = &(*p)->next)
		;
	if (*p)
		*p = f->next;
	f->closure(NULL, f->data);
	free(f);
}

static void logs_poll(void *ud)
{
	struct control *c = ud;
	struct follower *next;

	c->d->logs_timer = 0;
	for (struct follower *f = c->followers; f; f = next) {
		next = f->next;
		if (vrpc_call_cancelled(vrpc_call_of(f->data))) {
			follower_end(c, f);
			continue;
		}
		follow_read(f);
		/* The appliance is gone: the stream ends with what it said. */
		if (!appliance_find(c->d, f->name)) {
			if (f->len)
				send_line(f, f->line, f->len);
			follower_end(c, f);
		}
	}
	if (c->followers)
		c->d->logs_timer = vrpc_loop_add_timer(c->d->loop, LOGS_POLL_MS, logs_poll, c);
}

/* The first line to send: @p lines from the end (0: all that is kept). */
static off_t start_offset(const char *path, unsigned lines)
{
	int fd;
	struct stat st;
	off_t pos;
	unsigned seen = 0;
	char buf[4096];

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	pos = st.st_size;
	if (lines) {
		off_t floor = st.st_size > (off_t)LOGS_MAX_BACKLOG ? st.st_size - LOGS_MAX_BACKLOG : 0;
		bool last = true; /* skip the final newline of the file */

		while (pos > floor) {
			size_t chunk = pos - floor > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)(pos - floor);
			ssize_t n = pread(fd, buf, chunk, pos - (off_t)chunk);

			if (n <= 0)
				break;
			for (ssize_t i = n - 1; i >= 0; i--) {
				if (buf[i] == '\n' && !last && ++seen == lines) {
					close(fd);
					return pos - (off_t)chunk + i + 1;
				}
				last = false;
			}
			pos -= (off_t)chunk;
		}
		close(fd);
		return floor;
	}
	close(fd);
	return st.st_size > (off_t)LOGS_MAX_BACKLOG ? st.st_size - LOGS_MAX_BACKLOG : 0;
}

static void ctl_logs(Vapp__Runtime__V1__Control_Service *svc,
		     const Vapp__Runtime__V1__LogsRequest *in,
		     Vapp__Runtime__V1__LogLine_Closure closure, void *data)
{
	struct control *c = (struct control *)svc;
	struct appliance *a = appliance_find(c->d, in->name);
	struct follower *f;
	struct stat st;

	if (!a) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_NOT_FOUND,
				     "no appliance '%.64s' (see vapp ps)", in->name);
		closure(NULL, data);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_RESOURCE_EXHAUSTED, "out of memory");
		closure(NULL, data);
		return;
	}
	f->closure = closure;
	f->data = data;
	snprintf(f->name, sizeof(f->name), "%s", appliance_name(a));
	snprintf(f->path, sizeof(f->path), "%s/console.log", appliance_run_dir(a));
	if (stat(f->path, &st) == 0)
		f->ino = st.st_ino;
	f->off = start_offset(f->path, in->lines);
	follow_read(f);
	if (!in->follow) {
		if (f->len)
			send_line(f, f->line, f->len);
		closure(NULL, data);
		free(f);
		return;
	}
	f->next = c->followers;
	c->followers = f;
	if (!c->d->logs_timer)
		c->d->logs_timer = vrpc_loop_add_timer(c->d->loop, LOGS_POLL_MS, logs_poll, c);
}

/* ---- Describe ---- */

/* services.desc is small (a few KiB); a bigger one is not one vappd wrote. */
#define SERVICES_DESC_MAX (4u << 20)

static void ctl_describe(Vapp__Runtime__V1__Control_Service *svc,
			 const Vapp__Runtime__V1__DescribeRequest *in,
			 Vapp__Runtime__V1__DescribeReply_Closure closure, void *data)
{
	Vapp__Runtime__V1__DescribeReply reply = VAPP__RUNTIME__V1__DESCRIBE_REPLY__INIT;
	struct appliance *a = appliance_find(vappd_of(svc), in->name);
	struct appliance_info i;
	char path[4200], *desc = NULL, **names = NULL;
	size_t len = 0;
	int rc;

	if (!a) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_NOT_FOUND,
				     "no appliance '%.64s' (see vapp ps)", in->name);
		closure(NULL, data);
		return;
	}
	appliance_info(a, &i);
	snprintf(path, sizeof(path), "%s/services.desc", i.image_copy);
	rc = read_small_file(path, SERVICES_DESC_MAX, &desc, &len);
	names = calloc(i.manifest->n_services + 1, sizeof(*names));
	if (rc < 0 || !names) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_INTERNAL, "%s: %s", path,
				     strerror(rc < 0 ? -rc : ENOMEM));
		closure(NULL, data);
		goto out;
	}
	for (size_t k = 0; k < i.manifest->n_services; k++)
		names[k] = i.manifest->services[k].name;
	reply.services_desc.data = (uint8_t *)desc;
	reply.services_desc.len = len;
	reply.services = names;
	reply.n_services = i.manifest->n_services;
	closure(&reply, data);
out:
	free(desc);
	free(names);
}

int control_register(struct vappd *d)
{
	static const char *const streaming[] = { "Logs", NULL };
	static const Vapp__Runtime__V1__Control_Service init = VAPP__RUNTIME__V1__CONTROL__INIT(ctl_);
	struct control *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->service = init;
	c->d = d;
	d->control = c;
	return vrpc_server_add_service(d->srv, &c->service.base, streaming);
}

void vappd_control_free(struct vappd *d)
{
	free(d->control);
	d->control = NULL;
}

void control_shutdown(struct vappd *d)
{
	struct control *c = d->control;

	while (c && c->followers)
		follower_end(c, c->followers);
	if (d->logs_timer)
		vrpc_loop_cancel_timer(d->loop, d->logs_timer);
	d->logs_timer = 0;
}
