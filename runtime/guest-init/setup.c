/*
 * setup.c - vapp-init's one-time steps before the daemon starts: file
 * systems, console, host name, loopback, modules, channels, state volume.
 * Each step ends the VM with a reason when something essential fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

/* Linux 6.4: finit_module() decompresses a .ko.xz/.gz/.zst itself. Older
 * kernels refuse the flag (EINVAL), which the message then says. */
#ifndef MODULE_INIT_COMPRESSED_FILE
#define MODULE_INIT_COMPRESSED_FILE 4
#endif

#define POLL_STEP_MS 20

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void mkdir_p(const char *path, mode_t mode)
{
	char tmp[INITCONF_LINE_MAX + 32];
	char *p;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s", path) >= sizeof(tmp))
		return;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(tmp, 0755);
		*p = '/';
	}
	mkdir(tmp, mode);
}

struct mnt {
	const char *type, *dir, *opts;
	mode_t mode;
	unsigned long flags;
};

/* devtmpfs first after /proc and /sys: the console and every later device
 * node live there. */
static const struct mnt mounts[] = {
	{ "proc", "/proc", NULL, 0555, MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "sysfs", "/sys", NULL, 0555, MS_NOSUID | MS_NODEV | MS_NOEXEC },
	{ "devtmpfs", "/dev", "mode=0755", 0755, MS_NOSUID },
	{ "devpts", "/dev/pts", "mode=0620,ptmxmode=0666", 0755, MS_NOSUID | MS_NOEXEC },
	{ "tmpfs", "/dev/shm", "mode=1777", 01777, MS_NOSUID | MS_NODEV },
	{ "tmpfs", "/run", "mode=0755", 0755, MS_NOSUID | MS_NODEV },
	{ "tmpfs", "/tmp", "mode=1777", 01777, MS_NOSUID | MS_NODEV },
};

void setup_mounts(void)
{
	size_t i;

	for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		const struct mnt *m = &mounts[i];

		mkdir_p(m->dir, m->mode);
		/* EBUSY: the kernel mounted it already (devtmpfs.mount=1). */
		if (mount(m->type, m->dir, m->type, m->flags, m->opts) < 0 && errno != EBUSY)
			init_fatal("mount %s on %s: %s", m->type, m->dir, strerror(errno));
	}
	/* What udev would add and some programs expect. */
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
}

/* The kernel gave PID 1 /dev/console only if the initramfs had the node;
 * now devtmpfs surely has it, so take it again for 0, 1 and 2. Without a
 * console they still must not stay closed: the next open() would get fd 1,
 * and every message would go wherever that file is (the control port). */
void setup_console(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return; /* nowhere to say so; the steps after still run */
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

void setup_hostname(void)
{
	char name[INITCONF_NAME_MAX + 1];
	char *buf;
	size_t len;
	int err;

	err = init_read_file(INIT_ETC "/name", &buf, &len);
	if (!err) {
		err = initconf_parse_name(buf, len, name);
		free(buf);
	}
	if (err) {
		init_say("no appliance name in " INIT_ETC "/name (%s), host name \"vapp\"",
			 strerror(-err));
		strcpy(name, "vapp");
	}
	if (sethostname(name, strlen(name)) < 0)
		init_say("sethostname %s: %s", name, strerror(errno));
}

/* Up is enough: the kernel gives a loopback device 127.0.0.1/8 and ::1 as
 * it comes up. */
void setup_loopback(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		init_say("lo: socket: %s", strerror(errno));
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		init_say("lo: %s", strerror(errno));
		goto out_sock;
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		init_say("lo: up: %s", strerror(errno));
out_sock:
	close(s);
}

static bool is_compressed(const char *path)
{
	static const char *const ext[] = { ".xz", ".gz", ".zst" };
	size_t n = strlen(path), i, e;

	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		e = strlen(ext[i]);
		if (n > e && !strcmp(path + n - e, ext[i]))
			return true;
	}
	return false;
}

