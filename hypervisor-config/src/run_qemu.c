/*
 * run_qemu.c - the QEMU backend's process side: starting QEMU (its argv is
 * hv_qemu_argv()'s), the KVM probe, a process's memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvrun.h"
#include "vapp_util.h"

/* The program's path, searched in PATH before fork(): after fork() in a
 * threaded process only async-signal-safe calls are allowed. */
static int resolve(const char *prog, char *path, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096], *save = NULL;

	if (strchr(prog, '/')) {
		snprintf(path, len, "%s", prog);
		return access(path, X_OK) ? -errno : 0;
	}
	snprintf(dirs, sizeof(dirs), "%s", env ? env : "/usr/local/bin:/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%s/%s", d, prog);
		if (!access(path, X_OK))
			return 0;
	}
	return -ENOENT;
}

int hv_tap_open(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* What QEMU asks for when it opens a tap itself. */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* In the child: @p fds to 3, 4, ... (through high numbers first, so that
 * none is overwritten before it is moved), inherited across exec. */
static int place_fds(const int *fds, size_t n)
{
	int tmp[HV_SPAWN_MAX_FDS];

	if (n > HV_SPAWN_MAX_FDS)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 64)) < 0)
			return -1;
	for (size_t i = 0; i < n; i++)
		if (dup2(tmp[i], HV_SPAWN_FIRST_FD + (int)i) < 0)
			return -1;
	return 0;
}

pid_t hv_qemu_spawn(char *const *argv, const char *log_path, const struct hv_user *user,
		    const int *fds, size_t n_fds)
{
	char path[PATH_MAX];
	pid_t parent = getpid(), pid;
	int log, null, err;
	sigset_t none;

	err = resolve(argv[0], path, sizeof(path));
	if (err)
		return err;
	log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log < 0)
		return -errno;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0) {
		err = -errno;
		close(log);
		return err;
	}
	sigemptyset(&none);
	pid = fork();
	if (pid == 0) {
		/* Its own group, so a kill reaches QEMU and anything it starts;
		 * and it dies with vappd, never left running unsupervised. */
		setpgid(0, 0);
		if (user && hv_user_drop(user) < 0)
			_exit(126);
		/* After the uid change, which clears it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 ||
		    place_fds(fds, n_fds) < 0)
			_exit(127);
		execv(path, argv);
		_exit(127);
	}
	err = pid < 0 ? -errno : 0;
	if (pid > 0)
		setpgid(pid, pid); /* either side may run first */
	close(log);
	close(null);
	return err ? err : pid;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static bool file_has(const char *path, const char *marker)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return strstr(buf, marker) != NULL;
}

int hv_qemu_probe(const char *qemu, const char *accel, const char *kernel, const char *scratch,
	       int timeout_ms, char *why, size_t whylen)
{
	char console[PATH_MAX], serial[PATH_MAX + 8], log[PATH_MAX];
	char *argv[] = {
		(char *)qemu, "-accel", (char *)accel, "-M", "microvm", "-m", "128", "-smp", "1",
		"-nographic", "-nodefaults", "-no-user-config", "-no-reboot",
		"-kernel", (char *)kernel, "-append",
		"console=ttyS0 panic=-1 tsc_early_khz=2000000 reboot=t", "-serial", serial, NULL,
	};
	long deadline = now_ms() + timeout_ms;
	int st = 0, yes = 0;
	pid_t pid;

	if (!strcmp(accel, "kvm") && access("/dev/kvm", R_OK | W_OK)) {
		vapp_errf(why, whylen, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	snprintf(console, sizeof(console), "%s/probe-%s.console", scratch, accel);
	snprintf(serial, sizeof(serial), "file:%s", console);
	snprintf(log, sizeof(log), "%s/probe-%s.log", scratch, accel);
	unlink(console);
	unlink(log);
	pid = hv_qemu_spawn(argv, log, NULL, NULL, 0);
	if (pid < 0) {
		vapp_errf(why, whylen, "%s: %s", qemu, strerror((int)-pid));
		return (int)pid;
	}
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (file_has(console, "Kernel panic")) {
			yes = 1;
			break;
		}
		if (w == pid) {
			pid = 0;
			vapp_errf(why, whylen, "QEMU -accel %s exited (status %d) before the kernel ran",
			    accel, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			break;
		}
		if (now_ms() >= deadline) {
			vapp_errf(why, whylen, "QEMU -accel %s did not boot a kernel within %d ms", accel,
			    timeout_ms);
			break;
		}
		usleep(50 * 1000);
	}
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	unlink(console);
	unlink(log);
	return yes;
}

unsigned long long hv_proc_rss_bytes(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}
