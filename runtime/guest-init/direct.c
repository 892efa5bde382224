/*
 * direct.c - vapp-init's side of direct channels (initconf.h): one folder
 * a channel, /run/vapp/direct/CHAN, made before the daemon starts, where
 * each "direct" line from the host becomes the file libvrpc listens by
 * (vchan-rpc/core/direct.c) and each "direct-end" line removes it. A
 * direct peer is another VM: under Xen a domain with a vchan of its own,
 * under QEMU a guest whose memory an ivshmem device shares with us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

#define DIRECT_ROOT "/run/vapp/direct"

static struct initconf_list chans;

void direct_setup(void)
{
	char *buf, dir[128];
	size_t len;
	int err;

	err = init_read_file(INIT_ETC "/channels", &buf, &len);
	if (err == -ENOENT)
		return;
	if (!err) {
		err = initconf_parse_channels(buf, len, &chans);
		free(buf);
	}
	if (err)
		init_fatal(INIT_ETC "/channels: %s", strerror(-err));
	mkdir("/run/vapp", 0755);
	mkdir(DIRECT_ROOT, 0755);
	for (size_t i = 0; i < chans.n; i++) {
		snprintf(dir, sizeof(dir), DIRECT_ROOT "/%s", chans.v[i]);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			init_fatal("%s: %s", dir, strerror(errno));
	}
}

/* Written as ".PEER", then renamed: libvrpc never reads half a file (and
 * skips names that do not start with a letter or digit). */
static int write_grant(const struct initconf_direct *d)
{
	char path[160], tmp[160], text[2 * INITCONF_LINE_MAX + 80];
	int n = initconf_direct_file(d, text, sizeof(text)), fd;

	if (n < 0)
		return n;
	snprintf(path, sizeof(path), DIRECT_ROOT "/%s/%s", d->chan, d->peer);
	snprintf(tmp, sizeof(tmp), DIRECT_ROOT "/%s/.%s", d->chan, d->peer);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

void direct_line(const char *line)
{
	struct initconf_direct d;
	char path[160];
	int err;

	if (!chans.n || initconf_direct_line(line, &chans, &d)) {
		init_say(INIT_CTL_PORT ": a direct line refused (%.40s%s)", line,
			 strlen(line) > 40 ? "..." : "");
		return;
	}
	if (d.end) {
		snprintf(path, sizeof(path), DIRECT_ROOT "/%s/%s", d.chan, d.peer);
		err = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	} else {
		err = write_grant(&d);
	}
	if (err)
		init_say("direct %s on %s: %s", d.peer, d.chan, strerror(-err));
	else
		init_say("direct %s on %s: %s", d.peer, d.chan, d.end ? "closed" : d.services);
}
