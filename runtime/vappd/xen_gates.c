/*
 * xen_gates.c - under Xen, a guest is a domain, and its gate a vchan.
 *
 * For each --guest NAME, while a domain named NAME runs (domain G, as
 * dom0's toolstack named it in /local/domain/G/name, which the guest
 * cannot write), vappd serves a vchan for G alone at
 *     /local/domain/0/data/vapp/gate-G
 * (libxenvchan grants its ring and its xenstore keys to G and nobody else)
 * and forwards each connection on it, bytes only, to the guest's gate
 * socket RUN_DIR/guests/NAME.sock, where the broker takes it as NAME. So
 * the name comes from which vchan the bytes arrived on, never from the
 * guest. The guest calls xen:0:/local/domain/0/data/vapp/gate-G, G being
 * its own domid (xenstore-read domid).
 *
 * Domains are followed by the watches on @introduceDomain and
 * @releaseDomain (xen.c): a guest that restarts gets a new domid, and its
 * vchan follows; a vchan of a domain that is gone is closed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "vappd.h"

int vappd_xen_gates_init(struct vappd *d, char *const *guests)
{
	size_t n = 0;

	for (char *const *g = guests; g && *g; g++)
		n++;
	if (!n)
		return 0;
	d->xen_gates = calloc(n, sizeof(*d->xen_gates));
	if (!d->xen_gates)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct broker_guest g;
		char err[256];

		if (vappd_broker_parse_guest(guests[i], false, &g, err, sizeof(err)))
			continue; /* broker_new() said why, and vappd does not start */
		snprintf(d->xen_gates[d->n_xen_gates++].name, sizeof(d->xen_gates[0].name), "%s",
			 g.name);
		vappd_broker_guest_free(&g);
	}
	vappd_xen_gates_scan(d);
	return 0;
}

static void gate_close(struct xen_gate *g)
{
	vrpc_forward_stop(g->fwd);
	g->fwd = NULL;
	g->domid = 0;
}

void vappd_xen_gates_scan(struct vappd *d)
{
	for (size_t i = 0; d->xs && i < d->n_xen_gates; i++) {
		struct xen_gate *g = &d->xen_gates[i];
		uint32_t domid = vappd_xen_find_domain(d, g->name);
		char near[160], far[PATH_MAX + 16];

		if (domid == g->domid && (g->fwd || !domid))
			continue;
		if (g->fwd)
			vappd_log("gate for guest %s: domain %u is gone", g->name, g->domid);
		gate_close(g);
		if (!domid)
			continue;
		snprintf(near, sizeof(near), "xen:%u:/local/domain/0/data/vapp/gate-%u", domid, domid);
		snprintf(far, sizeof(far), "unix:%s/guests/%s.sock", d->run_dir, g->name);
		g->fwd = vrpc_forward_start(near, far);
		if (!g->fwd) {
			vappd_log("gate for guest %s (domain %u): %s: %s", g->name, domid, near,
				  strerror(errno));
			continue;
		}
		g->domid = domid;
		vappd_log("gate for guest %s: domain %u, vchan %s", g->name, domid, near);
	}
	vappd_xen_direct_sync(d);
}

void vappd_xen_gates_free(struct vappd *d)
{
	for (size_t i = 0; i < d->n_xen_gates; i++)
		gate_close(&d->xen_gates[i]);
	free(d->xen_gates);
	d->xen_gates = NULL;
	d->n_xen_gates = 0;
}
