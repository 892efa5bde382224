/*
 * broker_child.c - the confined half of vappd's broker (see broker.h): the
 * relay and the policy, in a process that holds only the sockets vappd
 * handed it. It runs as "vappd-broker USER" with the parent's socketpair
 * end at BROKER_CHILD_FD, jails itself (jail.h) before it reads a byte,
 * and from then on can relay, refuse and log, nothing more.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker.h"
#include "jail.h"
#include "policy.h"
#include "privsep.h"
#include "vrpc_relay.h"

struct child {
	int sock;
	struct policy *policy;
	struct vrpc_relay *relay;
	struct broker_guest *guests;
	size_t n_guests;
	struct vappd_ps_msg *m;
};

/* One line to the parent's log; what cannot be said is dropped. */
static void child_log(struct child *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void child_log(struct child *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	vappd_ps_send(c->sock, VAPPD_PS_LOG, line, (size_t)n, -1);
}

static void policy_diag(void *arg, const char *file, unsigned line, bool warning,
			const char *msg)
{
	child_log(arg, "policy %s:%u: %s%s", file, line, warning ? "warning: " : "", msg);
}

static const struct broker_guest *find_guest(const struct child *c, const char *name)
{
	for (size_t i = 0; i < c->n_guests; i++)
		if (!strcmp(c->guests[i].name, name))
			return &c->guests[i];
	return NULL;
}

/* The relay asks before each call (and with method NULL at HELLO). */
static int check(void *ud, const char *guest, const char *service, const char *method,
		 const char *appliance, char *why, size_t whylen)
{
	struct child *c = ud;
	const struct broker_guest *g = find_guest(c, guest);
	struct policy_peer src = { .name = guest }, dst = { .name = appliance };
	struct policy_decision dec;

	/* Reaching a service is not calling it: every call is decided alone. */
	if (!method)
		return VRPC_OK;
	if (g) {
		src.tags = (const char *const *)g->tags;
		src.n_tags = g->n_tags;
	}
	if (policy_eval(c->policy, service, method, &src, &dst, &dec) < 0)
		dec.action = POLICY_DENY; /* a policy with errors allows nothing */
	if (dec.action == POLICY_ALLOW) {
		if (dec.log)
			child_log(c, "allowed: %s calls %s.%s on %s (%s:%u)", guest, service, method,
				  appliance, dec.file, dec.line);
		return VRPC_OK;
	}
	if (dec.log && dec.file)
		child_log(c, "denied: %s calling %s.%s on %s (%s:%u)", guest, service, method,
			  appliance, dec.file, dec.line);
	else if (dec.log)
		child_log(c, "denied: %s calling %s.%s on %s (no rule matches: default deny)", guest,
			  service, method, appliance);
	snprintf(why, whylen, "policy denies %s calling %s.%s", guest, service, method);
	return VRPC_PERMISSION_DENIED;
}

static void on_gate(struct child *c, const struct vappd_ps_msg *m)
{
	struct broker_guest *gs = realloc(c->guests, (c->n_guests + 1) * sizeof(*gs));
	char err[256];
	int e;

	if (!gs) {
		close(m->fd);
		return;
	}
	c->guests = gs;
	if (vappd_broker_parse_guest(m->payload, true, &gs[c->n_guests], err, sizeof(err))) {
		child_log(c, "gate refused: %s", err);
		close(m->fd);
		return;
	}
	e = vrpc_relay_listen_fd(c->relay, "unix", m->fd, gs[c->n_guests].name);
	if (e) {
		child_log(c, "gate for %s: %s", gs[c->n_guests].name, strerror(-e));
		vappd_broker_guest_free(&gs[c->n_guests]);
		return;
	}
	c->n_guests++;
}

static void on_upstream(struct child *c, const struct vappd_ps_msg *m)
{
	struct vrpc_relay_upstream *u;
	const uint8_t *blob;
	const char *app;
	size_t len;
	int e = vappd_ps_upstream(m, &app, &blob, &len);

	if (!e)
		e = vrpc_relay_upstream_import(m->fd, blob, len, &u);
	else
		close(m->fd);
	if (!e) {
		char service[256];

		snprintf(service, sizeof(service), "%s", vrpc_relay_upstream_service(u));
		e = vrpc_relay_adopt(c->relay, u, app);
		if (!e)
			child_log(c, "%s: brokering %s", app, service);
	}
	if (e)
		child_log(c, "%s: broker cannot take its channel: %s", app, strerror(-e));
}

static void on_policy(struct child *c, const struct vappd_ps_msg *m)
{
	char name[256];
	const char *text;
	size_t len;

	if (vappd_ps_policy(m, name, sizeof(name), &text, &len) ||
	    policy_load_text(c->policy, name, text, len) < 0)
		child_log(c, "policy %s not loaded: every call is denied", name);
}

/* The parent's messages. @return 1 to stop (SHUTDOWN, or the parent is
 * gone), else 0. */
static int from_parent(struct child *c)
{
	for (;;) {
		int e = vappd_ps_recv(c->sock, c->m);

		if (e == -EAGAIN)
			return 0;
		if (e == -EBADMSG || (!e && !vappd_ps_from_parent(c->m->type))) {
			if (c->m->fd >= 0)
				close(c->m->fd);
			child_log(c, "a message from vappd refused");
			continue;
		}
		if (e)
			return 1;
		switch (c->m->type) {
		case VAPPD_PS_GATE: on_gate(c, c->m); break;
		case VAPPD_PS_UPSTREAM: on_upstream(c, c->m); break;
		case VAPPD_PS_DOWN: vrpc_relay_drop_upstream(c->relay, c->m->payload); break;
		case VAPPD_PS_POLICY: on_policy(c, c->m); break;
		default: return 1; /* SHUTDOWN */
		}
	}
}

static int serve(struct child *c)
{
	struct pollfd p[2] = { { c->sock, POLLIN, 0 }, { vrpc_relay_fd(c->relay), POLLIN, 0 } };

	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		if (p[1].revents)
			vrpc_relay_process(c->relay);
		if (p[0].revents && from_parent(c))
			return 0;
	}
}

int vappd_broker_child_main(int argc, char **argv)
{
	struct child c = { .sock = BROKER_CHILD_FD };
	struct vappd_jail j;
	char err[512];
	int type = 0;
	socklen_t tl = sizeof(type);

	prctl(PR_SET_NAME, BROKER_CHILD_ARGV0); /* not "exe" in ps */
	if (argc != 2 || getsockopt(c.sock, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != SOCK_SEQPACKET) {
		fprintf(stderr, "%s: started by vappd only (its broker)\n", argv[0]);
		return 2;
	}
	c.m = malloc(sizeof(*c.m));
	c.policy = policy_new(policy_diag, &c);
	c.relay = vrpc_relay_new(check, &c, NULL);
	if (!c.m || !c.policy || !c.relay) {
		child_log(&c, "out of memory");
		return 1;
	}
	/* Everything it will ever open is open: from here on, the jail. */
	if (vappd_jail_lookup(argv[1], &j, err, sizeof(err)) ||
	    vappd_jail_enter(&j, err, sizeof(err))) {
		child_log(&c, "%s", err);
		return 1;
	}
	child_log(&c, "broker running as %s under seccomp", argv[1]);
	return serve(&c);
}
