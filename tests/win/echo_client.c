/*
 * echo_client.exe - the Windows end of tests/integration/windows_client.sh:
 * calls a Linux Echo server (tests/proto/echo.proto) through protoc-c's
 * generated stubs, through the blocking API and through the JSON reflection,
 * and checks every answer.
 *
 *   echo_client.exe ADDR
 *   echo_client.exe -p tcp:HOST:PORT
 *
 * With -p the client uses the serial transport: it opens the named pipe
 * \\.\pipe\vrpc-echo-PID as serial:\\.\pipe\vrpc-echo-PID, and a relay in
 * this process carries the bytes between that pipe and a TCP connection to
 * HOST:PORT. A named pipe is what wine has of a virtio-serial port: a file
 * opened with CreateFile and driven by overlapped ReadFile/WriteFile.
 *
 * Prints "ok N - what" or "not ok N - what: why" per check and exits 0 only
 * if every check passed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <winsock2.h>
#include <windows.h>
#include <ws2tcpip.h>

#include "hostport.h"
#include "vrpc.h"
#include "vrpc_json.h"
#include "tests/proto/echo.pb-c.h"

static int checks, failures;

static bool check(bool ok, const char *what, const char *why)
{
	checks++;
	if (ok) {
		printf("ok %d - %s\n", checks, what);
	} else {
		failures++;
		printf("not ok %d - %s: %s\n", checks, what, why ? why : "");
	}
	fflush(stdout);
	return ok;
}

/* What the stub closures saw. */
struct seen {
	struct vrpc_client *cli;
	unsigned items;   /* replies (or stream items) received */
	bool got;         /* at least one */
	bool ended;       /* the closure ran with NULL */
	int status;       /* vrpc_client_status() then */
	char text[64];    /* text of the last reply */
	uint32_t last_seq;
};

static void on_reply(const Vrpc__Test__EchoReply *r, void *ud)
{
	struct seen *s = ud;

	if (!r) {
		s->ended = true;
		s->status = vrpc_client_status(s->cli, NULL);
		return;
	}
	s->items++;
	s->got = true;
	s->last_seq = r->seq;
	snprintf(s->text, sizeof(s->text), "%s", r->text ? r->text : "");
}

/* Runs the client until @p done, bounded: a lost reply fails, never hangs. */
static bool wait_for(struct vrpc_client *cli, const bool *done)
{
	for (int i = 0; i < 100 && !*done; i++)
		if (vrpc_client_wait(cli, 100) < 0)
			return false;
	return *done;
}

static void test_stubs(struct vrpc_client *cli)
{
	ProtobufCService *svc = vrpc_client_service(cli);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct seen s = { .cli = cli };
	char why[128];

	/* Unary through the stub: the closure runs once with the reply. */
	req.text = "hello from windows";
	vrpc__test__echo__echo(svc, &req, (Vrpc__Test__EchoReply_Closure)on_reply, &s);
	wait_for(cli, &s.got);
	snprintf(why, sizeof(why), "%u replies, text \"%s\"", s.items, s.text);
	check(s.items == 1 && !strcmp(s.text, req.text), "stub Echo", why);

	/* Server streaming: count items, then the end with OK. */
	memset(&s, 0, sizeof(s));
	s.cli = cli;
	req.text = "item";
	req.count = 5;
	vrpc__test__echo__count(svc, &req, (Vrpc__Test__EchoReply_Closure)on_reply, &s);
	wait_for(cli, &s.ended);
	snprintf(why, sizeof(why), "%u items, ended %d, status %s", s.items, s.ended,
		 vrpc_status_name(s.status));
	check(s.items == 5 && s.ended && s.status == VRPC_OK, "stub Count streams 5 items", why);

	/* A failed call: closure(NULL) with the server's status. */
	memset(&s, 0, sizeof(s));
	s.cli = cli;
	req.count = 0;
	req.fail_status = VRPC_PERMISSION_DENIED;
	vrpc__test__echo__fail(svc, &req, (Vrpc__Test__EchoReply_Closure)on_reply, &s);
	wait_for(cli, &s.ended);
	snprintf(why, sizeof(why), "items %u, status %s", s.items, vrpc_status_name(s.status));
	check(s.items == 0 && s.ended && s.status == VRPC_PERMISSION_DENIED,
	      "stub Fail gives PERMISSION_DENIED", why);
}

