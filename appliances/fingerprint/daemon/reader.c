/*
 * reader.c - the fingerprint reader, on a thread of its own. libfprint's
 * calls block for as long as a finger takes to come, and its synchronous
 * calls iterate GLib's default main context, where its devices have their
 * sources: this thread alone uses that context. It opens the reader, runs
 * one job at a time, and between jobs keeps iterating the context (a
 * reader's events, the virtual reader's socket), woken by
 * g_main_context_wakeup() when a job comes. The main thread (the RPC loop) never touches
 * libfprint; it submits jobs and gets reports (progress, done) from a
 * queue, woken by a pipe.
 *
 * libfprint's virtual drivers (virtual_device, virtual_image: compiled into
 * Debian's library, made by the FP_VIRTUAL_* variables) stand in for a
 * reader in tests. Outside test mode they are refused: a production
 * appliance must never believe a "finger" that a socket typed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fprint.h>

#include "vrpc.h"
#include "fpd.h"

#define MAX_QUEUED 4
#define MAX_REPORTS 64

struct reader {
	bool test_mode;
	reader_report_fn fn;
	void *ud;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	struct reader_job *queue;        /* waiting, oldest first */
	struct reader_job *running;
	int n_queued;
	struct reader_report reports[MAX_REPORTS];
	int n_reports;
	int pipe[2];                     /* [1] written when reports wait */
	struct reader_info info;
	/* the thread's */
	FpContext *ctx;
	FpDevice *dev;
};

/* Tests only: see reader_finger_wanted(). */
static atomic_uint finger_asks;
static atomic_bool finger_wanted;

static void on_finger_status(FpDevice *dev, GParamSpec *pspec, gpointer ud)
{
	bool want = fp_device_get_finger_status(dev) & FP_FINGER_STATUS_NEEDED;

	(void)pspec;
	(void)ud;
	if (want && !atomic_load(&finger_wanted))
		atomic_fetch_add(&finger_asks, 1);
	atomic_store(&finger_wanted, want);
}

unsigned reader_finger_wanted(void)
{
	return atomic_load(&finger_wanted) ? atomic_load(&finger_asks) : 0;
}

static bool is_virtual_driver(const char *driver)
{
	return !strncmp(driver, "virtual_", 8);
}

/* Queues a report and wakes the main thread. Progress reports are dropped
 * when the queue is full (the next one says as much); done ones never are:
 * the thread waits for room. */
static void report(struct reader *r, const struct reader_report *rep)
{
	ssize_t n;

	pthread_mutex_lock(&r->mu);
	while (rep->done && r->n_reports == MAX_REPORTS && !r->stopping)
		pthread_cond_wait(&r->cv, &r->mu);
	if (r->n_reports < MAX_REPORTS)
		r->reports[r->n_reports++] = *rep;
	pthread_mutex_unlock(&r->mu);
	do
		n = write(r->pipe[1], "", 1);
	while (n < 0 && errno == EINTR);
}

static const char *retry_hint(int code)
{
	switch (code) {
	case FP_DEVICE_RETRY_TOO_SHORT: return "the swipe was too short: scan again";
	case FP_DEVICE_RETRY_CENTER_FINGER: return "center the finger on the reader and scan again";
	case FP_DEVICE_RETRY_REMOVE_FINGER: return "lift the finger and place it again";
	default: return "the scan was poor: scan again";
	}
}

