/*
 * sip.c - the SIP stack, baresip, as a process of its own (see voip.h and
 * the appliance's README for why): its config folder written from our
 * options, the process started and started again when it dies, and the
 * ctrl_tcp connection to it with a queue that sends one command at a time.
 * A command not answered within CMD_TIMEOUT_MS means a stack that hangs:
 * it is killed and started again like one that crashed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "voip.h"

#define CONNECT_RETRY_MS 100
#define RESTART_MS 1000
#define CMD_TIMEOUT_MS 5000

struct sip_cmd {
	struct sip_cmd *next;
	char *wire;
	size_t len;
	sip_done_fn fn;
	void *ud;
	char token[16];
};

bool sip_running(const struct sip *s)
{
	return s->pid > 0 && s->fd >= 0;
}

/* An audio driver "NAME,DEVICE": its module is NAME.so. */
static void audio_module(FILE *f, const char *spec)
{
	size_t n = strcspn(spec, ",");

	fprintf(f, "module\t\t\t%.*s.so\n", (int)n, spec);
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		err = -EIO;
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

static int write_config(struct sip *s)
{
	char path[4200];
	FILE *f;

	/* Ours alone, also when it was there before: the accounts file in it
	 * holds the passwords. */
	if ((mkdir(s->dir, 0700) < 0 && errno != EEXIST) || chmod(s->dir, 0700) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/config", s->dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "poll_method\t\tepoll\nsip_listen\t\t%s:%d\nmodule_path\t\t%s\n", s->sip_addr,
		s->sip_port, s->modules);
	fprintf(f, "rtp_ports\t\t%d-%d\n", s->sip_port + 1000, s->sip_port + 1099);
	/* The codecs, the accounts file, the commands and their socket. */
	fputs("module\t\t\tg711.so\nmodule\t\t\taccount.so\nmodule\t\t\tmenu.so\n"
	      "module\t\t\tctrl_tcp.so\n", f);
	/* The audio levels, as events (EVENT_AUDIO_LEVEL), not on stderr. */
	fputs("module\t\t\tvumeter.so\nvumeter_stderr\t\tno\n", f);
	fprintf(f, "ctrl_tcp_listen\t\t127.0.0.1:%d\n", s->ctl_port);
	audio_module(f, s->audio_source);
	if (strncmp(s->audio_player, s->audio_source, strcspn(s->audio_source, ",")))
		audio_module(f, s->audio_player);
	fprintf(f, "audio_source\t\t%s\naudio_player\t\t%s\naudio_alert\t\t%s\n",
		s->audio_source, s->audio_player, s->audio_player);
	/* Each call's audio, sent and received, as WAV files (sndfile). */
	if (s->record)
		fprintf(f, "module\t\t\tsndfile.so\nsnd_path\t\t%s\n", s->record);
	/* baresip's sine source makes 48 kHz stereo only. */
	if (!strncmp(s->audio_source, "ausine", 6))
		fputs("ausrc_srate\t\t48000\nausrc_channels\t\t2\n", f);
	if (fclose(f) != 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/accounts", s->dir);
	return write_file(path, s->accounts ? s->accounts : "");
}

static void fail_queue(struct sip *s, const char *why)
{
	while (s->head) {
		struct sip_cmd *c = s->head;

		s->head = c->next;
		if (c->fn)
			c->fn(c->ud, false, why);
		free(c->wire);
		free(c);
	}
	s->tail = NULL;
	s->sent = false;
}

static void disconnect(struct sip *s)
{
	if (s->fd >= 0) {
		vrpc_loop_del_fd(s->loop, s->fd);
		close(s->fd);
		s->fd = -1;
	}
	ns_reset(&s->rd);
	if (s->timer) {
		vrpc_loop_cancel_timer(s->loop, s->timer);
		s->timer = 0;
	}
}

/* A stack that lies, hangs or stops reading is ended; sip_reaped() then
 * starts another. */
static void kill_stack(struct sip *s, const char *why)
{
	fprintf(stderr, "vapp-voipd: SIP stack: %s: restarting it\n", why);
	disconnect(s);
	fail_queue(s, "the SIP stack restarted");
	if (s->pid > 0)
		kill(s->pid, SIGKILL);
}

static void on_cmd_timeout(void *ud)
{
	struct sip *s = ud;

	s->timer = 0;
	kill_stack(s, "a command was not answered in time");
}

static void send_next(struct sip *s)
{
	if (s->fd < 0 || !s->head || s->sent)
		return;
	if (send(s->fd, s->head->wire, s->head->len, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)s->head->len) {
		kill_stack(s, "its control socket does not take a command");
		return;
	}
	s->sent = true;
	s->timer = vrpc_loop_add_timer(s->loop, CMD_TIMEOUT_MS, on_cmd_timeout, s);
}

static int on_message(void *ud, const char *msg, size_t len)
{
	struct sip *s = ud;
	struct bs_msg m;
	struct sip_cmd *c = s->head;

	if (bs_parse(msg, len, &m) < 0)
		return 0; /* one it does not understand is skipped */
	if (m.event) {
		if (s->on_event)
			s->on_event(s->ud, &m);
		return 0;
	}
	if (!c || !s->sent || strcmp(m.token, c->token))
		return 0; /* an answer to nothing we asked */
	if (s->timer) {
		vrpc_loop_cancel_timer(s->loop, s->timer);
		s->timer = 0;
	}
	s->head = c->next;
	if (!s->head)
		s->tail = NULL;
	s->sent = false;
	if (c->fn)
		c->fn(c->ud, m.ok, m.data);
	free(c->wire);
	free(c);
	send_next(s);
	return 0;
}

static void on_readable(void *ud, int fd, short revents)
{
	struct sip *s = ud;
	char buf[16384];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	int err;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		kill_stack(s, "its control connection closed");
		return;
	}
	err = ns_feed(&s->rd, buf, (size_t)n, on_message, s);
	if (err)
		kill_stack(s, "it sent what is not its protocol");
}

/* One line baresip printed: its status line (many a second during a call,
 * "[0:00:05] audio=64000/64000 (bit/s)") is dropped, the rest is ours. */
static void out_line(struct sip *s)
{
	s->out_line[s->out_len] = '\0';
	if (s->out_len && !(s->out_line[0] == '[' && strstr(s->out_line, "audio=")))
		fprintf(stderr, "baresip: %s\n", s->out_line);
	s->out_len = 0;
}

static void on_output(void *ud, int fd, short revents)
{
	struct sip *s = ud;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		vrpc_loop_del_fd(s->loop, fd);
		close(fd);
		s->out_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		/* Its status line ends with '\r', its other lines with '\n'. */
		if (buf[i] == '\n' || buf[i] == '\r' || s->out_len == sizeof(s->out_line) - 1)
			out_line(s);
		else if ((unsigned char)buf[i] >= 0x20 || buf[i] == '\t')
			s->out_line[s->out_len++] = buf[i];
	}
}

