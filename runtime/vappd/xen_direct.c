/*
 * xen_direct.c - under Xen, direct channels: a guest domain calls an
 * appliance domain over a vchan between the two, with no hop through dom0.
 *
 * Only where the policy says direct=yes on a rule that allows the guest a
 * whole service of the appliance (policy_direct()): then the broker has
 * nothing to decide but the methods that rules before it deny, which the
 * appliance's libvrpc refuses itself ("!METHOD" after the service in the
 * grant), so the appliance can take the calls. For each such (guest, appliance)
 * pair, while both domains run (guest G, appliance A), vappd:
 *   - tells the appliance on vapp.ctl "direct CHAN GUEST ADDRESS SERVICE...",
 *     ADDRESS a vchan granted to G alone, xen:G:data/vapp/CHAN'-G (in A's
 *     own xenstore directory); vapp-init writes it down and the daemon's
 *     libvrpc listens there, answering HELLO for those services only and
 *     naming each call's peer label:GUEST (vappd's word: Xen grants the
 *     ring to G alone);
 *   - writes the guest's address of it into
 *     /local/domain/0/data/vapp/direct-G/APPLIANCE, readable by G alone:
 *     "xen:A:/local/domain/A/data/vapp/CHAN'-G".
 * When the pair ends (either domain gone, the appliance restarted under a
 * new domid) the key is removed and the appliance told "direct-end". The
 * broker's gate stays too: the direct channel is a second way in, never
 * the only one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "appliance.h"
#include "broker.h"

struct xen_pair {
	char app[64], guest[64];
	uint32_t app_domid, guest_domid;
	char services[200];
	bool keep;
};

#define CTL_LINE_MAX 255

static struct xen_pair *pairs;
static size_t n_pairs;

static void guest_dir(uint32_t guest, char *out, size_t len)
{
	snprintf(out, len, "/local/domain/0/data/vapp/direct-%u", guest);
}

/* The vchan's path for the guest, absolute in the appliance's directory. */
static int pair_path(const struct appliance *a, uint32_t app, uint32_t guest, char *out,
		     size_t len)
{
	char name[96];

	snprintf(name, sizeof(name), "%s-%u", a->info.channel, guest);
	return vrpc_chan_xen_path(name, app, out, len);
}

static bool guest_key(struct xs_handle *xs, uint32_t guest, const char *app, const char *value)
{
	struct xs_permissions perms[2] = { { .id = 0, .perms = XS_PERM_NONE },
					   { .id = guest, .perms = XS_PERM_READ } };
	char dir[80], key[160];

	guest_dir(guest, dir, sizeof(dir));
	snprintf(key, sizeof(key), "%s/%s", dir, app);
	if (!value)
		return xs_rm(xs, XBT_NULL, key);
	return xs_mkdir(xs, XBT_NULL, dir) && xs_set_permissions(xs, XBT_NULL, dir, perms, 2) &&
	       xs_write(xs, XBT_NULL, key, value, (unsigned)strlen(value));
}

static struct xen_pair *find_pair(const char *app, const char *guest)
{
	for (size_t i = 0; i < n_pairs; i++)
		if (!strcmp(pairs[i].app, app) && !strcmp(pairs[i].guest, guest))
			return &pairs[i];
	return NULL;
}

