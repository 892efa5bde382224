/*
 * resolver.c - the DNS names that rules use, kept resolved. Each name is
 * asked of the --dns server (A and AAAA, over one UDP socket on the
 * daemon's loop, never blocking it); its addresses go into the nftables sets
 * its rules match (nft.c: h4-NAME, h6-NAME), and it is asked again when the
 * least TTL of the answer runs out (2 s at least, an hour at most).
 *
 * A name that does not resolve - no answer within 2 s, NXDOMAIN, SERVFAIL,
 * no server configured - has no addresses: its rules match nothing, so an
 * accept opens nothing. It is asked again 5 s later. Answers are taken only
 * with the id and the question of a query in flight (dns.c checks them), so
 * a stray or forged datagram must guess a random 16-bit id per query.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vrpc.h"
#include "fw.h"

#define ANSWER_WAIT_MS 2000
#define RETRY_MS 5000
#define TTL_MIN_S 2
#define TTL_MAX_S 3600

enum { F4, F6 };

struct host {
	char name[FW_HOST_MAX + 1];
	bool used;                  /* fw_resolver_sync()'s mark */
	struct fw_host_addrs now;   /* in force (in the sets) */
	struct fw_dns_result got[2];
	bool waiting[2];            /* a query in flight, A and AAAA */
	bool answered[2];
	uint16_t id[2];
	uint64_t sent_ms;
	uint64_t due_ms;            /* when to ask again */
};

struct fw_resolver {
	int fd;                     /* -1: no server: names never resolve */
	struct host hosts[FW_MAX_HOSTS];
	size_t n;
	struct vrpc_loop *loop;
	struct fw_nft *nft;
	int timer;                  /* 0: none armed */
};

static void schedule(struct fw_resolver *res);

static struct host *find(const struct fw_resolver *res, const char *name)
{
	for (size_t i = 0; i < res->n; i++)
		if (!strcmp(res->hosts[i].name, name))
			return (struct host *)&res->hosts[i];
	return NULL;
}

const struct fw_host_addrs *fw_resolver_addrs(const struct fw_resolver *res, const char *host)
{
	const struct host *h = res ? find(res, host) : NULL;

	return h ? &h->now : NULL;
}

static void put_in_force(struct fw_resolver *res, struct host *h, const struct fw_host_addrs *a,
			 const char *how)
{
	char list[4 * INET6_ADDRSTRLEN] = "", t[INET6_ADDRSTRLEN];
	size_t at = 0;

	if (!memcmp(&h->now, a, sizeof(*a)))
		return;
	h->now = *a;
	for (size_t i = 0; i < a->n4 + a->n6 && at < sizeof(list) - INET6_ADDRSTRLEN - 2; i++) {
		if (i < a->n4)
			inet_ntop(AF_INET, a->a4[i], t, sizeof(t));
		else
			inet_ntop(AF_INET6, a->a6[i - a->n4], t, sizeof(t));
		at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%s", at ? " " : "", t);
	}
	fprintf(stderr, "vapp-firewalld: %s: %s (%s)\n", h->name, at ? list : "no address", how);
	if (res->nft)
		fw_nft_set_host(res->nft, h->name, &h->now);
}

/* Both answers are in, or the wait ran out: what the families that
 * answered hold goes in force. One family refused or missing leaves the
 * other's addresses; no address at all is a name that does not resolve. */
static void settle(struct fw_resolver *res, struct host *h, uint64_t now)
{
	struct fw_host_addrs a = { 0 };
	uint32_t ttl = TTL_MAX_S;
	char how[48];

	for (int f = F4; f <= F6; f++) {
		const struct fw_dns_result *r = &h->got[f];

		if (!h->answered[f] || r->rcode || !r->n)
			continue;
		for (size_t i = 0; i < r->n; i++) {
			if (f == F4)
				memcpy(a.a4[a.n4++], r->addr[i], 4);
			else
				memcpy(a.a6[a.n6++], r->addr[i], 16);
		}
		if (r->ttl < ttl)
			ttl = r->ttl;
	}
	if (a.n4 + a.n6) {
		if (ttl < TTL_MIN_S)
			ttl = TTL_MIN_S;
		h->due_ms = now + (uint64_t)ttl * 1000;
		snprintf(how, sizeof(how), "ttl %u s", (unsigned)ttl);
	} else {
		/* Does not resolve: matches nothing until it does. */
		h->due_ms = now + RETRY_MS;
		snprintf(how, sizeof(how), "%s",
			 !h->answered[F4] && !h->answered[F6] ? "no answer" : "not found");
	}
	h->waiting[F4] = h->waiting[F6] = false;
	put_in_force(res, h, &a, how);
}

static void ask(struct fw_resolver *res, struct host *h, uint64_t now)
{
	uint8_t q[FW_HOST_MAX + 32];

	h->sent_ms = now;
	memset(h->answered, 0, sizeof(h->answered));
	for (int f = F4; f <= F6; f++) {
		int len;

		if (getrandom(&h->id[f], sizeof(h->id[f]), 0) != sizeof(h->id[f]))
			h->id[f] = (uint16_t)(now * 2654435761u >> 7) ^ (uint16_t)f;
		len = fw_dns_query(q, sizeof(q), h->id[f], h->name, f == F4 ? AF_INET : AF_INET6);
		h->waiting[f] = true;
		if (len < 0 || send(res->fd, q, (size_t)len, MSG_DONTWAIT) != len)
			h->waiting[f] = false; /* counts as no answer when the wait ends */
	}
}

