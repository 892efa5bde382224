/*
 * fw.h - the firewall appliance's daemon (vapp-firewalld): private interfaces
 * between its parts.
 *
 *   rules.c    the typed rule model, checked field by field (every refusal
 *              names the field), to and from the protobuf messages
 *   nft.c      the model as an nftables JSON ruleset, put in force through
 *              libnftables in one transaction; counters read back
 *   store.c    the ruleset in the state volume (temp file, fsync, rename)
 *   dns.c      DNS queries and answers on the wire, checked byte by byte
 *   resolver.c the names rules use: asked of --dns, refreshed by TTL, their
 *              addresses put in nftables sets
 *   nflog.c    drop events from nfnetlink_log (libmnl), parsed defensively
 *   net.c      the NICs (the uplink, one per guest): ip_forward, RAs off
 *   service.c  the RPC methods
 *   main.c     options and the boot order (ruleset in force, then forwarding)
 *
 * Error convention: -errno, with a one-line reason in a caller's buffer
 * where a person will read it.
 */
#ifndef FW_H
#define FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "appliances/firewall/firewall.pb-c.h"

#define FW_MAX_RULES 1024
#define FW_LOG_GROUP 7   /* nfnetlink_log group the drop rules log to */
#define FW_TABLE "vapp_fw"
#define FW_REASON_LEN 256
#define FW_COMMENT_MAX 64
#define FW_MAX_GUESTS 8
#define FW_GUEST_NAME_MAX 15 /* [a-z0-9][a-z0-9_-]*: a chain name and a vappd guest */
#define FW_HOST_MAX 253      /* a DNS name, dotted, no trailing dot */
#define FW_DNS_MAX_ADDRS 16  /* addresses kept per name and family */
#define FW_MAX_HOSTS 64      /* names the rules of all guests may use */
#define FW_MAX_FORWARDS 16   /* port forwards a guest may have */

enum fw_proto { FW_ANY, FW_TCP, FW_UDP, FW_ICMP };
enum fw_action { FW_ACCEPT = 1, FW_DROP = 2 };

struct fw_rule {
	uint32_t id;
	enum fw_proto proto;
	int family;          /* 0: any destination, AF_INET or AF_INET6 */
	uint8_t addr[16];    /* network byte order, host bits zero */
	uint8_t plen;        /* prefix length; 32/128 for one address */
	uint16_t port_min;   /* 0: any */
	uint16_t port_max;   /* == port_min for one port */
	enum fw_action action;
	bool has_icmp_type;  /* proto FW_ICMP: only this type (zeroed: any) */
	uint8_t icmp_type;
	char comment[FW_COMMENT_MAX + 1];
	char host[FW_HOST_MAX + 1]; /* a DNS name instead of a destination, or "" */
	uint64_t expire;     /* Unix seconds it goes at; 0: never */
	bool dns;            /* special DNS: the --dns server, port 53 */
};

/* A port forward: uplink port -> an address:port of the guest. */
struct fw_forward {
	enum fw_proto proto; /* FW_TCP or FW_UDP */
	uint16_t port;
	uint8_t to[4];       /* IPv4, network byte order */
	uint16_t to_port;
};

struct fw_ruleset {
	struct fw_rule *rules;
	size_t n;
	enum fw_action policy;
	uint64_t generation;
	uint32_t next_id;    /* the next id AddRule hands out */
	struct fw_forward fwd[FW_MAX_FORWARDS];
	size_t n_fwd;
};

/* rules.c */
/**
 * Checks @p in and fills @p out. @p field names the rule in messages
 * ("rule", "ruleset.rules[3]"). @return 0, or -EINVAL with @p why set to
 * "FIELD.sub: what is wrong".
 */
int fw_rule_from_pb(const Vapp__Firewall__V1__Rule *in, const char *field,
		    struct fw_rule *out, char *why, size_t whylen);
/** Checks a whole ruleset; ids given must be unique, 0 gets a fresh one. */
int fw_ruleset_from_pb(const Vapp__Firewall__V1__Ruleset *in, const struct fw_ruleset *cur,
		       struct fw_ruleset *out, char *why, size_t whylen);
