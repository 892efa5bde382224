/*
 * oci_write.c - an image folder into an OCI layout (oci.h): one blob per
 * file, a config, a manifest, the tag in index.json. The JSON is built with
 * json-c in a fixed key order, so one image gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "measure_private.h"
#include "oci_private.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct export {
	int layout_fd;
	char err[OCI_ERR_LEN];
	struct oci_manifest m;
	char fingerprint[8 + MEASURE_HEX_LEN];
};

/* Copies IMAGE/NAME in as a blob. */
static int put_file(struct export *x, const char *image_dir, const char *name,
		    struct oci_blob *b)
{
	char path[PATH_MAX];
	int in, rc;

	if ((rc = mfile_join(path, image_dir, name)))
		return rc;
	in = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0)
		return -errno;
	rc = oci_blob_put_fd(x->layout_fd, in, b);
	close(in);
	b->name = name;
	return rc;
}

static struct json_object *descriptor(const char *type, const struct oci_blob *b)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "mediaType", json_object_new_string(type));
	json_object_object_add(d, "digest", json_object_new_string(b->digest));
	json_object_object_add(d, "size", json_object_new_int64((int64_t)b->size));
	return d;
}

static struct json_object *annotated(struct json_object *d, const char *key, const char *val)
{
	struct json_object *ann = json_object_new_object();

	json_object_object_add(ann, key, json_object_new_string(val));
	json_object_object_add(d, "annotations", ann);
	return d;
}

/* Writes @p obj (which it frees) as a blob into @p b. */
static int put_json(struct export *x, struct json_object *obj, struct oci_blob *b)
{
	size_t len = 0;
	const char *text = json_object_to_json_string_length(obj, JSON_FLAGS, &len);
	int rc = text ? oci_blob_put(x->layout_fd, text, len, b->digest) : -ENOMEM;

	b->size = len;
	json_object_put(obj);
	return rc;
}

static int put_config(struct export *x, const struct oci_export_opts *o)
{
	struct json_object *c = json_object_new_object();

	if (o->name)
		json_object_object_add(c, "name", json_object_new_string(o->name));
	if (o->version)
		json_object_object_add(c, "version", json_object_new_string(o->version));
	json_object_object_add(c, "format", json_object_new_string(MEASURE_MAGIC));
	json_object_object_add(c, "measurement", json_object_new_string(x->m.chain));
	json_object_object_add(c, "signer", json_object_new_string(x->fingerprint));
	return put_json(x, c, &x->m.config);
}

static int put_manifest(struct export *x, const struct oci_export_opts *o,
			struct oci_blob *out)
{
	struct json_object *root = json_object_new_object(), *layers = json_object_new_array(),
			   *ann = json_object_new_object();

	json_object_object_add(root, "schemaVersion", json_object_new_int(2));
	json_object_object_add(root, "mediaType", json_object_new_string(OCI_MANIFEST_TYPE));
	json_object_object_add(root, "artifactType", json_object_new_string(OCI_ARTIFACT_TYPE));
	json_object_object_add(root, "config", descriptor(OCI_CONFIG_TYPE, &x->m.config));
	for (size_t i = 0; i < x->m.n_files; i++)
		json_object_array_add(layers, annotated(descriptor(OCI_FILE_TYPE, &x->m.files[i]),
							OCI_ANN_TITLE, x->m.files[i].name));
	json_object_object_add(root, "layers", layers);
	if (o->name)
		json_object_object_add(ann, OCI_ANN_TITLE, json_object_new_string(o->name));
	if (o->version)
		json_object_object_add(ann, OCI_ANN_VERSION, json_object_new_string(o->version));
	json_object_object_add(ann, OCI_ANN_CHAIN, json_object_new_string(x->m.chain));
	json_object_object_add(ann, OCI_ANN_FORMAT, json_object_new_string(MEASURE_MAGIC));
	json_object_object_add(ann, OCI_ANN_SIGNER, json_object_new_string(x->fingerprint));
	json_object_object_add(root, "annotations", ann);
	return put_json(x, root, out);
}

/* The index as it is (a layout written by anyone: parsed as hostile), or a
 * new one; the entries tagged @p tag are dropped. */
