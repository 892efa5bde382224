/*
 * dyn_priv.h - private: what the run-time descriptor builder's files share.
 *
 *   dyn_load.c     FileDescriptorSet -> a set: types by name, services
 *   dyn_message.c  one message: fields in protoc-c's order, struct layout,
 *                  defaults, the init ops
 *   dyn_enum.c     one enum; protoc-c's C names
 *   dyn_init.c     the message_init entry points (slots)
 *   dyn_protoc.c   running protoc
 *
 * Every descriptor, name and default of a set lives in its arena and goes
 * with vrpc_dyn_free() in one sweep.
 */
#ifndef VRPC_DYN_PRIV_H
#define VRPC_DYN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "vrpc_dyn.h"

#define DYN_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Deepest nesting of message declarations accepted (protoc's parser has its
 * own bound; this keeps the builder's recursion bounded whatever it is). */
#define DYN_MAX_NESTING 64

typedef Google__Protobuf__FileDescriptorProto DynFileProto;
typedef Google__Protobuf__DescriptorProto DynMsgProto;
typedef Google__Protobuf__FieldDescriptorProto DynFieldProto;
typedef Google__Protobuf__EnumDescriptorProto DynEnumProto;
typedef Google__Protobuf__ServiceDescriptorProto DynServiceProto;

/* One step of message_init after the memset: copy @p size bytes of @p src
 * to the member at @p offset (a default value, protobuf_c_empty_string). */
struct dyn_init_op {
	unsigned offset;
	unsigned size;
	const void *src;
};

/* A message type: the descriptor first, so that the init entry point gets
 * back here from the descriptor alone. */
struct dyn_msg {
	ProtobufCMessageDescriptor d;
	const struct dyn_init_op *ops;
	unsigned n_ops;
	int slot;                   /* init entry point, -1: none yet */
	const DynMsgProto *proto;
	const DynFileProto *file;
};

struct dyn_enum {
	ProtobufCEnumDescriptor d;
	const DynEnumProto *proto;
	int32_t first_value;        /* the default when none is given (proto2) */
};

enum dyn_kind { DYN_MESSAGE, DYN_ENUM };

/* A named type of the set, for resolving ".pkg.Type" references. */
struct dyn_type {
	const char *name;           /* full name, no leading dot */
	enum dyn_kind kind;
	union {
		struct dyn_msg *msg;
		struct dyn_enum *en;
	};
};

struct dyn_block;

struct vrpc_dyn {
	struct dyn_block *blocks;   /* the arena */
	Google__Protobuf__FileDescriptorSet *set;
	struct dyn_type *types;     /* sorted by name once all are known */
	size_t n_types, cap_types;
	ProtobufCServiceDescriptor **services; /* every file's */
	size_t n_services;
	size_t first_main_service;  /* services of the main (last) file from here */
	char *err;
	size_t errlen;
};

/* Arena (dyn_load.c): zeroed memory aligned for any type, freed with the set. */
void *dyn_alloc(struct vrpc_dyn *d, size_t size);
void *dyn_calloc(struct vrpc_dyn *d, size_t n, size_t size);
char *dyn_strdup(struct vrpc_dyn *d, const char *s);
char *dyn_printf(struct vrpc_dyn *d, const char *fmt, ...) DYN_PRINTF(2, 3);

/* Writes a reason into the caller's buffer. @return @p err (negative errno). */
int dyn_fail(struct vrpc_dyn *d, int err, const char *fmt, ...) DYN_PRINTF(3, 4);

/* The message or enum named @p ref (".pkg.Type" as protoc writes type
 * names), or NULL. */
const struct dyn_type *dyn_find(const struct vrpc_dyn *d, const char *ref);

/* protoc-c's C names (dyn_enum.c): "my_pkg.Foo2Bar" -> "MyPkg__Foo2Bar"
 * (FullNameToC) and "MY_PKG__FOO2_BAR" (FullNameToUpper). */
char *dyn_c_name(struct vrpc_dyn *d, const char *full_name);
char *dyn_c_upper(struct vrpc_dyn *d, const char *full_name);

/* protoc-c's number ranges over @p n sorted distinct @p values (dyn_enum.c).
 * @return the number of ranges, the array (with its sentinel) in @p out. */
int dyn_int_ranges(struct vrpc_dyn *d, const int *values, unsigned n,
		   const ProtobufCIntRange **out, unsigned *n_ranges);

/* Fills an enum descriptor from its proto (names set by the caller). */
int dyn_enum_build(struct vrpc_dyn *d, struct dyn_enum *e);

/* Fills a message descriptor from its proto: every type of the set must be
 * registered first (fields point at them). */
int dyn_message_build(struct vrpc_dyn *d, struct dyn_msg *m);

/* message_init entry points (dyn_init.c). */
int dyn_init_bind(struct dyn_msg *m);
void dyn_init_release(struct dyn_msg *m);
void dyn_message_init(const struct dyn_msg *m, ProtobufCMessage *msg);

#endif /* VRPC_DYN_PRIV_H */
