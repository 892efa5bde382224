/*
 * service.c - vapp.fingerprint.v1.Fingerprint. Every field a caller sends
 * is checked here; the reader's work goes to reader.c and comes back as
 * reports; templates come from the vault only whole and authentic; every
 * answer about a finger is a signed assertion naming the caller as vappd's
 * broker named it (never as the request says).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "vrpc.h"
#include "fpd.h"
#include "appliance.h"

typedef Vapp__Fingerprint__V1__Fingerprint_Service Svc;

#define FPD(svc) ((struct fpd *)((char *)(svc) - offsetof(struct fpd, svc)))

#define DEFAULT_WAIT_MS 30000 /* for a finger, when the caller set no deadline */
#define MAX_WAIT_MS 120000
#define TICK_MS 250
#define MAX_PRINTS 64

static const char *const finger_names[FPD_FINGERS + 1] = {
	"", "left thumb", "left index", "left middle", "left ring", "left little",
	"right thumb", "right index", "right middle", "right ring", "right little",
};

/* One call waiting for the reader. */
struct fp_op {
	struct reader_job job;
	struct fpd *d;
	void *data;               /* the call's closure data */
	union {
		Vapp__Fingerprint__V1__EnrollProgress_Closure enroll;
		Vapp__Fingerprint__V1__SignedAssertion_Closure assertion;
	} closure;
	uint8_t nonce[FP_NONCE_MAX];
	size_t nonce_len;
	char caller[80];
	struct vault_entry entries[MAX_PRINTS]; /* IDENTIFY: whose each print is */
	int left_ms;              /* until the reader's work is cancelled */
	int timer;
	bool cancelled;
	struct fp_op *next;
};

static bool finger_ok(int f)
{
	return f >= 1 && f <= FPD_FINGERS;
}

static bool nonce_ok(ProtobufCBinaryData n)
{
	return n.len >= FP_NONCE_MIN && n.len <= FP_NONCE_MAX;
}

/* How long the reader may wait for a finger: the caller's deadline (less
 * a margin for the answer), else DEFAULT_WAIT_MS. */
static int wait_ms(void *data)
{
	int left = vrpc_call_remaining_ms(vrpc_call_of(data));

	if (left < 0)
		return DEFAULT_WAIT_MS;
	left -= 600; /* the tick's granularity, and the answer's way back */
	return left < 100 ? 100 : left > MAX_WAIT_MS ? MAX_WAIT_MS : left;
}

static void op_free(struct fp_op *op)
{
	for (size_t i = 0; i < op->job.n_prints; i++) {
		explicit_bzero(op->job.prints[i].p, op->job.prints[i].len);
		vapp_buf_free(&op->job.prints[i]);
	}
	free(op->job.prints);
	if (op->job.print.p)
		explicit_bzero(op->job.print.p, op->job.print.len);
	vapp_buf_free(&op->job.print);
	free(op);
}

/* Every TICK_MS: a caller gone or a deadline passed cancels the work. */
static void tick(void *ud)
{
	struct fp_op *op = ud;

	op->left_ms -= TICK_MS;
	if (!op->cancelled && (op->left_ms <= 0 || vrpc_call_cancelled(vrpc_call_of(op->data)))) {
		op->cancelled = true;
		reader_cancel(op->d->reader, &op->job);
	}
	op->timer = vrpc_loop_add_timer(op->d->loop, TICK_MS, tick, op);
}

/* Hands @p op to the reader. @return 0, or -errno (the call answered). */
static int submit(struct fpd *d, struct fp_op *op, void (*fail)(struct fp_op *, int, const char *))
{
	int err;

	op->d = d;
	op->job.ud = op;
	op->left_ms = wait_ms(op->data);
	err = reader_submit(d->reader, &op->job);
	if (err) {
		fail(op, VRPC_UNAVAILABLE, "the reader is busy: try again");
		op_free(op);
		return err;
	}
	op->timer = vrpc_loop_add_timer(d->loop, TICK_MS, tick, op);
	op->next = d->ops;
	d->ops = op;
	return 0;
}

static void fail_enroll(struct fp_op *op, int st, const char *msg)
{
	APPLIANCE_FAIL(op->data, op->closure.enroll, st, "%s", msg);
}

