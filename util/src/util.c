/* util.c - buffers, files and child processes (vapp_util.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vapp_util.h"

int vapp_buf_reserve(struct vapp_buf *b, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (b->len + more < b->len)
		return -ENOMEM;
	if (b->len + more <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int vapp_buf_add(struct vapp_buf *b, const void *data, size_t len)
{
	int ret = vapp_buf_reserve(b, len);

	if (ret)
		return ret;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

int vapp_buf_printf(struct vapp_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	ret = vapp_buf_reserve(b, (size_t)n + 1);
	if (ret)
		return ret;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void vapp_buf_free(struct vapp_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int read_fd(int fd, size_t max, struct vapp_buf *b);

int vapp_read_file(const char *path, struct vapp_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : read_fd(fd, SIZE_MAX, b);
}

int vapp_read_file_max(const char *path, size_t max, struct vapp_buf *b)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO with no writer would block the open itself. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ret;

	if (fd < 0)
		return -errno;
	/* A regular file, checked on the fd opened: a FIFO or device is not
	 * read at all, and a file too big is refused before its bytes. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		ret = !S_ISREG(st.st_mode) ? -EINVAL : -EFBIG;
		close(fd);
		return ret;
	}
	return read_fd(fd, max, b);
}

/* Reads @p fd to its end (at most @p max bytes) and closes it. */
static int read_fd(int fd, size_t max, struct vapp_buf *b)
{
	size_t start = b->len;
	ssize_t n;
	int ret = 0;

	for (;;) {
		ret = vapp_buf_reserve(b, 65536);
		if (ret)
			break;
		n = read(fd, b->p + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len - start > max) {
			ret = -EFBIG; /* it grew while we read */
			break;
		}
	}
	close(fd);
	return ret;
}

int vapp_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vapp_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The rename itself reaches the disk only with its folder. */
static int sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	int ret;

	if (!dir)
		return -ENOMEM;
	ret = vapp_fsync_dir(dir);
	free(dir);
	return ret;
}

int vapp_write_file_atomic(const char *path, const void *data, size_t len, uint32_t mode)
{
	char *tmp;
	int fd, ret = 0;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		ret = -errno;
		goto err_tmp;
	}
	if ((ret = vapp_write_all(fd, data, len)) < 0)
		goto err_fd;
	/* The umask may have taken bits away; the image folder is ours. */
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		ret = -errno;
		goto err_fd;
	}
	if (close(fd) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	if (rename(tmp, path) < 0) {
		ret = -errno;
		goto err_unlink;
	}
	free(tmp);
	return sync_dir_of(path);

err_fd:
	close(fd);
err_unlink:
	unlink(tmp);
err_tmp:
	free(tmp);
	return ret;
}

int vapp_mkdir_p(const char *path, uint32_t mode)
{
	char *p = strdup(path), *s;
	int ret = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		/* Like mkdir -p -m: only the last folder gets @mode. */
		if (mkdir(p, c ? 0755 : mode) < 0 && errno != EEXIST) {
			ret = -errno;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

int vapp_rm_rf(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = vapp_path_join(path, de->d_name);
		if (!sub) {
			ret = -ENOMEM;
			break;
		}
		ret = vapp_rm_rf(sub);
		free(sub);
		if (ret)
			break;
	}
	closedir(d);
	if (!ret && rmdir(path) < 0)
		ret = -errno;
	return ret;
}

int vapp_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	err = n < 0 ? -errno : (size_t)n == strlen(text) ? 0 : -EIO;
	close(fd);
	return err;
}

int vapp_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

char *vapp_path_join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

uint64_t vapp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t vapp_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void vapp_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void child_exec(char *const argv[], const char *cwd, int out_fd, int err_fd)
{
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0)
		_exit(126);
	if (dup2(out_fd >= 0 ? out_fd : null, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(126);
	if (cwd && chdir(cwd) < 0)
		_exit(126);
	execvp(argv[0], argv);
	_exit(127);
}

/* Drains one pipe into @p b (or @p err, bounded). @return 0 at EOF, 1 more to come. */
static int drain(int fd, struct vapp_buf *b, char *err, size_t errlen, size_t *errused)
{
	char tmp[8192];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (b) {
		if (vapp_buf_add(b, tmp, (size_t)n))
			return 0;
	} else if (err && *errused + 1 < errlen) {
		size_t k = (size_t)n < errlen - 1 - *errused ? (size_t)n : errlen - 1 - *errused;

		memcpy(err + *errused, tmp, k);
		*errused += k;
		err[*errused] = '\0';
	}
	return 1;
}

/* Reads the child's stdout (@p op) and stderr (@p ep) until both close or
 * @p deadline passes. @return true when both closed. */
static bool collect(int op, int ep, int64_t deadline, struct vapp_buf *out, char *err,
		    size_t errlen)
{
	int open_out = 1, open_err = 1;
	size_t errused = 0;

	while (open_out || open_err) {
		struct pollfd pfd[2] = {
			{ .fd = open_out ? op : -1, .events = POLLIN },
			{ .fd = open_err ? ep : -1, .events = POLLIN },
		};
		int64_t left = deadline - (int64_t)vapp_now_ms();

		if (left <= 0)
			break;
		if (poll(pfd, 2, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			open_out = drain(op, out, NULL, 0, NULL);
		if (pfd[1].revents)
			open_err = drain(ep, NULL, err, errlen, &errused);
	}
	return !open_out && !open_err;
}

int vapp_run_cmd(char *const argv[], const char *cwd, int timeout_s, struct vapp_buf *out,
	    char *err, size_t errlen)
{
	int op[2], ep[2], status, ret;
	int64_t deadline = (int64_t)vapp_now_ms() + (int64_t)timeout_s * 1000;
	bool done;
	pid_t pid;

	if (err && errlen)
		err[0] = '\0';
	if (pipe2(op, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		ret = -errno;
		goto err_out_pipe;
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		goto err_err_pipe;
	}
	if (pid == 0)
		child_exec(argv, cwd, op[1], ep[1]);
	close(op[1]);
	close(ep[1]);
	done = collect(op[0], ep[0], deadline, out, err, errlen);
	close(op[0]);
	close(ep[0]);
	if (!done) {
		/* Out of time: the child may hold a network connection forever. */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -ETIMEDOUT;
	}
	/* Both pipes closed: the child has exited or is about to. */
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);

err_err_pipe:
	close(ep[0]);
	close(ep[1]);
err_out_pipe:
	close(op[0]);
	close(op[1]);
	return ret;
}

ssize_t vapp_send_fd(int sock, struct iovec *iov, int iovcnt, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)iovcnt };
	ssize_t n;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		ctl.h.cmsg_level = SOL_SOCKET;
		ctl.h.cmsg_type = SCM_RIGHTS;
		ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&ctl.h), &fd, sizeof(int));
	}
	while ((n = sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0)
		if (errno != EINTR)
			return -errno;
	return n;
}
