/* test_privsep.c - vappd's parent/child messages as hostile input
 * (runtime/vappd/privsep.c) and the broker child's jail (jail.c): each
 * forbidden system call kills it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "jail.h"
#include "privsep.h"

static int sp[2];
static struct vappd_ps_msg m;

static int setup(void **state)
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
}

static int teardown(void **state)
{
	close(sp[0]);
	close(sp[1]);
	return 0;
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* A raw datagram: header fields as given, then @p payload, with @p n_fds
 * copies of fd 0 attached. */
static void raw(uint16_t type, uint32_t len, const void *payload, size_t plen, int n_fds)
{
	uint8_t hdr[VAPPD_PS_HDR] = { (uint8_t)type, (uint8_t)(type >> 8), 0, 0,
				     (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
				     (uint8_t)(len >> 24) };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, plen } };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = plen ? 2 : 1 };
	int fds[3] = { 0, 0, 0 };

	if (n_fds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(&ctl.h), fds, n_fds * sizeof(int));
	}
	assert_true(sendmsg(sp[0], &msg, 0) >= 0);
}

static void round_trips(void **state)
{
	int other[2];

	assert_int_equal(pipe(other), 0);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_GATE, "alice", 5, other[0]), 0);
	assert_int_equal(vappd_ps_recv(sp[1], &m), 0);
	assert_int_equal(m.type, VAPPD_PS_GATE);
	assert_string_equal(m.payload, "alice");
	assert_true(m.fd >= 0);
	/* The fd is the pipe's: what goes in one end comes out of it. */
	assert_int_equal(write(other[1], "x", 1), 1);
	char c = 0;
	assert_int_equal(read(m.fd, &c, 1), 1);
	assert_int_equal(c, 'x');
	close(m.fd);

	static const char up[] = "hello\0VRH1\0\n\xff";
	const char *app, *text;
	const uint8_t *blob;
	char name[64];
	size_t len;

	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_UPSTREAM, up, sizeof(up) - 1, other[0]), 0);
	assert_int_equal(vappd_ps_recv(sp[1], &m), 0);
	assert_int_equal(vappd_ps_upstream(&m, &app, &blob, &len), 0);
	assert_string_equal(app, "hello");
	assert_int_equal(len, 7);
	assert_memory_equal(blob, "VRH1\0\n\xff", 7);
	close(m.fd);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_GATE, "bob:work,usb", 12, other[0]), 0);
	assert_int_equal(vappd_ps_recv(sp[1], &m), 0);
	assert_string_equal(m.payload, "bob:work,usb");
	close(m.fd);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_POLICY, "p.pol\na b c allow\n\tx", 20, -1), 0);
	assert_int_equal(vappd_ps_recv(sp[1], &m), 0);
	assert_int_equal(m.fd, -1);
	assert_int_equal(vappd_ps_policy(&m, name, sizeof(name), &text, &len), 0);
	assert_string_equal(name, "p.pol");
	assert_int_equal(len, 14);
	assert_memory_equal(text, "a b c allow\n\tx", 14);
	assert_int_equal(vappd_ps_policy(&m, name, 5, &text, &len), -EBADMSG);
	assert_true(vappd_ps_from_parent(VAPPD_PS_UPSTREAM));
	assert_false(vappd_ps_from_parent(VAPPD_PS_LOG));
	assert_false(vappd_ps_from_parent(VAPPD_PS_N_TYPES));
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_SHUTDOWN, NULL, 0, -1), 0);
	assert_int_equal(vappd_ps_recv(sp[1], &m), 0);
	assert_int_equal(m.type, VAPPD_PS_SHUTDOWN);
	assert_int_equal(vappd_ps_recv(sp[1], &m), -EAGAIN);
	close(other[0]);
	close(other[1]);
}

static void sender_refuses(void **state)
{
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_GATE, "alice", 5, -1), -EINVAL);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_DOWN, "svc", 3, 0), -EINVAL);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_DOWN, "a/b", 3, -1), -EINVAL);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_LOG, "a\033[2J", 6, -1), -EINVAL);
	assert_int_equal(vappd_ps_send(sp[0], VAPPD_PS_N_TYPES, NULL, 0, -1), -EINVAL);
	assert_int_equal(vappd_ps_recv(sp[1], &m), -EAGAIN);
}