static void fail_assertion(struct fp_op *op, int st, const char *msg)
{
	APPLIANCE_FAIL(op->data, op->closure.assertion, st, "%s", msg);
}

/* ---- the reader's reports ---- */

static void enroll_report(struct fp_op *op, const struct reader_report *r)
{
	Vapp__Fingerprint__V1__EnrollProgress p = VAPP__FINGERPRINT__V1__ENROLL_PROGRESS__INIT;
	char id[FP_USER_MAX + 8];
	int err;

	if (!r->done) {
		p.stage = (uint32_t)(r->stage < 0 ? 0 : r->stage);
		p.stages = (uint32_t)(r->stages < 0 ? 0 : r->stages);
		p.retry = (char *)r->retry;
		op->closure.enroll(&p, op->data);
		return;
	}
	if (op->job.status != VRPC_OK) {
		fail_enroll(op, op->job.status, op->job.message);
		return;
	}
	/* Whole and durable before the caller hears "done": a crash before
	 * this leaves no file, one after it a whole one. */
	err = vault_put(&op->d->vault, op->job.user, op->job.finger, op->job.print.p,
			op->job.print.len);
	if (err) {
		fprintf(stderr, "vapp-fpd: %s/%d: cannot keep the template: %s\n", op->job.user,
			op->job.finger, strerror(-err));
		fail_enroll(op, VRPC_INTERNAL, "the template could not be kept");
		return;
	}
	snprintf(id, sizeof(id), "%s/%d", op->job.user, op->job.finger);
	fprintf(stderr, "vapp-fpd: enrolled %s's %s for %s\n", op->job.user,
		finger_names[op->job.finger], op->caller);
	p.done = true;
	p.template_id = id;
	p.stages = p.stage = 0;
	op->closure.enroll(&p, op->data);
	op->closure.enroll(NULL, op->data);
}

static void assertion_report(struct fp_op *op)
{
	Vapp__Fingerprint__V1__Assertion a = VAPP__FINGERPRINT__V1__ASSERTION__INIT;
	Vapp__Fingerprint__V1__SignedAssertion sa = VAPP__FINGERPRINT__V1__SIGNED_ASSERTION__INIT;
	struct vapp_buf bytes = { 0 };
	uint8_t sig[FP_SIG_LEN];
	bool match;
	int err;

	if (op->job.status != VRPC_OK) {
		fail_assertion(op, op->job.status, op->job.message);
		return;
	}
	match = op->job.kind == JOB_VERIFY ? op->job.matched == 1 : op->job.matched >= 0;
	a.result = match ? VAPP__FINGERPRINT__V1__RESULT__MATCH
			 : VAPP__FINGERPRINT__V1__RESULT__NO_MATCH;
	if (op->job.kind == JOB_VERIFY) {
		a.user = op->job.user;
		a.finger = (Vapp__Fingerprint__V1__Finger)op->job.finger;
	} else if (match) {
		a.user = op->entries[op->job.matched].user;
		a.finger = (Vapp__Fingerprint__V1__Finger)op->entries[op->job.matched].finger;
	} else {
		a.user = (char *)"";
	}
	a.nonce.data = op->nonce;
	a.nonce.len = op->nonce_len;
	a.caller = op->caller;
	err = signer_sign(&op->d->signer, &a, &bytes, sig);
	if (err) {
		fprintf(stderr, "vapp-fpd: cannot sign: %s\n", strerror(-err));
		fail_assertion(op, VRPC_INTERNAL, "the assertion could not be signed");
		vapp_buf_free(&bytes);
		return;
	}
	fprintf(stderr, "vapp-fpd: %s for %s: %s%s%s (counter %llu)\n",
		op->job.kind == JOB_VERIFY ? "verify" : "identify", op->caller,
		match ? "match" : "no match", a.user[0] ? " " : "", a.user,
		(unsigned long long)a.counter);
	sa.assertion.data = bytes.p;
	sa.assertion.len = bytes.len;
	sa.signature.data = sig;
	sa.signature.len = sizeof(sig);
	op->closure.assertion(&sa, op->data);
	vapp_buf_free(&bytes);
}

