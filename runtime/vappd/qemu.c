/*
 * qemu.c - the QEMU backend: qemu.args to a checked, expanded argv; the
 * process; the KVM probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hvconfig.h"
#include "qemu.h"

#define MAX_TAPS 16
#define PLACEHOLDER_RUN "${RUN_DIR}/"

static void say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void qemu_argv_free(char **argv)
{
	if (!argv)
		return;
	for (size_t i = 0; argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int qemu_args_split(const char *text, size_t len, char ***out)
{
	size_t n = 0, cap = 64;
	char **argv = calloc(cap, sizeof(*argv));
	const char *p = text, *end = text + len;

	if (!argv)
		return -ENOMEM;
	if (memchr(text, 0, len))
		goto err_inval;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;

		if (n + 2 > cap) {
			char **g = reallocarray(argv, cap * 2, sizeof(*argv));

			if (!g)
				goto err_nomem;
			argv = g;
			cap *= 2;
		}
		argv[n] = strndup(p, (size_t)(stop - p));
		if (!argv[n])
			goto err_nomem;
		argv[++n] = NULL;
		p = nl ? nl + 1 : end;
	}
	if (!n || !argv[0][0])
		goto err_inval;
	*out = argv;
	return 0;
err_inval:
	qemu_argv_free(argv);
	return -EINVAL;
err_nomem:
	qemu_argv_free(argv);
	return -ENOMEM;
}

/* Options that would let an unmeasured file pick what runs, or change who
 * runs it. */
static const char *const refused[] = {
	"-bios", "-pflash", "-L", "-readconfig", "-fw_cfg", "-runas", "-chroot",
	"-daemonize", "-option-rom", "-hda", "-hdb", "-hdc", "-hdd", "-cdrom",
	"-fda", "-fdb", "-mtdblock", "-sd", "-loadvm", "-incoming", "-plugin", "-pidfile",
	"-D", "-qmp", "-qmp-pretty", "-monitor", "-acpitable", "-blockdev", "-trace", NULL,
};

/* Option values that reach a host file, a host device or a host program
 * wherever they sit in an argument (JSON, dotted keys, sub-options). */
static const char *const refused_values[] = {
	"script=", "tftp=", "smb=", "mem-path=", "filename=", "data=", "vfio", "loader",
	"sock_fd", "fd=", NULL,
};

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Every host file an argument names (path=, file=, file:) must be in the
 * run folder, so the image cannot hand the guest a host file. */
static int check_paths(const char *arg, char *err, size_t errlen)
{
	static const char *const keys[] = { "path=", "file=", "file:", NULL };

	for (size_t k = 0; keys[k]; k++) {
		for (const char *p = strstr(arg, keys[k]); p; p = strstr(p + 1, keys[k])) {
			const char *v = p + strlen(keys[k]);

			/* Only at the start of the argument or of a comma field. */
			if (p != arg && p[-1] != ',' && p[-1] != ':')
				continue;
			if (!starts(v, PLACEHOLDER_RUN) || strstr(v, "..")) {
				say(err, errlen, "qemu.args: '%.200s' names a file outside ${RUN_DIR}",
				    arg);
				return -EPERM;
			}
		}
	}
	return 0;
}

/* "script=no" (no helper runs) is the one value of these that is fine. */
static bool refused_value(const char *arg, const char *key)
{
	for (const char *p = strstr(arg, key); p; p = strstr(p + 1, key)) {
		const char *v = p + strlen(key);

		if (!strcmp(key, "script=") && starts(v, "no") && (!v[2] || v[2] == ','))
			continue;
		return true;
	}
	return false;
}