/* A failed job's status and message from libfprint's error. */
static void failed(struct reader_job *job, const GError *e)
{
	int st = VRPC_UNAVAILABLE;

	if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		st = VRPC_DEADLINE_EXCEEDED;
	else if (g_error_matches(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
		st = VRPC_DEADLINE_EXCEEDED;
	else if (e->domain == FP_DEVICE_RETRY)
		st = VRPC_FAILED_PRECONDITION;
	else if (g_error_matches(e, FP_DEVICE_ERROR, FP_DEVICE_ERROR_DATA_INVALID))
		st = VRPC_FAILED_PRECONDITION;
	job->status = st;
	if (st == VRPC_DEADLINE_EXCEEDED)
		snprintf(job->message, sizeof(job->message), "no finger came in time");
	else if (e->domain == FP_DEVICE_RETRY)
		snprintf(job->message, sizeof(job->message), "%s", retry_hint(e->code));
	else
		snprintf(job->message, sizeof(job->message), "the reader: %s", e->message);
}

struct enroll_ctx {
	struct reader *r;
	struct reader_job *job;
	int stages;
};

static void on_enroll_progress(FpDevice *dev, gint done, FpPrint *print, gpointer ud,
			       GError *error)
{
	struct enroll_ctx *ec = ud;
	struct reader_report rep = { .job = ec->job, .stage = done, .stages = ec->stages };

	(void)dev;
	(void)print;
	if (error && error->domain == FP_DEVICE_RETRY)
		snprintf(rep.retry, sizeof(rep.retry), "%s", retry_hint(error->code));
	report(ec->r, &rep);
}

static void run_enroll(struct reader *r, struct reader_job *job)
{
	struct enroll_ctx ec = { .r = r, .job = job, .stages = fp_device_get_nr_enroll_stages(r->dev) };
	FpPrint *tmpl = fp_print_new(r->dev), *print;
	GError *e = NULL;
	guchar *data = NULL;
	gsize len = 0;

	fp_print_set_username(tmpl, job->user);
	fp_print_set_finger(tmpl, (FpFinger)job->finger);
	print = fp_device_enroll_sync(r->dev, tmpl, job->cancel, on_enroll_progress, &ec, &e);
	if (print && fp_print_serialize(print, &data, &len, &e) &&
	    !vapp_buf_add(&job->print, data, len))
		job->status = VRPC_OK;
	else if (e)
		failed(job, e);
	else
		job->status = VRPC_INTERNAL;
	g_free(data);
	g_clear_error(&e);
	if (print)
		g_object_unref(print);
	else
		g_object_unref(tmpl); /* enroll took no reference on failure */
}

static FpPrint *print_of(const struct vapp_buf *b, GError **e)
{
	return fp_print_deserialize(b->p, b->len, e);
}

static void run_verify(struct reader *r, struct reader_job *job)
{
	GError *e = NULL;
	FpPrint *p = print_of(&job->prints[0], &e);
	gboolean match = FALSE;

	if (p && fp_device_verify_sync(r->dev, p, job->cancel, NULL, NULL, &match, NULL, &e)) {
		job->status = VRPC_OK;
		job->matched = match ? 1 : 0;
	} else {
		failed(job, e);
	}
	g_clear_error(&e);
	if (p)
		g_object_unref(p);
}

static void run_identify(struct reader *r, struct reader_job *job)
{
	GPtrArray *prints = g_ptr_array_new_with_free_func(g_object_unref);
	FpPrint *match = NULL;
	GError *e = NULL;

	for (size_t i = 0; i < job->n_prints; i++) {
		FpPrint *p = print_of(&job->prints[i], NULL);

		/* Index kept: an unreadable one is a placeholder that matches nothing. */
		g_ptr_array_add(prints, p ? p : fp_print_new(r->dev));
	}
	if (fp_device_identify_sync(r->dev, prints, job->cancel, NULL, NULL, &match, NULL, &e)) {
		job->status = VRPC_OK;
		job->matched = -1;
		for (guint i = 0; match && i < prints->len; i++)
			if (g_ptr_array_index(prints, i) == match)
				job->matched = (int)i;
	} else {
		failed(job, e);
	}
	g_clear_error(&e);
	if (match)
		g_object_unref(match);
	g_ptr_array_unref(prints);
}

/* Finds and opens the reader: the first device, a virtual one only in
 * test mode. */
static void open_reader(struct reader *r)
{
	struct reader_info *in = &r->info;
	GPtrArray *devs;
	GError *e = NULL;

	r->ctx = fp_context_new();
	devs = fp_context_get_devices(r->ctx);
	pthread_mutex_lock(&r->mu);
	for (guint i = 0; devs && i < devs->len && in->n_all < 8; i++) {
		FpDevice *d = g_ptr_array_index(devs, i);

		snprintf(in->all[in->n_all].name, sizeof(in->all[0].name), "%s", fp_device_get_name(d));
		snprintf(in->all[in->n_all].driver, sizeof(in->all[0].driver), "%s",
			 fp_device_get_driver(d));
		snprintf(in->all[in->n_all].id, sizeof(in->all[0].id), "%s", fp_device_get_device_id(d));
		in->all[in->n_all].stages = fp_device_get_nr_enroll_stages(d);
		in->all[in->n_all].is_virtual = is_virtual_driver(fp_device_get_driver(d));
		if (!r->dev && (r->test_mode || !in->all[in->n_all].is_virtual))
			r->dev = d;
		in->n_all++;
	}
	if (!devs || !devs->len)
		snprintf(in->reason, sizeof(in->reason), "no fingerprint reader");
	else if (!r->dev)
		snprintf(in->reason, sizeof(in->reason),
			 "only a virtual reader (%s), refused outside test mode",
			 in->all[0].driver);
	pthread_mutex_unlock(&r->mu);
	if (!r->dev)
		return;
	if (!fp_device_open_sync(r->dev, NULL, &e)) {
		pthread_mutex_lock(&r->mu);
		snprintf(in->reason, sizeof(in->reason), "%s: %s", fp_device_get_name(r->dev),
			 e->message);
		pthread_mutex_unlock(&r->mu);
		g_clear_error(&e);
		r->dev = NULL;
		return;
	}
	pthread_mutex_lock(&r->mu);
	in->open = true;
	snprintf(in->name, sizeof(in->name), "%s", fp_device_get_name(r->dev));
	snprintf(in->driver, sizeof(in->driver), "%s", fp_device_get_driver(r->dev));
	snprintf(in->id, sizeof(in->id), "%s", fp_device_get_device_id(r->dev));
	in->stages = fp_device_get_nr_enroll_stages(r->dev);
	in->is_virtual = is_virtual_driver(in->driver);
	in->can_identify = fp_device_has_feature(r->dev, FP_DEVICE_FEATURE_IDENTIFY);
	pthread_mutex_unlock(&r->mu);
	if (in->is_virtual)
		g_signal_connect(r->dev, "notify::finger-status", G_CALLBACK(on_finger_status), NULL);
}

static void *run(void *arg)
{
	struct reader *r = arg;

	open_reader(r);
	for (;;) {
		struct reader_job *job;
		struct reader_report rep = { .done = true };

		pthread_mutex_lock(&r->mu);
		if (r->stopping) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		if (!r->queue) {
			pthread_mutex_unlock(&r->mu);
			/* A wakeup sent before this blocks still ends it. */
			g_main_context_iteration(NULL, TRUE);
			continue;
		}
		job = r->queue;
		r->queue = job->next;
		r->n_queued--;
		r->running = job;
		pthread_mutex_unlock(&r->mu);
		if (!r->dev) {
			job->status = VRPC_UNAVAILABLE;
			snprintf(job->message, sizeof(job->message), "%s", r->info.reason);
		} else if (g_cancellable_is_cancelled(job->cancel)) {
			job->status = VRPC_DEADLINE_EXCEEDED;
			snprintf(job->message, sizeof(job->message), "cancelled before it started");
		} else if (job->kind == JOB_ENROLL) {
			run_enroll(r, job);
		} else if (job->kind == JOB_VERIFY) {
			run_verify(r, job);
		} else {
			run_identify(r, job);
		}
		pthread_mutex_lock(&r->mu);
		r->running = NULL;
		pthread_mutex_unlock(&r->mu);
		rep.job = job;
		report(r, &rep);
	}
	if (r->dev)
		fp_device_close_sync(r->dev, NULL, NULL);
	if (r->ctx)
		g_object_unref(r->ctx);
	return NULL;
}

struct reader *reader_start(bool test_mode, reader_report_fn fn, void *ud)
{
	struct reader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->test_mode = test_mode;
	snprintf(r->info.reason, sizeof(r->info.reason), "looking for the reader");
	r->fn = fn;
	r->ud = ud;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK)) {
		free(r);
		return NULL;
	}
	err = pthread_create(&r->thread, NULL, run, r);
	if (err) {
		close(r->pipe[0]);
		close(r->pipe[1]);
		free(r);
		errno = err;
		return NULL;
	}
	return r;
}