static void on_report(void *ud, const struct reader_report *r)
{
	struct fpd *d = ud;
	struct fp_op *op = r->job->ud, **pp;

	if (op->job.kind == JOB_ENROLL)
		enroll_report(op, r);
	else if (r->done)
		assertion_report(op);
	if (!r->done)
		return;
	for (pp = &d->ops; *pp && *pp != op; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = op->next;
	vrpc_loop_cancel_timer(d->loop, op->timer);
	op_free(op);
}

static void on_reader_fd(void *ud, int fd, short revents)
{
	struct fpd *d = ud;

	(void)fd;
	(void)revents;
	reader_dispatch(d->reader);
}

/* ---- the methods ---- */

static void fp_get_status(Svc *svc, const Vapp__Fingerprint__V1__GetStatusRequest *in,
			  Vapp__Fingerprint__V1__Status_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	Vapp__Fingerprint__V1__Status out = VAPP__FINGERPRINT__V1__STATUS__INIT;
	struct vault_entry e[256];
	struct reader_info ri;

	(void)in;
	reader_info(d->reader, &ri);
	out.version = (char *)"0.1.0";
	out.reader_open = ri.open;
	out.reader = ri.open ? ri.name : ri.reason;
	out.enrolled = (uint32_t)vault_list(&d->vault, e, 256);
	out.counter = d->signer.counter;
	out.test_mode = d->test_mode;
	out.measurement = d->signer.measurement;
	closure(&out, data);
}

static void fp_list_devices(Svc *svc, const Vapp__Fingerprint__V1__ListDevicesRequest *in,
			    Vapp__Fingerprint__V1__Devices_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	Vapp__Fingerprint__V1__Devices out = VAPP__FINGERPRINT__V1__DEVICES__INIT;
	Vapp__Fingerprint__V1__Device dev[8], *p[8];
	struct reader_info ri;

	(void)in;
	reader_info(d->reader, &ri);
	for (int i = 0; i < ri.n_all; i++) {
		vapp__fingerprint__v1__device__init(&dev[i]);
		dev[i].id = ri.all[i].id;
		dev[i].name = ri.all[i].name;
		dev[i].driver = ri.all[i].driver;
		dev[i].enroll_stages = (uint32_t)(ri.all[i].stages < 0 ? 0 : ri.all[i].stages);
		dev[i].is_virtual = ri.all[i].is_virtual;
		dev[i].in_use = ri.open && !strcmp(ri.id, ri.all[i].id) &&
				!strcmp(ri.driver, ri.all[i].driver);
		p[i] = &dev[i];
	}
	out.n_devices = (size_t)ri.n_all;
	out.devices = p;
	closure(&out, data);
}

static void fp_enroll(Svc *svc, const Vapp__Fingerprint__V1__EnrollRequest *in,
		      Vapp__Fingerprint__V1__EnrollProgress_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	struct vapp_buf old = { 0 };
	struct fp_op *op;
	int err;

	if (!fp_user_ok(in->user)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "user: not [a-z_][a-z0-9_.-]{0,31}");
		return;
	}
	if (!finger_ok((int)in->finger)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "finger: one of the ten, not %d",
		     (int)in->finger);
		return;
	}
	err = vault_get(&d->vault, in->user, (int)in->finger, &old, NULL);
	vapp_buf_free(&old);
	if (err != -ENOENT && !in->replace) {
		APPLIANCE_FAIL(data, closure, VRPC_ALREADY_EXISTS, "%s's %s is enrolled already (replace it?)",
		     in->user, finger_names[in->finger]);
		return;
	}
	if (!(op = calloc(1, sizeof(*op)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	op->job.kind = JOB_ENROLL;
	snprintf(op->job.user, sizeof(op->job.user), "%s", in->user);
	op->job.finger = (int)in->finger;
	op->data = data;
	op->closure.enroll = closure;
	appliance_caller(data, op->caller, sizeof(op->caller));
	submit(d, op, fail_enroll);
}

/* A Verify or Identify for the reader, with room for @p n prints; NULL
 * (the call answered) when out of memory. */
static struct fp_op *assertion_op(size_t n, ProtobufCBinaryData nonce, void *data,
				  Vapp__Fingerprint__V1__SignedAssertion_Closure closure)
{
	struct fp_op *op = calloc(1, sizeof(*op));

	if (op && !(op->job.prints = calloc(n, sizeof(struct vapp_buf)))) {
		free(op);
		op = NULL;
	}
	if (!op) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return NULL;
	}
	memcpy(op->nonce, nonce.data, nonce.len);
	op->nonce_len = nonce.len;
	op->data = data;
	op->closure.assertion = closure;
	appliance_caller(data, op->caller, sizeof(op->caller));
	return op;
}

static void fp_verify(Svc *svc, const Vapp__Fingerprint__V1__VerifyRequest *in,
		      Vapp__Fingerprint__V1__SignedAssertion_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	struct fp_op *op;
	int err;

	if (!fp_user_ok(in->user) || !finger_ok((int)in->finger) || !nonce_ok(in->nonce)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT,
		     !fp_user_ok(in->user) ? "user: not [a-z_][a-z0-9_.-]{0,31}"
		     : !finger_ok((int)in->finger) ? "finger: one of the ten"
						   : "nonce: 16 to 64 bytes");
		return;
	}
	if (!(op = assertion_op(1, in->nonce, data, closure)))
		return;
	op->job.n_prints = 1;
	err = vault_get(&d->vault, in->user, (int)in->finger, &op->job.prints[0], NULL);
	if (err) {
		if (err == -EBADMSG)
			fprintf(stderr, "vapp-fpd: %s/%d: the sealed template does not open "
				"(tampered, or not this appliance's): refused\n", in->user,
				(int)in->finger);
		APPLIANCE_FAIL(data, closure, err == -ENOENT ? VRPC_NOT_FOUND : VRPC_FAILED_PRECONDITION,
		     err == -ENOENT ? "%s has no %s enrolled"
				    : "the template of %s's %s is damaged or was tampered with: "
				      "refused (enroll it again)",
		     in->user, finger_names[in->finger]);
		op_free(op);
		return;
	}
	op->job.kind = JOB_VERIFY;
	snprintf(op->job.user, sizeof(op->job.user), "%s", in->user);
	op->job.finger = (int)in->finger;
	submit(d, op, fail_assertion);
}

