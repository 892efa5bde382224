/*
 * cmd_call.c - vapp call: any method of any appliance's service by name,
 * JSON in and out. The service is described at run time (vrpc_dyn.h) from
 * the appliance's services.desc, compiled when its image was built, or from
 * .proto files given here; nothing of it is compiled into vapp.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call_image.h"
#include "cmd.h"
#include "vappd_client.h"
#include "vrpc.h"
#include "vrpc_dyn.h"
#include "vrpc_json.h"

extern const struct vapp_cmd vapp_cmd_call;

#define MAX_PROTOS 32
#define DEFAULT_TIMEOUT_MS 10000
/* The request read from stdin is bounded like a frame. */
#define MAX_REQUEST VRPC_MAX_FRAME_LIMIT

struct call_opts {
	const char *protos[MAX_PROTOS];
	size_t n_protos;
	const char *incs[MAX_PROTOS + 2]; /* NULL-terminated */
	size_t n_incs;
	const char *service;
	const char *image;
	int timeout_ms;
};

/*
 * A call by appliance name goes through vappd's broker, which decides it by
 * policy with the caller being "host" (the host's own gate).
 * @return 0 with the gate's address in @p addr, or 1 after saying why.
 */
static int call_resolve_appliance(const char *name, char *addr, size_t len)
{
	Vapp__Runtime__V1__ListRequest req = VAPP__RUNTIME__V1__LIST_REQUEST__INIT;
	Vapp__Runtime__V1__ListReply *reply = NULL;
	struct vrpc_client *cli = vappd_connect(&vapp_cmd_call, vappd_socket(NULL));
	int ret = 1;

	if (!cli)
		return 1;
	req.name = (char *)name;
	if (vappd_call(&vapp_cmd_call, cli, CONTROL_LIST, &req.base, (ProtobufCMessage **)&reply,
		       DEFAULT_TIMEOUT_MS))
		goto out;
	if (reply->n_appliances != 1) {
		cmd_error(&vapp_cmd_call, "%s: no such appliance (see 'vapp ps')", name);
	} else if (!reply->appliances[0]->gate[0]) {
		cmd_error(&vapp_cmd_call, "%s: vappd does not broker calls (start it with --policy); "
			  "give the appliance's address instead", name);
	} else {
		snprintf(addr, len, "%s", reply->appliances[0]->gate);
		ret = 0;
	}
out:
	if (reply)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
	vrpc_client_close(cli);
	return ret;
}

/* The whole of stdin, NUL-terminated. */
static char *read_stdin(void)
{
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap), *nb;

	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, stdin);

		n += r;
		if (r == 0)
			break;
		if (cap - n - 1 == 0) {
			if (cap >= MAX_REQUEST) {
				free(buf);
				errno = E2BIG;
				return NULL;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				free(buf);
			buf = nb;
			cap *= 2;
		}
	}
	if (!buf)
		return NULL;
	if (ferror(stdin)) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* The service named by --service, the image, METHOD's prefix, or the only one. */
static const ProtobufCServiceDescriptor *pick_service(struct vrpc_dyn **dyn, size_t n,
						      const char *want, const char *method)
{
	const ProtobufCServiceDescriptor *s, *only = NULL;
	size_t i, j, count = 0;

	for (i = 0; i < n; i++) {
		for (j = 0; (s = vrpc_dyn_service_at(dyn[i], j)); j++) {
			size_t len = strlen(s->name);
			const char *m = method[0] == '/' ? method + 1 : method;

			if (want && !strcmp(s->name, want))
				return s;
			if (!want && !strncmp(m, s->name, len) && (m[len] == '.' || m[len] == '/'))
				return s;
			only = s;
			count++;
		}
	}
	if (want) {
		cmd_error(&vapp_cmd_call, "no service %s in the .proto files given", want);
		return NULL;
	}
	if (count == 1)
		return only;
	if (count)
		cmd_error(&vapp_cmd_call, "%zu services in the .proto files: name one with "
			  "--service or as SERVICE.METHOD", count);
	else
		cmd_error(&vapp_cmd_call, "no service in the .proto files");
	return NULL;
}

