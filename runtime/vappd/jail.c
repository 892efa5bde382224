/* jail.c - the broker child's confinement (see jail.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "jail.h"
#include "vapp_util.h"

/*
 * Each one and why: the loop (epoll, timers), the sockets it was handed
 * (read, write, accept, send/recv with fds for the parent's messages),
 * memory (malloc: brk, mmap, mremap, madvise), threads' futexes and the
 * clock (glibc: clock_gettime has a vDSO, but falls back to the call),
 * signals' return, and the way out; mmap and mprotect never with
 * PROT_EXEC. No open, socket, connect, bind,
 * execve, fork/clone, kill, ptrace, set*id, chmod, mount, ioctl.
 */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg",
	"accept4", "close", "shutdown", "getsockopt", "fcntl", "fstat", "newfstatat",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
	"timerfd_settime", "timerfd_gettime", "clock_gettime", "clock_nanosleep", "nanosleep",
	"brk", "munmap", "mremap", "madvise", "futex", "getrandom",
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall", "getpid", "gettid",
	"exit", "exit_group",
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	/* make test SAN=1 only: the sanitizer runtime's own */
	"sigaltstack", "sched_yield",
#endif
	/* malloc's, never making memory executable (see load_filter) */
	"mmap", "mprotect", NULL,
};

/* Allowed only without PROT_EXEC: code the broker wrote cannot be run. */
static bool no_exec(const char *name)
{
	return !strcmp(name, "mmap") || !strcmp(name, "mprotect");
}

const char *const *vappd_jail_allowed(size_t *n)
{
	for (*n = 0; allowed[*n]; (*n)++)
		;
	return allowed;
}

int vappd_jail_lookup(const char *user, struct vappd_jail *j, char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	memset(j, 0, sizeof(*j));
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) || !pwp) {
		vapp_errf(err, errlen, "user %s does not exist: the broker never runs as root; "
			  "make it (useradd --system --no-create-home --shell /usr/sbin/nologin "
			  "%s)", user, user);
		return -ENOENT;
	}
	if (!pw.pw_uid || !pw.pw_gid) {
		vapp_errf(err, errlen, "user %s is uid or gid 0", user);
		return -EPERM;
	}
	j->uid = pw.pw_uid;
	j->gid = pw.pw_gid;
	return 0;
}

static int load_filter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && allowed[i]; i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		/* One this architecture lacks (an older alias) is simply absent. */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (no_exec(allowed[i]))
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (!rc)
		rc = seccomp_load(ctx);
	if (rc)
		vapp_errf(err, errlen, "seccomp: %s", strerror(-rc));
	seccomp_release(ctx);
	return rc;
}

int vappd_jail_enter(const struct vappd_jail *j, char *err, size_t errlen)
{
	if (j->root && (chroot(j->root) < 0 || chdir("/") < 0)) {
		vapp_errf(err, errlen, "chroot %s: %s", j->root, strerror(errno));
		return -errno;
	}
	if (setgroups(1, &j->gid) < 0 || setresgid(j->gid, j->gid, j->gid) < 0 ||
	    setresuid(j->uid, j->uid, j->uid) < 0) {
		vapp_errf(err, errlen, "dropping to uid %u: %s", (unsigned)j->uid, strerror(errno));
		return -errno;
	}
	/* Dropped for good: a set*id back must fail. */
	if (setresuid(0, 0, 0) == 0) {
		vapp_errf(err, errlen, "uid 0 came back");
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		vapp_errf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
	return load_filter(err, errlen);
}