static void fp_identify(Svc *svc, const Vapp__Fingerprint__V1__IdentifyRequest *in,
			Vapp__Fingerprint__V1__SignedAssertion_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	struct vault_entry all[MAX_PRINTS];
	struct reader_info ri;
	struct fp_op *op;
	size_t n;

	if (!nonce_ok(in->nonce)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "nonce: 16 to 64 bytes");
		return;
	}
	reader_info(d->reader, &ri);
	if (ri.open && !ri.can_identify) {
		APPLIANCE_FAIL(data, closure, VRPC_UNIMPLEMENTED, "this reader (%s) cannot identify: use Verify",
		     ri.driver);
		return;
	}
	n = vault_list(&d->vault, all, MAX_PRINTS);
	if (!n) {
		APPLIANCE_FAIL(data, closure, VRPC_FAILED_PRECONDITION, "nobody is enrolled");
		return;
	}
	if (!(op = assertion_op(n, in->nonce, data, closure)))
		return;
	for (size_t i = 0; i < n; i++) {
		int err = vault_get(&d->vault, all[i].user, all[i].finger,
				    &op->job.prints[op->job.n_prints], NULL);

		if (err) { /* a damaged one is left out, and said */
			fprintf(stderr, "vapp-fpd: %s/%d: the sealed template does not open (%s): "
				"left out\n", all[i].user, all[i].finger, strerror(-err));
			vapp_buf_free(&op->job.prints[op->job.n_prints]);
			continue;
		}
		op->entries[op->job.n_prints++] = all[i];
	}
	op->job.kind = JOB_IDENTIFY;
	submit(d, op, fail_assertion);
}

static void fp_list_enrolled(Svc *svc, const Vapp__Fingerprint__V1__ListEnrolledRequest *in,
			     Vapp__Fingerprint__V1__Enrolled_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	Vapp__Fingerprint__V1__Enrolled out = VAPP__FINGERPRINT__V1__ENROLLED__INIT;
	static struct vault_entry e[256];
	static Vapp__Fingerprint__V1__EnrolledPrint p[256];
	Vapp__Fingerprint__V1__EnrolledPrint *pp[256];
	size_t n = vault_list(&d->vault, e, 256), k = 0;

	(void)in;
	for (size_t i = 0; i < n; i++) {
		struct vapp_buf b = { 0 };
		uint64_t when = 0;

		/* Only what opens is listed: a damaged one is said, never shown. */
		if (vault_get(&d->vault, e[i].user, e[i].finger, &b, &when)) {
			fprintf(stderr, "vapp-fpd: %s/%d: the sealed template does not open: not "
				"listed\n", e[i].user, e[i].finger);
		} else {
			vapp__fingerprint__v1__enrolled_print__init(&p[k]);
			p[k].user = e[i].user;
			p[k].finger = (Vapp__Fingerprint__V1__Finger)e[i].finger;
			p[k].enrolled_unix_ms = when;
			pp[k] = &p[k];
			k++;
		}
		explicit_bzero(b.p, b.len);
		vapp_buf_free(&b);
	}
	out.n_prints = k;
	out.prints = pp;
	closure(&out, data);
}

