/*
 * measure.h - the measurement and signature of an appliance image folder.
 *
 * The measurement works like a TPM PCR extend, so that anyone can recompute
 * it with sha256sum and xxd (the recipe is in image/README.md):
 *
 *     pcr_0     = 32 zero bytes
 *     pcr_{i+1} = SHA256(pcr_i || SHA256(part_i))
 *
 * over the files below, in this order: every file that decides what boots
 * and how vappd starts it. There is one kernel command line per backend,
 * since what is right under one is wrong under another (TCG needs
 * tsc_early_khz, which gives KVM guests a wrong clock; Xen PV guests have
 * no serial port, only hvc0). services.desc is the compiled description of
 * the manifest's services (a FileDescriptorSet: what `vapp call` needs, no
 * protoc at call time; empty when there are none). The folder's
 * `measurement` file holds the
 * chain as text, each line ending in "\n", each part named by its file:
 *
 *     vapp-measurement-v3
 *     kernel <hex sha256>
 *     initramfs <hex sha256>
 *     cmdline.tcg <hex sha256>
 *     cmdline.kvm <hex sha256>
 *     cmdline.xen <hex sha256>
 *     manifest.yaml <hex sha256>
 *     services.desc <hex sha256>
 *     chain <hex pcr_7>
 *
 * `measurement.sig` is an Ed25519 signature (64 raw bytes) over the bytes of
 * `measurement`, and `signer.pub` the signer's public key (PEM
 * SubjectPublicKeyInfo, as `openssl pkey -pubout` writes it).
 *
 * Error convention: functions return 0 or -errno; where a human needs to
 * know more than errno says (a bad key file, an OpenSSL failure), they also
 * write one line into a caller's `char err[MEASURE_ERR_LEN]`. Nothing here
 * prints.
 */
#ifndef VAPP_MEASURE_H
#define VAPP_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEASURE_DIGEST_LEN 32
#define MEASURE_HEX_LEN (2 * MEASURE_DIGEST_LEN)
#define MEASURE_SIG_LEN 64
#define MEASURE_ERR_LEN 256
#define MEASURE_MAGIC "vapp-measurement-v3"
/* The first line of the format before it; such an image is refused with
 * "rebuild" rather than a bare parse error. */
#define MEASURE_MAGIC_V1 "vapp-measurement-v1"
/* The measurement file is exactly this long (nine lines, see above). */
#define MEASURE_TEXT_LEN                                                        \
	(sizeof(MEASURE_MAGIC "\n") - 1 + sizeof("kernel \n") - 1 +             \
	 sizeof("initramfs \n") - 1 + 3 * (sizeof("cmdline.tcg \n") - 1) + \
	 sizeof("manifest.yaml \n") - 1 + sizeof("services.desc \n") - 1 +      \
	 sizeof("chain \n") - 1 + 8 * MEASURE_HEX_LEN)

/* Where `vapp build` keeps the development key when a manifest names none. */
#define MEASURE_DEV_KEY "build/cache/keys/dev.pem"

enum measure_part {
	MEASURE_KERNEL,
	MEASURE_INITRAMFS,
	MEASURE_CMDLINE_TCG,
	MEASURE_CMDLINE_KVM,
	MEASURE_CMDLINE_XEN,
	MEASURE_MANIFEST,
	MEASURE_SERVICES,
	MEASURE_N_PARTS,
};

/* File name of each part in an image folder, which is also its label in
 * the measurement file ("initramfs"). */
extern const char *const measure_part_file[MEASURE_N_PARTS];

struct measurement {
	uint8_t part[MEASURE_N_PARTS][MEASURE_DIGEST_LEN];
	uint8_t chain[MEASURE_DIGEST_LEN];
};

/** SHA-256 of the file at @p path, read in pieces. @return 0 or -errno. */
int measure_file(const char *path, uint8_t out[MEASURE_DIGEST_LEN]);

/** pcr = SHA256(pcr || digest). @return 0 or -ENOMEM/-EIO (OpenSSL failed). */
int measure_extend(uint8_t pcr[MEASURE_DIGEST_LEN], const uint8_t digest[MEASURE_DIGEST_LEN]);

/** Computes m->chain from m->part[]. @return 0 or as measure_extend(). */
int measure_chain(struct measurement *m);

/** Hashes the parts in @p dir and chains them. @return 0 or -errno
 * (-ENOENT: a part is missing). */
int measure_dir(const char *dir, struct measurement *m);

/** Writes the measurement text (MEASURE_TEXT_LEN bytes, then a NUL) into
 * @p buf, which holds at least MEASURE_TEXT_LEN + 1 bytes. */
void measurement_format(const struct measurement *m, char *buf);

/**
 * Parses a measurement file's bytes. Only the canonical form is accepted
 * (lowercase hex, the lines in order, each ending in "\n", nothing else), so
 * one measurement has one text and one signature covers it.
 * @param line receives the 1-based line of the first problem on failure.
 * @return 0, or -EBADMSG.
 */
