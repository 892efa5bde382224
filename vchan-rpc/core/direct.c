/*
 * direct.c - direct channels: a peer vappd pairs with this server, served
 * on an address of its own, where it may call the services granted to it
 * and nothing else, and is known by the name vappd gave it.
 *
 * vappd decides (its policy grants the peer whole services, direct=yes)
 * and tells the appliance's vapp-init on vapp.ctl, which writes one file a
 * peer into the channel's directory, /run/vapp/direct/CHANNEL/PEER:
 *
 *   ADDRESS       where to listen (under Xen: a vchan granted to the
 *                 peer's domain alone, xen:DOMID:data/vapp/CHANNEL'-DOMID)
 *   LABEL         the peer's name: each call's peer is label:LABEL
 *   SERVICE...    one a line, at least one: what it may HELLO, each
 *                 followed by "!METHOD" lines, one for each of its methods
 *                 the peer may not call (the policy denies it them: they
 *                 get PERMISSION_DENIED here, since no broker sees them)
 *
 * The directory is watched (inotify): a file written (renamed into place)
 * opens or replaces its listener, a file removed closes it; connections
 * already made go on until they end (each holds a copy of its grant). A
 * file that breaks a rule is skipped and said with VRPC_DEBUG.
 *
 * The identity is vappd's word, never the peer's: Xen grants the vchan to
 * that domain alone, and no caller label is taken from a direct peer (it is
 * not the host's broker).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vrpc.h"
#include "server.h"

#define DIRECT_ROOT "/run/vapp/direct"
#define GRANT_MAX 4096
#define NAME_MAX_LEN 63

struct direct_entry {
	char name[NAME_MAX_LEN + 1];
	char *text; /* the file as read: unchanged files keep their listener */
	struct listener_entry *le;
	bool seen;
	struct direct_entry *next;
};

struct direct_watch {
	enum ev_kind kind; /* EV_DIRECT; first, like struct sconn */
	struct vrpc_server *srv;
	int fd; /* inotify */
	char dir[PATH_MAX];
	struct direct_entry *entries;
	struct direct_watch *next;
};