/* A GUI's way: wait on the client's event handles (as its message loop
 * would with MsgWaitForMultipleObjects), then process. Nothing in flight:
 * the wait must time out (no handle left set, no busy loop); a streamed
 * call: each item wakes the wait, and no wait is needed past the end. */
static void test_handles(struct vrpc_client *cli)
{
	ProtobufCService *svc = vrpc_client_service(cli);
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	struct seen s = { .cli = cli };
	void *h[2];
	int n, wakes = 0, timeouts = 0;
	DWORD rc;
	char why[128];

	vrpc_client_process(cli);
	n = vrpc_client_handles(cli, h, 2);
	rc = n > 0 ? WaitForMultipleObjects((DWORD)n, (HANDLE *)h, FALSE, 300) : WAIT_FAILED;
	snprintf(why, sizeof(why), "%d handles, wait gave %lu", n, (unsigned long)rc);
	check(n > 0 && rc == WAIT_TIMEOUT, "idle: the handles stay unset for 300 ms", why);

	req.text = "via handles";
	req.count = 4;
	vrpc__test__echo__count(svc, &req, (Vrpc__Test__EchoReply_Closure)on_reply, &s);
	for (int i = 0; i < 200 && !s.ended; i++) {
		n = vrpc_client_handles(cli, h, 2);
		if (n < 0)
			break;
		rc = n ? WaitForMultipleObjects((DWORD)n, (HANDLE *)h, FALSE, 5000) : WAIT_TIMEOUT;
		if (rc == WAIT_TIMEOUT)
			timeouts++;
		else
			wakes++;
		vrpc_client_process(cli);
	}
	snprintf(why, sizeof(why), "%u items, ended %d, %d wakes, %d timeouts", s.items, s.ended,
		 wakes, timeouts);
	check(s.items == 4 && s.ended && s.status == VRPC_OK && timeouts == 0 && wakes < 100,
	      "a stream of 4 items through the event handles", why);
}