int measurement_parse(const char *text, size_t len, struct measurement *m, int *line);

/** Lowercase hex of a digest into @p hex (MEASURE_HEX_LEN + 1 bytes). */
void measure_hex(const uint8_t digest[MEASURE_DIGEST_LEN], char *hex);

/* --- keys and signing (sign.c) ------------------------------------------ */

/**
 * Makes an Ed25519 key pair: @p priv_path (PKCS#8 PEM, mode 0600, never
 * overwritten: -EEXIST) and @p pub_path (PEM SubjectPublicKeyInfo, 0644).
 * @return 0 or -errno; @p err says more.
 */
int measure_keygen(const char *priv_path, const char *pub_path, char err[MEASURE_ERR_LEN]);

/** The public key's path next to a private key's: "x.pem" -> "x.pub", else
 * PATH + ".pub". @return a malloc'd string, or NULL (ENOMEM). */
char *measure_pub_path(const char *priv_path);

/** Fingerprint of a public key file: "SHA256:" + hex of SHA-256 over the
 * raw 32-byte Ed25519 key, into @p out (8 + MEASURE_HEX_LEN bytes).
 * @return 0 or -errno. */
int measure_key_fingerprint(const char *pub_path, char *out, char err[MEASURE_ERR_LEN]);

struct measure_result {
	struct measurement m;
	bool dev_key;        /* signed with the development key: say so loudly */
	char key_path[4096]; /* the private key used */
	char fingerprint[8 + MEASURE_HEX_LEN]; /* "SHA256:..." of the public key */
	char err[MEASURE_ERR_LEN]; /* on failure, what went wrong */
};

/**
 * Measures the image folder @p dir and signs it: writes `measurement`,
 * `measurement.sig` and `signer.pub` there (each replaced atomically).
 * `vapp build` calls it once every other file is in place.
 * @param key_path the manifest's signing.key (Ed25519 private key, PEM), or
 *        NULL for the development key at @p dev_key_path (NULL:
 *        MEASURE_DEV_KEY), made with measure_keygen() the first time.
 * @return 0 or -errno; @p res (never NULL) gets the measurement, the key used
 *         and, on failure, a message.
 */
int measure_and_sign(const char *dir, const char *key_path, const char *dev_key_path,
		     struct measure_result *res);

/* --- verification (verify.c) -------------------------------------------- */

/* What failed, as bits of verify_report.failed, so a caller can act on it
 * without parsing messages. */
enum verify_what {
	VERIFY_KERNEL = 1 << MEASURE_KERNEL,       /* file missing or hash differs */
	VERIFY_INITRAMFS = 1 << MEASURE_INITRAMFS,
	VERIFY_CMDLINE_TCG = 1 << MEASURE_CMDLINE_TCG,
	VERIFY_CMDLINE_KVM = 1 << MEASURE_CMDLINE_KVM,
	VERIFY_CMDLINE_XEN = 1 << MEASURE_CMDLINE_XEN,
	VERIFY_MANIFEST = 1 << MEASURE_MANIFEST,
	VERIFY_SERVICES = 1 << MEASURE_SERVICES,
	VERIFY_MEASUREMENT = 1 << 8, /* `measurement` unreadable or not canonical */
	VERIFY_CHAIN = 1 << 9,       /* chain line does not follow from the hashes */
	VERIFY_SIGNATURE = 1 << 10,  /* measurement.sig missing, malformed or wrong */
	VERIFY_KEY = 1 << 11,        /* a trusted key or signer.pub unusable */
};

struct verify_report {
	unsigned failed;      /* enum verify_what bits; 0 when all holds */
	char **problems;      /* one line each: "kernel: sha256 mismatch (...)" */
	size_t n_problems;
	bool trusted;         /* the signature verified with a trusted key given
			       * by the caller, not just with the folder's own
			       * signer.pub (which proves integrity, not trust) */
	int signer;           /* index of the trusted key that verified, or -1 */
	struct measurement m; /* as the measurement file says (if it parsed) */
};

/**
 * Checks an image folder: recomputes every part's hash and compares it with
 * `measurement`, checks the chain, and checks `measurement.sig` with the
 * trusted keys — or, when there are none, with the folder's own signer.pub.
 * All problems are collected, not just the first.
 * The files can change after this returns: a launcher that cares should
 * verify a copy it owns (vappd copies the folder first), or keep the fds.
 * @param trusted_keys NULL-terminated list of PEM public key paths; NULL or
 *        empty: use <dir>/signer.pub (report->trusted stays false).
 * @param report filled in; free with verify_report_free().
 * @return 0 when everything holds, -EBADMSG when a check failed (see
 *         report), -ENOMEM.
 */
int verify_image(const char *dir, const char *const *trusted_keys, struct verify_report *report);
void verify_report_free(struct verify_report *report);

#ifdef __cplusplus
}
#endif
#endif /* VAPP_MEASURE_H */
