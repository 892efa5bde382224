/*
 * new_template.h - vapp new: the appliance template and how it is rendered.
 *
 * The template is the .in files of sdk/new/template, embedded in vapp at build time
 * (sdk/new/embed.sh). A template file is text with:
 *
 *   {{var}}                 replaced by a variable (an unknown one is an error)
 *   {{each method}}         a line of its own: the lines up to the matching
 *   ...                     {{end}} are repeated for every method of the
 *   {{end}}                 service, with the method's variables set
 *   {{if COND}} [{{else}}]  a line of its own: the lines up to {{else}} or
 *   ...                     {{end}} are kept when COND holds, the others
 *   {{end}}                 when it does not; COND is one of streaming,
 *                           unary, first, last (of the method in hand),
 *                           any_streaming, any_unary (of the service)
 */
#ifndef VAPP_NEW_TEMPLATE_H
#define VAPP_NEW_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct new_template {
	const char *name; /* "server.c.in" */
	const unsigned char *data;
	size_t len;
};

/* Every template file; ends with a NULL name. */
extern const struct new_template new_templates[];

/* One method of the service, with the names protoc-c gives it. */
struct new_method {
	char *name;       /* "SayHello" */
	char *lower;      /* "say_hello": the field of the _Service struct */
	char *in_full;    /* "vapp.hello.v1.HelloRequest" */
	char *in_c;       /* "Vapp__Hello__V1__HelloRequest" */
	char *in_lower;   /* "vapp__hello__v1__hello_request" */
	char *in_upper;   /* "VAPP__HELLO__V1__HELLO_REQUEST" */
	char *out_full, *out_c, *out_lower, *out_upper;
	bool streaming;   /* returns (stream X) */
	unsigned index;   /* its number on the wire */
};

struct new_service {
	char *full;  /* "vapp.hello.v1.Greeter" */
	char *short_name; /* "Greeter" */
	char *c;     /* "Vapp__Hello__V1__Greeter" */
	char *lower; /* "vapp__hello__v1__greeter" */
	char *upper; /* "VAPP__HELLO__V1__GREETER" */
	struct new_method *methods;
	size_t n_methods;
};

struct new_proto {
	char *file;    /* the .proto's file name, no folder */
	char *package; /* "" when it has none */
	struct new_service *services;
	size_t n_services;
};

/**
 * Runs protoc on @p path and reads the services it declares.
 * @return 0, or -errno with a reason in @p err (-ENOENT no protoc or no file,
 *         -EINVAL the file does not compile or uses what vapp new cannot
 *         scaffold: imports, client streaming, no service).
 */
int new_proto_load(const char *path, struct new_proto *p, char *err, size_t errlen);
void new_proto_free(struct new_proto *p);

/* The protoc-c spellings of a protobuf name (protoc-c/c_helpers.cc). */
char *new_c_name(const char *full);     /* FullNameToC */
char *new_lower_name(const char *full); /* FullNameToLower */
char *new_upper_name(const char *full); /* FullNameToUpper */

/* A file-level variable: {{key}} -> value. */
struct new_var {
	const char *key;
	const char *value;
};

/**
 * Renders @p t for @p svc with the file-level variables @p vars (ending with
 * a NULL key) into @p out (an open_memstream).
 * @return 0, or -EINVAL with the template line at fault in @p err.
 */
int new_render(const struct new_template *t, const struct new_service *svc,
	       const struct new_var *vars, FILE *out, char *err, size_t errlen);

#endif /* VAPP_NEW_TEMPLATE_H */
