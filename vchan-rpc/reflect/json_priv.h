/*
 * json_priv.h - private: what the JSON encoder (json_encode.c) and decoder
 * (json_decode.c) share: reading protobuf-c's descriptors (names, presence,
 * maps), base64 and UTF-8.
 */
#ifndef VRPC_JSON_PRIV_H
#define VRPC_JSON_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct json_object;

/* The member at byte offset @p off of message @p msg, as protobuf-c's
 * descriptors describe members (offset, quantifier_offset). */
#define PBJ_MEMBER(type, msg, off) (*(type *)(void *)((char *)(msg) + (off)))
#define PBJ_CMEMBER(type, msg, off) \
	(*(const type *)(const void *)((const char *)(msg) + (off)))

/* Bytes one value of @p type takes in a message or in a repeated array. */
size_t pbj_value_size(ProtobufCType type);

/* True when @p key is @p f's .proto name or its lowerCamelCase JSON name. */
bool pbj_name_matches(const ProtobufCFieldDescriptor *f, const char *key);

/* Writes @p f's JSON name into @p buf (at most @p len bytes with the NUL).
 * @return 0, or -ENAMETOOLONG (descriptor names are not limited). */
int pbj_json_name(const ProtobufCFieldDescriptor *f, char *buf, size_t len);

/*
 * True when @p f is a map field of message @p parent. protobuf-c has no
 * map_entry option in its descriptors: protoc turns `map<K, V> my_map` into
 * `repeated MyMapEntry my_map` with MyMapEntry nested in the parent and
 * holding exactly `K key = 1; V value = 2;`, so that is the shape checked.
 */
bool pbj_is_map(const ProtobufCMessageDescriptor *parent,
		const ProtobufCFieldDescriptor *f);

/* The text of map key @p p (field @p kf) as a JSON object key: @p buf
 * (at least 24 bytes) holds numbers; strings point into the message.
 * @return 0, or -EINVAL for a type that cannot be a key. */
int pbj_map_key_text(const ProtobufCFieldDescriptor *kf, const void *p, char *buf, size_t len,
		     const char **key);

/* Whether a singular field would be packed by protobuf-c, i.e. is set. */
bool pbj_field_present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* The range of integer type @p type (enums: int32). */
void pbj_int_range(ProtobufCType type, int64_t *min, uint64_t *max);
/* An integer in the range of @p type from a JSON number or string; negative
 * values as two's complement. @return false when @p v is not one. */
bool pbj_get_int(struct json_object *v, ProtobufCType type, uint64_t *out);
/* A float (@p is_float) or double from a JSON number or string. */
bool pbj_get_real(struct json_object *v, bool is_float, double *out);

/* Base64 (RFC 4648). Encoding writes pbj_base64_len(n) chars and a NUL. */
size_t pbj_base64_len(size_t n);
void pbj_base64_encode(const uint8_t *in, size_t n, char *out);
/* Accepts the standard and URL-safe alphabets, padding optional. @p out
 * holds at least n / 4 * 3 + 2 bytes. @return 0 or -EINVAL. */
int pbj_base64_decode(const char *in, size_t n, uint8_t *out, size_t *outlen);

/* Length of the valid UTF-8 prefix of @p s (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
size_t pbj_utf8_valid_len(const char *s, size_t n);

#endif /* VRPC_JSON_PRIV_H */
