/*
 * main.c - vapp-firewalld, the firewall appliance's daemon.
 *
 * Boot order, so that no packet is forwarded unfiltered:
 *   1. the kernel starts with ip_forward 0: nothing is forwarded at all;
 *   2. the ruleset (from the state volume, else the default) is put in force
 *      in one nftables transaction whose forward chain has policy drop;
 *      if it cannot be, an empty drop-everything ruleset is tried instead,
 *      and if even that fails the daemon exits with forwarding still off;
 *   3. the NICs are brought up and addressed;
 *   4. only then ip_forward is switched on.
 * On SIGTERM forwarding is switched off again; the table stays in the
 * kernel, so a restarted daemon never opens a window either.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vrpc.h"
#include "fw.h"
#include "vapp_util.h"

#define IFACE_WAIT_MS 10000

static const char usage[] =
	"Usage: vapp-firewalld --uplink IF|MAC --guest [NAME=]IF|MAC [--guest ...] [options]\n"
	"\n"
	"The firewall appliance's daemon: nftables between guest-side NICs, one per\n"
	"guest, and the uplink NIC, managed over vapp.firewall.v1.Firewall. Each\n"
	"guest has its own ruleset, and is known by its NIC alone: a source address\n"
	"outside its own networks is dropped and logged, and guests reach each other\n"
	"only where a rule names the other's address.\n"
	"\n"
	"  -u, --uplink IF|MAC        the uplink NIC (name, or MAC as the manifest gives it)\n"
	"  -g, --guest [NAME=]IF|MAC  a guest's NIC; NAME (1-15 of a-z 0-9 _ -, as vappd\n"
	"                             names the guest) is \"guest\" when left out; up to 8\n"
	"      --guest-addr A/N       the firewall's address on the NIC of the --guest\n"
	"                             before it, IPv4 or IPv6 (once for each family); its\n"
	"                             network is where that guest's sources must be\n"
	"      --uplink-addr A/N      an address of the uplink NIC, IPv4 or IPv6 (once\n"
	"                             for each family)\n"
	"      --gateway A            the default route through the uplink, IPv4 or IPv6\n"
	"                             (once for each family)\n"
	"      --dns A                the DNS server (port 53) that names in rules (host)\n"
	"                             are resolved by; without it they never resolve and\n"
	"                             their rules match nothing\n"
	"\n"
	"IPv6: no NIC takes router advertisements or redirects (a guest's must not\n"
	"re-route the appliance), and all skip duplicate address detection (each\n"
	"link is the appliance's own).\n"
	"  -s, --state DIR            keep each guest's ruleset in DIR (the state volume)\n"
	"  -p, --default-policy P     accept|drop for a guest with no ruleset yet (default drop)\n"
	"  -a, --attach ADDR          serve the single endpoint ADDR (the virtio-serial port)\n"
	"  -l, --listen ADDR          accept connections on ADDR\n"
	"      --no-forwarding        leave ip_forward alone (tests on a host)\n"
	"      --print-ruleset        print the nftables JSON of the boot ruleset and exit\n"
	"  -h, --help                 show this help\n";

#define FAMILIES 2 /* an IPv4 and an IPv6 address or gateway each */

struct guest_opt {
	char name[FW_GUEST_NAME_MAX + 1];
	const char *nic;
	const char *addr[FAMILIES];
};

struct opts {
	const char *uplink, *state, *dns;
	const char *uplink_addr[FAMILIES], *gateway[FAMILIES];
	struct guest_opt guests[FW_MAX_GUESTS];
	size_t n_guests;
	enum fw_action policy;
	bool no_forwarding, print;
	const char *attach[4], *listen[4];
	int n_attach, n_listen;
};

static struct fw_daemon daemon_state;

static void on_signal(void *ud, int fd, short revents)
{
	vrpc_loop_quit(ud);
}

static void on_nflog(void *ud, int fd, short revents)
{
	fw_nflog_process(ud);
}

/* One address a family: a second IPv4 (or IPv6) one is a mistake. */
static int add_family(const char **slot, const char *arg)
{
	int i = strchr(arg, ':') ? 1 : 0;

	if (slot[i]) {
		fprintf(stderr, "vapp-firewalld: %s: one %s address only (already %s)\n", arg,
			i ? "IPv6" : "IPv4", slot[i]);
		return -1;
	}
	slot[i] = arg;
	return 0;
}

