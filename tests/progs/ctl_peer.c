/* ctl_peer.c - the host end of an appliance's vapp.ctl port, for tests:
 * connects to QEMU's chardev socket (retrying until QEMU has made it),
 * appends every byte the guest sends to OUTFILE as it comes, and sends the
 * guest whatever arrives on standard input. Ends when QEMU closes the socket
 * or after TIMEOUT seconds, whichever is first.
 *
 *   ctl_peer SOCKET OUTFILE [TIMEOUT_S]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int connect_retry(const char *path, long long deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "ctl_peer: %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	for (;;) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) || now_ms() >= deadline) {
			fprintf(stderr, "ctl_peer: connect %s: %s\n", path, strerror(errno));
			return -1;
		}
		usleep(20000);
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pollfd pfd[2];
	long long deadline;
	char buf[4096];
	ssize_t n;
	int sock, out, left;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: ctl_peer SOCKET OUTFILE [TIMEOUT_S]\n");
		return 2;
	}
	deadline = now_ms() + 1000LL * (argc == 4 ? atoi(argv[3]) : 300);
	out = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (out < 0) {
		perror(argv[2]);
		return 1;
	}
	sock = connect_retry(argv[1], deadline);
	if (sock < 0)
		return 1;
	pfd[0] = (struct pollfd){ .fd = sock, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	while ((left = (int)(deadline - now_ms())) > 0) {
		if (poll(pfd, 2, left) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[0].revents) {
			n = read(sock, buf, sizeof(buf));
			if (n <= 0)
				return 0; /* QEMU went away: the VM ended */
			if (write_all(out, buf, (size_t)n) < 0)
				return 1;
		}
		if (pfd[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				pfd[1].fd = -1; /* nothing more to send; keep listening */
			else if (write_all(sock, buf, (size_t)n) < 0)
				return 1;
		}
	}
	fprintf(stderr, "ctl_peer: timed out\n");
	return 1;
}
