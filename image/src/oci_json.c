/*
 * oci_json.c - index.json, a manifest and a config blob of an OCI layout,
 * read as hostile bytes: bounded, parsed strictly by json-c (UTF-8 checked,
 * nesting bounded), every field the type it must be, strings without NULs,
 * digests only "sha256:" and 64 lowercase hex (so a digest is always a safe
 * file name), sizes whole numbers within bounds, and layers only the
 * image's own file names, each once.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "oci.h"
#include "oci_private.h"

#define OCI_JSON_DEPTH 8

static const char *const files[] = {
	"kernel", "initramfs", "cmdline.tcg", "cmdline.kvm", "cmdline.xen", "manifest.yaml",
	"services.desc", "measurement", "measurement.sig", "signer.pub",
	/* conveniences, carried when present */
	"qemu.args", "libvirt.xml", "xl.cfg",
};
#define N_FILES (sizeof(files) / sizeof(files[0]))
#define N_REQUIRED (MEASURE_N_PARTS + 3)

_Static_assert(N_FILES <= OCI_MAX_FILES, "a layout holds every file");

const char *oci_image_file(size_t i)
{
	return i < N_FILES ? files[i] : NULL;
}

int oci_image_file_required(size_t i)
{
	return i < N_REQUIRED;
}

int oci_file_required(const char *name)
{
	for (size_t i = 0; i < N_REQUIRED; i++)
		if (!strcmp(files[i], name))
			return 1;
	return 0;
}