/* @return 0, or the errno of the step that failed (said in @p why). */
static int load_module(const char *entry, const char *release, char *why, size_t len)
{
	char path[INITCONF_LINE_MAX * 2];
	int fd, flags = is_compressed(entry) ? MODULE_INIT_COMPRESSED_FILE : 0, err = 0;

	if (entry[0] == '/')
		snprintf(path, sizeof(path), "%s", entry);
	else
		snprintf(path, sizeof(path), "/lib/modules/%s/%s", release, entry);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		snprintf(why, len, "module %s: %s", path, strerror(err));
		return err;
	}
	/* EEXIST: loaded already, or built in under the same name. */
	if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST) {
		err = errno;
		snprintf(why, len, "module %s: finit_module: %s", path, strerror(err));
	}
	close(fd);
	return err;
}

/* Loads the modules listed in @p file; each failure ends the VM, or with
 * @p lenient is only said. @return how many were listed. */
static size_t load_list(const char *file, bool lenient)
{
	struct initconf_list mods;
	struct utsname u;
	char *buf, why[INITCONF_LINE_MAX * 3];
	size_t len, i, n;
	int err;

	err = init_read_file(file, &buf, &len);
	if (err == -ENOENT)
		return 0;
	if (err)
		init_fatal("%s: %s", file, strerror(-err));
	err = initconf_parse_list(buf, len, &mods);
	free(buf);
	if (err)
		init_fatal("%s: %s", file, strerror(-err));
	uname(&u);
	for (i = 0; i < mods.n; i++) {
		if (!load_module(mods.v[i], u.release, why, sizeof(why)))
			continue;
		if (!lenient)
			init_fatal("%s", why);
		init_say("%s", why);
	}
	n = mods.n;
	initconf_list_free(&mods);
	return n;
}

bool init_on_xen(void)
{
	static int xen = -1;
	char t[8] = "";
	int fd;

	if (xen < 0) {
		fd = open("/sys/hypervisor/type", O_RDONLY | O_CLOEXEC);
		xen = fd >= 0 && read(fd, t, sizeof(t) - 1) >= 3 && !strncmp(t, "xen", 3);
		if (fd >= 0)
			close(fd);
	}
	return xen;
}

size_t setup_modules(void)
{
	size_t n = load_list(INIT_ETC "/modules", false);

	/* Under Xen, what the daemon's vchans need; a missing one is said,
	 * and the daemon's chan: then fails with the reason. */
	if (init_on_xen())
		n += load_list(INIT_ETC "/modules.xen", true);
	return n;
}

/* Links /dev/virtio-ports/NAME for every port the host has named, as udev's
 * rule would. The name comes from the host (QEMU's name= property), so it is
 * checked before it becomes a file name. @p seen gets the names found, for
 * the message when one is missing. */
static void link_ports(char *seen, size_t size)
{
	size_t used = 0;

	char path[300], name[INITCONF_NAME_MAX + 2], node[300];
	struct dirent *de;
	DIR *d = opendir("/sys/class/virtio-ports");
	ssize_t n;
	int fd;

	if (!d) {
		snprintf(seen, size, " none (no virtio-serial driver: are virtio_console and virtio_mmio or virtio_pci in kernel.modules?)");
		return;
	}
	seen[0] = '\0';
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "vport", 5))
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, name, sizeof(name) - 1);
		close(fd);
		if (n <= 0)
			continue; /* not named yet: the host's message comes later */
		name[n] = '\0';
		name[strcspn(name, "\n")] = '\0';
		snprintf(node, sizeof(node), "/dev/%s", de->d_name);
		if (!initconf_port_name_ok(name) || access(node, F_OK) < 0)
			continue;
		if (used < size)
			used += (size_t)snprintf(seen + used, size - used, " %s", name);
		snprintf(path, sizeof(path), INIT_PORTS "/%s", name);
		snprintf(node, sizeof(node), "../%s", de->d_name);
		symlink(node, path);
	}
	closedir(d);
}

