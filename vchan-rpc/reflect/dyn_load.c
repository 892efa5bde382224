/*
 * dyn_load.c - a FileDescriptorSet (protoc --include_imports
 * --descriptor_set_out) into protobuf-c descriptors: every message and enum
 * of every file registered by full name first, so that fields and methods
 * can point at any of them, then each one built, then the services.
 *
 * The set comes from protoc, which checked it; it is still read as input
 * from a file: every index and name is checked before use, and nothing
 * recurses deeper than DYN_MAX_NESTING.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dyn_priv.h"

/* Largest descriptor set accepted (descriptor.proto itself is ~10 KiB). */
#define DYN_MAX_SET (64u << 20)
#define DYN_BLOCK (16u << 10)

struct dyn_block {
	struct dyn_block *next;
	size_t used, cap;
	max_align_t data[];
};

void *dyn_alloc(struct vrpc_dyn *d, size_t size)
{
	struct dyn_block *b = d->blocks;
	size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t);
	void *p;

	if (size > DYN_MAX_SET)
		return NULL;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > DYN_BLOCK / sizeof(max_align_t) ? need
								    : DYN_BLOCK / sizeof(max_align_t);

		b = calloc(1, sizeof(*b) + cap * sizeof(max_align_t));
		if (!b)
			return NULL;
		b->cap = cap;
		/* A big lone allocation goes behind the current block, which
		 * keeps its free room. */
		if (d->blocks && need > DYN_BLOCK / sizeof(max_align_t)) {
			b->next = d->blocks->next;
			d->blocks->next = b;
		} else {
			b->next = d->blocks;
			d->blocks = b;
		}
	}
	p = &b->data[b->used];
	b->used += need;
	return p;
}

void *dyn_calloc(struct vrpc_dyn *d, size_t n, size_t size)
{
	if (size && n > DYN_MAX_SET / size)
		return NULL;
	return dyn_alloc(d, n * size);
}

char *dyn_strdup(struct vrpc_dyn *d, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = dyn_alloc(d, n);

	if (p)
		memcpy(p, s, n);
	return p;
}

char *dyn_printf(struct vrpc_dyn *d, const char *fmt, ...)
{
	va_list ap;
	char *tmp, *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = dyn_strdup(d, tmp);
	free(tmp);
	return p;
}

/* The first reason wins: later ones are consequences. */
int dyn_fail(struct vrpc_dyn *d, int err, const char *fmt, ...)
{
	va_list ap;

	if (d->err && d->errlen && d->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(d->err, d->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int type_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dyn_type *)a)->name, ((const struct dyn_type *)b)->name);
}

const struct dyn_type *dyn_find(const struct vrpc_dyn *d, const char *ref)
{
	struct dyn_type key = { .name = ref[0] == '.' ? ref + 1 : ref };

	if (!d->types)
		return NULL;
	return bsearch(&key, d->types, d->n_types, sizeof(key), type_cmp);
}