/* The blocking calls' cases in sequence on one connection: a list. */
static void test_blocking(struct vrpc_client *cli)
{
	Vrpc__Test__EchoRequest req = VRPC__TEST__ECHO_REQUEST__INIT;
	Vrpc__Test__EchoReply *rep = NULL;
	char why[160], *msg = NULL;
	bool ok;
	int st;

	/* WhoAmI: the server saw a TCP peer on loopback. */
	st = vrpc_client_call(cli, 4, &req.base, (ProtobufCMessage **)&rep, 5000, &msg);
	snprintf(why, sizeof(why), "status %s, peer \"%s\"", vrpc_status_name(st),
		 st == VRPC_OK && rep->peer ? rep->peer : "");
	check(st == VRPC_OK && rep->peer && !strncmp(rep->peer, "host:127.0.0.1:", 15),
	      "WhoAmI says host:127.0.0.1:PORT", why);
	if (st == VRPC_OK)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	free(msg);

	/* A reply far larger than a socket buffer: many partial reads. */
	req.reply_bytes = 700000;
	rep = NULL;
	msg = NULL;
	st = vrpc_client_call(cli, 0, &req.base, (ProtobufCMessage **)&rep, 10000, &msg);
	ok = st == VRPC_OK && rep->data.len == req.reply_bytes;
	for (size_t i = 0; ok && i < rep->data.len; i++)
		ok = rep->data.data[i] == (uint8_t)i;
	snprintf(why, sizeof(why), "status %s, %zu bytes", vrpc_status_name(st),
		 st == VRPC_OK ? rep->data.len : 0);
	check(ok, "Echo of 700000 bytes, pattern intact", why);
	if (st == VRPC_OK)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	free(msg);

	/* A request far larger than a socket buffer or the serial transport's
	 * write buffer: many partial and refused (-EAGAIN) writes. */
	req.reply_bytes = 0;
	req.data.len = 300000;
	req.data.data = malloc(req.data.len);
	for (size_t i = 0; req.data.data && i < req.data.len; i++)
		req.data.data[i] = (uint8_t)(i * 7);
	rep = NULL;
	msg = NULL;
	st = req.data.data ? vrpc_client_call(cli, 0, &req.base, (ProtobufCMessage **)&rep,
					      10000, &msg) : VRPC_RESOURCE_EXHAUSTED;
	ok = st == VRPC_OK && rep->data.len == req.data.len &&
	     !memcmp(rep->data.data, req.data.data, req.data.len);
	snprintf(why, sizeof(why), "status %s, %zu bytes back", vrpc_status_name(st),
		 st == VRPC_OK ? rep->data.len : 0);
	check(ok, "Echo of a 300000-byte request comes back intact", why);
	if (st == VRPC_OK)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	free(req.data.data);
	req.data.data = NULL;
	req.data.len = 0;
	free(msg);

	/* A deadline the server cannot meet. */
	req.reply_bytes = 0;
	req.delay_ms = 2000;
	msg = NULL;
	st = vrpc_client_call(cli, 2, &req.base, (ProtobufCMessage **)&rep, 200, &msg);
	snprintf(why, sizeof(why), "status %s", vrpc_status_name(st));
	check(st == VRPC_DEADLINE_EXCEEDED, "Sleep 2000 ms with a 200 ms deadline", why);
	if (st == VRPC_OK)
		protobuf_c_message_free_unpacked(&rep->base, NULL);
	free(msg);
}

/* The reflection path a generic tool takes: method by name, JSON in and out. */
static void test_json(struct vrpc_client *cli)
{
	const ProtobufCServiceDescriptor *desc = &vrpc__test__echo__descriptor;
	static const char in[] = "{\"text\": \"json \\u00e9t\\u00e9\", \"data\": \"AAEC/w==\"}";
	ProtobufCMessage *req, *rep = NULL;
	char err[160], *out = NULL, *msg = NULL;
	int m = vrpc_json_find_method(desc, "vrpc.test.Echo/Echo"), st;

	if (!check(m == 0, "find method vrpc.test.Echo/Echo", "not found"))
		return;
	req = vrpc_json_to_message(desc->methods[m].input, in, strlen(in), err, sizeof(err));
	if (!check(req != NULL, "JSON request parses", err))
		return;
	st = vrpc_client_call(cli, (unsigned)m, req, &rep, 5000, &msg);
	if (st == VRPC_OK)
		out = vrpc_json_from_message(rep, 0);
	snprintf(err, sizeof(err), "status %s, reply %s", vrpc_status_name(st), out ? out : "-");
	check(out && !strcmp(out, "{\"text\":\"json \xc3\xa9t\xc3\xa9\",\"data\":\"AAEC/w==\"}"),
	      "JSON call round trip", err);
	free(out);
	if (rep)
		protobuf_c_message_free_unpacked(rep, NULL);
	protobuf_c_message_free_unpacked(req, NULL);
	free(msg);
}

