/* broker.c - vappd's broker (see broker.h): gates, policy, the relay. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance.h"
#include "broker.h"
#include "policy.h"
#include "vrpc_relay.h"

#define MAX_TAGS 16
#define HOST_LABEL "host"

struct guest_def {
	char name[POLICY_NAME_MAX + 1];
	char *tags[MAX_TAGS];
	size_t n_tags;
	char gate[PATH_MAX];
};

struct broker {
	struct vappd *d;
	struct policy *policy;
	struct vrpc_relay *relay;
	struct guest_def *guests;
	size_t n_guests;
};

static void policy_diag(void *arg, const char *file, unsigned line, bool warning,
			const char *msg)
{
	vappd_log("policy %s:%u: %s%s", file, line, warning ? "warning: " : "", msg);
}

static const struct guest_def *find_guest(const struct broker *b, const char *name)
{
	for (size_t i = 0; i < b->n_guests; i++)
		if (!strcmp(b->guests[i].name, name))
			return &b->guests[i];
	return NULL;
}

/* The relay asks before each call (and with method NULL at HELLO). */
static int check(void *ud, const char *guest, const char *service, const char *method,
		 const char *appliance, char *why, size_t whylen)
{
	const struct broker *b = ud;
	const struct guest_def *g = find_guest(b, guest);
	struct policy_peer src = { .name = guest }, dst = { .name = appliance };
	struct policy_decision dec;

	/* Reaching a service is not calling it: every call is decided alone. */
	if (!method)
		return VRPC_OK;
	if (g) {
		src.tags = (const char *const *)g->tags;
		src.n_tags = g->n_tags;
	}
	if (policy_eval(b->policy, service, method, &src, &dst, &dec) < 0)
		dec.action = POLICY_DENY; /* a policy with errors allows nothing */
	if (dec.action == POLICY_ALLOW) {
		if (dec.log)
			vappd_log("allowed: %s calls %s.%s on %s (%s:%u)", guest, service, method,
				  appliance, dec.file, dec.line);
		return VRPC_OK;
	}
	if (dec.log && dec.file)
		vappd_log("denied: %s calling %s.%s on %s (%s:%u)", guest, service, method,
			  appliance, dec.file, dec.line);
	else if (dec.log)
		vappd_log("denied: %s calling %s.%s on %s (no rule matches: default deny)", guest,
			  service, method, appliance);
	snprintf(why, whylen, "policy denies %s calling %s.%s", guest, service, method);
	return VRPC_PERMISSION_DENIED;
}

/* The appliance answered HELLO on a connection made for the relay: that
 * very connection becomes the upstream of its service (QEMU's chardev
 * socket serves one client at a time). Nothing here waits. */
static void on_ready(struct vappd *d, struct appliance *a)
{
	struct broker *b = d->broker;
	int err;

	if (!a->info.service || !a->upstream)
		return;
	err = vrpc_relay_adopt(b->relay, a->upstream, a->name);
	a->upstream = NULL;
	if (err)
		vappd_log("%s: broker cannot take %s: %s", a->name, a->info.service,
			  strerror(-err));
	else
		vappd_log("%s: brokering %s", a->name, a->info.service);
}

static void on_down(struct vappd *d, struct appliance *a)
{
	struct broker *b = d->broker;

	if (a->info.service)
		vrpc_relay_drop_upstream(b->relay, a->info.service);
}

static void relay_ready(void *ud, int fd, short revents)
{
	vrpc_relay_process(ud);
}

/* A gate: born 0600 root's (umask), then given to vappd's group and
 * opened to it; never a moment when it is wider. @p path is @p addr's file. */
static int listen_gate(struct broker *b, const char *addr, const char *path, const char *label)
{
	mode_t old = umask(0177);
	int e = vrpc_relay_listen(b->relay, addr, label);

	umask(old);
	if (e)
		return e;
	if (chown(path, 0, b->d->gid) < 0 || chmod(path, 0660) < 0)
		return -errno;
	return 0;
}