static void try_connect(void *ud)
{
	struct sip *s = ud;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->ctl_port) };
	int fd;

	s->timer = 0;
	if (s->pid <= 0)
		return;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    vrpc_loop_add_fd(s->loop, fd, POLLIN, on_readable, s) == 0) {
		s->fd = fd;
		if (s->on_up)
			s->on_up(s->ud, s->restarts > 0);
		send_next(s);
		return;
	}
	if (fd >= 0)
		close(fd);
	s->timer = vrpc_loop_add_timer(s->loop, CONNECT_RETRY_MS, try_connect, s);
}

int sip_start(struct sip *s)
{
	int err = write_config(s), null, out[2];
	pid_t pid;

	if (err)
		return err;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) {
		err = -errno;
		if (null >= 0)
			close(null);
		return err;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(null);
		close(out[0]);
		close(out[1]);
		return err;
	}
	if (pid == 0) {
		sigset_t none;

		/* stdin is /dev/null (baresip's stdio module is not loaded);
		 * what it prints comes to us, filtered (on_output()). */
		dup2(null, 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(s->baresip, "baresip", "-f", s->dir, (char *)NULL);
		_exit(127);
	}
	close(null);
	close(out[1]);
	if (s->out_fd >= 0) {
		vrpc_loop_del_fd(s->loop, s->out_fd);
		close(s->out_fd);
	}
	s->out_fd = out[0];
	s->out_len = 0;
	vrpc_loop_add_fd(s->loop, s->out_fd, POLLIN, on_output, s);
	s->pid = pid;
	s->fd = -1;
	s->timer = vrpc_loop_add_timer(s->loop, CONNECT_RETRY_MS, try_connect, s);
	return 0;
}

static void restart(void *ud)
{
	struct sip *s = ud;
	int err;

	s->timer = 0;
	if (s->stopping)
		return;
	s->restarts++;
	err = sip_start(s);
	if (err) {
		fprintf(stderr, "vapp-voipd: cannot start the SIP stack: %s\n", strerror(-err));
		s->timer = vrpc_loop_add_timer(s->loop, RESTART_MS, restart, s);
	}
}

void sip_reaped(struct sip *s, pid_t pid, int status)
{
	if (pid != s->pid)
		return;
	if (WIFSIGNALED(status))
		fprintf(stderr, "vapp-voipd: SIP stack died of signal %d\n", WTERMSIG(status));
	else
		fprintf(stderr, "vapp-voipd: SIP stack exited with status %d\n",
			WEXITSTATUS(status));
	s->pid = -1;
	disconnect(s);
	fail_queue(s, "the SIP stack restarted");
	if (!s->stopping)
		s->timer = vrpc_loop_add_timer(s->loop, RESTART_MS, restart, s);
}

static struct sip_cmd *make_cmd(struct sip *s, const char *command, const char *params,
				sip_done_fn fn, void *ud)
{
	struct sip_cmd *c = calloc(1, sizeof(*c));

	if (c) {
		snprintf(c->token, sizeof(c->token), "%u", ++s->next_token);
		c->wire = bs_command(command, params, c->token, &c->len);
	}
	if (!c || !c->wire) {
		free(c);
		if (fn)
			fn(ud, false, "out of memory");
		return NULL;
	}
	c->fn = fn;
	c->ud = ud;
	return c;
}

void sip_command(struct sip *s, const char *command, const char *params, sip_done_fn fn,
		 void *ud)
{
	struct sip_cmd *c = make_cmd(s, command, params, fn, ud);

	if (!c)
		return;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	send_next(s);
}

void sip_command_next(struct sip *s, const char *command, const char *params, sip_done_fn fn,
		      void *ud)
{
	struct sip_cmd *c = make_cmd(s, command, params, fn, ud);

	if (!c)
		return;
	if (s->sent && s->head) {
		/* After the one in flight. */
		c->next = s->head->next;
		s->head->next = c;
		if (s->tail == s->head)
			s->tail = c;
	} else {
		c->next = s->head;
		s->head = c;
		if (!s->tail)
			s->tail = c;
	}
	send_next(s);
}

void sip_stop(struct sip *s)
{
	s->stopping = true;
	disconnect(s);
	if (s->out_fd >= 0) {
		vrpc_loop_del_fd(s->loop, s->out_fd);
		close(s->out_fd);
		s->out_fd = -1;
	}
	fail_queue(s, "the appliance is stopping");
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(s->pid, NULL, WNOHANG) == 0; i++)
			usleep(20 * 1000);
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
}