/* Every way a datagram can lie; each is refused whole and leaves no fd. */
static void hostile_datagrams(void **state)
{
	static char big[VAPPD_PS_MAX + 64];
	int before = open_fds();

	raw(VAPPD_PS_DOWN, 0, NULL, 0, 0);            /* an empty name */
	raw(VAPPD_PS_DOWN, 9, "svc", 3, 0);          /* a length that is not the datagram's */
	raw(99, 3, "svc", 3, 0);                     /* an unknown type */
	raw(0, 0, NULL, 0, 0);                       /* type 0 */
	raw(VAPPD_PS_GATE, 5, "alice", 5, 0);        /* a gate without its socket */
	raw(VAPPD_PS_DOWN, 3, "svc", 3, 1);          /* an fd where none belongs */
	raw(VAPPD_PS_GATE, 5, "alice", 5, 3);        /* three fds for one */
	raw(VAPPD_PS_DOWN, 4, "s\0vc", 4, 0);        /* a NUL in a name */
	raw(VAPPD_PS_UPSTREAM, 5, "hello", 5, 1);    /* a name, no handover */
	raw(VAPPD_PS_UPSTREAM, 6, "hello\0", 6, 1);  /* an empty handover */
	raw(VAPPD_PS_LOG, 3, "a\nb", 3, 0);          /* a newline in a log line */
	raw(VAPPD_PS_POLICY, 5, "a b c", 5, 0);      /* a policy without its file name */
	raw(VAPPD_PS_GATE, 6, "al ice", 6, 1);       /* a space in a guest */
	memset(big, 'a', sizeof(big));
	/* Over the maximum (root may make the buffer big enough to send it). */
	int sz = 4 << 20;
	assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)), 0);
	raw(VAPPD_PS_POLICY, sizeof(big), big, sizeof(big), 0);
	for (int i = 0; i < 14; i++) {
		assert_int_equal(vappd_ps_recv(sp[1], &m), -EBADMSG);
		assert_int_equal(m.fd, -1);
	}
	assert_int_equal(vappd_ps_recv(sp[1], &m), -EAGAIN);
	assert_int_equal(open_fds(), before);
	/* A three-byte datagram: not even a header. */
	assert_int_equal(send(sp[0], "abc", 3, 0), 3);
	assert_int_equal(vappd_ps_recv(sp[1], &m), -EBADMSG);
	close(sp[0]);
	sp[0] = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_int_equal(vappd_ps_recv(sp[1], &m), -ECONNRESET);
}

/* ---- the jail ---- */

enum attempt { TRY_NOTHING, TRY_OPEN, TRY_SOCKET, TRY_EXECVE, TRY_KILL, TRY_SETUID, TRY_PTRACE,
	       TRY_MMAP, TRY_MMAP_EXEC, TRY_MPROTECT_EXEC };

static void try(enum attempt a)
{
	switch (a) {
	case TRY_NOTHING: _exit(0);
	case TRY_OPEN: syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY); break;
	case TRY_SOCKET: syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); break;
	case TRY_EXECVE: syscall(SYS_execve, "/bin/true", NULL, NULL); break;
	case TRY_KILL: syscall(SYS_kill, 1, 0); break;
	case TRY_SETUID: syscall(SYS_setuid, 0); break;
	case TRY_PTRACE: syscall(SYS_ptrace, 0, 0, 0, 0); break;
	case TRY_MMAP: /* what malloc does: allowed */
		_exit(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
		      MAP_FAILED ? 5 : 0);
	case TRY_MMAP_EXEC:
		mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	case TRY_MPROTECT_EXEC: {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		mprotect(p, 4096, PROT_READ | PROT_EXEC);
		break;
	}
	}
	_exit(3); /* it was allowed */
}

/* A child in the jail: it says it is in, waits for the word, tries @p a. */
static void jailed(enum attempt a, int *status, char *uid_line, size_t len)
{
	struct vappd_jail j;
	char err[256], path[64], line[256];
	int ready[2], go[2];
	pid_t pid;
	FILE *f;

	assert_int_equal(vappd_jail_lookup("nobody", &j, err, sizeof(err)), 0);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		if (vappd_jail_enter(&j, err, sizeof(err)))
			_exit(2);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(4);
		try(a);
	}
	assert_int_equal(read(ready[0], line, 1), 1);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	uid_line[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Seccomp:", 8))
			strncat(uid_line, line, len - strlen(uid_line) - 1);
	fclose(f);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, status, 0), pid);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
}

static void jail_kills_the_forbidden(void **state)
{
	static const enum attempt bad[] = { TRY_OPEN, TRY_SOCKET, TRY_EXECVE, TRY_KILL, TRY_SETUID,
					    TRY_PTRACE, TRY_MMAP_EXEC, TRY_MPROTECT_EXEC };
	char st[512], want[64];
	int status;
	size_t n;

	vappd_jail_allowed(&n);
	print_message("the jail allows %zu system calls\n", n);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	/* The sanitizer's runtime makes calls of its own that the jail kills. */
	skip();
#endif
	jailed(TRY_NOTHING, &status, st, sizeof(st));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(want, sizeof(want), "Uid:\t65534\t65534\t65534\t65534");
	assert_non_null(strstr(st, want));
	assert_non_null(strstr(st, "Seccomp:\t2"));
	jailed(TRY_MMAP, &status, st, sizeof(st));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		jailed(bad[i], &status, st, sizeof(st));
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trips, setup, teardown),
		cmocka_unit_test_setup_teardown(sender_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_datagrams, setup, teardown),
		cmocka_unit_test(jail_kills_the_forbidden),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