int fw_action_from_pb(int action, const char *field, enum fw_action *out, char *why,
		      size_t whylen);
/** The default: no rules, policy @p policy. */
void fw_ruleset_init(struct fw_ruleset *rs, enum fw_action policy);
int fw_ruleset_copy(const struct fw_ruleset *src, struct fw_ruleset *dst);
void fw_ruleset_fini(struct fw_ruleset *rs);
ssize_t fw_ruleset_find(const struct fw_ruleset *rs, uint32_t id);
/** @return 0 or -ENOMEM; the rule slot was made at @p pos. */
int fw_ruleset_insert(struct fw_ruleset *rs, size_t pos, const struct fw_rule *r);
void fw_ruleset_remove(struct fw_ruleset *rs, size_t pos);
/* A rule in message form, with the storage its fields point into. */
struct fw_pb_rule {
	Vapp__Firewall__V1__Rule rule;
	Vapp__Firewall__V1__IcmpMatch icmp;
	char addr[64];
	char comment[FW_COMMENT_MAX + 1];
};
struct fw_resolver;
/** @p out points into @p r (host): valid while @p r is. */
void fw_rule_to_pb(const struct fw_rule *r, struct fw_pb_rule *out);
/** Fills @p out; with @p res, each host rule's addresses in force go into
 * its `resolved`. Free with fw_ruleset_pb_free(). @return 0 or -ENOMEM. */
int fw_ruleset_to_pb(const struct fw_ruleset *rs, const struct fw_resolver *res,
		     Vapp__Firewall__V1__Ruleset *out);
void fw_ruleset_pb_free(Vapp__Firewall__V1__Ruleset *out);
/** "10.0.0.0/8", "2001:db8::1", "any". */
void fw_rule_dest_str(const struct fw_rule *r, char *buf, size_t len);

/** A guest name fit for a chain, a file and vappd: 1..15 of [a-z0-9_-],
 * starting with a letter or digit. */
bool fw_guest_name_ok(const char *s);
struct fw_guest_if;
/**
 * Checks guest @p g's forwards in @p rs: each to an address of its own
 * IPv4 network, and no uplink port another guest's @p others[] (NULL ones
 * skipped) forwards already. @return 0 or -EINVAL (@p why).
 */
int fw_forwards_check(const struct fw_ruleset *rs, const struct fw_guest_if *g,
		      const struct fw_ruleset *const *others, size_t n, char *why, size_t whylen);

/* dns.c */
struct fw_dns_result {
	int rcode;            /* 0: the name has records (maybe none of this family) */
	size_t n;
	uint8_t addr[FW_DNS_MAX_ADDRS][16];
	uint32_t ttl;         /* the least of the records' */
};
/** A host name a rule may name: dotted labels of a-z 0-9 - _, 1..63 each,
 * 253 in all, lower case, no trailing dot. */
bool fw_host_name_ok(const char *s);
/** A query for @p host's A (AF_INET) or AAAA records into @p buf.
 * @return its length, or -EINVAL. */
int fw_dns_query(uint8_t *buf, size_t len, uint16_t id, const char *host, int family);
/** Reads answer @p m to that query. @return 0 (out filled), or -EPROTO
 * (not an answer to it, or malformed). */
int fw_dns_answer(const uint8_t *m, size_t len, uint16_t id, const char *host, int family,
		  struct fw_dns_result *out);

/* resolver.c */
struct fw_nft;
/* The addresses in force for one name, in each family. */
struct fw_host_addrs {
	size_t n4, n6;
	uint8_t a4[FW_DNS_MAX_ADDRS][4];
	uint8_t a6[FW_DNS_MAX_ADDRS][16];
};
struct vrpc_loop;
/** @p server: the DNS server's address (port 53), or NULL: names never
 * resolve (their rules match nothing). */
struct fw_resolver *fw_resolver_new(const char *server, struct vrpc_loop *loop);
void fw_resolver_free(struct fw_resolver *res);
/** Where answers go (nftables sets); set once the table exists. */
void fw_resolver_set_nft(struct fw_resolver *res, struct fw_nft *nft);
/** The names in @p rs[0..n-1]'s rules are the ones to keep resolved: new
 * ones are asked at once, names no rule uses any more are forgotten (their
 * sets deleted). @return 0, or -ENOSPC (over FW_MAX_HOSTS: @p why). */