static void open_pair(struct vappd *d, struct appliance *a, const struct xen_gate *g,
		      const char *services)
{
	uint32_t app = vappd_xen_domid(a);
	char path[128], line[CTL_LINE_MAX + 2], addr[160];
	struct xen_pair *p = find_pair(a->name, g->name);
	int n;

	if (pair_path(a, app, g->domid, path, sizeof(path))) {
		vappd_log("direct: %s to %s: channel %s has no vchan name for it", g->name, a->name,
			  a->info.channel);
		return;
	}
	/* The appliance's address is relative to its own directory. */
	n = snprintf(line, sizeof(line), "direct %s %s xen:%u:%s %s\n", a->info.channel, g->name,
		     g->domid, strchr(path + strlen("/local/domain/"), '/') + 1, services);
	if (n < 0 || n > CTL_LINE_MAX) {
		vappd_log("direct: %s to %s: the line is too long for vapp.ctl", g->name, a->name);
		return;
	}
	snprintf(addr, sizeof(addr), "xen:%u:%s", app, path);
	if (vappd_xen_ctl_write(a, line, (size_t)n) < 0 ||
	    !guest_key(d->xs, g->domid, a->name, addr)) {
		vappd_log("direct: %s to %s: %s", g->name, a->name, strerror(errno));
		return;
	}
	if (!p) {
		p = realloc(pairs, (n_pairs + 1) * sizeof(*pairs));
		if (!p)
			return;
		pairs = p;
		p = &pairs[n_pairs++];
		memset(p, 0, sizeof(*p));
		snprintf(p->app, sizeof(p->app), "%s", a->name);
		snprintf(p->guest, sizeof(p->guest), "%s", g->name);
	}
	p->app_domid = app;
	p->guest_domid = g->domid;
	snprintf(p->services, sizeof(p->services), "%s", services);
	p->keep = true;
	vappd_log("direct: guest %s (domain %u) calls %s (domain %u) on %s: %s", g->name, g->domid,
		  a->name, app, addr, services);
}

static void close_pair(struct vappd *d, const struct xen_pair *p)
{
	char line[CTL_LINE_MAX + 2], dir[80];
	int n;

	for (struct appliance *a = d->apps; a; a = a->next) {
		if (strcmp(a->name, p->app) || !a->xen || vappd_xen_domid(a) != p->app_domid)
			continue;
		n = snprintf(line, sizeof(line), "direct-end %s %s\n", a->info.channel, p->guest);
		if (n > 0 && n <= CTL_LINE_MAX)
			vappd_xen_ctl_write(a, line, (size_t)n);
	}
	guest_key(d->xs, p->guest_domid, p->app, NULL);
	vappd_log("direct: guest %s to %s closed", p->guest, p->app);
	for (size_t i = 0; i < d->n_xen_gates; i++)
		if (d->xen_gates[i].domid == p->guest_domid)
			return;
	/* The guest's domain is gone: its folder too, before the domid can
	 * be another's. */
	guest_dir(p->guest_domid, dir, sizeof(dir));
	xs_rm(d->xs, XBT_NULL, dir);
}

void vappd_xen_direct_sync(struct vappd *d)
{
	char services[200];
	size_t i, kept = 0;

	if (!d->xs || !d->broker)
		return;
	for (i = 0; i < n_pairs; i++)
		pairs[i].keep = false;
	for (struct appliance *a = d->apps; a; a = a->next) {
		uint32_t app = vappd_xen_domid(a);

		if (!a->xen || !app || a->state != SUP_RUNNING || !a->info.channel ||
		    !vappd_xen_ctl_up(a))
			continue;
		for (i = 0; i < d->n_xen_gates; i++) {
			const struct xen_gate *g = &d->xen_gates[i];
			struct xen_pair *p;

			if (!g->domid)
				continue;
			vappd_broker_direct_services(d->broker, a->info.m, a->info.channel, g->name,
						     a->name, services, sizeof(services));
			if (!services[0])
				continue;
			p = find_pair(a->name, g->name);
			if (p && p->app_domid == app && p->guest_domid == g->domid &&
			    !strcmp(p->services, services)) {
				p->keep = true;
				continue;
			}
			if (p && p->guest_domid != g->domid)
				guest_key(d->xs, p->guest_domid, p->app, NULL);
			open_pair(d, a, g, services);
		}
	}
	for (i = 0; i < n_pairs; i++) {
		if (pairs[i].keep)
			pairs[kept++] = pairs[i];
		else
			close_pair(d, &pairs[i]);
	}
	n_pairs = kept;
}
