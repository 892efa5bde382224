/*
 * service.c - vapp.usb.v1.UsbProxy. The caller is who vappd's broker says
 * (never a field of the request); the device rules decide which device it
 * may have; one device has one holder. A device's USB/IP stream is the
 * Attach call's stream (appliance to guest) and the holder's Send calls
 * (guest to appliance): this daemon moves those bytes and parses none of
 * them but its own opening line; the kernels on both ends do USB/IP.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vrpc.h"
#include "usbip_line.h"
#include "usbd.h"
#include "appliance.h"
#include "appliances/usb-proxy/usb.pb-c.h"

typedef Vapp__Usb__V1__UsbProxy_Service Svc;

#define USBD(svc) ((struct usbd *)((char *)(svc) - offsetof(struct usbd, svc)))

#define TICK_MS 250
#define RESCAN_MS 300
#define CHUNK 65536
#define MAX_SENDS 64
#define READS_PER_WAKE 16

static struct attachment *attachment_of(struct usbd *u, const char *busid)
{
	for (struct attachment *a = u->atts; a; a = a->next)
		if (!strcmp(a->dev.busid, busid))
			return a;
	return NULL;
}

static struct assignment *assignment_of(struct usbd *u, const char *busid)
{
	for (int i = 0; i < u->n_assigned; i++)
		if (!strcmp(u->assigned[i].busid, busid))
			return &u->assigned[i];
	return NULL;
}

static void unassign(struct usbd *u, struct assignment *as)
{
	*as = u->assigned[--u->n_assigned];
}

/* May @p guest have @p d? When not, @p why says so, naming the rule. */
static bool rules_give(struct usbd *u, const char *guest, const struct usb_dev *d, int *rule,
		       char *why, size_t len)
{
	if (usb_rules_allow(&u->rules, guest, d, rule))
		return true;
	if (*rule)
		snprintf(why, len, "the device rules deny %s to %s (rule %d)", d->busid, guest, *rule);
	else
		snprintf(why, len, "the device rules give %s to no %s", d->busid, guest);
	return false;
}

static const struct usb_dev *device_of(struct usbd *u, const char *busid)
{
	for (int i = 0; i < u->n_devs; i++)
		if (!strcmp(u->devs[i].busid, busid))
			return &u->devs[i];
	return NULL;
}

/* The proto's view of @p d; @p ifc holds the interface classes. */
static void to_proto(struct usbd *u, const struct usb_dev *d, const char *caller,
		     Vapp__Usb__V1__Device *m, uint32_t *ifc)
{
	struct attachment *a = attachment_of(u, d->busid);
	struct assignment *as = assignment_of(u, d->busid);

	vapp__usb__v1__device__init(m);
	m->busid = (char *)d->busid;
	m->vendor_id = d->vendor;
	m->product_id = d->product;
	m->device_class = d->dev_class;
	for (int i = 0; i < d->n_if; i++)
		ifc[i] = d->if_classes[i];
	m->n_interface_classes = (size_t)d->n_if;
	m->interface_classes = ifc;
	m->manufacturer = (char *)d->manufacturer;
	m->product = (char *)d->product_name;
	m->serial = (char *)d->serial;
	m->speed = (Vapp__Usb__V1__Speed)d->speed;
	m->attached_to = a ? a->guest : "";
	m->allowed = caller && usb_rules_allow(&u->rules, caller, d, NULL);
	m->driver = (char *)d->driver;
	m->assigned_to = as ? as->guest : "";
	m->assigned_to_you = as && caller && !strcmp(as->guest, caller);
}

/* An event to @p only, or to every watcher when NULL, each told what the
 * device is to it. */
static void tell(struct usbd *u, struct watcher *only, Vapp__Usb__V1__DeviceEvent__Kind kind,
		 const struct usb_dev *d)
{
	Vapp__Usb__V1__DeviceEvent ev = VAPP__USB__V1__DEVICE_EVENT__INIT;
	Vapp__Usb__V1__Device m;
	uint32_t ifc[USB_MAX_INTERFACES];

	ev.kind = kind;
	ev.device = &m;
	for (struct watcher *w = only ? only : u->watchers; w; w = only ? NULL : w->next) {
		to_proto(u, d, w->guest, &m, ifc);
		w->closure(&ev, w->data);
	}
}