static int old_index(struct export *x, const char *tag, struct json_object **out)
{
	struct json_object *root, *list, *keep;
	uint8_t *text = NULL;
	size_t len = 0;
	char path[32];
	int fd, rc;

	snprintf(path, sizeof(path), "index.json");
	fd = openat(x->layout_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		root = json_object_new_object();
		json_object_object_add(root, "schemaVersion", json_object_new_int(2));
		json_object_object_add(root, "mediaType", json_object_new_string(OCI_INDEX_TYPE));
		json_object_object_add(root, "manifests", json_object_new_array());
		*out = root;
		return 0;
	}
	if (fd < 0)
		return -errno;
	close(fd);
	/* mfile_read() takes a path: the layout's fd names the same folder. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/index.json", x->layout_fd);
	if ((rc = mfile_read(path, OCI_JSON_MAX, &text, &len)) < 0)
		return rc;
	rc = oci_json_parse("index.json", (const char *)text, len, &root, x->err, sizeof(x->err));
	free(text);
	if (rc)
		return rc;
	if (!json_object_object_get_ex(root, "manifests", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(root);
		snprintf(x->err, sizeof(x->err), "index.json: no manifests array");
		return -EINVAL;
	}
	keep = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i), *ann, *ref;

		if (json_object_object_get_ex(e, "annotations", &ann) &&
		    json_object_object_get_ex(ann, OCI_ANN_REF, &ref) &&
		    json_object_is_type(ref, json_type_string) &&
		    !strcmp(json_object_get_string(ref), tag))
			continue;
		json_object_array_add(keep, json_object_get(e));
	}
	json_object_object_add(root, "manifests", keep);
	*out = root;
	return 0;
}

static int put_index(struct export *x, const char *tag, const struct oci_blob *manifest)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct json_object *root = NULL, *list, *d;
	char path[PATH_MAX];
	const char *text;
	size_t len = 0;
	int rc;

	if ((rc = old_index(x, tag, &root)))
		return rc;
	d = descriptor(OCI_MANIFEST_TYPE, manifest);
	json_object_object_add(d, "artifactType", json_object_new_string(OCI_ARTIFACT_TYPE));
	json_object_object_get_ex(root, "manifests", &list);
	json_object_array_add(list, annotated(d, OCI_ANN_REF, tag));
	text = json_object_to_json_string_length(root, JSON_FLAGS, &len);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/index.json", x->layout_fd);
	rc = text ? mfile_replace(path, text, len, 0644) : -ENOMEM;
	json_object_put(root);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/oci-layout", x->layout_fd);
	return mfile_replace(path, layout, sizeof(layout) - 1, 0644);
}

/* The chain of IMAGE/measurement and the signer's fingerprint. */
static int read_measurement(struct export *x, const char *image_dir)
{
	char path[PATH_MAX], merr[MEASURE_ERR_LEN];
	struct measurement m;
	uint8_t *text;
	size_t len;
	int rc, line = 0;

	merr[0] = 0;
	if ((rc = mfile_join(path, image_dir, "measurement")) ||
	    (rc = mfile_read(path, MEASURE_TEXT_LEN + 1, &text, &len))) {
		snprintf(x->err, sizeof(x->err), "%.300s: %s", path, strerror(-rc));
		return rc;
	}
	rc = measurement_parse((const char *)text, len, &m, &line);
	free(text);
	if (rc) {
		snprintf(x->err, sizeof(x->err), "%.300s:%d: not a measurement", path, line);
		return rc;
	}
	measure_hex(m.chain, x->m.chain);
	if ((rc = mfile_join(path, image_dir, "signer.pub")) ||
	    (rc = measure_key_fingerprint(path, x->fingerprint, merr))) {
		snprintf(x->err, sizeof(x->err), "%.300s: %.200s", path, merr);
		return rc;
	}
	return 0;
}

int oci_export(const char *image_dir, const char *layout, const struct oci_export_opts *opts,
	       char *err, size_t errlen)
{
	struct oci_export_opts o = opts ? *opts : (struct oci_export_opts){ 0 };
	struct export *x = calloc(1, sizeof(*x));
	struct oci_blob manifest;
	int rc;

	if (!x)
		return -ENOMEM;
	if (!o.tag || !o.tag[0])
		o.tag = "latest";
	x->layout_fd = -1;
	if (!oci_tag_valid(o.tag)) {
		snprintf(x->err, sizeof(x->err), "'%s': not a tag", o.tag);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = read_measurement(x, image_dir)))
		goto out;
	if (mkdir(layout, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(x->err, sizeof(x->err), "%s: %s", layout, strerror(-rc));
		goto out;
	}
	x->layout_fd = open(layout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc = x->layout_fd < 0 ? -errno : oci_blobs_dir(x->layout_fd, 1);
	if (rc < 0) {
		snprintf(x->err, sizeof(x->err), "%s/blobs/sha256: %s", layout, strerror(-rc));
		goto out;
	}
	close(rc);
	rc = 0;
	for (size_t i = 0; oci_image_file(i); i++) {
		const char *name = oci_image_file(i);

		rc = put_file(x, image_dir, name, &x->m.files[x->m.n_files]);
		if (rc == -ENOENT && !oci_image_file_required(i))
			continue;
		if (rc) {
			snprintf(x->err, sizeof(x->err), "%s/%s: %s", image_dir, name,
				 strerror(-rc));
			goto out;
		}
		x->m.n_files++;
	}
	if ((rc = put_config(x, &o)) || (rc = put_manifest(x, &o, &manifest)) ||
	    (rc = put_index(x, o.tag, &manifest)))
		if (!x->err[0])
			snprintf(x->err, sizeof(x->err), "%s: %s", layout, strerror(-rc));
out:
	if (rc && err && errlen)
		snprintf(err, errlen, "%s", x->err);
	if (x->layout_fd >= 0)
		close(x->layout_fd);
	free(x);
	return rc;
}
