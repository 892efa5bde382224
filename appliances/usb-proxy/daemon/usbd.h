/*
 * usbd.h - vapp-usbd, the USB proxy appliance's daemon: the parts and what
 * they share.
 *
 *   devices.c  the devices on the appliance's buses, read from sysfs; the
 *              strings a device reports about itself made harmless
 *   rules.c    the device rules: which guest may have which device
 */
#ifndef VAPP_USBD_H
#define VAPP_USBD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