/* Reads the devices again and tells the watchers what changed (a device
 * whose busid now has another address was unplugged and another plugged).
 * Every reading goes through here, whether a uevent or a call asked for
 * it, so no change goes untold. */
static struct returning *returning_of(struct usbd *u, const char *busid);

/* A device on its way back is reset by the kernel meanwhile: for a moment
 * its files cannot be read, or its devnum reads 0 (seen here). It is kept
 * as it was until it is back (return_step() scans again then), not told as
 * unplugged, which would also drop its assignment. */
static void keep_returning(struct usbd *u, const struct usb_dev *old, int n_old)
{
	for (int i = 0; i < n_old && u->n_devs < USB_MAX_DEVICES; i++) {
		struct usb_dev *now = (struct usb_dev *)device_of(u, old[i].busid);
		int at = u->n_devs;

		if (!returning_of(u, old[i].busid))
			continue;
		if (now) {
			*now = old[i];
			continue;
		}
		while (at > 0 && strcmp(u->devs[at - 1].busid, old[i].busid) > 0) {
			u->devs[at] = u->devs[at - 1];
			at--;
		}
		u->devs[at] = old[i];
		u->n_devs++;
	}
}

static void rescan(struct usbd *u)
{
	static struct usb_dev old[USB_MAX_DEVICES];
	int n_old = u->n_devs, n;

	memcpy(old, u->devs, (size_t)n_old * sizeof(old[0]));
	n = usb_scan(u->sysfs, u->devs, USB_MAX_DEVICES);
	u->n_devs = n < 0 ? 0 : n;
	keep_returning(u, old, n_old);
	for (int i = 0; i < n_old; i++) {
		const struct usb_dev *d = device_of(u, old[i].busid);
		struct assignment *as;

		if (d && d->devnum == old[i].devnum)
			continue;
		as = assignment_of(u, old[i].busid);
		tell(u, NULL, VAPP__USB__V1__DEVICE_EVENT__KIND__UNPLUG, &old[i]);
		if (as && as->devnum == old[i].devnum) /* another device there is not it */
			unassign(u, as);

	}
	for (int i = 0; i < u->n_devs; i++) {
		bool seen = false;

		for (int j = 0; j < n_old && !seen; j++)
			seen = !strcmp(old[j].busid, u->devs[i].busid) &&
			       old[j].devnum == u->devs[i].devnum;
		if (!seen)
			tell(u, NULL, VAPP__USB__V1__DEVICE_EVENT__KIND__PLUG, &u->devs[i]);
	}
}

/* ---- an attachment's bytes ---- */

static void watch_fd(struct attachment *a);

static void reply_send(struct send_op *op, int status, const char *why)
{
	Vapp__Usb__V1__SendReply r = VAPP__USB__V1__SEND_REPLY__INIT;

	if (status == VRPC_OK) {
		op->closure(&r, op->data);
	} else {
		vrpc_call_set_status(vrpc_call_of(op->data), status, "%s", why);
		op->closure(NULL, op->data);
	}
	free(op->buf);
	free(op);
}

/* ---- the way back from usbip-host, on the loop's timers ---- */

