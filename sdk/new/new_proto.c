/*
 * new_proto.c - vapp new: the services of a .proto, read the sure way.
 *
 * No .proto parser here: protoc itself compiles the file into a
 * FileDescriptorSet (--descriptor_set_out), and protobuf-c's code for
 * descriptor.proto (libvrpc builds it) decodes that. The C names are then
 * spelled as protoc-c spells them (its c_helpers.cc); the scaffold's build
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

#include "google/protobuf/descriptor.pb-c.h"
#include "new_template.h"

#define PROTOC_TIMEOUT_MS 30000
#define SET_MAX (16u << 20) /* a descriptor set larger than this is not a .proto's */

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

/* protoc-c: CamelToLower/CamelToUpper (an '_' before each upper-case letter
 * that follows a lower-case one) and ToCamel, joined by "__" per component. */
static char *convert(const char *full, int how)
{
	size_t n = strlen(full);
	char *out = malloc(2 * n + 1), *o = out;
	const char *p = full;

	if (!out)
		return NULL;
	while (*p) {
		const char *end = strchrnul(p, '.');
		bool was_upper = true, next_upper = true;

		if (end != p && o != out) {
			*o++ = '_';
			*o++ = '_';
		}
		for (; p < end; p++) {
			bool up = isupper((unsigned char)*p);

			if (how == 'C') {
				if (*p == '_') {
					next_upper = true;
				} else {
					*o++ = next_upper ? (char)toupper((unsigned char)*p) : *p;
					next_upper = false;
				}
				continue;
			}
			if (up && !was_upper)
				*o++ = '_';
			*o++ = how == 'l' ? (char)tolower((unsigned char)*p)
					  : (char)toupper((unsigned char)*p);
			was_upper = up;
		}
		if (*p)
			p++;
	}
	*o = '\0';
	return out;
}

char *new_c_name(const char *full) { return convert(full, 'C'); }
char *new_lower_name(const char *full) { return convert(full, 'l'); }
char *new_upper_name(const char *full) { return convert(full, 'u'); }

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Runs argv, its stderr going to ours (protoc names the line at fault);
 * killed when it takes longer than PROTOC_TIMEOUT_MS. */
static int run_bounded(char *const argv[], char *err, size_t errlen)
{
	long long deadline = now_ms() + PROTOC_TIMEOUT_MS;
	int status, pfd[2];
	pid_t pid;

	/* The pipe's write end closes when protoc exits: a bounded wait on it. */
	if (pipe2(pfd, O_CLOEXEC))
		return fail(err, errlen, -errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return fail(err, errlen, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* Keep the write end across exec: it is what tells the parent. */
		if (fcntl(pfd[1], F_SETFD, 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long long left = deadline - now_ms();
		char c;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)left) > 0 && read(pfd[0], &c, 1) <= 0)
			break;
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return fail(err, errlen, -errno, "waitpid: %s", strerror(errno));
	if (WIFSIGNALED(status))
		return fail(err, errlen, -ETIMEDOUT, "%s did not finish in %d s", argv[0],
			    PROTOC_TIMEOUT_MS / 1000);
	if (WEXITSTATUS(status) == 127)
		return fail(err, errlen, -ENOENT, "%s: not found (Debian: apt-get install "
			    "protobuf-compiler)", argv[0]);
	if (WEXITSTATUS(status))
		return fail(err, errlen, -EINVAL, "%s failed (its messages are above)", argv[0]);
	return 0;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0 || st.st_size > SET_MAX) {
		close(fd);
		return -EINVAL;
	}
	*data = malloc((size_t)st.st_size);
	if (!*data) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, *data, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*data);
		return -EIO;
	}
	*len = (size_t)n;
	return 0;
}

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
	char tmpl[] = "/tmp/vapp-new.XXXXXX", *set_path = NULL, *out_opt = NULL;
	char *dir_copy = strdup(path), *base_copy = strdup(path), *inc = NULL;
	uint8_t *data = NULL;
	size_t len = 0;
	FileSet *set = NULL;
	int ret;

	memset(p, 0, sizeof(*p));
	if (!dir_copy || !base_copy) {
		ret = fail(err, errlen, -ENOMEM, "out of memory");
		goto out_free;
	}
	if (access(path, R_OK)) {
		ret = fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out_free;
	}
	if (!mkdtemp(tmpl)) {
		ret = fail(err, errlen, -errno, "mkdtemp: %s", strerror(errno));
		goto out_free;
	}
	if (asprintf(&set_path, "%s/set.pb", tmpl) < 0 ||
	    asprintf(&out_opt, "--descriptor_set_out=%s", set_path) < 0 ||
	    asprintf(&inc, "-I%s", dirname(dir_copy)) < 0) {
		ret = fail(err, errlen, -ENOMEM, "out of memory");
		goto out_tmp;
	}
	{
		char *argv[] = { "protoc", "--include_imports", out_opt, inc,
				 basename(base_copy), NULL };

		ret = run_bounded(argv, err, errlen);
	}
	if (ret)
		goto out_tmp;
	ret = read_all(set_path, &data, &len);
	if (ret) {
		fail(err, errlen, ret, "protoc's descriptor set: %s", strerror(-ret));
		goto out_tmp;
	}
	set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (!set) {
		ret = fail(err, errlen, -EINVAL, "protoc's descriptor set does not decode");
		goto out_tmp;
	}
	p->file = strdup(basename(base_copy));
	ret = p->file ? from_set(set, p, err, errlen) : -ENOMEM;
	google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
out_tmp:
	if (set_path)
		unlink(set_path);
	rmdir(tmpl);
out_free:
	free(data);
	free(set_path);
	free(out_opt);
	free(inc);
	free(dir_copy);
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
