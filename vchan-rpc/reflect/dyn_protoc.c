/*
 * dyn_protoc.c - vrpc_dyn_compile(): protoc compiles .proto files into a
 * FileDescriptorSet in a temporary file (the one protoc runner of the
 * project); vrpc_dyn_load(): then dyn_load.c builds from it.
 *
 * protoc is a child process with stdin on /dev/null and stdout+stderr on a
 * pipe (its messages become the error text); it gets
 * VRPC_DYN_PROTOC_TIMEOUT_MS and is killed after that. The caller must not
 * reap children behind our back (a SIGCHLD handler calling wait()).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dyn_priv.h"

extern char **environ;

/* What protoc said, kept short: its first lines name the problem. */
#define PROTOC_MSG_MAX 2048

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* protoc --include_imports --descriptor_set_out=OUT -I... -I DIR... FILE...
 * (each FILE's folder, after the caller's). argv[2] is malloc'd. */
static char **protoc_argv(const char *protoc, const char *out, const char *const *protos,
			  char *const *dirs, const char *const *incs)
{
	size_t n = 0, np = 0, i, k = 0;
	char **argv;

	while (incs && incs[n])
		n++;
	while (protos[np])
		np++;
	argv = calloc(n * 2 + np * 3 + 6, sizeof(*argv));
	if (!argv)
		return NULL;
	argv[k++] = (char *)protoc;
	argv[k++] = (char *)"--include_imports";
	if (asprintf(&argv[k++], "--descriptor_set_out=%s", out) < 0) {
		free(argv);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		argv[k++] = (char *)"-I";
		argv[k++] = (char *)incs[i];
	}
	for (i = 0; i < np; i++) {
		argv[k++] = (char *)"-I";
		argv[k++] = dirs[i];
	}
	for (i = 0; i < np; i++)
		argv[k++] = (char *)protos[i];
	return argv;
}

/* Reads the child's output until it closes the pipe or time runs out. */
static int collect(int fd, int64_t deadline, char *msg, size_t cap)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		char buf[512];
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (n + 1 < cap) {
			size_t take = (size_t)r < cap - 1 - n ? (size_t)r : cap - 1 - n;

			memcpy(msg + n, buf, take);
			n += take;
		}
	}
	msg[n] = '\0';
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	return 0;
}

/* Runs protoc; 0 when it exited 0. */
static int run_protoc(char **argv, char *msg, size_t cap, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, ret;
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	ret = -posix_spawn_file_actions_init(&fa);
	if (ret)
		goto err_pipe;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1) ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2)) {
		ret = -ENOMEM;
		goto err_fa;
	}
	ret = -posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	if (ret) {
		set_err(err, errlen, "cannot run %s: %s%s", argv[0], strerror(-ret),
			ret == -ENOENT ? " (install Debian's protobuf-compiler)" : "");
		goto err_fa;
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	ret = collect(pipefd[0], now_ms() + VRPC_DYN_PROTOC_TIMEOUT_MS, msg, cap);
	if (ret == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		set_err(err, errlen, "%s took longer than %d ms: killed", argv[0],
			VRPC_DYN_PROTOC_TIMEOUT_MS);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = ret ? ret : -errno;
			goto err_fa;
		}
	}
	/* 127 without a word: the exec failed in a child that could not tell
	 * us (posix_spawn under valgrind, C libraries without CLONE_VFORK). */
	if (!ret && WIFEXITED(status) && WEXITSTATUS(status) == 127 && !msg[0]) {
		set_err(err, errlen, "cannot run %s (install Debian's protobuf-compiler)",
			argv[0]);
		ret = -ENOENT;
	}
	if (!ret && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		set_err(err, errlen, "%s", msg[0] ? msg : "protoc failed");
		ret = -EINVAL;
	}
err_fa:
	posix_spawn_file_actions_destroy(&fa);
err_pipe:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return ret;
}

/* The whole of the descriptor set protoc wrote. */
static int read_all(int fd, void **out, size_t *len)
{
	struct stat st;
	size_t n = 0;
	char *buf;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_size <= 0 || st.st_size > (64 << 20))
		return -EINVAL;
	buf = malloc((size_t)st.st_size);
	if (!buf)
		return -ENOMEM;
	while (n < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(buf);
			return r < 0 ? -errno : -EIO;
		}
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static const char *tmp_dir(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

/* The folder of each file, for protoc's -I; freed with free_strv(). */
static char **dirs_of(const char *const *protos, size_t n)
{
	char **dirs = calloc(n + 1, sizeof(*dirs));

	for (size_t i = 0; dirs && i < n; i++) {
		char *copy = strdup(protos[i]);

		dirs[i] = copy ? strdup(dirname(copy)) : NULL;
		free(copy);
		if (!dirs[i]) {
			while (i--)
				free(dirs[i]);
			free(dirs);
			return NULL;
		}
	}
	return dirs;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* protoc over @p protos into @p fd's file (named @p tmp). */
static int compile_into(const char *const *protos, size_t n, const char *const *incs,
			const char *tmp, int fd, void **set, size_t *len, char *err,
			size_t errlen)
{
	const char *protoc = getenv("VRPC_PROTOC");
	char **dirs = dirs_of(protos, n), **argv = NULL, msg[PROTOC_MSG_MAX];
	int ret = -ENOMEM;

	if (dirs)
		argv = protoc_argv(protoc && *protoc ? protoc : "protoc", tmp, protos, dirs, incs);
	if (argv) {
		ret = run_protoc(argv, msg, sizeof(msg), err, errlen);
		if (!ret)
			ret = read_all(fd, set, len);
		else if (ret == -EINVAL && err && errlen && !err[0])
			set_err(err, errlen, "protoc wrote no descriptor set");
		free(argv[2]);
	}
	free(argv);
	free_strv(dirs);
	return ret;
}

int vrpc_dyn_compile(const char *const *protos, const char *const *include_dirs, void **set,
		     size_t *len, char *err, size_t errlen)
{
	char *tmp = NULL;
	size_t n = 0;
	int fd, ret;

	*set = NULL;
	*len = 0;
	if (err && errlen)
		err[0] = '\0';
	for (; protos && protos[n]; n++)
		if (access(protos[n], R_OK)) {
			ret = -errno;
			set_err(err, errlen, "%s: %s", protos[n], strerror(-ret));
			return ret;
		}
	if (!n)
		return -EINVAL;
	if (asprintf(&tmp, "%s/vrpc-dyn-XXXXXX", tmp_dir()) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		set_err(err, errlen, "%s: %s", tmp, strerror(-ret));
		free(tmp);
		return ret;
	}
	ret = compile_into(protos, n, include_dirs, tmp, fd, set, len, err, errlen);
	close(fd);
	unlink(tmp);
	free(tmp);
	if (ret == -ENOMEM && err && errlen && !err[0])
		set_err(err, errlen, "out of memory");
	return ret;
}

struct vrpc_dyn *vrpc_dyn_load(const char *proto_path, const char *const *include_dirs,
			       char *err, size_t errlen)
{
	const char *protos[] = { proto_path, NULL };
	struct vrpc_dyn *d = NULL;
	void *data = NULL;
	size_t len = 0;
	int ret;

	if (!proto_path) {
		errno = EINVAL;
		return NULL;
	}
	ret = vrpc_dyn_compile(protos, include_dirs, &data, &len, err, errlen);
	if (!ret) {
		d = vrpc_dyn_load_set(data, len, err, errlen);
		ret = d ? 0 : -errno;
	}
	free(data);
	if (!d)
		errno = -ret;
	return d;
}