/* Malformed addresses and an absent port fail at once, with the right errno. */
static void test_bad_addresses(void)
{
	static const struct {
		const char *addr;
		int err;
	} cases[] = {
		{ "tcp:127.0.0.1", EINVAL },
		{ "tcp:127.0.0.1:0", EINVAL },
		{ "tcp:[::1:80", EINVAL },
		{ "serial:", EINVAL },
		{ "serial:a\\b", EINVAL },
		{ "serial:vrpc-no-such-port", ENOENT },
		{ "unix:/tmp/x", EINVAL }, /* no unix transport on Windows */
	};
	char what[80], why[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vrpc_client *cli = vrpc_client_open(cases[i].addr,
							   &vrpc__test__echo__descriptor, NULL);
		int err = cli ? 0 : errno;

		snprintf(what, sizeof(what), "open %s fails with errno %d", cases[i].addr, cases[i].err);
		snprintf(why, sizeof(why), "errno %d", err);
		check(err == cases[i].err, what, why);
		vrpc_client_close(cli);
	}
}

/* ---- the pipe <-> TCP relay of -p ---- */

struct relay {
	HANDLE pipe;
	SOCKET s;
};

/* Waits for one overlapped ReadFile/WriteFile. @return bytes, or 0 on error. */
static DWORD pipe_io(HANDLE pipe, void *buf, DWORD len, bool write)
{
	OVERLAPPED ov = { .hEvent = CreateEventA(NULL, TRUE, FALSE, NULL) };
	DWORD n = 0;
	BOOL ok = write ? WriteFile(pipe, buf, len, NULL, &ov) : ReadFile(pipe, buf, len, NULL, &ov);

	if ((ok || GetLastError() == ERROR_IO_PENDING) &&
	    !GetOverlappedResult(pipe, &ov, &n, TRUE))
		n = 0;
	CloseHandle(ov.hEvent);
	return n;
}

static DWORD WINAPI relay_pipe_to_sock(void *ud)
{
	struct relay *r = ud;
	char buf[8192];
	DWORD n;

	while ((n = pipe_io(r->pipe, buf, sizeof(buf), false)) > 0) {
		for (DWORD off = 0; off < n;) {
			int k = send(r->s, buf + off, (int)(n - off), 0);

			if (k <= 0)
				goto out;
			off += (DWORD)k;
		}
	}
out:
	shutdown(r->s, SD_SEND);
	return 0;
}

static DWORD WINAPI relay_sock_to_pipe(void *ud)
{
	struct relay *r = ud;
	char buf[8192];
	int n;

	while ((n = recv(r->s, buf, sizeof(buf), 0)) > 0)
		for (DWORD off = 0; off < (DWORD)n;) {
			DWORD k = pipe_io(r->pipe, buf + off, (DWORD)n - off, true);

			if (!k)
				return 0;
			off += k;
		}
	return 0;
}

/* Waits for the client to open the pipe, then relays both ways. */
static DWORD WINAPI relay_main(void *ud)
{
	struct relay *r = ud;
	OVERLAPPED ov = { .hEvent = CreateEventA(NULL, TRUE, FALSE, NULL) };
	DWORD n;

	if (!ConnectNamedPipe(r->pipe, &ov)) {
		DWORD e = GetLastError();

		if (e == ERROR_IO_PENDING && !GetOverlappedResult(r->pipe, &ov, &n, TRUE))
			e = GetLastError();
		else if (e == ERROR_IO_PENDING)
			e = ERROR_PIPE_CONNECTED;
		if (e != ERROR_PIPE_CONNECTED) {
			fprintf(stderr, "relay: ConnectNamedPipe: error %lu\n", e);
			return 0;
		}
	}
	CloseHandle(ov.hEvent);
	if (CreateThread(NULL, 0, relay_pipe_to_sock, r, 0, NULL))
		relay_sock_to_pipe(r);
	return 0;
}

/* Makes the pipe, connects to @p tcp_addr, starts the two relay threads.
 * @return 0, or -1 with a message printed. */