static int add_type(struct vrpc_dyn *d, struct dyn_type t)
{
	if (d->n_types == d->cap_types) {
		size_t cap = d->cap_types ? d->cap_types * 2 : 64;
		struct dyn_type *n = realloc(d->types, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		d->types = n;
		d->cap_types = cap;
	}
	d->types[d->n_types++] = t;
	return 0;
}

/* Full, short, C and package names of a type declared in @p scope. */
static int type_names(struct vrpc_dyn *d, const DynFileProto *file, const char *scope,
		      const char *name, const char **full, const char **c_name,
		      const char **pkg)
{
	if (!name || !*name || strchr(name, '.'))
		return dyn_fail(d, -EINVAL, "%s: a type with a bad name", file->name);
	*full = *scope ? dyn_printf(d, "%s.%s", scope, name) : dyn_strdup(d, name);
	*pkg = dyn_strdup(d, file->package ? file->package : "");
	if (!*full || !*pkg)
		return -ENOMEM;
	*c_name = dyn_c_name(d, *full);
	return *c_name ? 0 : -ENOMEM;
}

static int add_enum(struct vrpc_dyn *d, const DynFileProto *file, const char *scope,
		    const DynEnumProto *ep)
{
	struct dyn_enum *e = dyn_alloc(d, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	err = type_names(d, file, scope, ep->name, &e->d.name, &e->d.c_name,
			 &e->d.package_name);
	if (err)
		return err;
	e->d.short_name = strrchr(e->d.name, '.') ? strrchr(e->d.name, '.') + 1 : e->d.name;
	e->proto = ep;
	return add_type(d, (struct dyn_type){ .name = e->d.name, .kind = DYN_ENUM, .en = e });
}

static int add_message(struct vrpc_dyn *d, const DynFileProto *file, const char *scope,
		       const DynMsgProto *mp, unsigned depth)
{
	struct dyn_msg *m = dyn_alloc(d, sizeof(*m));
	size_t i;
	int err;

	if (!m)
		return -ENOMEM;
	if (depth > DYN_MAX_NESTING)
		return dyn_fail(d, -EINVAL, "%s: messages nested deeper than %d", file->name,
				DYN_MAX_NESTING);
	err = type_names(d, file, scope, mp->name, &m->d.name, &m->d.c_name,
			 &m->d.package_name);
	if (err)
		return err;
	m->d.short_name = strrchr(m->d.name, '.') ? strrchr(m->d.name, '.') + 1 : m->d.name;
	m->proto = mp;
	m->file = file;
	m->slot = -1;
	if (mp->n_extension)
		return dyn_fail(d, -EINVAL, "%s: extensions are not supported", m->d.name);
	err = add_type(d, (struct dyn_type){ .name = m->d.name, .kind = DYN_MESSAGE, .msg = m });
	for (i = 0; !err && i < mp->n_enum_type; i++)
		err = add_enum(d, file, m->d.name, mp->enum_type[i]);
	for (i = 0; !err && i < mp->n_nested_type; i++)
		err = add_message(d, file, m->d.name, mp->nested_type[i], depth + 1);
	return err;
}

static int register_types(struct vrpc_dyn *d)
{
	size_t i, j;
	int err = 0;

	for (i = 0; !err && i < d->set->n_file; i++) {
		const DynFileProto *f = d->set->file[i];
		const char *pkg = f->package ? f->package : "";

		if (!f->name)
			return dyn_fail(d, -EINVAL, "a file without a name in the set");
		if (f->syntax && strcmp(f->syntax, "proto2") && strcmp(f->syntax, "proto3"))
			return dyn_fail(d, -EINVAL, "%s: syntax \"%.40s\" is not supported",
					f->name, f->syntax);
		if (f->n_extension)
			return dyn_fail(d, -EINVAL, "%s: extensions are not supported", f->name);
		for (j = 0; !err && j < f->n_enum_type; j++)
			err = add_enum(d, f, pkg, f->enum_type[j]);
		for (j = 0; !err && j < f->n_message_type; j++)
			err = add_message(d, f, pkg, f->message_type[j], 0);
	}
	if (err)
		return err;
	qsort(d->types, d->n_types, sizeof(*d->types), type_cmp);
	for (i = 1; i < d->n_types; i++)
		if (!strcmp(d->types[i - 1].name, d->types[i].name))
			return dyn_fail(d, -EINVAL, "type %s declared twice", d->types[i].name);
	return 0;
}

static const ProtobufCMessageDescriptor *method_type(struct vrpc_dyn *d, const char *ref,
						     const char *svc, const char *method)
{
	const struct dyn_type *t = ref ? dyn_find(d, ref) : NULL;

	if (!t || t->kind != DYN_MESSAGE) {
		dyn_fail(d, -EINVAL, "%s.%s: unknown message type %s", svc, method,
			 ref ? ref : "(none)");
		return NULL;
	}
	return &t->msg->d;
}

struct method_key {
	const char *name;
	unsigned index;
};

static int method_cmp(const void *a, const void *b)
{
	return strcmp(((const struct method_key *)a)->name, ((const struct method_key *)b)->name);
}

static int build_service(struct vrpc_dyn *d, const DynFileProto *file,
			 const DynServiceProto *sp, ProtobufCServiceDescriptor **out)
{
	ProtobufCServiceDescriptor *s = dyn_alloc(d, sizeof(*s));
	unsigned n = (unsigned)sp->n_method, i, *by_nm;
	ProtobufCMethodDescriptor *methods;
	struct method_key *keys;
	int err;

	if (!s)
		return -ENOMEM;
	if (sp->n_method > 65536)
		return dyn_fail(d, -EINVAL, "%s: too many methods", file->name);
	err = type_names(d, file, file->package ? file->package : "", sp->name, &s->name,
			 &s->c_name, &s->package);
	if (err)
		return err;
	s->short_name = strrchr(s->name, '.') ? strrchr(s->name, '.') + 1 : s->name;
	methods = dyn_calloc(d, n ? n : 1, sizeof(*methods));
	by_nm = dyn_calloc(d, n ? n : 1, sizeof(*by_nm));
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (!methods || !by_nm || !keys) {
		free(keys);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const Google__Protobuf__MethodDescriptorProto *mp = sp->method[i];

		if (!mp->name || !(methods[i].name = dyn_strdup(d, mp->name))) {
			free(keys);
			return mp->name ? -ENOMEM : dyn_fail(d, -EINVAL, "%s: a method without "
							     "a name", s->name);
		}
		methods[i].input = method_type(d, mp->input_type, s->name, mp->name);
		methods[i].output = method_type(d, mp->output_type, s->name, mp->name);
		if (!methods[i].input || !methods[i].output) {
			free(keys);
			return -EINVAL;
		}
		keys[i] = (struct method_key){ methods[i].name, i };
	}
	qsort(keys, n, sizeof(*keys), method_cmp);
	for (i = 0; i < n; i++)
		by_nm[i] = keys[i].index;
	free(keys);
	s->magic = PROTOBUF_C__SERVICE_DESCRIPTOR_MAGIC;
	s->n_methods = n;
	s->methods = methods;
	s->method_indices_by_name = by_nm;
	*out = s;
	return 0;
}

static int build_services(struct vrpc_dyn *d)
{
	size_t i, j, n = 0;
	int err;

	for (i = 0; i < d->set->n_file; i++)
		n += d->set->file[i]->n_service;
	d->services = calloc(n ? n : 1, sizeof(*d->services));
	if (!d->services)
		return -ENOMEM;
	for (i = 0; i < d->set->n_file; i++) {
		const DynFileProto *f = d->set->file[i];

		/* protoc writes the imports first, the file asked for last. */
		if (i + 1 == d->set->n_file)
			d->first_main_service = d->n_services;
		for (j = 0; j < f->n_service; j++) {
			err = build_service(d, f, f->service[j], &d->services[d->n_services]);
			if (err)
				return err;
			d->n_services++;
		}
	}
	return 0;
}

static int build_all(struct vrpc_dyn *d)
{
	size_t i;
	int err = register_types(d);

	for (i = 0; !err && i < d->n_types; i++)
		if (d->types[i].kind == DYN_ENUM)
			err = dyn_enum_build(d, d->types[i].en);
	for (i = 0; !err && i < d->n_types; i++)
		if (d->types[i].kind == DYN_MESSAGE)
			err = dyn_message_build(d, d->types[i].msg);
	for (i = 0; !err && i < d->n_types; i++) {
		if (d->types[i].kind == DYN_MESSAGE && dyn_init_bind(d->types[i].msg))
			err = dyn_fail(d, -ENOSPC, "more than %d message types loaded at once",
				       VRPC_DYN_MAX_MESSAGES);
	}
	if (!err)
		err = build_services(d);
	return err;
}

/* The parsed protos are needed only while building: drop them. */
static void forget_protos(struct vrpc_dyn *d)
{
	size_t i;

	for (i = 0; i < d->n_types; i++) {
		if (d->types[i].kind == DYN_MESSAGE) {
			d->types[i].msg->proto = NULL;
			d->types[i].msg->file = NULL;
		} else {
			d->types[i].en->proto = NULL;
		}
	}
	google__protobuf__file_descriptor_set__free_unpacked(d->set, NULL);
	d->set = NULL;
}

struct vrpc_dyn *vrpc_dyn_load_set(const void *data, size_t len, char *err, size_t errlen)
{
	struct vrpc_dyn *d = calloc(1, sizeof(*d));
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!d) {
		errno = ENOMEM;
		return NULL;
	}
	d->err = err;
	d->errlen = errlen;
	if (len > DYN_MAX_SET) {
		ret = dyn_fail(d, -EINVAL, "descriptor set of %zu bytes is too big", len);
		goto err_dyn;
	}
	d->set = google__protobuf__file_descriptor_set__unpack(NULL, len, data);
	if (!d->set || d->set->n_file == 0) {
		ret = dyn_fail(d, -EINVAL, "not a FileDescriptorSet, or an empty one");
		goto err_dyn;
	}
	ret = build_all(d);
	if (ret)
		goto err_dyn;
	forget_protos(d);
	d->err = NULL;
	d->errlen = 0;
	return d;
err_dyn:
	if (ret == -ENOMEM)
		dyn_fail(d, ret, "out of memory");
	vrpc_dyn_free(d);
	errno = -ret;
	return NULL;
}

void vrpc_dyn_free(struct vrpc_dyn *d)
{
	struct dyn_block *b, *next;
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n_types; i++)
		if (d->types[i].kind == DYN_MESSAGE)
			dyn_init_release(d->types[i].msg);
	if (d->set)
		google__protobuf__file_descriptor_set__free_unpacked(d->set, NULL);
	for (b = d->blocks; b; b = next) {
		next = b->next;
		free(b);
	}
	free(d->types);
	free(d->services);
	free(d);
}