int oci_tag_valid(const char *tag)
{
	size_t n = strlen(tag);

	if (n == 0 || n > OCI_TAG_MAX || tag[0] == '.' || tag[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = tag[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

/* Messages quote the layout's strings: no control character of theirs
 * (a terminal's escape sequence) reaches whoever reads the message. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		sanitize(err);
	}
	return -EINVAL;
}

int oci_ref_split(const char *ref, char *dir, char *tag, char *err, size_t errlen)
{
	const char *colon = strchr(ref, ':');
	size_t dlen = colon ? (size_t)(colon - ref) : strlen(ref);

	if (dlen == 0)
		return fail(err, errlen, "'%s': no layout folder before the tag", ref);
	if (dlen >= PATH_MAX)
		return fail(err, errlen, "layout folder name too long");
	memcpy(dir, ref, dlen);
	dir[dlen] = 0;
	tag[0] = 0;
	if (!colon)
		return 0;
	if (!oci_tag_valid(colon + 1))
		return fail(err, errlen, "'%s': not a tag (letters, digits, '_', '.', '-'; at "
				 "most %d; not starting with '.' or '-')", colon + 1, OCI_TAG_MAX);
	snprintf(tag, OCI_TAG_MAX + 1, "%s", colon + 1);
	return 0;
}

int oci_json_parse(const char *what, const char *json, size_t len, struct json_object **out,
		 char *err, size_t errlen)
{
	enum json_tokener_error jerr;
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	if (len > OCI_JSON_MAX)
		return fail(err, errlen, "%s: %zu bytes, more than %u", what, len, OCI_JSON_MAX);
	while (len && strchr(" \t\r\n", json[len - 1]) && json[len - 1])
		len--;
	tok = json_tokener_new_ex(OCI_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success && end == len && json_object_is_type(obj, json_type_object)) {
		*out = obj;
		return 0;
	}
	json_object_put(obj);
	if (jerr == json_tokener_continue)
		return fail(err, errlen, "%s: the JSON text ends too early", what);
	if (jerr != json_tokener_success)
		return fail(err, errlen, "%s: JSON error at byte %zu: %s", what, end,
			    json_tokener_error_desc(jerr));
	if (end != len)
		return fail(err, errlen, "%s: text after the JSON object at byte %zu", what, end);
	return fail(err, errlen, "%s: not a JSON object", what);
}

/* The string member @p key of @p obj, NULL when absent; -EINVAL when it is
 * not a string or holds a NUL. */
static int get_str(struct json_object *obj, const char *key, const char **out, const char *what,
		   char *err, size_t errlen)
{
	struct json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(err, errlen, "%s.%s: not a string", what, key);
	*out = json_object_get_string(v);
	if (strlen(*out) != (size_t)json_object_get_string_len(v))
		return fail(err, errlen, "%s.%s: holds a NUL", what, key);
	return 0;
}

static int need_str(struct json_object *obj, const char *key, const char **out,
		    const char *what, char *err, size_t errlen)
{
	int rc = get_str(obj, key, out, what, err, errlen);

	if (!rc && !*out)
		return fail(err, errlen, "%s: no \"%s\"", what, key);
	return rc;
}

/* The member @p key, which must be of @p type when present. */
static int get_typed(struct json_object *obj, const char *key, enum json_type type,
		     struct json_object **out, const char *what, char *err, size_t errlen)
{
	*out = NULL;
	if (!json_object_object_get_ex(obj, key, out))
		return 0;
	if (!json_object_is_type(*out, type))
		return fail(err, errlen, "%s.%s: not a JSON %s", what, key, json_type_to_name(type));
	return 0;
}

bool oci_digest_valid(const char *d)
{
	if (strncmp(d, "sha256:", 7) || strlen(d) != OCI_DIGEST_LEN)
		return false;
	for (d += 7; *d; d++)
		if (!((*d >= '0' && *d <= '9') || (*d >= 'a' && *d <= 'f')))
			return false;
	return true;
}

/* A descriptor: mediaType (must be @p type), digest, size (at most @p max). */
static int descriptor(struct json_object *obj, const char *type, uint64_t max,
		      struct oci_blob *out, const char *what, char *err, size_t errlen)
{
	struct json_object *size;
	const char *mt, *digest;
	int64_t n;
	int rc;

	if (!json_object_is_type(obj, json_type_object))
		return fail(err, errlen, "%s: not a JSON object", what);
	if ((rc = need_str(obj, "mediaType", &mt, what, err, errlen)) ||
	    (rc = need_str(obj, "digest", &digest, what, err, errlen)) ||
	    (rc = get_typed(obj, "size", json_type_int, &size, what, err, errlen)))
		return rc;
	if (strcmp(mt, type))
		return fail(err, errlen, "%s: media type '%.80s', not %s", what, mt, type);
	if (!oci_digest_valid(digest))
		return fail(err, errlen, "%s: digest '%.80s' is not sha256: and 64 lowercase hex",
			    what, digest);
	if (!size)
		return fail(err, errlen, "%s: no \"size\"", what);
	n = json_object_get_int64(size);
	if (n < 0 || (uint64_t)n > max)
		return fail(err, errlen, "%s: size %lld out of bounds (0 to %llu)", what,
			    (long long)n, (unsigned long long)max);
	memcpy(out->digest, digest, OCI_DIGEST_LEN + 1);
	out->size = (uint64_t)n;
	out->name = NULL;
	return 0;
}

static int schema2(struct json_object *obj, const char *type, const char *what, char *err,
		   size_t errlen)
{
	struct json_object *v;
	const char *mt;
	int rc;

	if ((rc = get_typed(obj, "schemaVersion", json_type_int, &v, what, err, errlen)))
		return rc;
	if (!v || json_object_get_int64(v) != 2)
		return fail(err, errlen, "%s: schemaVersion is not 2", what);
	if ((rc = get_str(obj, "mediaType", &mt, what, err, errlen)))
		return rc;
	if (mt && strcmp(mt, type))
		return fail(err, errlen, "%s: media type '%.80s', not %s", what, mt, type);
	return 0;
}

/* The tag of index entry @p e, NULL when it has none. */
static int entry_tag(struct json_object *e, const char **tag, const char *what, char *err,
		     size_t errlen)
{
	struct json_object *ann;
	int rc;

	*tag = NULL;
	if ((rc = get_typed(e, "annotations", json_type_object, &ann, what, err, errlen)))
		return rc;
	return ann ? get_str(ann, OCI_ANN_REF, tag, what, err, errlen) : 0;
}

/* @p err gets @p head, then the index's tags in brackets. */
static void say_tags(struct json_object *list, const char *head, char *err, size_t errlen)
{
	size_t n = json_object_array_length(list), used;
	const char *sep = "";

	if (!err || !errlen)
		return;
	used = (size_t)snprintf(err, errlen, "%s (tags:", head);
	for (size_t i = 0; i < n && used < errlen; i++) {
		const char *tag = NULL;
		struct json_object *e = json_object_array_get_idx(list, i);

		if (json_object_is_type(e, json_type_object) &&
		    entry_tag(e, &tag, "", NULL, 0) == 0 && tag) {
			used += (size_t)snprintf(err + used, errlen - used, "%s %.64s", sep, tag);
			sep = ",";
		}
	}
	if (used + 2 < errlen)
		strcat(err, ")");
	sanitize(err);
}

int oci_index_find(const char *json, size_t len, const char *tag, struct oci_blob *out,
		   char *err, size_t errlen)
{
	struct json_object *root, *list;
	char what[64];
	size_t n, found = 0;
	int rc;

	if ((rc = oci_json_parse("index.json", json, len, &root, err, errlen)))
		return rc;
	if ((rc = schema2(root, OCI_INDEX_TYPE, "index.json", err, errlen)) ||
	    (rc = get_typed(root, "manifests", json_type_array, &list, "index.json", err, errlen)))
		goto out;
	n = list ? json_object_array_length(list) : 0;
	if (n == 0) {
		rc = fail(err, errlen, "index.json: no manifests");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		const char *t;

		snprintf(what, sizeof(what), "index.json: manifests[%zu]", i);
		if (!json_object_is_type(e, json_type_object)) {
			rc = fail(err, errlen, "%s: not a JSON object", what);
			goto out;
		}
		if ((rc = entry_tag(e, &t, what, err, errlen)))
			goto out;
		if (tag && tag[0] && (!t || strcmp(t, tag)))
			continue;
		if (found++) {
			if (tag && tag[0]) {
				rc = fail(err, errlen, "index.json: tag '%s' names two manifests",
					  tag);
			} else {
				say_tags(list, "index.json: more than one manifest: say which tag",
					 err, errlen);
				rc = -ENOENT;
			}
			goto out;
		}
		if ((rc = descriptor(e, OCI_MANIFEST_TYPE, OCI_JSON_MAX, out, what, err, errlen)))
			goto out;
	}
	if (!found) {
		char head[OCI_TAG_MAX + 64];

		snprintf(head, sizeof(head), "index.json: no manifest tagged '%s'", tag);
		say_tags(list, head, err, errlen);
		rc = -ENOENT;
	}
out:
	json_object_put(root);
	return rc;
}

static int known_file(const char *name)
{
	for (size_t i = 0; i < N_FILES; i++)
		if (!strcmp(files[i], name))
			return (int)i;
	return -1;
}

static int layer(struct json_object *e, struct oci_manifest *m, unsigned *seen, const char *what,
		 char *err, size_t errlen)
{
	struct oci_blob *b = &m->files[m->n_files];
	struct json_object *ann;
	const char *title;
	int rc, i;

	if ((rc = descriptor(e, OCI_FILE_TYPE, OCI_FILE_MAX, b, what, err, errlen)) ||
	    (rc = get_typed(e, "annotations", json_type_object, &ann, what, err, errlen)))
		return rc;
	if (!ann || (rc = get_str(ann, OCI_ANN_TITLE, &title, what, err, errlen)) || !title)
		return rc ? rc : fail(err, errlen, "%s: no %s annotation (the file's name)",
				      what, OCI_ANN_TITLE);
	if ((i = known_file(title)) < 0)
		return fail(err, errlen, "%s: '%.80s' is not a file of an image", what, title);
	if (*seen & (1u << i))
		return fail(err, errlen, "%s: a second '%s'", what, title);
	*seen |= 1u << i;
	b->name = files[i];
	m->n_files++;
	return 0;
}

static int chain_annotation(struct json_object *root, struct oci_manifest *m, char *err,
			    size_t errlen)
{
	struct json_object *ann;
	const char *chain, *format;
	int rc;

	if ((rc = get_typed(root, "annotations", json_type_object, &ann, "manifest", err, errlen)))
		return rc;
	if (!ann)
		return fail(err, errlen, "manifest: no annotations (the measurement is one)");
	if ((rc = need_str(ann, OCI_ANN_CHAIN, &chain, "manifest.annotations", err, errlen)) ||
	    (rc = need_str(ann, OCI_ANN_FORMAT, &format, "manifest.annotations", err, errlen)))
		return rc;
	if (strcmp(format, MEASURE_MAGIC))
		return fail(err, errlen, "manifest: measurement format '%.40s', this vapp reads %s",
			    format, MEASURE_MAGIC);
	if (strlen(chain) != MEASURE_HEX_LEN ||
	    strspn(chain, "0123456789abcdef") != MEASURE_HEX_LEN)
		return fail(err, errlen, "manifest: %s is not 64 lowercase hex", OCI_ANN_CHAIN);
	memcpy(m->chain, chain, MEASURE_HEX_LEN + 1);
	return 0;
}

int oci_manifest_parse(const char *json, size_t len, struct oci_manifest *m, char *err,
		       size_t errlen)
{
	struct json_object *root, *cfg, *layers;
	unsigned seen = 0;
	uint64_t total = 0;
	const char *at;
	char what[64];
	size_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = oci_json_parse("manifest", json, len, &root, err, errlen)))
		return rc;
	if ((rc = schema2(root, OCI_MANIFEST_TYPE, "manifest", err, errlen)) ||
	    (rc = get_str(root, "artifactType", &at, "manifest", err, errlen)) ||
	    (rc = get_typed(root, "config", json_type_object, &cfg, "manifest", err, errlen)) ||
	    (rc = get_typed(root, "layers", json_type_array, &layers, "manifest", err, errlen)))
		goto out;
	if (!at || strcmp(at, OCI_ARTIFACT_TYPE)) {
		rc = fail(err, errlen, "manifest: artifactType '%.80s', not %s (not a vapp image)",
			  at ? at : "", OCI_ARTIFACT_TYPE);
		goto out;
	}
	if (!cfg || !layers) {
		rc = fail(err, errlen, "manifest: no %s", cfg ? "layers" : "config");
		goto out;
	}
	if ((rc = descriptor(cfg, OCI_CONFIG_TYPE, OCI_JSON_MAX, &m->config, "manifest.config",
			     err, errlen)))
		goto out;
	n = json_object_array_length(layers);
	if (n > N_FILES) {
		rc = fail(err, errlen, "manifest: %zu layers, an image has at most %zu files", n,
			  N_FILES);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "manifest.layers[%zu]", i);
		if ((rc = layer(json_object_array_get_idx(layers, i), m, &seen, what, err, errlen)))
			goto out;
		total += m->files[i].size; /* each at most OCI_FILE_MAX: no overflow */
	}
	if (total > OCI_TOTAL_MAX) {
		rc = fail(err, errlen, "manifest: %llu bytes of files, more than %llu",
			  (unsigned long long)total, OCI_TOTAL_MAX);
		goto out;
	}
	for (size_t i = 0; i < N_REQUIRED; i++)
		if (!(seen & (1u << i))) {
			rc = fail(err, errlen, "manifest: no layer holds '%s'", files[i]);
			goto out;
		}
	rc = chain_annotation(root, m, err, errlen);
out:
	json_object_put(root);
	return rc;
}

int oci_config_check(const char *json, size_t len, const char *chain, char *err, size_t errlen)
{
	struct json_object *root;
	const char *got;
	int rc;

	if ((rc = oci_json_parse("config", json, len, &root, err, errlen)))
		return rc;
	if (!(rc = need_str(root, "measurement", &got, "config", err, errlen)) &&
	    strcmp(got, chain))
		rc = fail(err, errlen, "config: measurement %.64s, the manifest says %s", got,
			  chain);
	json_object_put(root);
	return rc;
}
