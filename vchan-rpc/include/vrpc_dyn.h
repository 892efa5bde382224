/*
 * vrpc_dyn.h - protobuf-c descriptors built at run time from a .proto file,
 * so that a tool (`vapp call`, vappd) can call any appliance's service
 * without that service compiled in.
 *
 * vrpc_dyn_load() runs protoc (Debian's protobuf-compiler) on the file to get
 * a FileDescriptorSet, decodes it, and builds in memory the same
 * ProtobufCMessageDescriptor, ProtobufCFieldDescriptor,
 * ProtobufCEnumDescriptor and ProtobufCServiceDescriptor structures that
 * protoc-c would have generated: fields in number order with their
 * by-name index and number ranges, members laid out in a message struct as
 * the C compiler lays out protoc-c's, has_/n_/_case quantifiers, packed
 * proto3 repeated scalars, proto2 defaults, a message_init that sets them.
 * So protobuf_c_message_unpack(), _pack(), _free_unpacked(), the JSON
 * converter (vrpc_json.h) and vrpc_client_open() work on them unchanged.
 *
 * Beyond protoc-c: proto3 `optional` (which protoc-c 1.4 refuses) is laid
 * out as protobuf-c 1.5 does, like a proto2 optional (has_ flag for
 * scalars). Not supported: groups and extensions (load fails naming them).
 *
 * Each message type needs one of a fixed number of message_init entry
 * points (VRPC_DYN_MAX_MESSAGES over all loaded sets at once): protobuf-c's
 * init callback gets only the message, never its descriptor.
 *
 * POSIX only (it runs protoc); not in the Windows build. The program run is
 * `protoc` from PATH, or $VRPC_PROTOC when set.
 *
 * Threads: loading and freeing may happen on any thread; a loaded set is
 * read-only and may be used by several threads at once.
 */
#ifndef VRPC_DYN_H
#define VRPC_DYN_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Message types alive at once, over every loaded set. */
#define VRPC_DYN_MAX_MESSAGES 1024

/* protoc gets this long to compile a file before it is killed. */
#define VRPC_DYN_PROTOC_TIMEOUT_MS 30000

struct vrpc_dyn;

/**
 * Compiles @p proto_path and the files it imports.
 * @param include_dirs NULL-terminated list of import folders (protoc's -I),
 *        may be NULL; the folder of @p proto_path is always searched last.
 * @param err    receives a reason on failure (protoc's own messages for a
 *               .proto that does not compile), may be NULL
 * @return the set, or NULL with errno: ENOENT (no protoc, no file), EINVAL
 *         (the file does not compile, or uses what protobuf-c cannot
 *         describe), ENOSPC (more than VRPC_DYN_MAX_MESSAGES message types
 *         alive), ETIMEDOUT (protoc hung), ENOMEM.
 */
struct vrpc_dyn *vrpc_dyn_load(const char *proto_path, const char *const *include_dirs,
			       char *err, size_t errlen);

/**
 * Runs protoc over @p protos (NULL-terminated) and the files they import,
 * and returns the FileDescriptorSet it writes, serialised (what the builder
 * stores as an image's services.desc). @p include_dirs as for
 * vrpc_dyn_load(); each file's folder is searched after them.
 * @return 0 with *set (malloc'd) and *len, or -errno as vrpc_dyn_load()'s
 *         errno, @p err saying why.
 */
int vrpc_dyn_compile(const char *const *protos, const char *const *include_dirs, void **set,
		     size_t *len, char *err, size_t errlen);

/**
 * Like vrpc_dyn_load() from a FileDescriptorSet already serialised (as
 * `protoc --include_imports --descriptor_set_out` writes it); the last file
 * of the set is the main one.
 */
struct vrpc_dyn *vrpc_dyn_load_set(const void *data, size_t len, char *err, size_t errlen);

/** Frees the set; every descriptor from it becomes invalid. NULL is fine. */
void vrpc_dyn_free(struct vrpc_dyn *dyn);

/**
 * A service by full name ("vapp.hello.v1.Greeter"); @p full_name NULL
 * asks for the one service of the main file (NULL if it has none or
 * several). @return the descriptor or NULL (errno ENOENT).
 */
const ProtobufCServiceDescriptor *vrpc_dyn_service(const struct vrpc_dyn *dyn,
						   const char *full_name);

/** Services of the main file, in declaration order: index 0.. until NULL. */
const ProtobufCServiceDescriptor *vrpc_dyn_service_at(const struct vrpc_dyn *dyn,
						      size_t index);

/** A message type of any file of the set by full name ("pkg.Outer.Inner"),
 * or NULL (errno ENOENT). */
const ProtobufCMessageDescriptor *vrpc_dyn_message(const struct vrpc_dyn *dyn,
						   const char *full_name);

/** An enum type by full name, or NULL (errno ENOENT). */
const ProtobufCEnumDescriptor *vrpc_dyn_enum(const struct vrpc_dyn *dyn,
					     const char *full_name);

/*
 * The C names protoc-c gives a fully qualified protobuf name (c_helpers.cc),
 * each dotted part converted and the parts joined by "__":
 *   VRPC_DYN_CAMEL  ToCamel: first letter and each one after '_' upper-cased,
 *                   '_' dropped ("vapp.hello.v1.Greeter" -> Vapp__Hello__V1__Greeter)
 *   VRPC_DYN_LOWER  CamelToLower: '_' before an upper-case letter that
 *                   follows a non-upper one, all lower-cased
 *   VRPC_DYN_UPPER  CamelToUpper: the same, upper-cased
 * Only ASCII letters change case, so the locale never matters.
 * @return a malloc'ed string, or NULL (ENOMEM).
 */
enum vrpc_dyn_case { VRPC_DYN_CAMEL, VRPC_DYN_LOWER, VRPC_DYN_UPPER };
char *vrpc_dyn_c_name(const char *full, enum vrpc_dyn_case how);

#ifdef __cplusplus
}
#endif

#endif /* VRPC_DYN_H */