/* An appliance's service: --service, the one METHOD names, or its only one. */
static const char *pick_name(const struct call_image *img, const char *want, const char *method)
{
	const char *m = method[0] == '/' ? method + 1 : method;

	if (want)
		return want;
	for (size_t i = 0; i < img->n; i++) {
		size_t len = strlen(img->service[i]);

		if (!strncmp(m, img->service[i], len) && (m[len] == '.' || m[len] == '/'))
			return img->service[i];
	}
	if (img->n == 1)
		return img->service[0];
	if (img->n)
		cmd_error(&vapp_cmd_call, "the appliance offers %zu services: name one with "
			  "--service or as SERVICE.METHOD", img->n);
	else
		cmd_error(&vapp_cmd_call, "the appliance offers no service");
	return NULL;
}

/* From services.desc: no protoc runs. */
static const ProtobufCServiceDescriptor *image_service(const struct call_image *img,
						       const char *want, const char *method,
						       struct vrpc_dyn **dyn)
{
	const ProtobufCServiceDescriptor *svc;
	char err[1024] = "";
	const char *name = pick_name(img, want, method);

	if (!name)
		return NULL;
	*dyn = vrpc_dyn_load_set(img->desc, img->desc_len, err, sizeof(err));
	if (!*dyn) {
		cmd_error(&vapp_cmd_call, "services.desc: %s", err[0] ? err : strerror(errno));
		return NULL;
	}
	svc = vrpc_dyn_service(*dyn, name);
	if (!svc)
		cmd_error(&vapp_cmd_call, "services.desc describes no service %s", name);
	return svc;
}

/* From --proto files, compiled now. */
static const ProtobufCServiceDescriptor *proto_service(struct call_opts *o, const char *method,
						       struct vrpc_dyn **dyn, size_t *n_dyn)
{
	char err[1024];

	for (size_t i = 0; i < o->n_protos; i++) {
		dyn[*n_dyn] = vrpc_dyn_load(o->protos[i], o->incs, err, sizeof(err));
		if (!dyn[*n_dyn]) {
			cmd_error(&vapp_cmd_call, "%s: %s", o->protos[i], err);
			return NULL;
		}
		(*n_dyn)++;
	}
	return pick_service(dyn, *n_dyn, o->service, method);
}

static void list_methods(const ProtobufCServiceDescriptor *svc)
{
	fprintf(stderr, "vapp call: methods of %s:", svc->name);
	for (unsigned i = 0; i < svc->n_methods; i++)
		fprintf(stderr, " %s", svc->methods[i].name);
	fputc('\n', stderr);
}

/* Each item of a stream: one JSON object a line, as soon as it comes. */
static void print_item(void *ud, const char *json)
{
	(void)ud;
	printf("%s\n", json);
	fflush(stdout);
}

static int do_call(const char *addr, const ProtobufCServiceDescriptor *svc, const char *method,
		   const char *json, int timeout_ms)
{
	struct vrpc_client_opts o = { .connect_timeout_ms = timeout_ms > 0 && timeout_ms < 5000
								  ? timeout_ms : 5000 };
	struct vrpc_client *cli;
	char *reply = NULL, *msg = NULL;
	int st;

	cli = vrpc_client_open(addr, svc, &o);
	if (!cli) {
		/* ENOENT: no socket there, or a server without the service. */
		if (errno == ENOENT)
			cmd_error(&vapp_cmd_call, "%s: nothing there, or it does not offer %s",
				  addr, svc->name);
		else
			cmd_error(&vapp_cmd_call, "cannot connect to %s: %s", addr, strerror(errno));
		return 1;
	}
	st = vrpc_client_call_json(cli, method, json, print_item, NULL, timeout_ms, &reply, &msg);
	vrpc_client_close(cli);
	if (st != VRPC_OK) {
		fprintf(stderr, "vapp call: %s: %s\n", vrpc_status_name(st), msg ? msg : "");
		free(msg);
		free(reply);
		return 1;
	}
	if (reply)
		printf("%s\n", reply);
	free(reply);
	free(msg);
	return 0;
}