/* The names in @p want not (yet) in /dev/virtio-ports, space-separated. */
static size_t missing_ports(const struct initconf_list *want, char *out, size_t size)
{
	char path[300];
	size_t i, missing = 0, used = 0;

	out[0] = '\0';
	for (i = 0; i < want->n; i++) {
		snprintf(path, sizeof(path), INIT_PORTS "/%s", want->v[i]);
		if (access(path, F_OK) == 0)
			continue;
		missing++;
		if (used < size)
			used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "",
						 want->v[i]);
	}
	return missing;
}

static void setup_channels_virtio(void)
{
	struct initconf_list want;
	char *buf = NULL, missing[256], seen[256];
	size_t len = 0;
	uint64_t deadline = init_now_ms() + INIT_DEVICE_WAIT_MS;
	int err;

	err = init_read_file(INIT_ETC "/channels", &buf, &len);
	if (err && err != -ENOENT)
		init_fatal(INIT_ETC "/channels: %s", strerror(-err));
	err = initconf_parse_channels(buf ? buf : "", len, &want);
	free(buf);
	if (err)
		init_fatal(INIT_ETC "/channels: %s", strerror(-err));
	/* The control port is every appliance's, listed or not. */
	if (!initconf_list_has(&want, INIT_CTL_PORT)) {
		char **v = realloc(want.v, (want.n + 2) * sizeof(*v));

		if (!v || !(v[want.n] = strdup(INIT_CTL_PORT)))
			init_fatal("out of memory");
		want.v = v;
		v[++want.n] = NULL;
	}
	mkdir_p(INIT_PORTS, 0755);
	for (;;) {
		link_ports(seen, sizeof(seen));
		if (!missing_ports(&want, missing, sizeof(missing)))
			break;
		if (init_now_ms() >= deadline)
			init_fatal("channel(s) missing after %d s: %s (the host offers:%s)",
				   INIT_DEVICE_WAIT_MS / 1000, missing, seen[0] ? seen : " none");
		sleep_ms(POLL_STEP_MS);
	}
	initconf_list_free(&want);
}

void setup_channels(void)
{
	if (init_on_xen()) {
		/* No virtio under Xen: the daemon serves each channel itself
		 * (chan:NAME, a vchan for dom0); vapp.ctl is xenctl.c's. */
		init_say("under Xen: the channels are the daemon's vchans, vapp.ctl is xenstore's vapp/");
		return;
	}
	setup_channels_virtio();
}

/* Runs ARGV, its output but errors silenced, and waits for it at most
 * @p limit_ms. @return its exit status,
 * or -1 (could not run, killed, timed out). */