static void fp_delete(Svc *svc, const Vapp__Fingerprint__V1__DeleteRequest *in,
		      Vapp__Fingerprint__V1__DeleteReply_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	Vapp__Fingerprint__V1__DeleteReply out = VAPP__FINGERPRINT__V1__DELETE_REPLY__INIT;
	char caller[80];

	if (!fp_user_ok(in->user) || (in->finger && !finger_ok((int)in->finger))) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "%s",
		     !fp_user_ok(in->user) ? "user: not [a-z_][a-z0-9_.-]{0,31}"
					   : "finger: one of the ten, or none for all");
		return;
	}
	for (int f = 1; f <= FPD_FINGERS; f++)
		if ((!in->finger || f == (int)in->finger) && !vault_delete(&d->vault, in->user, f))
			out.deleted++;
	if (!out.deleted) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "%s has nothing enrolled to delete", in->user);
		return;
	}
	appliance_caller(data, caller, sizeof(caller));
	fprintf(stderr, "vapp-fpd: %s deleted %u of %s's templates\n", caller, out.deleted,
		in->user);
	closure(&out, data);
}

static void fp_get_public_key(Svc *svc, const Vapp__Fingerprint__V1__GetPublicKeyRequest *in,
			      Vapp__Fingerprint__V1__PublicKey_Closure closure, void *data)
{
	struct fpd *d = FPD(svc);
	Vapp__Fingerprint__V1__PublicKey out = VAPP__FINGERPRINT__V1__PUBLIC_KEY__INIT;
	/* The SubjectPublicKeyInfo of an Ed25519 key: a fixed 12-byte prefix. */
	static const uint8_t spki[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					  0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
	uint8_t der[44];
	char pem[160], b64[64];

	(void)in;
	memcpy(der, spki, sizeof(spki));
	memcpy(der + sizeof(spki), d->signer.pub, FP_PUBKEY_LEN);
	EVP_EncodeBlock((unsigned char *)b64, der, (int)sizeof(der)); /* 60 characters */
	snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", b64);
	out.ed25519.data = d->signer.pub;
	out.ed25519.len = FP_PUBKEY_LEN;
	out.pem = pem;
	closure(&out, data);
}

int fpd_init(struct fpd *d, struct vrpc_loop *loop, const char *state_dir,
	     const char *measurement_file, bool test_mode, char *why, size_t whylen)
{
	Svc svc = VAPP__FINGERPRINT__V1__FINGERPRINT__INIT(fp_);
	int err;

	memset(d, 0, sizeof(*d));
	d->svc = svc;
	d->loop = loop;
	d->test_mode = test_mode;
	if ((err = vault_open(&d->vault, state_dir, why, whylen)) ||
	    (err = signer_open(&d->signer, state_dir, measurement_file, why, whylen)))
		return err;
	d->reader = reader_start(test_mode, on_report, d);
	if (!d->reader) {
		vapp_errf(why, whylen, "cannot start the reader's thread: %s", strerror(errno));
		return -errno;
	}
	if (vrpc_loop_add_fd(loop, reader_fd(d->reader), POLLIN, on_reader_fd, d) < 0) {
		vapp_errf(why, whylen, "cannot watch the reader");
		return -EIO;
	}
	return 0;
}

void fpd_fini(struct fpd *d)
{
	reader_stop(d->reader);
	d->reader = NULL;
	while (d->ops) {
		struct fp_op *op = d->ops;

		d->ops = op->next;
		op_free(op);
	}
	signer_close(&d->signer);
	explicit_bzero(d->vault.key, sizeof(d->vault.key));
}