static int parse_args(int argc, char **argv, struct call_opts *o)
{
	static const struct option opts[] = {
		{ "proto", required_argument, NULL, 'p' },
		{ "include", required_argument, NULL, 'I' },
		{ "service", required_argument, NULL, 's' },
		{ "image", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:I:s:i:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (o->n_protos == MAX_PROTOS)
				return cmd_usage_error(&vapp_cmd_call, "at most %d --proto", MAX_PROTOS);
			o->protos[o->n_protos++] = optarg;
			break;
		case 'I':
			if (o->n_incs == MAX_PROTOS)
				return cmd_usage_error(&vapp_cmd_call, "at most %d -I", MAX_PROTOS);
			o->incs[o->n_incs++] = optarg;
			break;
		case 's':
			o->service = optarg;
			break;
		case 'i':
			o->image = optarg;
			break;
		case 't':
			errno = 0;
			o->timeout_ms = (int)strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->timeout_ms < 0)
				return cmd_usage_error(&vapp_cmd_call, "--timeout takes milliseconds "
						       "(0: none), not '%s'", optarg);
			break;
		default:
			return cmd_usage_error(&vapp_cmd_call, "unknown option");
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		return cmd_usage_error(&vapp_cmd_call, "expects ADDR|APPLIANCE METHOD [JSON|-]");
	/* An appliance by name brings its own image; an address does not. */
	if (!o->n_protos && !o->image && strchr(argv[optind], ':'))
		return cmd_usage_error(&vapp_cmd_call, "needs --proto FILE or --image DIR to "
				       "know the service");
	return 0;
}

/* The request: the argument, stdin for "-", else {}. NULL after saying why. */
static const char *request_json(int argc, char **argv, char **stdin_json)
{
	const char *json = argc - optind == 3 ? argv[optind + 2] : "{}";

	if (strcmp(json, "-"))
		return json;
	json = *stdin_json = read_stdin();
	if (!json)
		cmd_error(&vapp_cmd_call, "reading the request from stdin: %s", strerror(errno));
	return json;
}

static int run(int argc, char **argv)
{
	struct call_opts o = { .timeout_ms = DEFAULT_TIMEOUT_MS };
	struct vrpc_dyn *dyn[MAX_PROTOS] = { 0 };
	struct call_image img = { 0 };
	const ProtobufCServiceDescriptor *svc = NULL;
	const char *target, *method, *json;
	char err[1024], addr[256], *stdin_json = NULL;
	size_t n_dyn = 0;
	int ret = 1, r;

	if ((r = parse_args(argc, argv, &o)))
		return r;
	target = argv[optind];
	method = argv[optind + 1];
	if (!(json = request_json(argc, argv, &stdin_json)))
		return 1;
	if (strchr(target, ':'))
		snprintf(addr, sizeof(addr), "%s", target);
	else if (call_resolve_appliance(target, addr, sizeof(addr)))
		goto out;
	if (o.n_protos) {
		svc = proto_service(&o, method, dyn, &n_dyn);
	} else if (o.image) {
		if (call_image_open(o.image, &img, err, sizeof(err)) == 0)
			svc = image_service(&img, o.service, method, &dyn[n_dyn++]);
		else
			cmd_error(&vapp_cmd_call, "%s", err);
	} else if (call_image_describe(target, &img) == 0) {
		/* By name: vappd says what the appliance's verified image offers. */
		svc = image_service(&img, o.service, method, &dyn[n_dyn++]);
	}
	if (!svc)
		goto out;
	if (vrpc_json_find_method(svc, method) < 0) {
		fprintf(stderr, "vapp call: %s: no method %s in %s\n",
			vrpc_status_name(VRPC_NOT_FOUND), method, svc->name);
		list_methods(svc);
		goto out;
	}
	ret = do_call(addr, svc, method, json, o.timeout_ms);
out:
	for (size_t i = 0; i < n_dyn; i++)
		vrpc_dyn_free(dyn[i]);
	call_image_close(&img);
	free(stdin_json);
	return ret;
}

const struct vapp_cmd vapp_cmd_call = {
	.name = "call",
	.summary = "call any method of an appliance's service, JSON in and out",
	.usage =
		"Usage: vapp call [OPTIONS] ADDR|APPLIANCE METHOD [JSON|-]\n"
		"\n"
		"Calls METHOD of an appliance's RPC service with the request written as\n"
		"JSON, and prints the reply as JSON. Nothing of the service is compiled\n"
		"into vapp: the messages are converted through descriptors built when the\n"
		"command runs, from the appliance's services.desc (compiled by 'vapp\n"
		"build' and measured with the image: no protoc is needed) or from .proto\n"
		"files given with --proto (compiled now, with protoc).\n"
		"\n"
		"Arguments:\n"
		"  ADDR       a vrpc address: unix:PATH, serial:PATH (the host side of a\n"
		"             virtio-serial channel), shm:PATH, vsock:CID:PORT, xen:..., or\n"
		"             tcp:HOST:PORT (development only)\n"
		"  APPLIANCE  an appliance vappd runs (see 'vapp ps'): the call goes\n"
		"             through vappd's broker as the guest \"host\", so vappd's\n"
		"             policy decides it (PERMISSION_DENIED otherwise); without\n"
		"             --proto or --image vappd hands over the services.desc of\n"
		"             its verified copy of the image (a member of vappd's group\n"
		"             may call by name)\n"
		"  METHOD     Method, Service.Method or pkg.Service.Method (also\n"
		"             pkg.Service/Method); a full name also picks the service\n"
		"  JSON       the request, a JSON object (proto3 JSON mapping: lowerCamelCase\n"
		"             or .proto field names, 64-bit integers as strings or numbers,\n"
		"             bytes as base64, enums by name or number); '-' reads it from\n"
		"             stdin; default {}\n"
		"\n"
		"Options:\n"
		"  -p, --proto FILE    the .proto declaring the service; may be repeated\n"
		"  -I, --include DIR   a folder to find imports in (protoc's -I); may be\n"
		"                      repeated; FILE's own folder is always searched\n"
		"  -s, --service NAME  the service's full name (vapp.hello.v1.Greeter), when\n"
		"                      the .proto files declare several and METHOD does not\n"
		"                      name it\n"
		"  -i, --image DIR     an appliance image folder (as 'vapp build' writes it):\n"
		"                      the services come from its manifest.yaml and its\n"
		"                      services.desc\n"
		"  -t, --timeout MS    deadline of the call in milliseconds, 0 for none\n"
		"                      (default 10000); connecting waits at most 5000\n"
		"  -h, --help          show this help\n"
		"\n"
		"Output: the reply on stdout, indented. A streaming method prints each item\n"
		"as it arrives, one JSON object a line, and nothing at the end. Fields\n"
		"holding their default value are left out (proto3 JSON).\n"
		"\n"
		"Exit status: 0 the call succeeded; 1 it failed: the status name and the\n"
		"server's message on stderr (\"vapp call: NOT_FOUND: ...\"), or a .proto\n"
		"that does not compile, an address that does not answer, an unknown\n"
		"method; 2 usage error. A request that does not fit the request message\n"
		"is INVALID_ARGUMENT naming the field, and is not sent.\n"
		"\n"
		"Environment:\n"
		"  VRPC_PROTOC   the protoc to run for --proto (default: protoc from PATH)\n"
		"  VAPPD_SOCKET  vappd's control socket, for APPLIANCE (default\n"
		"                /run/vapp/vappd.sock)\n"
		"\n"
		"Examples:\n"
		"  vapp call --proto examples/hello/hello.proto unix:/tmp/hello.sock \\\n"
		"      SayHello '{\"name\": \"world\"}'\n"
		"  vapp call --image build/appliances/hello serial:/run/vapp/hello.rpc \\\n"
		"      vapp.hello.v1.Greeter.Watch '{\"name\": \"x\", \"count\": 3}'\n"
		"  echo '{\"name\": \"stdin\"}' | vapp call -p hello.proto unix:/tmp/h.sock SayHello -\n"
		"  vapp call hello SayHello '{\"name\": \"admin\"}'\n",
	.run = run,
};