static void returned(struct returning *r)
{
	struct returning **pp;

	usb_export_rebind(r->busid);
	close(r->fd); /* only now: see export.c */
	for (pp = &r->u->returning; *pp && *pp != r; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = r->next;
	free(r);
}

static void return_step(void *ud)
{
	struct returning *r = ud;
	int ms = USB_RETURN_SETTLE_MS;

	r->timer = 0;
	if (r->settling) {
		struct usbd *u = r->u;

		returned(r);
		rescan(u); /* what changed meanwhile is told now */
		return;
	}
	if (usb_export_busy(r->busid) && r->waited_ms < USB_RETURN_WAIT_MS) {
		ms = USB_RETURN_POLL_MS;
		r->waited_ms += ms;
	} else {
		r->settling = true;
	}
	r->timer = vrpc_loop_add_timer(r->u->loop, ms, return_step, r);
	if (r->timer < 0) { /* no timer: the wait in place, as a last resort */
		r->timer = 0;
		usb_export_stop(r->busid);
		returned(r);
	}
}

/* Starts giving device @p busid back; @p fd, our end of its socket, is
 * closed once it is back. The loop goes on meanwhile. */
static void return_begin(struct usbd *u, const char *busid, int fd)
{
	struct returning *r = calloc(1, sizeof(*r));

	if (!r) {
		usb_export_stop(busid);
		close(fd);
		return;
	}
	r->u = u;
	snprintf(r->busid, sizeof(r->busid), "%s", busid);
	r->fd = fd;
	r->next = u->returning;
	u->returning = r;
	usb_export_release(busid);
	return_step(r);
}

/* Finishes @p r's way back now, waiting in place: the device is asked for
 * again, or the appliance stops. */
static void return_now(struct returning *r)
{
	if (r->timer > 0)
		vrpc_loop_cancel_timer(r->u->loop, r->timer);
	r->timer = 0;
	for (; !r->settling && usb_export_busy(r->busid) && r->waited_ms < USB_RETURN_WAIT_MS;
	     r->waited_ms += USB_RETURN_POLL_MS)
		usleep(USB_RETURN_POLL_MS * 1000);
	usleep(USB_RETURN_SETTLE_MS * 1000);
	returned(r);
}

static struct returning *returning_of(struct usbd *u, const char *busid)
{
	for (struct returning *r = u->returning; r; r = r->next)
		if (!strcmp(r->busid, busid))
			return r;
	return NULL;
}

/* Ends @p a: the device back to the appliance, its pending sends failed,
 * its stream ended with @p status. */
static void end_attachment(struct attachment *a, int status, const char *why)
{
	struct usbd *u = a->u;
	struct attachment **pp;

	for (pp = &u->atts; *pp && *pp != a; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = a->next;
	vrpc_loop_del_fd(u->loop, a->fd);
	return_begin(u, a->dev.busid, a->fd);
	while (a->sends) {
		struct send_op *op = a->sends;

		a->sends = op->next;
		reply_send(op, VRPC_UNAVAILABLE, "the device was detached");
	}
	fprintf(stderr, "vapp-usbd: %s (%04x:%04x) back from %s: %s\n", a->dev.busid, a->dev.vendor,
		a->dev.product, a->guest, why);
	tell(u, NULL, VAPP__USB__V1__DEVICE_EVENT__KIND__DETACH, &a->dev);
	if (status != VRPC_OK)
		vrpc_call_set_status(vrpc_call_of(a->call), status, "%s", why);
	a->closure(NULL, a->call);
	free(a);
}

/* Writes what the holder sent, in order; a send is answered once all its
 * bytes are with the kernel. @return 0, or -1 when @p a was ended. */
static int flush_sends(struct attachment *a)
{
	while (a->sends) {
		struct send_op *op = a->sends;
		ssize_t n = write(a->fd, op->buf + op->off, op->len - op->off);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0) {
			end_attachment(a, VRPC_UNAVAILABLE, "the device's kernel side closed");
			return -1;
		}
		op->off += (size_t)n;
		if (op->off < op->len)
			break;
		a->sends = op->next;
		if (!a->sends)
			a->sends_tail = &a->sends;
		a->n_sends--;
		reply_send(op, VRPC_OK, NULL);
	}
	watch_fd(a);
	return 0;
}

static void on_device_fd(void *ud, int fd, short revents)
{
	struct attachment *a = ud;
	static uint8_t buf[CHUNK];

	if (revents & POLLOUT && flush_sends(a))
		return;
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (int i = 0; i < READS_PER_WAKE; i++) {
		Vapp__Usb__V1__DeviceData item = VAPP__USB__V1__DEVICE_DATA__INIT;
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			end_attachment(a, VRPC_UNAVAILABLE, "the device went away");
			return;
		}
		item.data.data = buf;
		item.data.len = (size_t)n;
		a->closure(&item, a->call);
	}
}

static void watch_fd(struct attachment *a)
{
	short ev = POLLIN | (a->sends ? POLLOUT : 0);

	if (ev == a->events)
		return;
	vrpc_loop_del_fd(a->u->loop, a->fd);
	vrpc_loop_add_fd(a->u->loop, a->fd, ev, on_device_fd, a);
	a->events = ev;
}

/* ---- the methods ---- */

