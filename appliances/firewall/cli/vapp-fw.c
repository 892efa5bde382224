/*
 * vapp-fw - the firewall appliance's guest-side CLI: protoc-c stubs of
 * vapp.firewall.v1.Firewall through libvrpc. It sends typed fields only;
 * the appliance checks every one and says which it refused.
 */
#include <errno.h>
#include <time.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vrpc.h"
#include "vrpc_json.h"
#include "appliances/firewall/firewall.pb-c.h"
#include "qubes_rules.h"

#define DEFAULT_ADDR "serial:/dev/virtio-ports/vapp.fw"
#define MAX_FILE (1 << 20)

static const char usage[] =
	"Usage: vapp-fw [-c ADDR] [-g GUEST] [-j] [-t MS] COMMAND [ARGS]\n"
	"\n"
	"Manages the firewall appliance (vapp.firewall.v1.Firewall) over typed RPC.\n"
	"Each guest behind the firewall has a ruleset of its own; -g names it (left\n"
	"out: the only guest, or the caller itself when the caller is a guest).\n"
	"\n"
	"Commands:\n"
	"  list                          the rules in force, first match wins\n"
	"  add ACTION [proto P] [to DEST | host NAME] [port N[-M]] [icmp-type T]\n"
	"      [special dns] [comment TEXT] [expire +SECONDS|UNIXTIME] [before ID]\n"
	"                                add a rule; ACTION accept|drop, P tcp|udp|icmp|any,\n"
	"                                DEST an IPv4/IPv6 address or prefix, NAME a DNS\n"
	"                                name the appliance resolves (and again by TTL;\n"
	"                                `list` shows its addresses in force), T an ICMP\n"
	"                                (ICMPv6 for an IPv6 DEST) type 0..255, TEXT a note\n"
	"                                of up to 64 printable bytes; special dns: the\n"
	"                                appliance's DNS server, port 53; with expire the\n"
	"                                appliance removes the rule then (+N: N seconds\n"
	"                                from now); prints its id\n"
	"  del ID                        delete rule ID\n"
	"  replace FILE                  replace the whole ruleset, atomically, with the\n"
	"                                Ruleset in FILE (JSON, as `list -j` prints it;\n"
	"                                \"-\" reads standard input); its \"forwards\" are\n"
	"                                the guest's ports forwarded from the uplink\n"
	"                                ({\"protocol\": \"PROTOCOL_TCP\", \"port\": 2222,\n"
	"                                \"toAddress\": \"10.99.3.2\", \"toPort\": 22}), none\n"
	"                                unless listed\n"
	"  import FILE                   replace the whole ruleset, atomically, with the\n"
	"                                Qubes rule list in FILE (`qvm-firewall VM list\n"
	"                                --raw`: action=accept dst4=192.0.2.0/24\n"
	"                                proto=tcp dstports=443-443, one rule a line);\n"
	"                                any error (FILE:LINE:COL) and nothing is sent\n"
	"  export                        the ruleset as such a list, the default policy\n"
	"                                last\n"
	"  policy accept|drop            set the default policy\n"
	"  counters                      packets and bytes per rule, and what the\n"
	"                                firewall itself refused\n"
	"  log [N]                       stream drop events (N at most per second)\n"
	"                                until interrupted, or -n events arrived;\n"
	"                                every guest's unless -g names one\n"
	"  status                        the appliance's status and its guests\n"
	"\n"
	"Options:\n"
	"  -c, --connect ADDR   the firewall's channel (default $VAPP_FW_ADDR, else\n"
	"                       " DEFAULT_ADDR ")\n"
	"  -g, --guest NAME     the guest whose ruleset the command is about\n"
	"  -j, --json           print replies as JSON\n"
	"  -n, --count N        log: stop after N events\n"
	"  -t, --timeout MS     deadline of each call (default 10000; log: total time)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 success, 1 the call failed (the status name and the\n"
	"appliance's reason are printed), 2 usage.\n"
	"\n"
	"Example:\n"
	"  vapp-fw add accept proto tcp to 192.0.2.0/24 port 443\n"
	"  vapp-fw add drop proto udp port 5000-5010 before 3\n"
	"  vapp-fw -g work list\n";

