/*
 * vrpc_json.h - protobuf-c messages to and from JSON, through their
 * descriptors alone: any message a protoc-c descriptor describes, with no
 * generated code per type. For tools (`vapp call`), logs and tests.
 *
 * The mapping is proto3's canonical JSON (protobuf.dev/programming-guides/json)
 * as far as protobuf-c's descriptors carry the information:
 *
 *   - keys are the lowerCamelCase JSON names on output; input accepts them
 *     and the .proto field names. protobuf-c does not keep a custom
 *     `json_name` option, so the name is always derived from the field name.
 *   - int64, uint64, sint64, fixed64, sfixed64 print as strings; every integer
 *     is accepted as a number or a string, range-checked for its type.
 *   - enums print by name (by number when the value has no name) and are
 *     accepted by name or number.
 *   - bytes are base64 (output standard with padding; input standard or
 *     URL-safe, padding optional).
 *   - float and double print NaN/Infinity/-Infinity as strings.
 *   - map fields (protoc-c's repeated XxxEntry messages) are JSON objects.
 *   - a oneof prints only its set member; two members on input are an error.
 *   - proto3 fields holding their default value, empty repeated fields and
 *     unset proto2 optional fields are left out; proto2 required fields are
 *     always printed and must be present on input.
 *   - JSON null for a field means "not set". Unknown keys are an error.
 *   - nesting (objects and arrays together) is bounded by VRPC_JSON_MAX_DEPTH.
 *
 * Not covered: the well-known types' special forms (Timestamp, Duration,
 * Any, Struct, wrappers) print as ordinary messages; protoc-c 1.4 does not
 * compile proto3 `optional`. json-c keeps the last of duplicate JSON keys
 * and cuts object keys at a \u0000, without a word.
 *
 * Numbers are read and written with the C library's strtod/snprintf: a
 * program that sets LC_NUMERIC to a locale with a decimal comma breaks
 * them (as it breaks json-c).
 *
 * The functions keep no state: any thread may call them at any time.
 */
#ifndef VRPC_JSON_H
#define VRPC_JSON_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of JSON objects and arrays accepted or produced. */
#define VRPC_JSON_MAX_DEPTH 64

/* Flags of vrpc_json_from_message(). */
#define VRPC_JSON_PRETTY 0x1 /* indented, one field a line */

/**
 * Parses the @p len bytes of JSON text at @p json (no NUL needed) into a new
 * message of type @p desc. The top level must be a JSON object.
 *
 * @param err    if not NULL, receives a one-line reason on failure, naming
 *               the path of the offending value, e.g.
 *               `at .rules[2].port: expected integer 0..4294967295, got "x"`
 * @param errlen size of @p err (the reason is truncated to fit)
 * @return the message, to free with protobuf_c_message_free_unpacked(msg,
 *         NULL) (every part is allocated as protobuf-c's unpacker allocates
 *         it); or NULL with errno EINVAL (bad JSON or a value that does not
 *         fit the message) or ENOMEM.
 */
ProtobufCMessage *vrpc_json_to_message(const ProtobufCMessageDescriptor *desc,
				       const char *json, size_t len,
				       char *err, size_t errlen);

/**
 * Writes @p msg as JSON text.
 * @param flags VRPC_JSON_PRETTY or 0.
 * @return a NUL-terminated string to free(), or NULL with errno ENOMEM,
 *         EINVAL (@p msg NULL, or not a well-formed message: a required
 *         message field NULL) or E2BIG (messages nested deeper than
 *         VRPC_JSON_MAX_DEPTH). Strings that are not valid UTF-8 are
 *         printed with U+FFFD in place of each bad byte.
 */
char *vrpc_json_from_message(const ProtobufCMessage *msg, int flags);

/**
 * Finds a method of @p svc by name: "Method", "Service.Method",
 * "pkg.Service.Method", "pkg.Service/Method" or "/pkg.Service/Method".
 * @return the method's index in svc->methods, or -ENOENT.
 */
int vrpc_json_find_method(const ProtobufCServiceDescriptor *svc, const char *name);

struct vrpc_client;

/* Handed each item of a streamed reply, as JSON text valid during the call. */
typedef void (*vrpc_json_item_fn)(void *ud, const char *json);

/**
 * Calls @p method (a name as vrpc_json_find_method() takes it) with the
 * request written as JSON, and waits for the outcome. For a streaming method
 * @p on_item (may be NULL) gets each item as it arrives.
 * @param reply_json on VRPC_OK, the reply as malloc'd JSON text (NULL for
 *        the end of a stream).
 * @param message if not NULL, receives a malloc'd error text or NULL; a
 *        request that does not parse is INVALID_ARGUMENT naming the field,
 *        an unknown method NOT_FOUND, and in both cases nothing is sent.
 * @return an enum vrpc_status.
 */
int vrpc_client_call_json(struct vrpc_client *cli, const char *method,
			  const char *request_json, vrpc_json_item_fn on_item, void *ud,
			  int timeout_ms, char **reply_json, char **message);

#ifdef __cplusplus
}
#endif

#endif /* VRPC_JSON_H */