static void usb_get_status(Svc *svc, const Vapp__Usb__V1__GetStatusRequest *in,
			   Vapp__Usb__V1__Status_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	Vapp__Usb__V1__Status st = VAPP__USB__V1__STATUS__INIT;
	unsigned n = 0;

	(void)in;
	rescan(u);
	for (struct attachment *a = u->atts; a; a = a->next)
		n++;
	st.version = VAPP_USBD_VERSION;
	st.devices = (uint32_t)u->n_devs;
	st.attached = n;
	st.usbip_host = usb_export_available();
	st.rules = (uint32_t)u->rules.n;
	closure(&st, data);
}

static void usb_list_devices(Svc *svc, const Vapp__Usb__V1__ListDevicesRequest *in,
			     Vapp__Usb__V1__Devices_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	Vapp__Usb__V1__Devices out = VAPP__USB__V1__DEVICES__INIT;
	static Vapp__Usb__V1__Device m[USB_MAX_DEVICES];
	static Vapp__Usb__V1__Device *pm[USB_MAX_DEVICES];
	static uint32_t ifc[USB_MAX_DEVICES][USB_MAX_INTERFACES];
	char caller[80];

	(void)in;
	appliance_caller(data, caller, sizeof(caller));
	rescan(u);
	for (int i = 0; i < u->n_devs; i++) {
		to_proto(u, &u->devs[i], caller, &m[i], ifc[i]);
		pm[i] = &m[i];
	}
	out.n_devices = (size_t)u->n_devs;
	out.devices = pm;
	closure(&out, data);
}

static void usb_watch_devices(Svc *svc, const Vapp__Usb__V1__WatchDevicesRequest *in,
			      Vapp__Usb__V1__DeviceEvent_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	struct watcher *w = calloc(1, sizeof(*w));

	(void)in;
	if (!w) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->data = data;
	w->closure = closure;
	appliance_caller(data, w->guest, sizeof(w->guest));
	rescan(u);
	for (int i = 0; i < u->n_devs; i++) /* the devices as they are */
		tell(u, w, VAPP__USB__V1__DEVICE_EVENT__KIND__PLUG, &u->devs[i]);
	w->next = u->watchers;
	u->watchers = w;
}

static void usb_attach(Svc *svc, const Vapp__Usb__V1__AttachRequest *in,
		       Vapp__Usb__V1__DeviceData_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	Vapp__Usb__V1__DeviceData item = VAPP__USB__V1__DEVICE_DATA__INIT;
	char caller[80], why[200] = "", line[USBIP_LINE_MAX];
	const struct usb_dev *d;
	struct attachment *a;
	struct assignment *as;
	struct returning *r;
	int rule, err, n;

	appliance_caller(data, caller, sizeof(caller));
	if (!usb_busid_ok(in->busid)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "busid: not a device's busid");
		return;
	}
	rescan(u);
	if (!(d = device_of(u, in->busid))) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "no device %s", in->busid);
		return;
	}
	if ((as = assignment_of(u, in->busid)) && strcmp(as->guest, caller)) {
		APPLIANCE_FAIL(data, closure, VRPC_PERMISSION_DENIED, "%s is assigned to %s", in->busid,
			       as->guest);
		return;
	}
	/* A holder that let go a moment ago: its cancel came before this call,
	 * the next tick would have seen it. */
	if ((a = attachment_of(u, in->busid)) && vrpc_call_cancelled(vrpc_call_of(a->call)))
		end_attachment(a, VRPC_CANCELLED, "the guest let go (or went away)");
	if ((a = attachment_of(u, in->busid))) {
		APPLIANCE_FAIL(data, closure, VRPC_FAILED_PRECONDITION, "%s is attached to %s", in->busid,
		     a->guest);
		return;
	}
	/* Let go a moment ago and not back yet: it is, before it goes out. */
	if ((r = returning_of(u, in->busid))) {
		return_now(r);
		rescan(u);
		if (!(d = device_of(u, in->busid))) {
			APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "no device %s", in->busid);
			return;
		}
	}
	if (!rules_give(u, caller, d, &rule, why, sizeof(why))) {
		fprintf(stderr, "vapp-usbd: denied: %s asked for %s (%04x:%04x): %s%.0d\n", caller,
			d->busid, d->vendor, d->product, rule ? "rule " : "no rule", rule);
		APPLIANCE_FAIL(data, closure, VRPC_PERMISSION_DENIED, "%s", why);
		return;
	}
	n = usbip_line_format(d->busnum << 16 | d->devnum, d->speed, line);
	if (n < 0) {
		APPLIANCE_FAIL(data, closure, VRPC_FAILED_PRECONDITION, "%s: no address or speed the guest takes",
		     d->busid);
		return;
	}
	if (!(a = calloc(1, sizeof(*a)))) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	if ((err = usb_export_start(d, &a->fd, why, sizeof(why)))) {
		free(a);
		APPLIANCE_FAIL(data, closure, VRPC_UNAVAILABLE, "%s", why);
		return;
	}
	a->u = u;
	a->dev = *d;
	snprintf(a->guest, sizeof(a->guest), "%s", caller);
	a->call = data;
	a->closure = closure;
	a->sends_tail = &a->sends;
	a->next = u->atts;
	u->atts = a;
	fprintf(stderr, "vapp-usbd: %s (%04x:%04x %s) attached to %s (rule %d)\n", d->busid,
		d->vendor, d->product, d->product_name, caller, rule);
	item.data.data = (uint8_t *)line;
	item.data.len = (size_t)n;
	closure(&item, data);
	watch_fd(a);
	tell(u, NULL, VAPP__USB__V1__DEVICE_EVENT__KIND__ATTACH, &a->dev);
}