static int relay_start(const char *tcp_addr, char *pipe_name, size_t len)
{
	static struct relay r;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	struct hostport hp;
	WSADATA wsa;

	snprintf(pipe_name, len, "\\\\.\\pipe\\vrpc-echo-%lu", GetCurrentProcessId());
	if (strncmp(tcp_addr, "tcp:", 4) || hostport_parse(tcp_addr + 4, &hp) ||
	    WSAStartup(MAKEWORD(2, 2), &wsa) || getaddrinfo(hp.host, hp.port, &hints, &res)) {
		fprintf(stderr, "relay: bad address %s\n", tcp_addr);
		return -1;
	}
	r.s = socket(res->ai_family, SOCK_STREAM, 0);
	if (r.s == INVALID_SOCKET || connect(r.s, res->ai_addr, (int)res->ai_addrlen)) {
		fprintf(stderr, "relay: connect %s: error %d\n", tcp_addr, WSAGetLastError());
		return -1;
	}
	freeaddrinfo(res);
	r.pipe = CreateNamedPipeA(pipe_name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
				  PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1,
				  65536, 65536, 0, NULL);
	if (r.pipe == INVALID_HANDLE_VALUE) {
		fprintf(stderr, "relay: CreateNamedPipe: error %lu\n", GetLastError());
		return -1;
	}
	if (!CreateThread(NULL, 0, relay_main, &r, 0, NULL)) {
		fprintf(stderr, "relay: CreateThread: error %lu\n", GetLastError());
		return -1;
	}
	return 0;
}

static void count_item(void *ud, const char *json)
{
	unsigned *n = ud;

	/* Each item echoes the request's text; anything else spoils the count. */
	*n = strstr(json, "\"text\":\"s\"") ? *n + 1 : 1000;
}

/* vrpc_client_call_json: what a generic tool (`vapp call`) does. */
static void test_call_json(struct vrpc_client *cli)
{
	char *reply = NULL, *msg = NULL, why[160];
	unsigned items = 0;
	int st;

	st = vrpc_client_call_json(cli, "Count", "{\"text\": \"s\", \"count\": 3}",
				   count_item, &items, 5000, &reply, &msg);
	snprintf(why, sizeof(why), "status %s, %u items", vrpc_status_name(st), items);
	check(st == VRPC_OK && items == 3, "call_json Count streams 3 items", why);
	free(reply);
	free(msg);
	reply = msg = NULL;
	st = vrpc_client_call_json(cli, "Echo", "{\"count\": \"many\"}", NULL, NULL, 5000,
				   &reply, &msg);
	snprintf(why, sizeof(why), "status %s, message %s", vrpc_status_name(st), msg ? msg : "-");
	check(st == VRPC_INVALID_ARGUMENT && msg && strstr(msg, "count"),
	      "call_json refuses a bad field, naming it", why);
	free(reply);
	free(msg);
}

int main(int argc, char **argv)
{
	struct vrpc_client_opts opts = { .connect_timeout_ms = 5000 };
	struct vrpc_client *cli;
	char why[64], pipe_name[64], serial_addr[80];
	const char *addr = argv[argc - 1];

	if (argc == 3 && !strcmp(argv[1], "-p")) {
		if (relay_start(addr, pipe_name, sizeof(pipe_name)))
			return 1;
		snprintf(serial_addr, sizeof(serial_addr), "serial:%s", pipe_name);
		addr = serial_addr;
	} else if (argc != 2) {
		fprintf(stderr, "usage: %s [-p] ADDR\n", argv[0]);
		return 2;
	}
	cli = vrpc_client_open(addr, &vrpc__test__echo__descriptor, &opts);
	if (!cli) {
		/* msvcrt's strerror() knows no socket errors: name the one
		 * the test looks for. */
		snprintf(why, sizeof(why), "errno %d%s", errno,
			 errno == ECONNREFUSED ? " ECONNREFUSED" : "");
		check(false, "connect and HELLO", why);
		return 1;
	}
	check(true, "connect and HELLO", NULL);
	test_bad_addresses();
	vrpc_client_set_timeout(cli, 5000);
	test_stubs(cli);
	test_handles(cli);
	test_blocking(cli);
	test_json(cli);
	test_call_json(cli);
	vrpc_client_close(cli);
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