/* --guest [NAME=]IF|MAC */
static int add_guest(struct opts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct guest_opt *g = &o->guests[o->n_guests];

	if (o->n_guests == FW_MAX_GUESTS) {
		fprintf(stderr, "vapp-firewalld: --guest %s: at most %d guests\n", arg, FW_MAX_GUESTS);
		return -1;
	}
	snprintf(g->name, sizeof(g->name), "%.*s", eq ? (int)(eq - arg) : 5, eq ? arg : "guest");
	g->nic = eq ? eq + 1 : arg;
	if (!fw_guest_name_ok(g->name) || (eq && (size_t)(eq - arg) > FW_GUEST_NAME_MAX)) {
		fprintf(stderr, "vapp-firewalld: --guest %s: the name is 1-15 of a-z 0-9 _ -\n", arg);
		return -1;
	}
	for (size_t i = 0; i < o->n_guests; i++) {
		if (!strcmp(o->guests[i].name, g->name) || !strcmp(o->guests[i].nic, g->nic)) {
			fprintf(stderr, "vapp-firewalld: --guest %s: %s given twice\n", arg,
				strcmp(o->guests[i].name, g->name) ? "that NIC is" : "that guest is");
			return -1;
		}
	}
	if (!*g->nic) {
		fprintf(stderr, "vapp-firewalld: --guest %s: no NIC\n", arg);
		return -1;
	}
	o->n_guests++;
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { O_UPADDR = 256, O_GW, O_GADDR, O_NOFWD, O_PRINT, O_DNS };
	static const struct option lo[] = {
		{ "uplink", required_argument, NULL, 'u' },
		{ "guest", required_argument, NULL, 'g' },
		{ "uplink-addr", required_argument, NULL, O_UPADDR },
		{ "gateway", required_argument, NULL, O_GW },
		{ "guest-addr", required_argument, NULL, O_GADDR },
		{ "dns", required_argument, NULL, O_DNS },
		{ "state", required_argument, NULL, 's' },
		{ "default-policy", required_argument, NULL, 'p' },
		{ "attach", required_argument, NULL, 'a' },
		{ "listen", required_argument, NULL, 'l' },
		{ "no-forwarding", no_argument, NULL, O_NOFWD },
		{ "print-ruleset", no_argument, NULL, O_PRINT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	o->policy = FW_DROP;
	while ((c = getopt_long(argc, argv, "u:g:s:p:a:l:h", lo, NULL)) != -1) {
		switch (c) {
		case 'u': o->uplink = optarg; break;
		case 'g':
			if (add_guest(o, optarg))
				return -1;
			break;
		case O_GADDR:
			if (!o->n_guests) {
				fprintf(stderr, "vapp-firewalld: --guest-addr %s: after its --guest\n",
					optarg);
				return -1;
			}
			if (add_family(o->guests[o->n_guests - 1].addr, optarg))
				return -1;
			break;
		case O_UPADDR:
		case O_GW:
			if (add_family(c == O_UPADDR ? o->uplink_addr : o->gateway, optarg))
				return -1;
			break;
		case 's': o->state = optarg; break;
		case O_DNS: o->dns = optarg; break;
		case O_NOFWD: o->no_forwarding = true; break;
		case O_PRINT: o->print = true; break;
		case 'p':
			if (!strcmp(optarg, "accept"))
				o->policy = FW_ACCEPT;
			else if (!strcmp(optarg, "drop"))
				o->policy = FW_DROP;
			else
				return -1;
			break;
		case 'a':
			if (o->n_attach == 4)
				return -1;
			o->attach[o->n_attach++] = optarg;
			break;
		case 'l':
			if (o->n_listen == 4)
				return -1;
			o->listen[o->n_listen++] = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind < argc || !o->uplink || !o->n_guests)
		return -1;
	return 0;
}

/* Guest @p i's boot ruleset: the stored one, else the default. */
static void boot_guest(struct fw_daemon *d, size_t i, const struct opts *o)
{
	struct fw_guest *g = &d->guests[i];
	char why[FW_REASON_LEN];
	int err;

	fw_ruleset_init(&g->rs, o->policy);
	snprintf(g->source, sizeof(g->source), "default (no state volume)");
	if (!o->state)
		return;
	err = fw_store_load(o->state, d->ifs.guests[i].name, i == 0, &g->rs, why, sizeof(why));
	if (!err)
		snprintf(g->source, sizeof(g->source), "state volume");
	else if (err == -ENOENT)
		snprintf(g->source, sizeof(g->source), "default (state volume empty)");
	else
		snprintf(g->source, sizeof(g->source), "default (%.140s)", why);
	if (err)
		fw_ruleset_init(&g->rs, o->policy);
}

static void rulesets_of(const struct fw_daemon *d, const struct fw_ruleset **rs)
{
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		rs[i] = &d->guests[i].rs;
}

/* Step 2 of the boot order: each guest's stored ruleset, else the default;
 * if those cannot be put in force, drop all. */
static int boot_ruleset(struct fw_daemon *d, const struct opts *o)
{
	const struct fw_ruleset *rs[FW_MAX_GUESTS];
	char why[FW_REASON_LEN];
	int err;

	for (size_t i = 0; i < d->ifs.n_guests; i++) {
		boot_guest(d, i, o);
		/* A stored forward that no longer fits (the guest's network
		 * changed, an earlier guest has the port) is left out. */
		rulesets_of(d, rs);
		if (fw_forwards_check(&d->guests[i].rs, &d->ifs.guests[i], rs, i, why, sizeof(why))) {
			fprintf(stderr, "vapp-firewalld: %s: port forwards left out: %s\n",
				d->ifs.guests[i].name, why);
			d->guests[i].rs.n_fwd = 0;
		}
	}
	rulesets_of(d, rs);
	err = fw_nft_apply(d->nft, rs, why, sizeof(why));
	if (err) {
		fprintf(stderr, "vapp-firewalld: the boot ruleset failed (%s); dropping everything\n",
			why);
		for (size_t i = 0; i < d->ifs.n_guests; i++) {
			fw_ruleset_fini(&d->guests[i].rs);
			fw_ruleset_init(&d->guests[i].rs, FW_DROP);
			snprintf(d->guests[i].source, sizeof(d->guests[i].source), "drop all (%.140s)",
				 why);
		}
		err = fw_nft_apply(d->nft, rs, why, sizeof(why));
	}
	if (err)
		fprintf(stderr, "vapp-firewalld: %s\n", why);
	return err;
}

static int bring_up(const struct fw_daemon *d, const struct opts *o)
{
	const char *ifs[1 + FW_MAX_GUESTS] = { d->ifs.uplink };
	const char *const *addrs[1 + FW_MAX_GUESTS] = { o->uplink_addr };
	size_t n = 1 + d->ifs.n_guests;
	int err = vapp_netif_up("lo", NULL);

	for (size_t i = 0; i < d->ifs.n_guests; i++) {
		ifs[1 + i] = d->ifs.guests[i].ifname;
		addrs[1 + i] = o->guests[i].addr;
	}
	fw_net_no_ra(ifs, n);
	for (size_t i = 0; !err && i < n; i++) {
		err = vapp_netif_up(ifs[i], addrs[i][0]);
		if (!err && addrs[i][1])
			err = vapp_netif_up(ifs[i], addrs[i][1]);
	}
	if (err) {
		fprintf(stderr, "vapp-firewalld: bringing the NICs up: %s\n", strerror(-err));
		return err;
	}
	for (int f = 0; f < FAMILIES; f++) {
		if (o->gateway[f] && (err = vapp_route_default(o->gateway[f]))) {
			fprintf(stderr, "vapp-firewalld: default route via %s: %s\n", o->gateway[f],
				strerror(-err));
			return err;
		}
	}
	return 0;
}

static int serve(struct fw_daemon *d, const struct opts *o, struct vrpc_server *srv)
{
	static const char *const streaming[] = { "WatchLog", NULL };
	int err = vrpc_server_add_service(srv, &d->svc.base, streaming);

	for (int i = 0; !err && i < o->n_attach; i++)
		if ((err = vrpc_server_attach(srv, o->attach[i])))
			fprintf(stderr, "vapp-firewalld: %s: %s\n", o->attach[i], strerror(-err));
	for (int i = 0; !err && i < o->n_listen; i++)
		if ((err = vrpc_server_listen(srv, o->listen[i])))
			fprintf(stderr, "vapp-firewalld: %s: %s\n", o->listen[i], strerror(-err));
	return err;
}

/* --dns, as text inet_ntop wrote (the special DNS target's address). */
static int dns_server(struct fw_daemon *d, const struct opts *o)
{
	unsigned char a[16];
	int family = o->dns && strchr(o->dns, ':') ? AF_INET6 : AF_INET;

	d->ifs.dns[0] = '\0';
	if (!o->dns)
		return 0;
	if (inet_pton(family, o->dns, a) != 1) {
		fprintf(stderr, "vapp-firewalld: --dns %s: not an IPv4 or IPv6 address\n", o->dns);
		return -1;
	}
	inet_ntop(family, a, d->ifs.dns, sizeof(d->ifs.dns));
	return 0;
}

/* Each guest's networks, from its addresses: the sources it may use. */
static int guest_nets(struct fw_daemon *d, const struct opts *o)
{
	for (size_t i = 0; i < o->n_guests; i++) {
		struct fw_guest_if *g = &d->ifs.guests[i];
		char *out[FAMILIES] = { g->net4, g->net6 };
		size_t len[FAMILIES] = { sizeof(g->net4), sizeof(g->net6) };

		snprintf(g->name, sizeof(g->name), "%s", o->guests[i].name);
		for (int f = 0; f < FAMILIES; f++) {
			const char *a = o->guests[i].addr[f];

			out[f][0] = '\0';
			if (a && fw_net_prefix(a, out[f], len[f])) {
				fprintf(stderr, "vapp-firewalld: --guest-addr %s: not an address/prefix\n", a);
				return -1;
			}
		}
	}
	d->ifs.n_guests = o->n_guests;
	return dns_server(d, o);
}

/* --print: the nft document the rulesets would make, and nothing else. */
static int print_ruleset(struct fw_daemon *d, const struct opts *o)
{
	const struct fw_ruleset *rs[FW_MAX_GUESTS];
	char why[FW_REASON_LEN], *doc;

	snprintf(d->ifs.uplink, sizeof(d->ifs.uplink), "%s", o->uplink);
	if (guest_nets(d, o))
		return 1;
	for (size_t i = 0; i < d->ifs.n_guests; i++) {
		struct fw_ruleset *r = &d->guests[i].rs;

		snprintf(d->ifs.guests[i].ifname, sizeof(d->ifs.guests[i].ifname), "%s",
			 o->guests[i].nic);
		fw_ruleset_init(r, o->policy);
		if (o->state && fw_store_load(o->state, d->ifs.guests[i].name, i == 0, r, why,
					      sizeof(why)) == -EINVAL)
			fprintf(stderr, "vapp-firewalld: %s\n", why);
	}
	rulesets_of(d, rs);
	doc = fw_nft_json(rs, &d->ifs, NULL, NULL);
	puts(doc ? doc : "");
	free(doc);
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		fw_ruleset_fini(&d->guests[i].rs);
	return doc ? 0 : 1;
}

/* Where each guest's traffic comes in, for the log: "alice (eth1), bob (eth2)". */
static void describe_guests(const struct fw_daemon *d, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < d->ifs.n_guests && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%s (%s)", i ? ", " : "",
				       d->ifs.guests[i].name, d->ifs.guests[i].ifname);
}

/* The NICs, nftables, the rulesets in force, forwarding. @return 0, or -1
 * (said), d->nft then to be closed. */
static int start_filtering(struct fw_daemon *d, const struct opts *o)
{
	char guests[FW_MAX_GUESTS * 40];
	int err;

	if (vapp_netif_wait(o->uplink, d->ifs.uplink, sizeof(d->ifs.uplink), IFACE_WAIT_MS)) {
		fprintf(stderr, "vapp-firewalld: no NIC %s\n", o->uplink);
		return -1;
	}
	if (guest_nets(d, o))
		return -1;
	for (size_t i = 0; i < o->n_guests; i++) {
		if (vapp_netif_wait(o->guests[i].nic, d->ifs.guests[i].ifname,
				    sizeof(d->ifs.guests[i].ifname), IFACE_WAIT_MS)) {
			fprintf(stderr, "vapp-firewalld: no NIC %s (guest %s)\n", o->guests[i].nic,
				o->guests[i].name);
			return -1;
		}
	}
	d->nft = fw_nft_open(&d->ifs);
	if (!d->nft) {
		perror("vapp-firewalld: libnftables");
		return -1;
	}
	if (boot_ruleset(d, o))
		return -1;
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		fprintf(stderr, "vapp-firewalld: %s: ruleset in force (%zu rules, default %s, from %s)\n",
			d->ifs.guests[i].name, d->guests[i].rs.n,
			d->guests[i].rs.policy == FW_ACCEPT ? "accept" : "drop", d->guests[i].source);
	if (bring_up(d, o))
		return -1;
	if (o->no_forwarding)
		return 0;
	if ((err = fw_net_forwarding(true))) {
		fprintf(stderr, "vapp-firewalld: ip_forward: %s\n", strerror(-err));
		return -1;
	}
	describe_guests(d, guests, sizeof(guests));
	fprintf(stderr, "vapp-firewalld: forwarding %s -> %s\n", guests, d->ifs.uplink);
	return 0;
}

/* The service, the drop log and the signals on one loop, until a signal.
 * @return the exit status. */
static int run_service(struct fw_daemon *d, const struct opts *o)
{
	struct fw_nflog *nflog = NULL;
	struct vrpc_server *srv = vrpc_server_new(NULL);
	sigset_t mask;
	int sfd = -1, rc = 1;

	const struct fw_ruleset *rs[FW_MAX_GUESTS];
	char why[FW_REASON_LEN];

	d->loop = vrpc_loop_new();
	if (!d->loop || !srv || serve(d, o, srv))
		goto out;
	/* The names in the boot rulesets: their sets exist (empty, so their
	 * rules match nothing) until the answers come. */
	d->resolver = d->loop ? fw_resolver_new(o->dns, d->loop) : NULL;
	if (!d->resolver) {
		fprintf(stderr, "vapp-firewalld: --dns %s: %s\n", o->dns ? o->dns : "-", strerror(errno));
		goto out;
	}
	fw_resolver_set_nft(d->resolver, d->nft);
	fw_nft_set_resolver(d->nft, d->resolver);
	rulesets_of(d, rs);
	if (fw_resolver_sync(d->resolver, rs, d->ifs.n_guests, why, sizeof(why)))
		fprintf(stderr, "vapp-firewalld: %s\n", why);
	/* Stored rules whose expire passed while the appliance was down go
	 * now; the rest when theirs comes. */
	fw_service_expire(d);
	nflog = fw_nflog_open(FW_LOG_GROUP, fw_service_drop, d);
	if (!nflog)
		fprintf(stderr, "vapp-firewalld: nflog group %d: %s (no drop log)\n", FW_LOG_GROUP,
			strerror(errno));
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0 || vrpc_loop_add_fd(d->loop, sfd, POLLIN, on_signal, d->loop) < 0 ||
	    (nflog && vrpc_loop_add_fd(d->loop, fw_nflog_fd(nflog), POLLIN, on_nflog, nflog) < 0) ||
	    vrpc_loop_add_server(d->loop, srv) < 0) {
		perror("vapp-firewalld: event loop");
		goto out;
	}
	printf("ready\n");
	fflush(stdout);
	rc = vrpc_loop_run(d->loop) ? 1 : 0;
out:
	fw_service_fini(d);
	if (d->nft)
		fw_nft_set_resolver(d->nft, NULL);
	fw_resolver_free(d->resolver);
	d->resolver = NULL;
	if (sfd >= 0)
		close(sfd);
	fw_nflog_close(nflog);
	vrpc_server_free(srv);
	vrpc_loop_free(d->loop);
	return rc;
}

int main(int argc, char **argv)
{
	struct fw_daemon *d = &daemon_state;
	struct opts o = { 0 };
	int rc = 1;

	if (parse(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	d->boot_ms = fw_now_ms();
	d->state_dir = o.state;
	fw_service_init(d);
	if (o.print)
		return print_ruleset(d, &o);
	if (start_filtering(d, &o) == 0) {
		rc = run_service(d, &o);
		if (!o.no_forwarding)
			fw_net_forwarding(false);
	}
	fw_nft_close(d->nft);
	for (size_t i = 0; i < d->ifs.n_guests; i++)
		fw_ruleset_fini(&d->guests[i].rs);
	return rc;
}