static int run(char *const argv[], unsigned int limit_ms)
{
	uint64_t deadline = init_now_ms() + limit_ms;
	sigset_t all;
	pid_t pid, r;
	int st, fd;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		/* Its chatter stays off the console; its errors do not. */
		fd = open("/dev/null", O_WRONLY);
		if (fd > 0) {
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		execv(argv[0], argv);
		init_say("exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
		if (init_now_ms() >= deadline) {
			init_say("%s %s: no result after %u s, killed", argv[0], argv[1], limit_ms / 1000);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		sleep_ms(POLL_STEP_MS);
	}
	if (r < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* The state volume's name: virtio's first disk, or Xen's (xl.cfg's
 * vdev=xvda). */
static const char *state_disk(void)
{
	return init_on_xen() ? INIT_STATE_DISK_XEN : INIT_STATE_DISK;
}

static uint64_t disk_mib(void)
{
	char path[64], *buf;
	size_t len;
	uint64_t sectors;

	snprintf(path, sizeof(path), "/sys/block/%s/size", state_disk());
	if (init_read_file(path, &buf, &len))
		return 0;
	sectors = strtoull(buf, NULL, 10);
	free(buf);
	return sectors / 2048; /* 512-byte sectors, whatever the disk's own */
}

static enum initconf_disk probe_disk(const char *dev)
{
	static uint8_t probe[INITCONF_DISK_PROBE];
	size_t got = 0;
	ssize_t n;
	int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		init_fatal("state volume %s: %s", dev, strerror(errno));
	while (got < sizeof(probe)) {
		n = pread(fd, probe + got, sizeof(probe) - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			init_fatal("state volume %s: read: %s", dev, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return initconf_disk_kind(probe, got);
}

static const char *state_mounted;

void setup_state(void)
{
	static struct initconf_state st;
	static char dev[32];
	char *const mkfs[] = { "/bin/busybox", "mke2fs", "-L", "vapp-state", dev, NULL };
	uint64_t deadline = init_now_ms() + INIT_DEVICE_WAIT_MS, mib;
	char *buf;
	size_t len;
	int err;

	err = init_read_file(INIT_ETC "/state", &buf, &len);
	if (err == -ENOENT)
		return;
	if (!err) {
		err = initconf_parse_state(buf, len, &st);
		free(buf);
	}
	if (err)
		init_fatal(INIT_ETC "/state: %s", strerror(-err));
	snprintf(dev, sizeof(dev), "/dev/%s", state_disk());
	while (access(dev, F_OK) < 0) {
		if (init_now_ms() >= deadline)
			init_fatal("state volume %s missing after %d s (%s)", dev,
				   INIT_DEVICE_WAIT_MS / 1000,
				   init_on_xen() ? "a disk with vdev=xvda in the domain's config?"
						 : "virtio_blk loaded? disk on QEMU's command line?");
		sleep_ms(POLL_STEP_MS);
	}
	mib = disk_mib();
	if (mib < st.size_mib)
		init_say("state volume %s is %llu MiB, the manifest asks for %u MiB",
			 dev, (unsigned long long)mib, st.size_mib);
	switch (probe_disk(dev)) {
	case INITCONF_DISK_BLANK:
		if (access(mkfs[0], X_OK) < 0)
			init_fatal("state volume %s is blank and the image has no mke2fs "
				   "(busybox: false): format it on the host (mkfs.ext4 -L "
				   "vapp-state), as vappd does", dev);
		init_say("state: making an ext2 filesystem on %s (%llu MiB)", dev,
			 (unsigned long long)mib);
		if (run(mkfs, 120000) != 0)
			init_fatal("state volume %s: mke2fs failed", dev);
		break;
	case INITCONF_DISK_EXT:
		init_say("state: reusing the existing filesystem on %s", dev);
		break;
	case INITCONF_DISK_UNKNOWN:
		init_fatal("state volume %s holds data but no ext2/3/4 filesystem: not formatting it", dev);
	}
	mkdir_p(st.mount, 0755);
	/* The ext4 driver reads ext2 too (and Debian builds no ext2 driver). */
	if (mount(dev, st.mount, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, NULL) < 0 &&
	    mount(dev, st.mount, "ext2", MS_NOSUID | MS_NODEV | MS_NOATIME, NULL) < 0)
		init_fatal("mount %s on %s: %s", dev, st.mount, strerror(errno));
	state_mounted = st.mount;
	init_say("state: %s mounted on %s", dev, st.mount);
}

/* Called on the way out, with every other process gone. An ext2 volume
 * left mounted is "not clean" and gets checked next time; if the unmount
 * is refused, read-only is the next best thing. */
void setup_unmount_state(void)
{
	int i;

	if (!state_mounted)
		return;
	sync();
	for (i = 0; i < 50; i++) {
		if (umount2(state_mounted, 0) == 0) {
			state_mounted = NULL;
			return;
		}
		if (errno != EBUSY)
			break;
		sleep_ms(POLL_STEP_MS);
	}
	init_say("umount %s: %s; remounting it read-only", state_mounted, strerror(errno));
	if (mount(NULL, state_mounted, NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		init_say("remount %s read-only: %s", state_mounted, strerror(errno));
}