struct cli {
	struct vrpc_client *cli;
	char *guest;      /* -g: every request's guest ("" none named) */
	bool json;
	bool qubes;       /* export: the ruleset as a Qubes rule list */
	int timeout_ms;
	long count;
	long seen;
	bool done;
	int status;
};

static const char *proto_name(int p)
{
	static const char *const n[] = { "any", "tcp", "udp", "icmp" };

	return p >= 0 && p < 4 ? n[p] : "?";
}

static const char *action_name(int a)
{
	return a == VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT ? "accept"
	       : a == VAPP__FIREWALL__V1__ACTION__ACTION_DROP ? "drop" : "?";
}

static void print_json(const ProtobufCMessage *m)
{
	char *s = vrpc_json_from_message(m, VRPC_JSON_PRETTY);

	puts(s ? s : "{}");
	free(s);
}

static void print_rule(const Vapp__Firewall__V1__Rule *r)
{
	char ports[24] = "*", proto[16];

	if (r->port_min && r->port_max)
		snprintf(ports, sizeof(ports), "%u-%u", r->port_min, r->port_max);
	else if (r->port_min)
		snprintf(ports, sizeof(ports), "%u", r->port_min);
	if (r->icmp)
		snprintf(proto, sizeof(proto), "%s/%u", proto_name(r->protocol), r->icmp->type);
	else
		snprintf(proto, sizeof(proto), "%s", proto_name(r->protocol));
	char dest[160];

	if (r->host[0]) {
		size_t at = (size_t)snprintf(dest, sizeof(dest), "%s [", r->host);

		for (size_t i = 0; i < r->n_resolved && at < sizeof(dest); i++)
			at += (size_t)snprintf(dest + at, sizeof(dest) - at, "%s%s", i ? " " : "",
					       r->resolved[i]);
		if (at < sizeof(dest))
			snprintf(dest + at, sizeof(dest) - at, "%s]", r->n_resolved ? "" : "unresolved");
	} else if (r->special == VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS) {
		snprintf(dest, sizeof(dest), "[the appliance's DNS]");
	} else {
		snprintf(dest, sizeof(dest), "%s", r->destination[0] ? r->destination : "*");
	}
	printf("%5u  %-6s %-8s %-40s %-11s", r->id, action_name(r->action), proto, dest, ports);
	if (r->expire)
		printf(" expire %llu", (unsigned long long)r->expire);
	printf("%s%s\n", r->comment[0] ? " # " : "", r->comment);
}

static void print_ruleset(const Vapp__Firewall__V1__Ruleset *rs)
{
	printf("%5s  %-6s %-8s %-40s %-11s%s\n", "ID", "ACTION", "PROTO", "DESTINATION", "PORTS",
	       " # COMMENT");
	for (size_t i = 0; i < rs->n_rules; i++)
		print_rule(rs->rules[i]);
	for (size_t i = 0; i < rs->n_forwards; i++) {
		const Vapp__Firewall__V1__PortForward *f = rs->forwards[i];

		printf("forward %s uplink port %u -> %s:%u\n", proto_name(f->protocol), f->port,
		       f->to_address, f->to_port);
	}
	printf("default policy: %s (generation %llu)\n", action_name(rs->default_policy),
	       (unsigned long long)rs->generation);
}

/* One counter line: the rule's id, or @p name for the firewall's own. */
static void print_count(const char *name, const Vapp__Firewall__V1__RuleCounter *r)
{
	char id[16];

	if (!r)
		return;
	if (!name)
		snprintf(id, sizeof(id), "%u", r->id);
	printf("%7s %12llu %14llu\n", name ? name : id, (unsigned long long)r->packets,
	       (unsigned long long)r->bytes);
}