int fw_resolver_sync(struct fw_resolver *res, const struct fw_ruleset *const *rs, size_t n,
		     char *why, size_t whylen);
/** Would the names of @p rs fit beside those in use? @return 0 or -ENOSPC. */
int fw_resolver_check(const struct fw_resolver *res, const struct fw_ruleset *rs, char *why,
		      size_t whylen);
/** The addresses in force for @p host (none if unknown). */
const struct fw_host_addrs *fw_resolver_addrs(const struct fw_resolver *res, const char *host);

/* nft.c */
/* One guest behind the firewall: its NIC and the networks it may send from. */
struct fw_guest_if {
	char name[FW_GUEST_NAME_MAX + 1];
	char ifname[16];
	/* "A/N" with the host bits cleared, or "" (that family's traffic from
	 * this guest is not its own: dropped). */
	char net4[24];
	char net6[56];
};
struct fw_ifaces {
	char uplink[16];
	char dns[INET6_ADDRSTRLEN]; /* the --dns server, or "" (special DNS then matches nothing) */
	struct fw_guest_if guests[FW_MAX_GUESTS];
	size_t n_guests;
};
struct fw_count {
	uint32_t id;
	uint64_t packets, bytes;
};
struct fw_guest_counts {
	struct fw_count *rules; /* in ruleset order */
	size_t n;
	struct fw_count policy;
	struct fw_count spoof;  /* both families' anti-spoofing rules, summed */
	struct fw_count guest;  /* new flows to another guest no rule accepted */
};
struct fw_counts {
	struct fw_guest_counts g[FW_MAX_GUESTS]; /* in fw_ifaces order */
	struct fw_count uplink;
};
void fw_counts_free(struct fw_counts *c);
struct fw_nft *fw_nft_open(const struct fw_ifaces *ifs);
void fw_nft_close(struct fw_nft *nft);
/**
 * Puts the rulesets in force, @p rs[i] for guest i: the whole table in one
 * transaction (so the kernel holds the old rulesets or the new ones, never
 * a mix). At boot, and to go back to drop-all.
 */
int fw_nft_apply(struct fw_nft *nft, const struct fw_ruleset *const *rs, char *why,
		 size_t whylen);
/**
 * Puts guest @p gi's ruleset @p rs in force: its chain flushed and filled
 * in one transaction (the kernel holds its old rules or the new ones, never
 * a mix; no other guest's chain is touched), its counters carried over by
 * rule id. On failure nothing changed.
 */
int fw_nft_apply_guest(struct fw_nft *nft, size_t gi, const struct fw_ruleset *rs, char *why,
		       size_t whylen);
/** Reads guest @p gi's counters into out->g[gi], and the uplink's; free
 * with fw_counts_free(). */
int fw_nft_counters(struct fw_nft *nft, size_t gi, struct fw_counts *out);
/** The JSON document fw_nft_apply() runs (malloc'd), for tests and --print. */
char *fw_nft_json(const struct fw_ruleset *const *rs, const struct fw_ifaces *ifs,
		  const struct fw_counts *carry, const struct fw_resolver *res);
/** The one fw_nft_apply_guest() runs, for tests. */
char *fw_nft_guest_json(const struct fw_ifaces *ifs, size_t gi, const struct fw_ruleset *rs,
			const struct fw_guest_counts *carry, const struct fw_resolver *res);
/** Host @p host's sets now hold @p a (one transaction). */
int fw_nft_set_host(struct fw_nft *nft, const char *host, const struct fw_host_addrs *a);
/** Deletes host @p host's sets (no rule refers to them any more). */
int fw_nft_drop_host(struct fw_nft *nft, const char *host);
/** The resolver whose addresses the documents carry (NULL: none). */
void fw_nft_set_resolver(struct fw_nft *nft, const struct fw_resolver *res);