static void usb_send(Svc *svc, const Vapp__Usb__V1__SendRequest *in,
		     Vapp__Usb__V1__SendReply_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	struct attachment *a = attachment_of(u, in->busid);
	struct send_op *op;
	char caller[80];

	appliance_caller(data, caller, sizeof(caller));
	if (!a || strcmp(a->guest, caller)) {
		APPLIANCE_FAIL(data, closure, VRPC_PERMISSION_DENIED, "%s is not attached to %s", in->busid,
		     caller);
		return;
	}
	if (in->data.len > CHUNK) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "data: over %d bytes", CHUNK);
		return;
	}
	if (a->n_sends == MAX_SENDS) {
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "%d sends wait already", MAX_SENDS);
		return;
	}
	if (!(op = calloc(1, sizeof(*op))) || !(op->buf = malloc(in->data.len + 1))) {
		free(op);
		APPLIANCE_FAIL(data, closure, VRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	memcpy(op->buf, in->data.data, in->data.len);
	op->len = in->data.len;
	op->data = data;
	op->closure = closure;
	*a->sends_tail = op;
	a->sends_tail = &op->next;
	a->n_sends++;
	flush_sends(a);
}

static void usb_detach(Svc *svc, const Vapp__Usb__V1__DetachRequest *in,
		       Vapp__Usb__V1__DetachReply_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	struct attachment *a = attachment_of(u, in->busid);
	Vapp__Usb__V1__DetachReply r = VAPP__USB__V1__DETACH_REPLY__INIT;
	char caller[80], why[120];

	if (!a) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "%s is attached to no one", in->busid);
		return;
	}
	appliance_caller(data, caller, sizeof(caller));
	snprintf(why, sizeof(why), "detached by %s", caller);
	end_attachment(a, VRPC_OK, why);
	closure(&r, data);
}

