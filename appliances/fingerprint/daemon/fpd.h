/*
 * fpd.h - vapp-fpd, the fingerprint appliance's daemon: the parts and what
 * they share.
 *
 *   reader.c   the reader, on a thread of its own: libfprint's calls block
 *              for as long as a finger takes; jobs go in, progress and
 *              results come back through a queue and a pipe
 *   vault.c    the templates, sealed (AES-256-GCM, bound to user and
 *              finger) under a key that exists only in the state volume
 *   signer.c   the Ed25519 key, the counter, the signed assertions
 *   service.c  vapp.fingerprint.v1.Fingerprint
 *   test_port.c  tests only: the virtual reader's commands or images from
 *              the host
 *   main.c     options, the loop
 */
#ifndef VAPP_FPD_H
#define VAPP_FPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vapp_util.h"
#include "appliances/fingerprint/fingerprint.pb-c.h"
#include "fpcheck.h"

#define FPD_FINGERS 10

/* ---- reader.c ---- */

enum reader_job_kind { JOB_ENROLL, JOB_VERIFY, JOB_IDENTIFY };

struct reader_job {
	enum reader_job_kind kind;
	char user[FP_USER_MAX + 1];
	int finger;
	/* VERIFY: one serialized print; IDENTIFY: each enrolled one */
	struct vapp_buf *prints;
	size_t n_prints;
	int timeout_ms;           /* then it is cancelled (no finger came) */
	void *ud;                 /* the service's */
	/* Written by the reader thread before it reports done: */
	int status;               /* a vrpc status */
	char message[256];
	struct vapp_buf print;    /* ENROLL: the new print, serialized */
	int matched;              /* VERIFY: 1 or 0; IDENTIFY: the index, or -1 */
	/* The reader's own: */
	void *cancel;             /* a GCancellable */
	struct reader_job *next;
};

/* What the reader thread says about a job, in the main thread. */
struct reader_report {
	struct reader_job *job;
	bool done;                /* else progress: */
	int stage, stages;
	char retry[96];           /* a scan to do again, and why */
};

struct reader_info {
	bool open;
	char reason[160];         /* why not open */
	char name[96], driver[48], id[48];
	int stages;
	bool is_virtual;
	bool can_identify;        /* else Identify is refused: Verify works */
	/* every device seen */
	struct { char name[96], driver[48], id[48]; int stages; bool is_virtual; } all[8];
	int n_all;
};

typedef void (*reader_report_fn)(void *ud, const struct reader_report *r);

struct reader;
/** Starts the reader thread: it opens the first reader (a virtual one only
 * with @p test_mode). @return NULL with errno. */
struct reader *reader_start(bool test_mode, reader_report_fn fn, void *ud);
/** The fd that becomes readable when reports wait: reader_dispatch() then. */
int reader_fd(const struct reader *r);
void reader_dispatch(struct reader *r);
/** Queues @p job (the reader's until reported done). @return 0, -EBUSY. */
int reader_submit(struct reader *r, struct reader_job *job);
/** Cancels @p job if queued or running (its done report still comes). */
void reader_cancel(struct reader *r, struct reader_job *job);
void reader_info(struct reader *r, struct reader_info *out);
void reader_stop(struct reader *r);
/** Tests only: 0 while the reader wants no finger, else how many times it
 * has asked for one (a new number each time a scan is awaited). Any thread. */
unsigned reader_finger_wanted(void);

/* ---- vault.c ---- */

struct vault {
	char dir[256];            /* the state volume's folder */
	uint8_t key[32];
};

/** Opens the vault in @p dir, making its key at first use. @return 0 or
 * -errno; @p why says. */
int vault_open(struct vault *v, const char *dir, char *why, size_t whylen);
/** Seals @p print as @p user's @p finger, durably. */
int vault_put(struct vault *v, const char *user, int finger, const void *print, size_t len);
/** Opens @p user's @p finger: -ENOENT (none), -EBADMSG (tampered, swapped,
 * not sealed by this vault: refused, never used). */
int vault_get(struct vault *v, const char *user, int finger, struct vapp_buf *print,
	      uint64_t *enrolled_ms);
int vault_delete(struct vault *v, const char *user, int finger);
struct vault_entry {
	char user[FP_USER_MAX + 1];
	int finger;
};
/** Every template's name (not opened), at most @p max. @return how many. */
size_t vault_list(struct vault *v, struct vault_entry *out, size_t max);

/* The sealed file's format (vault.c), for its fuzz target: */
/** Opens the sealed bytes @p in as @p user's @p finger under @p key. */
int vault_unseal(const uint8_t key[32], const char *user, int finger, const uint8_t *in,
		 size_t len, struct vapp_buf *print, uint64_t *enrolled_ms);
int vault_seal(const uint8_t key[32], const char *user, int finger, uint64_t enrolled_ms,
	       const void *print, size_t len, struct vapp_buf *out);

/* ---- signer.c ---- */

struct signer {
	char dir[256];
	void *key;                /* an EVP_PKEY */
	uint8_t pub[FP_PUBKEY_LEN];
	uint64_t counter;
	char measurement[80];
	char measurement_file[256];
};

int signer_open(struct signer *s, const char *dir, const char *measurement_file, char *why,
		size_t whylen);
/** Signs @p a (its service, counter, time and measurement filled in here,
 * the counter kept durably first). @return 0 or -errno; @p out holds the
 * serialized assertion, @p sig its signature. */
int signer_sign(struct signer *s, Vapp__Fingerprint__V1__Assertion *a, struct vapp_buf *out,
		uint8_t sig[FP_SIG_LEN]);
void signer_close(struct signer *s);

/* ---- service.c ---- */

struct vrpc_loop;
struct fp_op;

struct fpd {
	Vapp__Fingerprint__V1__Fingerprint_Service svc;
	struct vrpc_loop *loop;
	struct reader *reader;
	struct vault vault;
	struct signer signer;
	bool test_mode;
	struct fp_op *ops;        /* waiting for the reader */
};

/** The service over @p state_dir (sealed templates, keys, counter).
 * @return 0 or -errno; @p why says. */
int fpd_init(struct fpd *d, struct vrpc_loop *loop, const char *state_dir,
	     const char *measurement_file, bool test_mode, char *why, size_t whylen);
void fpd_fini(struct fpd *d);

/* ---- test_port.c ---- */

enum test_port_kind {
	TEST_PORT_LINES,          /* virtual_device: a command a line */
	TEST_PORT_IMAGES,         /* virtual_image: images with their header */
};

/** Tests only: what the host writes on the virtio-serial @p port goes to
 * the virtual reader's socket @p sock: with TEST_PORT_LINES each line on a
 * connection of its own, with TEST_PORT_IMAGES each image (or command) on
 * one connection, one per scan the reader awaits. */
int fpd_test_port_start(struct vrpc_loop *loop, const char *port, const char *sock,
			enum test_port_kind kind);

#endif