int qemu_args_check(char *const *argv, const char *cmdline, char *err, size_t errlen)
{
	static const char *const kernel = "${IMAGE_DIR}/kernel";
	static const char *const initrd = "${IMAGE_DIR}/initramfs.cpio.gz";
	int seen_kernel = 0, seen_initrd = 0, seen_append = 0, rc;

	for (size_t i = 1; argv[i]; i++) {
		const char *a = argv[i], *v = argv[i + 1];
		const char *opt = a[0] == '-' && a[1] == '-' ? a + 1 : a;

		for (size_t r = 0; refused[r]; r++)
			if (!strcmp(opt, refused[r])) {
				say(err, errlen, "qemu.args: %s is not allowed (it would run or "
						 "expose something the measurement does not cover)", a);
				return -EPERM;
			}
		for (size_t r = 0; refused_values[r]; r++)
			if (refused_value(a, refused_values[r])) {
				say(err, errlen, "qemu.args: '%.200s' is not allowed (%s)", a,
				    refused_values[r]);
				return -EPERM;
			}
		if (!strcmp(opt, "-monitor") || !strcmp(opt, "-serial") || !strcmp(opt, "-mon")) {
			if (v && (starts(v, "stdio") || strstr(v, "chardev=stdio"))) {
				say(err, errlen, "qemu.args: %s %s is not allowed", a, v);
				return -EPERM;
			}
		}
		if (!strcmp(opt, "-kernel") || !strcmp(opt, "-initrd") || !strcmp(opt, "-append")) {
			const char *want = opt[1] == 'k' ? kernel : opt[1] == 'i' ? initrd : cmdline;
			int *seen = opt[1] == 'k' ? &seen_kernel : opt[1] == 'i' ? &seen_initrd
										 : &seen_append;

			if (!v || strcmp(v, want)) {
				say(err, errlen, "qemu.args: %s '%.200s' is not the measured %s", a,
				    v ? v : "", opt[1] == 'a' ? "cmdline" : want);
				return -EPERM;
			}
			(*seen)++;
			i++;
			continue;
		}
		if ((rc = check_paths(a, err, errlen)))
			return rc;
	}
	if (seen_kernel != 1 || seen_initrd != 1 || seen_append != 1) {
		say(err, errlen, "qemu.args: needs -kernel, -initrd and -append exactly once each");
		return -EPERM;
	}
	return 0;
}

/* Adds "TAP_<nic>" for each ${TAP_<nic>} in @p argv not yet in @p names. */
static size_t find_taps(char *const *argv, char names[][80], size_t max)
{
	size_t n = 0;

	for (size_t i = 0; argv[i]; i++)
		for (const char *p = strstr(argv[i], "${TAP_"); p; p = strstr(p + 1, "${TAP_")) {
			const char *e = strchr(p, '}');
			size_t len, j;

			if (!e || (len = (size_t)(e - p - 2)) >= 80)
				continue;
			for (j = 0; j < n; j++)
				if (strlen(names[j]) == len && !strncmp(names[j], p + 2, len))
					break;
			if (j == n && n < max) {
				memcpy(names[n], p + 2, len);
				names[n++][len] = 0;
			}
		}
	return n;
}

char **qemu_args_expand(char *const *argv, const struct manifest_var *vars,
			const char *tap_prefix, char *err, size_t errlen)
{
	char taps[MAX_TAPS][80], tapval[MAX_TAPS][32];
	struct manifest_var all[32 + MAX_TAPS];
	size_t nv = 0, nt = find_taps(argv, taps, MAX_TAPS), argc = 0;
	char **out;

	for (; vars && vars[nv].name && nv < 32; nv++)
		all[nv] = vars[nv];
	for (size_t t = 0; t < nt; t++) {
		/* An interface name is at most 15 bytes (IFNAMSIZ - 1). */
		snprintf(tapval[t], sizeof(tapval[t]), "%.12s%u", tap_prefix, (unsigned)t);
		all[nv++] = (struct manifest_var){ taps[t], tapval[t] };
	}
	all[nv] = (struct manifest_var){ NULL, NULL };
	while (argv[argc])
		argc++;
	out = calloc(argc + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < argc; i++) {
		out[i] = hv_expand(argv[i], all);
		if (!out[i]) {
			int e = errno;

			say(err, errlen, "qemu.args: cannot substitute '%.200s' (%s)", argv[i],
			    e == EINVAL ? "a value would need escaping" : strerror(e));
			qemu_argv_free(out);
			errno = e;
			return NULL;
		}
		if (strstr(out[i], "${")) {
			say(err, errlen, "qemu.args: unknown placeholder in '%.200s'", argv[i]);
			qemu_argv_free(out);
			errno = EINVAL;
			return NULL;
		}
	}
	return out;
}

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

pid_t qemu_spawn(char *const *argv, const char *log_path)
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
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
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

int qemu_probe(const char *qemu, const char *accel, const char *kernel, const char *scratch,
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
		say(why, whylen, "/dev/kvm: %s", strerror(errno));
		return 0;
	}
	snprintf(console, sizeof(console), "%s/probe-%s.console", scratch, accel);
	snprintf(serial, sizeof(serial), "file:%s", console);
	snprintf(log, sizeof(log), "%s/probe-%s.log", scratch, accel);
	unlink(console);
	unlink(log);
	pid = qemu_spawn(argv, log);
	if (pid < 0) {
		say(why, whylen, "%s: %s", qemu, strerror((int)-pid));
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
			say(why, whylen, "QEMU -accel %s exited (status %d) before the kernel ran",
			    accel, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			break;
		}
		if (now_ms() >= deadline) {
			say(why, whylen, "QEMU -accel %s did not boot a kernel within %d ms", accel,
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

unsigned long long proc_rss_bytes(pid_t pid)
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