int reader_fd(const struct reader *r)
{
	return r->pipe[0];
}

void reader_dispatch(struct reader *r)
{
	struct reader_report reps[MAX_REPORTS];
	char drain[64];
	int n;

	while (read(r->pipe[0], drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&r->mu);
	n = r->n_reports;
	memcpy(reps, r->reports, (size_t)n * sizeof(reps[0]));
	r->n_reports = 0;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < n; i++) {
		if (reps[i].done && reps[i].job->cancel) {
			g_object_unref(reps[i].job->cancel);
			reps[i].job->cancel = NULL;
		}
		r->fn(r->ud, &reps[i]);
	}
}

int reader_submit(struct reader *r, struct reader_job *job)
{
	struct reader_job **pp;

	pthread_mutex_lock(&r->mu);
	if (r->n_queued >= MAX_QUEUED) {
		pthread_mutex_unlock(&r->mu);
		return -EBUSY;
	}
	job->cancel = g_cancellable_new();
	job->next = NULL;
	for (pp = &r->queue; *pp; pp = &(*pp)->next)
		;
	*pp = job;
	r->n_queued++;
	pthread_mutex_unlock(&r->mu);
	g_main_context_wakeup(NULL);
	return 0;
}

void reader_cancel(struct reader *r, struct reader_job *job)
{
	(void)r;
	/* Thread-safe in GLib; the job is the caller's until its done report. */
	if (job->cancel)
		g_cancellable_cancel(job->cancel);
}

void reader_info(struct reader *r, struct reader_info *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->info;
	pthread_mutex_unlock(&r->mu);
}

void reader_stop(struct reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = true;
	pthread_cond_broadcast(&r->cv);
	if (r->running && r->running->cancel)
		g_cancellable_cancel(r->running->cancel);
	pthread_mutex_unlock(&r->mu);
	g_main_context_wakeup(NULL);
	pthread_join(r->thread, NULL);
	close(r->pipe[0]);
	close(r->pipe[1]);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