static void print_counters(const Vapp__Firewall__V1__Counters *c)
{
	printf("%7s %12s %14s\n", "RULE", "PACKETS", "BYTES");
	for (size_t i = 0; i < c->n_rules; i++)
		print_count(NULL, c->rules[i]);
	print_count("default", c->default_policy);
	print_count("uplink", c->uplink_refused);
	print_count("spoof", c->spoof_refused);
	print_count("guest", c->guest_refused);
}

static void print_status(const Vapp__Firewall__V1__Status *s)
{
	printf("guests:");
	for (size_t i = 0; i < s->n_guests; i++)
		printf(" %s", s->guests[i]);
	printf("\nguest %s: generation %llu, %u rules, default %s (version %s)\n", s->guest_name,
	       (unsigned long long)s->generation, s->rule_count, action_name(s->default_policy),
	       s->version);
	printf("forwarding %s (%s -> %s), ruleset from %s\n", s->forwarding ? "on" : "off",
	       s->guest, s->uplink, s->ruleset_source);
	printf("up %llu ms; %llu drop events, %llu left out by rate limits, %u watchers\n",
	       (unsigned long long)s->uptime_ms, (unsigned long long)s->log_events,
	       (unsigned long long)s->log_suppressed, s->log_watchers);
}

static void print_event(const Vapp__Firewall__V1__LogEvent *e)
{
	char rule[24];

	if (e->rule_id)
		snprintf(rule, sizeof(rule), "rule:%u", e->rule_id);
	else
		snprintf(rule, sizeof(rule), "%s", e->reason);
	printf("%llu.%03llu drop %-8s %-4s %s:%u -> %s:%u len %u in %s", (unsigned long long)e->time_ms / 1000,
	       (unsigned long long)e->time_ms % 1000, rule, proto_name(e->protocol), e->source,
	       e->source_port, e->destination, e->destination_port, e->length, e->in_interface);
	if (e->guest[0])
		printf(" guest %s", e->guest);
	if (e->suppressed)
		printf(" (%llu left out before)", (unsigned long long)e->suppressed);
	putchar('\n');
	fflush(stdout);
}

/* One closure for every reply: prints it by type. */
static void print_qubes(const Vapp__Firewall__V1__Ruleset *rs)
{
	char *text = fw_qubes_export(rs);

	if (text)
		fputs(text, stdout);
	else
		fputs("vapp-fw: out of memory\n", stderr);
	free(text);
}

static void on_reply(const ProtobufCMessage *m, void *ud)
{
	struct cli *c = ud;
	const char *msg = NULL;

	if (c->done)
		return; /* the close after a finished call fails what is left */
	if (!m) {
		c->status = vrpc_client_status(c->cli, &msg);
		if (c->status != VRPC_OK)
			fprintf(stderr, "vapp-fw: %s: %s\n", vrpc_status_name(c->status),
				msg ? msg : "");
		c->done = true;
		return;
	}
	c->seen++;
	if (c->json)
		print_json(m);
	else if (c->qubes && m->descriptor == &vapp__firewall__v1__ruleset__descriptor)
		print_qubes((const void *)m);
	else if (m->descriptor == &vapp__firewall__v1__ruleset__descriptor)
		print_ruleset((const void *)m);
	else if (m->descriptor == &vapp__firewall__v1__rule__descriptor)
		printf("added rule %u\n", ((const Vapp__Firewall__V1__Rule *)m)->id);
	else if (m->descriptor == &vapp__firewall__v1__counters__descriptor)
		print_counters((const void *)m);
	else if (m->descriptor == &vapp__firewall__v1__status__descriptor)
		print_status((const void *)m);
	else if (m->descriptor == &vapp__firewall__v1__log_event__descriptor)
		print_event((const void *)m);
	/* A unary reply is the whole call; a stream goes on until NULL. */
	if (m->descriptor != &vapp__firewall__v1__log_event__descriptor) {
		c->status = VRPC_OK;
		c->done = true;
	} else if (c->count && c->seen >= c->count) {
		c->status = VRPC_OK;
		c->done = true;
	}
}

