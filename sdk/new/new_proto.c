/*
 * new_proto.c - vapp new: the services of a .proto, read the sure way.
 *
 * No .proto parser here: protoc itself compiles the file into a
 * FileDescriptorSet (vrpc_dyn_compile(), the project's one protoc runner),
 * and protobuf-c's code for
 * descriptor.proto (libvrpc builds it) decodes that. The C names are then
 * spelled as protoc-c spells them (vrpc_dyn_c_name()); the scaffold's build
 * compiles them against protoc-c's own output, so a drift would not go
 * unnoticed.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vrpc_dyn.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "new_template.h"


typedef Google__Protobuf__FileDescriptorSet FileSet;
typedef Google__Protobuf__FileDescriptorProto FileProto;
typedef Google__Protobuf__ServiceDescriptorProto ServiceProto;
typedef Google__Protobuf__MethodDescriptorProto MethodProto;

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

char *new_c_name(const char *full) { return vrpc_dyn_c_name(full, VRPC_DYN_CAMEL); }
char *new_lower_name(const char *full) { return vrpc_dyn_c_name(full, VRPC_DYN_LOWER); }
char *new_upper_name(const char *full) { return vrpc_dyn_c_name(full, VRPC_DYN_UPPER); }

/* protoc names types fully qualified with a leading dot. */
static int type_names(const char *type, char **full, char **c, char **lower, char **upper)
{
	*full = strdup(type[0] == '.' ? type + 1 : type);
	if (!*full)
		return -ENOMEM;
	*c = new_c_name(*full);
	*lower = new_lower_name(*full);
	*upper = new_upper_name(*full);
	return *c && *lower && *upper ? 0 : -ENOMEM;
}

static int add_method(struct new_method *m, const MethodProto *mp, unsigned index,
		      const char *svc, char *err, size_t errlen)
{
	if (mp->client_streaming)
		return fail(err, errlen, -EINVAL, "%s.%s: client streaming (stream in the "
			    "request) is not something vrpc offers; stream replies only",
			    svc, mp->name);
	m->index = index;
	m->streaming = mp->server_streaming;
	m->name = strdup(mp->name);
	m->lower = new_lower_name(mp->name);
	if (!m->name || !m->lower ||
	    type_names(mp->input_type, &m->in_full, &m->in_c, &m->in_lower, &m->in_upper) ||
	    type_names(mp->output_type, &m->out_full, &m->out_c, &m->out_lower, &m->out_upper))
		return fail(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

static int add_service(struct new_service *s, const char *package, const ServiceProto *sp,
		       char *err, size_t errlen)
{
	int ret;

	if (asprintf(&s->full, "%s%s%s", package, package[0] ? "." : "", sp->name) < 0) {
		s->full = NULL;
		return fail(err, errlen, -ENOMEM, "out of memory");
	}
	s->short_name = strdup(sp->name);
	s->c = new_c_name(s->full);
	s->lower = new_lower_name(s->full);
	s->upper = new_upper_name(s->full);
	s->methods = calloc(sp->n_method ? sp->n_method : 1, sizeof(*s->methods));
	if (!s->short_name || !s->c || !s->lower || !s->upper || !s->methods)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sp->n_method; i++) {
		ret = add_method(&s->methods[i], sp->method[i], (unsigned)i, s->full, err, errlen);
		s->n_methods = i + 1;
		if (ret)
			return ret;
	}
	if (!sp->n_method)
		return fail(err, errlen, -EINVAL, "service %s has no method", s->full);
	return 0;
}

static int from_set(const FileSet *set, struct new_proto *p, char *err, size_t errlen)
{
	const FileProto *f;
	int ret;

	/* With --include_imports the file asked for comes last. */
	if (!set->n_file)
		return fail(err, errlen, -EINVAL, "protoc described no file");
	f = set->file[set->n_file - 1];
	if (f->n_dependency)
		return fail(err, errlen, -EINVAL, "%s imports %s: vapp new scaffolds a "
			    "self-contained .proto only (put the types in one file)",
			    f->name, f->dependency[0]);
	if (!f->n_service)
		return fail(err, errlen, -EINVAL, "%s declares no service", f->name);
	p->package = strdup(f->package ? f->package : "");
	p->services = calloc(f->n_service, sizeof(*p->services));
	if (!p->package || !p->services)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (size_t i = 0; i < f->n_service; i++) {
		ret = add_service(&p->services[i], p->package, f->service[i], err, errlen);
		p->n_services = i + 1;
		if (ret)
			return ret;
	}
	return 0;
}

int new_proto_load(const char *path, struct new_proto *p, char *err, size_t errlen)
{
	const char *protos[] = { path, NULL };
	char *base_copy = strdup(path);
	void *data = NULL;
	size_t len = 0;
	FileSet *set = NULL;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!base_copy)
		return fail(err, errlen, -ENOMEM, "out of memory");
	/* The project's one protoc runner (libvrpc-reflect). */
	ret = vrpc_dyn_compile(protos, NULL, &data, &len, err, errlen);
	if (ret)
		goto out;
	set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (!set) {
		ret = fail(err, errlen, -EINVAL, "protoc's descriptor set does not decode");
		goto out;
	}
	p->file = strdup(basename(base_copy));
	ret = p->file ? from_set(set, p, err, errlen) : -ENOMEM;
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
out:
	free(data);
	free(base_copy);
	if (ret)
		new_proto_free(p);
	return ret;
}

static void method_free(struct new_method *m)
{
	free(m->name);
	free(m->lower);
	free(m->in_full);
	free(m->in_c);
	free(m->in_lower);
	free(m->in_upper);
	free(m->out_full);
	free(m->out_c);
	free(m->out_lower);
	free(m->out_upper);
}

void new_proto_free(struct new_proto *p)
{
	for (size_t i = 0; i < p->n_services; i++) {
		struct new_service *s = &p->services[i];

		for (size_t j = 0; j < s->n_methods; j++)
			method_free(&s->methods[j]);
		free(s->methods);
		free(s->full);
		free(s->short_name);
		free(s->c);
		free(s->lower);
		free(s->upper);
	}
	free(p->services);
	free(p->file);
	free(p->package);
	memset(p, 0, sizeof(*p));
}
