/*
 * qemu_user.c - the unprivileged user every appliance's QEMU runs as, and
 * the files it is given.
 *
 * QEMU parses what a guest does to its devices: the part of the host a VM
 * escape lands in. It never runs as root here. vappd drops to the user
 * between fork() and exec(), so QEMU starts without privileges (QEMU's own
 * -runas could not: -sandbox elevateprivileges=deny forbids the setuid()
 * that -runas does after the filter is in place). It keeps no capability:
 * the runtime opens an appliance's taps and QEMU inherits them.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvrun.h"
#include "vapp_util.h"

int hv_user_lookup(const char *name, struct hv_user *u, char *err, size_t errlen)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];

	memset(u, 0, sizeof(*u));
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) || !pwp) {
		vapp_errf(err, errlen,
			  "user %s does not exist: QEMU never runs as root; make the user "
			  "(useradd --system --no-create-home --shell /usr/sbin/nologin %s) "
			  "or name another with --qemu-user", name, name);
		return -ENOENT;
	}
	if (!pw.pw_uid || !pw.pw_gid) {
		vapp_errf(err, errlen, "user %s is uid or gid 0: QEMU must not run as root", name);
		return -EPERM;
	}
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	u->groups[u->n_groups++] = pw.pw_gid;
	/* /dev/kvm is group kvm's: needed when the accelerator is KVM. */
	if (!getgrnam_r("kvm", &gr, buf, sizeof(buf), &grp) && grp)
		u->groups[u->n_groups++] = gr.gr_gid;
	return 0;
}

/* Only async-signal-safe calls: this runs between fork() and exec(). */
int hv_user_drop(const struct hv_user *u)
{
	if (setgroups(u->n_groups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		return -errno;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int hv_user_give(const struct hv_user *u, const char *path, bool owner, mode_t mode)
{
	if (chown(path, owner ? u->uid : 0, u->gid) < 0 || chmod(path, mode) < 0)
		return -errno;
	return 0;
}

int hv_user_can_reach(const struct hv_user *u, const char *dir)
{
	int st = 0;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(hv_user_drop(u) || access(dir, X_OK) ? 1 : 0);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EACCES;
}