static int parse_uint(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > max || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_action(const char *s, int *out)
{
	if (!strcmp(s, "accept"))
		*out = VAPP__FIREWALL__V1__ACTION__ACTION_ACCEPT;
	else if (!strcmp(s, "drop"))
		*out = VAPP__FIREWALL__V1__ACTION__ACTION_DROP;
	else
		return -1;
	return 0;
}

/* add ACTION [proto P] [to DEST] [port N[-M]] [icmp-type T] [comment TEXT] [before ID] */
static int parse_add(int argc, char **argv, Vapp__Firewall__V1__AddRuleRequest *req,
		     Vapp__Firewall__V1__Rule *r)
{
	static Vapp__Firewall__V1__IcmpMatch icmp = VAPP__FIREWALL__V1__ICMP_MATCH__INIT;
	int action;

	if (argc < 1 || parse_action(argv[0], &action))
		return -1;
	r->action = action;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return -1;
		if (!strcmp(k, "proto")) {
			int p;

			for (p = 0; p < 4 && strcmp(v, proto_name(p)); p++)
				;
			if (p == 4)
				return -1;
			r->protocol = p;
		} else if (!strcmp(k, "to")) {
			r->destination = (char *)v;
		} else if (!strcmp(k, "host")) {
			r->host = (char *)v;
		} else if (!strcmp(k, "special")) {
			if (strcmp(v, "dns"))
				return -1;
			r->special = VAPP__FIREWALL__V1__SPECIAL__SPECIAL_DNS;
		} else if (!strcmp(k, "expire")) {
			/* +N: N seconds from now (this machine's clock); else Unix time. */
			uint32_t secs;

			if (v[0] == '+') {
				if (parse_uint(v + 1, 366u * 86400, &secs))
					return -1;
				r->expire = (uint64_t)time(NULL) + secs;
			} else {
				char *end;

				errno = 0;
				r->expire = strtoull(v, &end, 10);
				if (!*v || *end || errno || v[0] == '-')
					return -1;
			}
		} else if (!strcmp(k, "port")) {
			char buf[16], *dash;

			snprintf(buf, sizeof(buf), "%s", v);
			if ((dash = strchr(buf, '-')))
				*dash = '\0';
			if (parse_uint(buf, 65535, &r->port_min) ||
			    (dash && parse_uint(dash + 1, 65535, &r->port_max)))
				return -1;
		} else if (!strcmp(k, "icmp-type")) {
			if (parse_uint(v, 255, &icmp.type))
				return -1;
			r->icmp = &icmp;
		} else if (!strcmp(k, "comment")) {
			r->comment = (char *)v;
		} else if (!strcmp(k, "before")) {
			if (parse_uint(v, UINT32_MAX, &req->before_id))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* The whole of @p path ("-": standard input), at most MAX_FILE bytes.
 * @return the bytes (NUL-terminated, *@p n long), or NULL (said). */
static char *read_text(const char *path, size_t *n)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf;

	if (!f) {
		fprintf(stderr, "vapp-fw: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_FILE + 1);
	*n = buf ? fread(buf, 1, MAX_FILE + 1, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf || *n > MAX_FILE) {
		fprintf(stderr, "vapp-fw: %s: too large (at most %d bytes)\n", path, MAX_FILE);
		free(buf);
		return NULL;
	}
	buf[*n] = '\0';
	return buf;
}

static ProtobufCMessage *read_ruleset(const char *path)
{
	char *buf, err[256];
	size_t n;
	ProtobufCMessage *m;

	if (!(buf = read_text(path, &n)))
		return NULL;
	m = vrpc_json_to_message(&vapp__firewall__v1__ruleset__descriptor, buf, n, err,
				 sizeof(err));
	free(buf);
	if (!m)
		fprintf(stderr, "vapp-fw: %s: %s\n", path, err);
	return m;
}

/* import's ruleset, read and checked before anything is sent. */
static Vapp__Firewall__V1__Ruleset *imported;

static int read_qubes(const char *path)
{
	char *buf, err[4096];
	size_t n;

	if (!(buf = read_text(path, &n)))
		return -1;
	imported = fw_qubes_import(buf, n, strcmp(path, "-") ? path : "<stdin>", err, sizeof(err));
	free(buf);
	if (!imported) {
		fputs(err, stderr);
		fprintf(stderr, "vapp-fw: %s: nothing imported\n", path);
		return -1;
	}
	return 0;
}

static volatile sig_atomic_t interrupted;
static void on_int(int sig) { interrupted = 1; }

/* Sends the command; the reply arrives in on_reply(). @return 0 or 2 (usage). */
static int start(struct cli *c, int argc, char **argv, ProtobufCMessage **owned)
{
	ProtobufCService *svc = vrpc_client_service(c->cli);
	const char *cmd = argv[0];
	static Vapp__Firewall__V1__Rule rule = VAPP__FIREWALL__V1__RULE__INIT;

	argc--;
	argv++;
	if (!strcmp(cmd, "list") && !argc) {
		Vapp__Firewall__V1__ListRulesRequest q = VAPP__FIREWALL__V1__LIST_RULES_REQUEST__INIT;
		q.guest = c->guest;
		vapp__firewall__v1__firewall__list_rules(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "add")) {
		Vapp__Firewall__V1__AddRuleRequest q = VAPP__FIREWALL__V1__ADD_RULE_REQUEST__INIT;
		q.guest = c->guest;
		q.rule = &rule;
		if (parse_add(argc, argv, &q, &rule))
			return 2;
		vapp__firewall__v1__firewall__add_rule(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "del") && argc == 1) {
		Vapp__Firewall__V1__DeleteRuleRequest q = VAPP__FIREWALL__V1__DELETE_RULE_REQUEST__INIT;
		q.guest = c->guest;
		if (parse_uint(argv[0], UINT32_MAX, &q.id))
			return 2;
		vapp__firewall__v1__firewall__delete_rule(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "replace") && argc == 1) {
		Vapp__Firewall__V1__ReplaceRulesetRequest q =
			VAPP__FIREWALL__V1__REPLACE_RULESET_REQUEST__INIT;
		q.guest = c->guest;
		if (!(*owned = read_ruleset(argv[0])))
			return 1;
		q.ruleset = (void *)*owned;
		vapp__firewall__v1__firewall__replace_ruleset(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "import") && argc == 1) {
		Vapp__Firewall__V1__ReplaceRulesetRequest q =
			VAPP__FIREWALL__V1__REPLACE_RULESET_REQUEST__INIT;
		q.guest = c->guest;
		if (!imported && read_qubes(argv[0]))
			return 1;
		q.ruleset = imported;
		vapp__firewall__v1__firewall__replace_ruleset(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "export") && !argc) {
		Vapp__Firewall__V1__ListRulesRequest q = VAPP__FIREWALL__V1__LIST_RULES_REQUEST__INIT;
		q.guest = c->guest;
		c->qubes = true;
		vapp__firewall__v1__firewall__list_rules(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "policy") && argc == 1) {
		Vapp__Firewall__V1__SetDefaultPolicyRequest q =
			VAPP__FIREWALL__V1__SET_DEFAULT_POLICY_REQUEST__INIT;
		q.guest = c->guest;
		int a;
		if (parse_action(argv[0], &a))
			return 2;
		q.policy = a;
		vapp__firewall__v1__firewall__set_default_policy(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "counters") && !argc) {
		Vapp__Firewall__V1__GetCountersRequest q = VAPP__FIREWALL__V1__GET_COUNTERS_REQUEST__INIT;
		q.guest = c->guest;
		vapp__firewall__v1__firewall__get_counters(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "status") && !argc) {
		Vapp__Firewall__V1__GetStatusRequest q = VAPP__FIREWALL__V1__GET_STATUS_REQUEST__INIT;
		q.guest = c->guest;
		vapp__firewall__v1__firewall__get_status(svc, &q, (void *)on_reply, c);
	} else if (!strcmp(cmd, "log") && argc <= 1) {
		Vapp__Firewall__V1__WatchLogRequest q = VAPP__FIREWALL__V1__WATCH_LOG_REQUEST__INIT;
		q.guest = c->guest;
		if (argc && parse_uint(argv[0], UINT32_MAX, &q.max_per_second))
			return 2;
		vapp__firewall__v1__firewall__watch_log(svc, &q, (void *)on_reply, c);
	} else {
		return 2;
	}
	return 0;
}

/* The options before the command. @return 0, or 2 for a usage error. */
static int parse_opts(int argc, char **argv, struct cli *c, const char **addr)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "guest", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;
	uint32_t v;

	while ((opt = getopt_long(argc, argv, "+c:g:jn:t:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': *addr = optarg; break;
		case 'g': c->guest = optarg; break;
		case 'j': c->json = true; break;
		case 'n':
			if (parse_uint(optarg, UINT32_MAX, &v))
				return 2;
			c->count = v;
			break;
		case 't':
			if (parse_uint(optarg, 3600000, &v))
				return 2;
			c->timeout_ms = (int)v;
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default: return 2;
		}
	}
	return optind < argc ? 0 : 2;
}

/* Waits for the reply, or for a stream's end, -t, or a signal; sets
 * c->status for how it ended. */
static void wait_done(struct cli *c, bool streaming)
{
	uint64_t waited = 0;

	signal(SIGINT, on_int);
	signal(SIGTERM, on_int);
	while (!c->done && !interrupted && (!streaming || waited < (uint64_t)c->timeout_ms)) {
		if (vrpc_client_wait(c->cli, 100) < 0 && !c->done) {
			fprintf(stderr, "vapp-fw: connection lost\n");
			break;
		}
		waited += 100;
	}
	if (streaming && !c->done && c->seen)
		c->status = VRPC_OK; /* stopped by time or signal after events came */
	else if (streaming && !c->done && !interrupted)
		c->status = VRPC_DEADLINE_EXCEEDED;
	else if (interrupted && !c->done)
		c->status = VRPC_CANCELLED;
}

int main(int argc, char **argv)
{
	struct cli c = { .guest = (char *)"", .timeout_ms = 10000, .status = VRPC_UNKNOWN };
	const char *addr = getenv("VAPP_FW_ADDR");
	ProtobufCMessage *owned = NULL;
	bool streaming;
	int rc;

	if (!addr || !*addr)
		addr = DEFAULT_ADDR;
	if (parse_opts(argc, argv, &c, &addr))
		goto usage;
	streaming = !strcmp(argv[optind], "log");
	/* A list with any error is refused here, before anything is sent. */
	if (!strcmp(argv[optind], "import") && argc - optind == 2 && read_qubes(argv[optind + 1]))
		return 1;
	c.cli = vrpc_client_open(addr, &vapp__firewall__v1__firewall__descriptor, NULL);
	if (!c.cli) {
		fprintf(stderr, "vapp-fw: %s: %s\n", addr, strerror(errno));
		return 1;
	}
	/* A stream has no per-call deadline: -t bounds the whole wait instead. */
	vrpc_client_set_timeout(c.cli, streaming ? 0 : c.timeout_ms);
	rc = start(&c, argc - optind, argv + optind, &owned);
	if (rc) {
		vrpc_client_close(c.cli);
		if (rc == 2)
			goto usage;
		return rc;
	}
	wait_done(&c, streaming);
	vrpc_client_close(c.cli);
	if (owned)
		protobuf_c_message_free_unpacked(owned, NULL);
	fw_qubes_free(imported);
	return c.status == VRPC_OK ? 0 : 1;

usage:
	fputs(usage, stderr);
	return 2;
}