/* "NAME" or "NAME:TAG,TAG" */
static int parse_guest(const char *spec, struct guest_def *g, char *err, size_t errlen)
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
	if (!strcmp(g->name, HOST_LABEL)) {
		snprintf(err, errlen, "--guest %s: '%s' is the host's own label (vapp call on "
				      "this machine); name the guest otherwise", spec, HOST_LABEL);
		return -EINVAL;
	}
	if (!colon)
		return 0;
	tags = strdup(colon + 1);
	if (!tags)
		return -ENOMEM;
	for (t = strtok_r(tags, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (g->n_tags == MAX_TAGS || !policy_name_valid(t)) {
			snprintf(err, errlen, "--guest %s: bad or too many tags", spec);
			free(tags);
			return -EINVAL;
		}
		g->tags[g->n_tags++] = strdup(t);
	}
	free(tags);
	return 0;
}

static int load_policies(struct broker *b, char *const *files, char *err, size_t errlen)
{
	for (; files && *files; files++) {
		int e = policy_load_file(b->policy, *files);

		if (e < 0 || policy_errors(b->policy)) {
			snprintf(err, errlen, "policy %s: %s", *files,
				 e < 0 ? strerror(-e) : "has errors (see above)");
			return e < 0 ? e : -EINVAL;
		}
	}
	return 0;
}

/* The host's own gate: `vapp call APPLIANCE ...` comes in as "host", under
 * the same policy as any guest. */
static int open_host_gate(struct broker *b, char *err, size_t errlen)
{
	struct vappd *d = b->d;
	int e;

	if ((size_t)snprintf(d->host_gate, sizeof(d->host_gate), "unix:%s/host.sock",
			     d->run_dir) >= 108 + 5) {
		snprintf(err, errlen, "run folder path too long for a socket");
		d->host_gate[0] = '\0';
		return -ENAMETOOLONG;
	}
	e = listen_gate(b, d->host_gate, d->host_gate + 5, HOST_LABEL);
	if (e) {
		snprintf(err, errlen, "%s: %s", d->host_gate, strerror(-e));
		d->host_gate[0] = '\0';
	}
	return e;
}

static int open_guest_gate(struct broker *b, const char *dir, const char *spec, char *err,
			   size_t errlen)
{
	struct guest_def *g = realloc(b->guests, (b->n_guests + 1) * sizeof(*g));
	char addr[PATH_MAX + 8];
	int e;

	if (!g)
		return -ENOMEM;
	b->guests = g;
	g = &b->guests[b->n_guests];
	e = parse_guest(spec, g, err, errlen);
	if (e)
		return e;
	b->n_guests++;
	/* A unix socket path has 108 bytes, the NUL included. */
	if ((size_t)snprintf(g->gate, sizeof(g->gate), "%s/%s.sock", dir, g->name) >= 108) {
		snprintf(err, errlen, "gate for %s: run folder path too long", g->name);
		return -ENAMETOOLONG;
	}
	snprintf(addr, sizeof(addr), "unix:%s", g->gate);
	/* Only vappd's group may connect a guest's channel here. */
	e = listen_gate(b, addr, g->gate, g->name);
	if (e) {
		snprintf(err, errlen, "gate %s: %s", g->gate, strerror(-e));
		return e;
	}
	vappd_log("gate for guest %s: %s", g->name, g->gate);
	return 0;
}

static int open_guest_gates(struct broker *b, char *const *guests, char *err, size_t errlen)
{
	char dir[PATH_MAX];
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
	for (; *guests; guests++)
		if ((e = open_guest_gate(b, dir, *guests, err, errlen)))
			return e;
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
	b->policy = policy_new(policy_diag, NULL);
	b->relay = vrpc_relay_new(check, b, NULL);
	if (!b->policy || !b->relay)
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

int broker_attach(struct broker *b, struct vappd *d)
{
	d->broker = b;
	d->on_ready = on_ready;
	d->on_down = on_down;
	return vrpc_loop_add_fd(d->loop, vrpc_relay_fd(b->relay), POLLIN, relay_ready, b->relay);
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	vrpc_relay_free(b->relay);
	policy_free(b->policy);
	for (size_t i = 0; i < b->n_guests; i++) {
		unlink(b->guests[i].gate);
		for (size_t t = 0; t < b->guests[i].n_tags; t++)
			free(b->guests[i].tags[t]);
	}
	free(b->guests);
	if (b->d->host_gate[0]) {
		unlink(b->d->host_gate + 5);
		b->d->host_gate[0] = '\0';
	}
	free(b);
}