static bool alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9][A-Za-z0-9 and @p more]*, at most @p max bytes. */
static bool name_ok(const char *s, size_t n, size_t max, const char *more)
{
	if (!n || n > max || !alnum(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!alnum(s[i]) && (!s[i] || !strchr(more, s[i])))
			return false;
	return true;
}

/* One line of @p text from *@p pos: [*start, *len). @return false at the end. */
static bool next_line(const char *text, size_t *pos, const char **start, size_t *len)
{
	const char *s = text + *pos, *nl;

	if (!*s)
		return false;
	nl = strchr(s, '\n');
	*start = s;
	*len = nl ? (size_t)(nl - s) : strlen(s);
	*pos += *len + (nl ? 1 : 0);
	return true;
}

/* The file's three parts; @p services gets "A\0B\0\0". @return 0 or -EINVAL. */
static int parse_grant(const char *text, char *addr, size_t addrlen, char *label,
		       char *services, size_t *services_len)
{
	size_t pos = 0, len, used = 0;
	const char *s;

	if (!next_line(text, &pos, &s, &len) || !len || len >= addrlen ||
	    memchr(s, ' ', len) || memchr(s, '\t', len))
		return -EINVAL;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (!next_line(text, &pos, &s, &len) || !name_ok(s, len, NAME_MAX_LEN, "_.-"))
		return -EINVAL;
	memcpy(label, s, len);
	label[len] = '\0';
	while (next_line(text, &pos, &s, &len)) {
		bool ok = len && s[0] == '!' ? used && name_ok(s + 1, len - 1, 255, "_")
					     : name_ok(s, len, 255, "_.");

		if (!ok)
			return -EINVAL;
		memcpy(services + used, s, len);
		used += len;
		services[used++] = '\0';
	}
	if (!used)
		return -EINVAL;
	services[used++] = '\0';
	*services_len = used;
	return 0;
}

static char *read_grant(const char *dir, const char *name)
{
	char path[PATH_MAX], *buf;
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	buf = malloc(GRANT_MAX + 1);
	while (buf && got < GRANT_MAX && (n = read(fd, buf + got, GRANT_MAX - got)) > 0)
		got += (size_t)n;
	close(fd);
	if (!buf || got == GRANT_MAX || memchr(buf, '\0', got)) {
		free(buf);
		return NULL;
	}
	buf[got] = '\0';
	return buf;
}

static void entry_open(struct direct_watch *w, struct direct_entry *e)
{
	char addr[256], label[NAME_MAX_LEN + 1], services[GRANT_MAX + 1];
	size_t len;

	if (parse_grant(e->text, addr, sizeof(addr), label, services, &len)) {
		vrpc_debug("direct %s/%s: not ADDRESS, LABEL, SERVICE... a line: skipped", w->dir,
			   e->name);
		return;
	}
	e->le = vrpc_server_listen_granted(w->srv, addr, label, services, len);
	if (!e->le)
		vrpc_debug("direct %s/%s: listen on %s: %s", w->dir, e->name, addr,
			   strerror(errno));
}

static void entry_free(struct direct_watch *w, struct direct_entry *e)
{
	if (e->le)
		vrpc_server_unlisten(w->srv, e->le);
	free(e->text);
	free(e);
}

/* The directory as it is now: new and changed files (re)opened, files
 * gone closed. */
static void rescan(struct direct_watch *w)
{
	struct direct_entry **pp, *e;
	struct dirent *de;
	DIR *d = opendir(w->dir);

	for (e = w->entries; e; e = e->next)
		e->seen = false;
	while (d && (de = readdir(d))) {
		char *text;

		if (!name_ok(de->d_name, strlen(de->d_name), NAME_MAX_LEN, "_.-"))
			continue; /* ".", "..", and vapp-init's temporary ".NAME" */
		text = read_grant(w->dir, de->d_name);
		if (!text)
			continue;
		for (e = w->entries; e && strcmp(e->name, de->d_name); e = e->next)
			;
		if (e && !strcmp(e->text, text)) {
			e->seen = true;
			free(text);
			continue;
		}
		if (e) {
			if (e->le)
				vrpc_server_unlisten(w->srv, e->le);
			e->le = NULL;
			free(e->text);
		} else if (!(e = calloc(1, sizeof(*e)))) {
			free(text);
			continue;
		} else {
			snprintf(e->name, sizeof(e->name), "%s", de->d_name);
			e->next = w->entries;
			w->entries = e;
		}
		e->text = text;
		e->seen = true;
		entry_open(w, e);
	}
	if (d)
		closedir(d);
	for (pp = &w->entries; (e = *pp);) {
		if (e->seen) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		entry_free(w, e);
	}
}

void vrpc_direct_ready(struct direct_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
	rescan(w);
}

int vrpc_server_watch_direct(struct vrpc_server *srv, const char *dir)
{
	struct direct_watch *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!w)
		return -ENOMEM;
	if (snprintf(w->dir, sizeof(w->dir), "%s", dir) >= (int)sizeof(w->dir)) {
		free(w);
		return -ENAMETOOLONG;
	}
	w->kind = EV_DIRECT;
	w->srv = srv;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ev.data.ptr = w;
	if (w->fd < 0 ||
	    inotify_add_watch(w->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
					 IN_DELETE | IN_ONLYDIR) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0) {
		err = -errno;
		if (w->fd >= 0)
			close(w->fd);
		free(w);
		return err;
	}
	w->next = srv->directs;
	srv->directs = w;
	rescan(w);
	return 0;
}

int vrpc_chan_watch_direct(struct vrpc_server *srv, const char *chan)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), DIRECT_ROOT "/%s", chan);
	if (access(dir, F_OK) < 0)
		return 0; /* vapp-init makes it in an appliance: elsewhere no direct peers */
	return vrpc_server_watch_direct(srv, dir);
}

void vrpc_direct_free_all(struct vrpc_server *srv)
{
	while (srv->directs) {
		struct direct_watch *w = srv->directs;

		srv->directs = w->next;
		while (w->entries) {
			struct direct_entry *e = w->entries;

			w->entries = e->next;
			entry_free(w, e);
		}
		close(w->fd);
		free(w);
	}
}
