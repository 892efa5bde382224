/*
 * usbd.h - vapp-usbd, the USB proxy appliance's daemon: the parts and what
 * they share.
 *
 *   devices.c  the devices on the appliance's buses, read from sysfs; the
 *              strings a device reports about itself made harmless
 *   rules.c    the device rules: which guest may have which device
 *   export.c   a device handed to the kernel's usbip-host, and back
 *   service.c  vapp.usb.v1.UsbProxy
 *   main.c     options, the loop
 */
#ifndef VAPP_USBD_H
#define VAPP_USBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "appliances/usb-proxy/usb.pb-c.h"

/* ---- devices.c ---- */

#define USB_BUSID_MAX 32
#define USB_STRING_MAX 127        /* a device's string, sanitized, with NUL */
#define USB_MAX_INTERFACES 32
#define USB_MAX_DEVICES 128

struct usb_dev {
	char busid[USB_BUSID_MAX];
	uint16_t vendor, product;
	uint8_t dev_class;
	uint8_t if_classes[USB_MAX_INTERFACES];
	int n_if;
	char manufacturer[USB_STRING_MAX], product_name[USB_STRING_MAX], serial[USB_STRING_MAX];
	int speed;                 /* the kernel's enum usb_device_speed, 0 unknown */
	uint32_t busnum, devnum;
	char driver[32];           /* bound to now ("usbip-host" when exported) */
};

/** Is @p name a device's busid ("1-2", "3-1.4.2"), not a root hub
 * ("usb1") or an interface ("1-2:1.0")? */
bool usb_busid_ok(const char *name);

/** Reads the devices under @p root (/sys/bus/usb/devices, or a test's
 * tree) into @p out, sorted by busid. A device whose files cannot be read
 * (it went away meanwhile) is left out. @return how many, or -errno. */
int usb_scan(const char *root, struct usb_dev *out, int max);

/** Does @p d have @p cls as its device class or an interface's? */
bool usb_has_class(const struct usb_dev *d, uint8_t cls);

/* ---- rules.c ---- */

#define USB_RULES_MAX 256

enum usb_match { MATCH_ANY, MATCH_ID, MATCH_CLASS, MATCH_BUSID };

struct usb_rule {
	char guest[64];            /* or "*" */
	bool allow;
	enum usb_match match;
	int vendor, product;       /* MATCH_ID: -1 for any */
	uint8_t cls;               /* MATCH_CLASS */
	char busid[USB_BUSID_MAX]; /* MATCH_BUSID */
};

struct usb_rules {
	struct usb_rule r[USB_RULES_MAX];
	int n;
};

/** Parses a rules file's text (@p name for messages). Each line:
 *   GUEST allow|deny MATCH      # a comment
 * GUEST is a guest's name or *; MATCH is * (every device), usb:VVVV:PPPP
 * (hex ids, either may be *), class:HH (the device's class or any of its
 * interfaces': 08 is mass storage) or busid:B. The first rule that fits
 * decides; no rule, no device.
 * @return 0, or -EINVAL with "NAME:LINE:COL: what" in @p why (nothing
 * kept: @p out is untouched unless the whole file is good). */
int usb_rules_parse(const char *text, size_t len, const char *name, struct usb_rules *out,
		    char *why, size_t whylen);

/** May @p guest have @p d? @p rule gets the deciding rule's index + 1, or
 * 0 when none fit (then no). */
bool usb_rules_allow(const struct usb_rules *rules, const char *guest, const struct usb_dev *d,
		     int *rule);

/* ---- service.c ---- */

#define VAPP_USBD_VERSION "0.1.0"

struct vrpc_loop;

/* A holder's Send, its bytes not all with the kernel yet. */
struct send_op {
	void *data;                /* the call */
	Vapp__Usb__V1__SendReply_Closure closure;
	uint8_t *buf;
	size_t len, off;
	struct send_op *next;
};

/* A device given to a guest: its Attach call streams what the kernel
 * sends on fd; the guest's Sends are written there. */
struct attachment {
	struct usbd *u;
	struct usb_dev dev;
	char guest[80];
	int fd;
	short events;
	void *call;
	Vapp__Usb__V1__DeviceData_Closure closure;
	struct send_op *sends, **sends_tail;
	int n_sends;
	struct attachment *next;
};

/* A device on its way back from usbip-host (service.c): waited for on
 * timers; its end of the socket is closed only once it is back. */
struct returning {
	struct usbd *u;
	char busid[USB_BUSID_MAX];
	int fd;
	int waited_ms;
	int timer;                 /* > 0 while one is set */
	bool settling;             /* the kernel let go; the last wait */
	struct returning *next;
};

struct watcher {
	void *data;
	Vapp__Usb__V1__DeviceEvent_Closure closure;
	char guest[80];            /* who watches: what "allowed" and "yours" mean */
	struct watcher *next;
};

/* A device an administrator set aside for one guest (Assign); it lasts
 * while the same device (busid and address) stays plugged. */
struct assignment {
	char busid[USB_BUSID_MAX];
	uint32_t devnum;
	char guest[64];
};

struct usbd {
	Vapp__Usb__V1__UsbProxy_Service svc;
	struct vrpc_loop *loop;
	char sysfs[256];           /* /sys/bus/usb/devices */
	struct usb_rules rules;
	struct usb_dev devs[USB_MAX_DEVICES]; /* the last scan */
	int n_devs;
	struct attachment *atts;
	struct returning *returning;
	struct assignment assigned[USB_MAX_DEVICES];
	int n_assigned;
	struct watcher *watchers;
	int uevent_fd;
	int rescan_timer;
};

int usbd_init(struct usbd *u, struct vrpc_loop *loop, const char *sysfs);
/** Gives every device back (their streams end). */
void usbd_fini(struct usbd *u);

/* ---- export.c ---- */

/** Is the kernel's usbip-host driver there (the module loaded)? */
bool usb_export_available(void);
/** Binds @p d to usbip-host and gives the kernel one end of a socketpair:
 * *@p fd (non-blocking) is the other, carrying USB/IP. @return 0, or
 * -errno with the step that failed in @p why (nothing left bound). */
int usb_export_start(const struct usb_dev *d, int *fd, char *why, size_t whylen);
/* The way back: usb_export_release(), then wait while usb_export_busy()
 * (at most USB_RETURN_WAIT_MS, polled every USB_RETURN_POLL_MS), then
 * USB_RETURN_SETTLE_MS more, then usb_export_rebind(). Each is harmless on
 * a device that is not exported or gone. */
#define USB_RETURN_WAIT_MS 3000
#define USB_RETURN_POLL_MS 20
#define USB_RETURN_SETTLE_MS 200
/** Tells the kernel to let go of the device's USB/IP connection. */
void usb_export_release(const char *busid);
/** Does the kernel still hold the connection (usbip_status "used")? */
bool usb_export_busy(const char *busid);
/** Takes the device from usbip-host and lets its own driver probe it. */
void usb_export_rebind(const char *busid);
/** All three in a row, sleeping between them (for an export that failed
 * half way, before any guest had it). */
void usb_export_stop(const char *busid);

#endif
