/*
 * fp_bench.c - the fingerprint benchmark's two sides (bench_fp.sh), with
 * libfprint's virtual reader (FP_VIRTUAL_DEVICE names its socket):
 *
 *   fp_bench direct N        the baseline: libfprint's own verify in this
 *                            process (enroll once, then N verifies, a SCAN
 *                            sent before each): no RPC, no thread, no
 *                            sealing, no signature
 *   fp_bench rpc ADDR N      the appliance's: N Verify calls to vapp-fpd at
 *                            ADDR (alice's right index enrolled beforehand),
 *                            a SCAN before each, each assertion checked with
 *                            fp_check() as a guest would
 *
 * Each prints the median and the 90th percentile of one verify, in ms.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <fprint.h>
#include <openssl/rand.h>

#include "vrpc.h"
#include "fpcheck.h"
#include "appliances/fingerprint/fingerprint.pb-c.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One command to the virtual reader, on a connection of its own that the
 * reader closes once it has read it (it drops an older one still open). */
static int scan(const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
	struct pollfd p = { .fd = s, .events = POLLIN };
	char buf[64];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("FP_VIRTUAL_DEVICE"));
	ok = s >= 0 && !connect(s, (struct sockaddr *)&sa, sizeof(sa)) &&
	     write(s, what, strlen(what)) == (ssize_t)strlen(what);
	if (ok) {
		shutdown(s, SHUT_WR);
		while (poll(&p, 1, 2000) == 1 && read(s, buf, sizeof(buf)) > 0)
			;
	}
	if (s >= 0)
		close(s);
	return ok ? 0 : -1;
}

/* In this process the reader reads its socket only while a libfprint call
 * runs, and takes few connections waiting: the SCANs come from a thread. */
struct scans {
	pthread_t thread;
	int count;
};

static void *send_scans(void *arg)
{
	struct scans *s = arg;

	for (int i = 0; i < s->count; i++)
		scan("SCAN bench-finger");
	return NULL;
}

static void scans_start(struct scans *s, int count)
{
	s->count = count;
	pthread_create(&s->thread, NULL, send_scans, s);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("median_ms %.3f p90_ms %.3f n %d\n", t[n / 2], t[n * 9 / 10], n);
}

static int direct(int n, double *t)
{
	FpContext *ctx = fp_context_new();
	GPtrArray *devs = fp_context_get_devices(ctx);
	FpDevice *dev = devs && devs->len ? g_ptr_array_index(devs, 0) : NULL;
	FpPrint *tmpl, *enrolled;
	GError *e = NULL;
	struct scans sc;

	if (!dev || !fp_device_open_sync(dev, NULL, &e))
		return fprintf(stderr, "fp_bench: no virtual reader\n"), 1;
	scans_start(&sc, fp_device_get_nr_enroll_stages(dev));
	tmpl = fp_print_new(dev);
	enrolled = fp_device_enroll_sync(dev, tmpl, NULL, NULL, NULL, &e);
	pthread_join(sc.thread, NULL);
	if (!enrolled)
		return fprintf(stderr, "fp_bench: enroll: %s\n", e->message), 1;
	for (int i = 0; i < n; i++) {
		gboolean match = FALSE;
		double t0 = now_ms();

		scans_start(&sc, 1);
		if (!fp_device_verify_sync(dev, enrolled, NULL, NULL, NULL, &match, NULL, &e) || !match)
			return fprintf(stderr, "fp_bench: verify %d failed\n", i), 1;
		pthread_join(sc.thread, NULL);
		t[i] = now_ms() - t0;
	}
	fp_device_close_sync(dev, NULL, NULL);
	return 0;
}

static int rpc(const char *addr, int n, double *t)
{
	const ProtobufCServiceDescriptor *sd = &vapp__fingerprint__v1__fingerprint__descriptor;
	unsigned m_verify = (unsigned)(protobuf_c_service_descriptor_get_method_by_name(sd, "Verify") -
				       sd->methods);
	unsigned m_key = (unsigned)(protobuf_c_service_descriptor_get_method_by_name(sd,
										    "GetPublicKey") -
				    sd->methods);
	Vapp__Fingerprint__V1__GetPublicKeyRequest kr = VAPP__FINGERPRINT__V1__GET_PUBLIC_KEY_REQUEST__INIT;
	struct vrpc_client *cli = vrpc_client_open(addr, sd, NULL);
	ProtobufCMessage *reply = NULL;
	uint8_t pub[FP_PUBKEY_LEN], packed[FP_ASSERTION_MAX + 128];
	uint64_t last = 0;

	if (!cli || vrpc_client_call(cli, m_key, &kr.base, &reply, 5000, NULL) != VRPC_OK)
		return fprintf(stderr, "fp_bench: cannot reach %s\n", addr), 1;
	memcpy(pub, ((Vapp__Fingerprint__V1__PublicKey *)reply)->ed25519.data, FP_PUBKEY_LEN);
	protobuf_c_message_free_unpacked(reply, NULL);
	for (int i = 0; i < n; i++) {
		Vapp__Fingerprint__V1__VerifyRequest vr = VAPP__FINGERPRINT__V1__VERIFY_REQUEST__INIT;
		uint8_t nonce[32];
		struct fp_expect want = { .nonce = nonce, .nonce_len = 32, .user = "alice", .finger = 7,
					  .max_age_ms = 60000, .last_counter = last };
		struct fp_verdict v;
		struct timespec ts;
		char why[256];
		size_t len;
		double t0 = now_ms();

		RAND_bytes(nonce, sizeof(nonce));
		vr.user = (char *)"alice";
		vr.finger = VAPP__FINGERPRINT__V1__FINGER__RIGHT_INDEX;
		vr.nonce.data = nonce;
		vr.nonce.len = sizeof(nonce);
		scan("SCAN bench-finger");
		if (vrpc_client_call(cli, m_verify, &vr.base, &reply, 10000, NULL) != VRPC_OK)
			return fprintf(stderr, "fp_bench: Verify %d failed\n", i), 1;
		len = vapp__fingerprint__v1__signed_assertion__pack(
			(Vapp__Fingerprint__V1__SignedAssertion *)reply, packed);
		protobuf_c_message_free_unpacked(reply, NULL);
		clock_gettime(CLOCK_REALTIME, &ts);
		want.now_unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		if (fp_check(packed, len, pub, &want, &v, why, sizeof(why)) || !v.match)
			return fprintf(stderr, "fp_bench: assertion %d: %s\n", i, why), 1;
		last = v.counter;
		t[i] = now_ms() - t0;
	}
	vrpc_client_close(cli);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[argc - 1]) : 0, rc;
	double *t;

	if (!getenv("FP_VIRTUAL_DEVICE") || n < 1 || n > 100000 ||
	    !((argc == 3 && !strcmp(argv[1], "direct")) || (argc == 4 && !strcmp(argv[1], "rpc")))) {
		fprintf(stderr, "usage: FP_VIRTUAL_DEVICE=SOCK fp_bench direct N | rpc ADDR N\n");
		return 2;
	}
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		return 1;
	rc = argc == 3 ? direct(n, t) : rpc(argv[2], n, t);
	if (!rc)
		report(t, n);
	free(t);
	return rc;
}