/* store.c: guest NAME's ruleset is DIR/ruleset-NAME.pb */
/**
 * Reads guest @p guest's ruleset; with @p legacy, DIR/ruleset.pb (a
 * one-guest firewall's file) when the guest has none yet.
 * @return 0, -ENOENT (none yet), -EINVAL (unreadable: @p why).
 */
int fw_store_load(const char *dir, const char *guest, bool legacy, struct fw_ruleset *rs,
		  char *why, size_t whylen);
/** The file's bytes to a checked ruleset (exposed for the fuzzer). */
int fw_store_parse(const uint8_t *buf, size_t len, struct fw_ruleset *rs, char *why,
		   size_t whylen);
/**
 * Writes the ruleset to DIR/ruleset-NAME.pb.new and syncs it;
 * fw_store_commit() then renames it into place and syncs the folder. A
 * crash before the rename leaves the old file, after it the new one.
 */
int fw_store_prepare(const char *dir, const char *guest, const struct fw_ruleset *rs);
int fw_store_commit(const char *dir, const char *guest);
void fw_store_abort(const char *dir, const char *guest);

/* nflog.c */
struct fw_nflog;
struct fw_drop {
	uint64_t time_ms;
	uint32_t rule_id;
	const char *reason;    /* "rule", "default", "uplink", "spoof", "guest" */
	int family;
	uint8_t ip_proto;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	uint16_t sport, dport;
	uint32_t length;
	char in_if[16];
};
typedef void (*fw_drop_fn)(void *ud, const struct fw_drop *d);
struct fw_nflog *fw_nflog_open(uint16_t group, fw_drop_fn fn, void *ud);
void fw_nflog_close(struct fw_nflog *l);
int fw_nflog_fd(const struct fw_nflog *l);
/** Reads what is queued. @return 0 or -errno. */
int fw_nflog_process(struct fw_nflog *l);
/** Parses one NFULNL_MSG_PACKET netlink message (exposed for the fuzzer and tests). */
int fw_nflog_parse(const void *buf, size_t len, struct fw_drop *d);

/* net.c */
int fw_net_forwarding(bool on);
bool fw_net_forwarding_on(void);
/** The network of @p cidr ("10.99.2.1/24" -> "10.99.2.0/24") into @p out.
 * @return 0, or -EINVAL. */
int fw_net_prefix(const char *cidr, char *out, size_t len);
/** IPv6: no router advertisements or redirects taken, on @p ifs and all. */
void fw_net_no_ra(const char *const *ifs, size_t n);

uint64_t fw_now_ms(void);
/** The wall clock in Unix seconds, or 0 when it is not set (before 2020:
 * a VM with no RTC starts at 1970). */
uint64_t fw_wall_s(void);

/* service.c: the daemon's state and its RPC methods */
struct vrpc_loop;
struct fw_watch;

struct fw_guest {
	struct fw_ruleset rs;         /* the ruleset in force */
	char source[160];             /* where the boot ruleset came from */
};

struct fw_daemon {
	struct fw_guest guests[FW_MAX_GUESTS]; /* guests[i] is ifs.guests[i] */
	struct fw_nft *nft;
	struct fw_resolver *resolver; /* the names rules use */
	struct fw_ifaces ifs;
	const char *state_dir;        /* NULL: nothing persists */
	uint64_t boot_ms;
	uint64_t log_events, log_suppressed;
	struct fw_watch *watches;
	unsigned n_watches;
	struct vrpc_loop *loop;
	int expire_timer;             /* the next rule expiry, 0: none armed */
	Vapp__Firewall__V1__Firewall_Service svc;
};

void fw_service_init(struct fw_daemon *d);
/** Hands a drop event to every WatchLog stream (an fw_drop_fn). */
void fw_service_drop(void *ud, const struct fw_drop *drop);
/** Ends streams whose callers left (on each new watcher and each drop). */
void fw_service_sweep(struct fw_daemon *d);
/** Ends every stream (at exit). */
void fw_service_fini(struct fw_daemon *d);
/** Removes the rules whose expire has come, and arms the timer for the
 * next (once the loop runs; after each change too). */
void fw_service_expire(struct fw_daemon *d);

#endif /* FW_H */