static void on_timer(void *ud)
{
	struct fw_resolver *res = ud;
	uint64_t now = fw_now_ms();

	res->timer = 0;
	for (size_t i = 0; i < res->n; i++) {
		struct host *h = &res->hosts[i];

		if ((h->waiting[F4] || h->waiting[F6]) && now - h->sent_ms < ANSWER_WAIT_MS)
			continue;
		if (h->sent_ms && h->due_ms <= h->sent_ms)
			settle(res, h, now); /* the wait ran out */
		else if (now >= h->due_ms)
			ask(res, h, now);
	}
	schedule(res);
}

/* Arms the timer for the soonest due query or answer wait. */
static void schedule(struct fw_resolver *res)
{
	uint64_t now = fw_now_ms(), soon = UINT64_MAX;

	if (res->fd < 0)
		return;
	for (size_t i = 0; i < res->n; i++) {
		const struct host *h = &res->hosts[i];
		uint64_t at = h->due_ms;

		if (h->sent_ms && h->due_ms <= h->sent_ms)
			at = h->sent_ms + ANSWER_WAIT_MS;
		if (at < soon)
			soon = at;
	}
	if (res->timer) {
		vrpc_loop_cancel_timer(res->loop, res->timer);
		res->timer = 0;
	}
	if (soon == UINT64_MAX)
		return;
	res->timer = vrpc_loop_add_timer(res->loop, soon > now ? (int)(soon - now) : 1, on_timer,
					 res);
	if (res->timer < 0)
		res->timer = 0;
}

static void on_answer(void *ud, int fd, short revents)
{
	struct fw_resolver *res = ud;
	uint8_t buf[1500];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		for (size_t i = 0; i < res->n; i++) {
			struct host *h = &res->hosts[i];

			for (int f = F4; f <= F6; f++) {
				if (!h->waiting[f] || h->answered[f] ||
				    fw_dns_answer(buf, (size_t)n, h->id[f], h->name,
						  f == F4 ? AF_INET : AF_INET6, &h->got[f]))
					continue;
				h->answered[f] = true;
			}
			if ((h->waiting[F4] || h->waiting[F6]) && h->answered[F4] && h->answered[F6])
				settle(res, h, fw_now_ms());
		}
	}
	schedule(res);
}

struct fw_resolver *fw_resolver_new(const char *server, struct vrpc_loop *loop)
{
	struct fw_resolver *res = calloc(1, sizeof(*res));
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	if (!res)
		return NULL;
	res->fd = -1;
	res->loop = loop;
	if (!server)
		return res;
	if (inet_pton(AF_INET, server, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(53);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, server, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
		len = sizeof(*s6);
	} else {
		free(res);
		errno = EINVAL;
		return NULL;
	}
	res->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (res->fd < 0 || connect(res->fd, (struct sockaddr *)&ss, len) < 0 ||
	    (loop && vrpc_loop_add_fd(loop, res->fd, POLLIN, on_answer, res) < 0)) {
		int err = errno;

		fw_resolver_free(res);
		errno = err;
		return NULL;
	}
	return res;
}

void fw_resolver_free(struct fw_resolver *res)
{
	if (!res)
		return;
	if (res->timer)
		vrpc_loop_cancel_timer(res->loop, res->timer);
	if (res->fd >= 0) {
		if (res->loop)
			vrpc_loop_del_fd(res->loop, res->fd);
		close(res->fd);
	}
	free(res);
}

void fw_resolver_set_nft(struct fw_resolver *res, struct fw_nft *nft)
{
	res->nft = nft;
}

/* How many names @p rs uses that the table does not hold yet. */
static size_t new_names(const struct fw_resolver *res, const struct fw_ruleset *rs)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n; i++) {
		const char *name = rs->rules[i].host;
		bool seen = !name[0] || find(res, name);

		for (size_t j = 0; !seen && j < i; j++)
			seen = !strcmp(rs->rules[j].host, name);
		n += !seen;
	}
	return n;
}

int fw_resolver_check(const struct fw_resolver *res, const struct fw_ruleset *rs, char *why,
		      size_t whylen)
{
	size_t more = new_names(res, rs);

	if (res->n + more > FW_MAX_HOSTS) {
		snprintf(why, whylen, "rules: %zu more host names, and %zu are in use: at most %d in all",
			 more, res->n, FW_MAX_HOSTS);
		return -ENOSPC;
	}
	return 0;
}

int fw_resolver_sync(struct fw_resolver *res, const struct fw_ruleset *const *rs, size_t n,
		     char *why, size_t whylen)
{
	uint64_t now = fw_now_ms();
	int err = 0;

	for (size_t i = 0; i < res->n; i++)
		res->hosts[i].used = false;
	for (size_t g = 0; g < n; g++) {
		for (size_t i = 0; i < rs[g]->n; i++) {
			const char *name = rs[g]->rules[i].host;
			struct host *h;

			if (!name[0])
				continue;
			if ((h = find(res, name))) {
				h->used = true;
				continue;
			}
			if (res->n == FW_MAX_HOSTS) {
				snprintf(why, whylen, "at most %d host names", FW_MAX_HOSTS);
				err = -ENOSPC;
				continue;
			}
			h = &res->hosts[res->n++];
			memset(h, 0, sizeof(*h));
			snprintf(h->name, sizeof(h->name), "%s", name);
			h->used = true;
			h->due_ms = now; /* ask at once */
		}
	}
	/* Names no rule uses any more: their sets go, their slots close up. */
	for (size_t i = 0; i < res->n;) {
		if (res->hosts[i].used) {
			i++;
			continue;
		}
		if (res->nft)
			fw_nft_drop_host(res->nft, res->hosts[i].name);
		res->hosts[i] = res->hosts[--res->n];
	}
	if (res->fd >= 0) {
		for (size_t i = 0; i < res->n; i++)
			if (res->hosts[i].due_ms <= now && !res->hosts[i].sent_ms)
				ask(res, &res->hosts[i], now);
		schedule(res);
	}
	return err;
}
