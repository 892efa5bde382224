/* hello_server.c - the hello appliance's daemon: serves vapp.hello.v1.Greeter. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vrpc.h"
#include "examples/hello/hello.pb-c.h"

static const char usage[] =
	"Usage: hello-server [--listen ADDR]... [--attach ADDR]...\n"
	"\n"
	"Serves the vapp.hello.v1.Greeter service until SIGTERM or SIGINT.\n"
	"\n"
	"  -l, --listen ADDR   accept connections on ADDR (unix:PATH, shm:PATH,\n"
	"                      tcp:HOST:PORT, vsock:CID:PORT, xen:DOMID:PATH)\n"
	"  -a, --attach ADDR   serve the single endpoint ADDR, e.g. the appliance's\n"
	"                      channel chan:NAME (its virtio-serial port\n"
	"                      /dev/virtio-ports/NAME, or under Xen a vchan for dom0)\n"
	"  -h, --help          show this help\n"
	"\n"
	"At least one --listen or --attach is required. Prints \"ready\" on\n"
	"standard output once every address is served.\n";

static void say_hello(Vapp__Hello__V1__Greeter_Service *svc, const Vapp__Hello__V1__HelloRequest *in,
		      Vapp__Hello__V1__HelloReply_Closure closure, void *data)
{
	Vapp__Hello__V1__HelloReply out = VAPP__HELLO__V1__HELLO_REPLY__INIT;
	char greeting[300], caller[96];

	if (!in->name[0]) {
		vrpc_call_set_status(vrpc_call_of(data), VRPC_INVALID_ARGUMENT,
				     "name: must not be empty");
		closure(NULL, data);
		return;
	}
	snprintf(greeting, sizeof(greeting), "Hello, %.256s!", in->name);
	vrpc_peer_format(vrpc_call_peer(vrpc_call_of(data)), caller, sizeof(caller));
	out.greeting = greeting;
	out.caller = caller;
	closure(&out, data);
}

static void watch(Vapp__Hello__V1__Greeter_Service *svc, const Vapp__Hello__V1__HelloRequest *in,
		  Vapp__Hello__V1__HelloReply_Closure closure, void *data)
{
	Vapp__Hello__V1__HelloReply out = VAPP__HELLO__V1__HELLO_REPLY__INIT;
	char greeting[300];

	for (uint32_t i = 0; i < in->count && !vrpc_call_cancelled(vrpc_call_of(data)); i++) {
		snprintf(greeting, sizeof(greeting), "Hello #%u, %.256s!", i + 1, in->name);
		out.greeting = greeting;
		out.seq = i + 1;
		closure(&out, data);
	}
	closure(NULL, data);
}

static void on_signal(void *ud, int fd, short revents)
{
	vrpc_loop_quit(ud);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "attach", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *const streaming[] = { "Watch", NULL };
	Vapp__Hello__V1__Greeter_Service greeter = VAPP__HELLO__V1__GREETER__INIT();
	struct vrpc_loop *loop = vrpc_loop_new();
	struct vrpc_server *srv = vrpc_server_new(NULL);
	int c, err = 0, served = 0, sfd;
	sigset_t mask;

	if (!loop || !srv) {
		perror("hello-server");
		return 1;
	}
	err = vrpc_server_add_service(srv, &greeter.base, streaming);
	while (!err && (c = getopt_long(argc, argv, "l:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			err = vrpc_server_listen(srv, optarg);
			break;
		case 'a':
			err = vrpc_server_attach(srv, optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
		if (err)
			fprintf(stderr, "hello-server: %s: %s\n", optarg, strerror(-err));
		served++;
	}
	if (err)
		return 1;
	if (!served || optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0 || vrpc_loop_add_fd(loop, sfd, POLLIN, on_signal, loop) ||
	    vrpc_loop_add_server(loop, srv)) {
		perror("hello-server");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	err = vrpc_loop_run(loop);
	vrpc_server_free(srv);
	vrpc_loop_free(loop);
	close(sfd);
	return err ? 1 : 0;
}