const ProtobufCServiceDescriptor *vrpc_dyn_service(const struct vrpc_dyn *d,
						   const char *full_name)
{
	size_t i;

	if (!d) {
		errno = EINVAL;
		return NULL;
	}
	if (!full_name) {
		if (d->n_services - d->first_main_service == 1)
			return d->services[d->first_main_service];
		errno = ENOENT;
		return NULL;
	}
	for (i = 0; i < d->n_services; i++)
		if (!strcmp(d->services[i]->name, full_name))
			return d->services[i];
	errno = ENOENT;
	return NULL;
}

const ProtobufCServiceDescriptor *vrpc_dyn_service_at(const struct vrpc_dyn *d, size_t index)
{
	if (!d || index >= d->n_services - d->first_main_service)
		return NULL;
	return d->services[d->first_main_service + index];
}

static const struct dyn_type *find_kind(const struct vrpc_dyn *d, const char *name,
					enum dyn_kind kind)
{
	const struct dyn_type *t = d && name ? dyn_find(d, name) : NULL;

	if (!t || t->kind != kind) {
		errno = ENOENT;
		return NULL;
	}
	return t;
}

const ProtobufCMessageDescriptor *vrpc_dyn_message(const struct vrpc_dyn *d,
						   const char *full_name)
{
	const struct dyn_type *t = find_kind(d, full_name, DYN_MESSAGE);

	return t ? &t->msg->d : NULL;
}

const ProtobufCEnumDescriptor *vrpc_dyn_enum(const struct vrpc_dyn *d, const char *full_name)
{
	const struct dyn_type *t = find_kind(d, full_name, DYN_ENUM);

	return t ? &t->en->d : NULL;
}
