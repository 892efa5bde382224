/*
 * oci.h - an appliance image as an OCI artefact, so that the registries and
 * tools a fleet already runs (skopeo, umoci, oras, any OCI registry) carry
 * it and vapp grows no distribution system of its own.
 *
 * An OCI image layout (github.com/opencontainers/image-spec, image-layout.md)
 * holding one image is:
 *
 *   oci-layout    {"imageLayoutVersion":"1.0.0"}
 *   index.json    an image index: one descriptor per tag
 *                 (annotation org.opencontainers.image.ref.name)
 *   blobs/sha256/ the manifest, the config and one blob per image file
 *
 * The manifest has artifactType OCI_ARTIFACT_TYPE; its config
 * (OCI_CONFIG_TYPE) is a small JSON object with the appliance's name and
 * measurement; each layer (OCI_FILE_TYPE) is one file of the image folder,
 * named by its org.opencontainers.image.title annotation as oras names
 * files. The manifest's annotations carry the measurement's chain, its
 * format and the signer's key fingerprint. Everything is written in a fixed
 * order with no time in it, so one image gives a byte-identical layout.
 *
 * Reading is for hostile layouts: index.json, the manifest and the config
 * are bounded and parsed strictly (oci_json.c), blobs are taken only by
 * well-formed digests, each checked for its size and SHA-256 as it is
 * copied, and only the image's known file names are written. The folder it
 * gives still has to pass verify_image(): the layout proves nothing by
 * itself.
 */
#ifndef VAPP_OCI_H
#define VAPP_OCI_H

#include <stddef.h>
#include <stdint.h>

#include "measure.h"

#define OCI_ARTIFACT_TYPE "application/vnd.vapp.appliance.v1"
#define OCI_CONFIG_TYPE "application/vnd.vapp.appliance.config.v1+json"
#define OCI_FILE_TYPE "application/vnd.vapp.appliance.file.v1"
#define OCI_MANIFEST_TYPE "application/vnd.oci.image.manifest.v1+json"
#define OCI_INDEX_TYPE "application/vnd.oci.image.index.v1+json"

#define OCI_ANN_REF "org.opencontainers.image.ref.name"
#define OCI_ANN_TITLE "org.opencontainers.image.title"
#define OCI_ANN_VERSION "org.opencontainers.image.version"
#define OCI_ANN_CHAIN "dev.vapp.measurement"
#define OCI_ANN_FORMAT "dev.vapp.measurement.format"
#define OCI_ANN_SIGNER "dev.vapp.signer"

#define OCI_DIGEST_LEN (sizeof("sha256:") - 1 + MEASURE_HEX_LEN)
#define OCI_TAG_MAX 128
#define OCI_JSON_MAX (1u << 20)    /* index.json, a manifest, a config */
#define OCI_FILE_MAX (512ull << 20) /* one file of the image */
#define OCI_TOTAL_MAX (1536ull << 20) /* all of them */
#define OCI_MAX_FILES 16
#define OCI_ERR_LEN 512

struct oci_blob {
	char digest[OCI_DIGEST_LEN + 1]; /* "sha256:" + 64 lowercase hex */
	uint64_t size;
	const char *name; /* a layer's file name (one of oci_image_file()) */
};

struct oci_manifest {
	struct oci_blob config;
	struct oci_blob files[OCI_MAX_FILES];
	size_t n_files;
	char chain[MEASURE_HEX_LEN + 1]; /* the OCI_ANN_CHAIN annotation */
};

/* The files a layout carries, i = 0, 1, ... until NULL: the measured parts,
 * measurement, measurement.sig, signer.pub (all required), then qemu.args,
 * libvirt.xml and xl.cfg (carried when present). */
const char *oci_image_file(size_t i);
/** Is file @p i required in a layout? */
int oci_image_file_required(size_t i);
/** Is the file named @p name required (a measured part or a trust file)? */
int oci_file_required(const char *name);

/** Is @p tag a tag OCI and registries take ([A-Za-z0-9_][A-Za-z0-9._-]*,
 * at most OCI_TAG_MAX)? */
int oci_tag_valid(const char *tag);

/**
 * Splits "DIR[:TAG]" (skopeo's oci: form, without the "oci:") into @p dir
 * (PATH_MAX bytes) and @p tag (OCI_TAG_MAX + 1 bytes; "" when none).
 * @return 0, or -EINVAL with @p err saying why.
 */
int oci_ref_split(const char *ref, char *dir, char *tag, char *err, size_t errlen);

/* --- parsing (oci_json.c): bytes in, checked facts out ------------------ */

/**
 * Finds the manifest for @p tag in index.json's bytes (or, when @p tag is
 * "" or NULL, the index's only manifest). @return 0 with @p out filled
 * (name NULL), or -EINVAL / -ENOENT (no such tag: @p err lists the tags),
 * -ENOMEM.
 */
int oci_index_find(const char *json, size_t len, const char *tag, struct oci_blob *out,
		   char *err, size_t errlen);

/**
 * Parses a manifest's bytes: an OCI image manifest of OCI_ARTIFACT_TYPE
 * whose layers are OCI_FILE_TYPE blobs with known, distinct file names,
 * every required file among them. @return 0 or -EINVAL (@p err says what),
 * -ENOMEM.
 */
int oci_manifest_parse(const char *json, size_t len, struct oci_manifest *out, char *err,
		       size_t errlen);

/**
 * Checks a config blob's bytes: a JSON object whose "measurement" is
 * @p chain. @return 0 or -EINVAL.
 */
int oci_config_check(const char *json, size_t len, const char *chain, char *err,
		     size_t errlen);

/* --- writing and reading a layout (oci_write.c, oci_import.c) ------------ */

struct oci_export_opts {
	const char *tag;     /* "" or NULL: "latest" */
	const char *name;    /* the appliance's name (title annotation), or NULL */
	const char *version; /* its version annotation, or NULL */
};

/**
 * Writes the image folder @p image_dir into the OCI layout @p layout
 * (created if missing). An existing layout keeps its other tags; @p tag's
 * entry is replaced. The caller has verified the folder; the chain written
 * in the annotations is its `measurement` file's.
 * @return 0 or -errno, with @p err naming the file.
 */
int oci_export(const char *image_dir, const char *layout, const struct oci_export_opts *opts,
	       char *err, size_t errlen);

/**
 * Turns the manifest tagged @p tag in @p layout into the image folder
 * @p out_dir, which exists and is empty: every blob is checked against its
 * digest and size as it is copied, and the manifest's and config's
 * measurement against the `measurement` file it brings. A mismatch is
 * refused naming the blob and its file. The caller then runs
 * verify_image() on @p out_dir.
 * @param flags OCI_IMPORT_TRUSTED_ONLY: write only the measured and trust
 *        files (vappd reads nothing else).
 * @return 0 or -errno (-EBADMSG: a blob or the measurement does not match;
 *         -ENOENT: no such tag), @p err saying what.
 */
#define OCI_IMPORT_TRUSTED_ONLY 1u
int oci_import(const char *layout, const char *tag, const char *out_dir, unsigned flags,
	       char *err, size_t errlen);

#endif /* VAPP_OCI_H */
