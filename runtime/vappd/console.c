/*
 * console.c - the appliance's console (ttyS0, QEMU writes it to
 * RUN_DIR/console.log). Its bytes are the guest's: whatever a compromised
 * appliance prints reaches a user's terminal through `vapp logs` and error
 * messages, so only printable ASCII leaves here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vappd.h"

#define TAIL_WINDOW (64 * 1024)

size_t console_sanitize(char *line, size_t len)
{
	if (len && line[len - 1] == '\r')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			line[i] = '?';
	}
	return len;
}

int console_tail(const char *path, unsigned n, char *out, size_t outlen)
{
	static char buf[TAIL_WINDOW + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, start, used = 0;
	unsigned lines = 0;
	struct stat st;
	off_t from;

	if (outlen)
		out[0] = 0;
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 0;
	}
	from = st.st_size > TAIL_WINDOW ? st.st_size - TAIL_WINDOW : 0;
	while (len < TAIL_WINDOW) {
		ssize_t r = pread(fd, buf + len, TAIL_WINDOW - len, from + (off_t)len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	/* Back from the end to the start of the n-th last line. */
	start = len;
	while (start > 0 && n) {
		if (buf[start - 1] == '\n' && ++lines == n)
			break;
		start--;
	}
	if (len && lines < n)
		lines++; /* the first line in the window has no newline before it */
	for (size_t i = start; i < len && outlen;) {
		char *nl = memchr(buf + i, '\n', len - i);
		size_t l = (nl ? (size_t)(nl - buf) : len) - i;

		l = console_sanitize(buf + i, l);
		used += (size_t)snprintf(out + used, outlen - used, "%s%.*s", used ? "\n" : "",
					 (int)l, buf + i);
		if (used >= outlen - 1)
			break;
		i = nl ? (size_t)(nl - buf) + 1 : len;
	}
	return (int)lines;
}