/* A guest's name as vappd's policy spells one. */
static bool guest_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < sizeof(((struct assignment *)0)->guest) && s[0] != '.' && s[0] != '-' &&
	       s[0] != '_' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void usb_assign(Svc *svc, const Vapp__Usb__V1__AssignRequest *in,
		       Vapp__Usb__V1__AssignReply_Closure closure, void *data)
{
	struct usbd *u = USBD(svc);
	Vapp__Usb__V1__AssignReply r = VAPP__USB__V1__ASSIGN_REPLY__INIT;
	const struct usb_dev *d;
	struct assignment *as;
	struct attachment *a;
	char caller[80], why[200];
	int rule;

	appliance_caller(data, caller, sizeof(caller));
	if (!usb_busid_ok(in->busid)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "busid: not a device's busid");
		return;
	}
	if (in->guest[0] && !guest_name_ok(in->guest)) {
		APPLIANCE_FAIL(data, closure, VRPC_INVALID_ARGUMENT, "guest: not a guest's name");
		return;
	}
	rescan(u);
	if (!(d = device_of(u, in->busid))) {
		APPLIANCE_FAIL(data, closure, VRPC_NOT_FOUND, "no device %s", in->busid);
		return;
	}
	as = assignment_of(u, d->busid);
	if (!in->guest[0]) { /* clear */
		if (as) {
			fprintf(stderr, "vapp-usbd: %s no longer assigned to %s (by %s)\n", d->busid,
				as->guest, caller);
			unassign(u, as);
			tell(u, NULL, VAPP__USB__V1__DEVICE_EVENT__KIND__ASSIGN, d);
		}
		closure(&r, data);
		return;
	}
	if (!rules_give(u, in->guest, d, &rule, why, sizeof(why))) {
		APPLIANCE_FAIL(data, closure, VRPC_PERMISSION_DENIED, "%s", why);
		return;
	}
	if ((a = attachment_of(u, d->busid)) && strcmp(a->guest, in->guest)) {
		snprintf(why, sizeof(why), "assigned to %s by %s", in->guest, caller);
		end_attachment(a, VRPC_OK, why); /* as a Detach: in order */
	}
	if (!as)
		as = &u->assigned[u->n_assigned++]; /* one a device: there is room */
	snprintf(as->busid, sizeof(as->busid), "%s", d->busid);
	snprintf(as->guest, sizeof(as->guest), "%s", in->guest);
	as->devnum = d->devnum;
	fprintf(stderr, "vapp-usbd: %s (%04x:%04x) assigned to %s by %s\n", d->busid, d->vendor,
		d->product, in->guest, caller);
	tell(u, NULL, VAPP__USB__V1__DEVICE_EVENT__KIND__ASSIGN, d);
	closure(&r, data);
}

/* ---- the kernel's news, and the callers that left ---- */

static void on_rescan(void *ud)
{
	struct usbd *u = ud;

	u->rescan_timer = 0;
	rescan(u);
}

static void on_uevent(void *ud, int fd, short revents)
{
	struct usbd *u = ud;
	char buf[4096];
	struct sockaddr_nl from;
	socklen_t fl;
	ssize_t n;
	bool usb = false;

	(void)revents;
	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			break;
		buf[n] = '\0';
		/* The kernel's word only (pid 0); a message is NUL-separated fields. */
		if (from.nl_pid != 0)
			continue;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, "SUBSYSTEM=usb"))
				usb = true;
	}
	if (usb && !u->rescan_timer)
		u->rescan_timer = vrpc_loop_add_timer(u->loop, RESCAN_MS, on_rescan, u);
}

static void on_tick(void *ud)
{
	struct usbd *u = ud;
	struct watcher **wp = &u->watchers;

	for (struct attachment *a = u->atts, *next; a; a = next) {
		next = a->next;
		if (vrpc_call_cancelled(vrpc_call_of(a->call)))
			end_attachment(a, VRPC_CANCELLED, "the guest let go (or went away)");
	}
	while (*wp) {
		struct watcher *w = *wp;

		if (vrpc_call_cancelled(vrpc_call_of(w->data))) {
			*wp = w->next;
			w->closure(NULL, w->data);
			free(w);
		} else {
			wp = &w->next;
		}
	}
	vrpc_loop_add_timer(u->loop, TICK_MS, on_tick, u);
}

int usbd_init(struct usbd *u, struct vrpc_loop *loop, const char *sysfs)
{
	Svc svc = VAPP__USB__V1__USB_PROXY__INIT(usb_);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };

	u->svc = svc;
	u->loop = loop;
	snprintf(u->sysfs, sizeof(u->sysfs), "%s", sysfs);
	rescan(u);
	u->uevent_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			      NETLINK_KOBJECT_UEVENT);
	if (u->uevent_fd < 0 || bind(u->uevent_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    vrpc_loop_add_fd(loop, u->uevent_fd, POLLIN, on_uevent, u) < 0) {
		/* Without it, plugs are seen at the next call that scans. */
		fprintf(stderr, "vapp-usbd: no uevents (%s): WatchDevices sees only attaches\n",
			strerror(errno));
		if (u->uevent_fd >= 0)
			close(u->uevent_fd);
		u->uevent_fd = -1;
	}
	vrpc_loop_add_timer(loop, TICK_MS, on_tick, u);
	return 0;
}

void usbd_fini(struct usbd *u)
{
	while (u->atts)
		end_attachment(u->atts, VRPC_UNAVAILABLE, "the appliance stops");
	while (u->returning)
		return_now(u->returning);
	if (u->uevent_fd >= 0)
		close(u->uevent_fd);
}
