/*
 * appliance.h - private to appliance.c (its life) and launch.c (preparing
 * and starting it): the appliance itself.
 */
#ifndef VAPPD_APPLIANCE_H
#define VAPPD_APPLIANCE_H

#include <limits.h>

#include "hvconfig.h"
#include "measure.h"
#include "vapp_util.h"
#include "vappd.h"
#include "kvm_direct.h"

#define CTL_SOCK HV_CTL_CHANNEL ".sock"

struct appliance {
	struct vappd *d;
	struct appliance *next;
	char name[64];
	char image_src[PATH_MAX];
	char run_dir[PATH_MAX];
	char image_dir[PATH_MAX];
	char accel[8];
	char measurement[MEASURE_HEX_LEN + 1];
	char signer[PATH_MAX + 128];
	char chan_addr[PATH_MAX + 16];
	struct image_info info;
	char **argv;
	int boot_timeout_ms;

	enum sup_state state;
	struct sup_ctx ctx;
	pid_t pid;
	int64_t started_ms;
	bool daemon_exit_seen;
	int daemon_status;
	uint32_t restarts, boot_ms, backoff_ms;
	char error[VAPPD_ERR_LEN];
	char hello_err[128];

	int boot_timer, backoff_timer, stop_timer, ctl_timer, hello_timer;
	int ctl_fd;
	char ctl_buf[256];
	size_t ctl_len;
	struct hello_job *hello;
	struct vrpc_client *cli;
	struct vrpc_relay_upstream *upstream; /* ready HELLO's connection, for the broker */
	bool up;            /* on_ready said, on_down not yet */
	bool relinking;     /* the HELLO under way remakes the broker's connection */
	unsigned relink_tries;

	app_run_done_fn run_done;
	void *run_ud;
	app_stop_done_fn stop_done;
	void *stop_ud;

	struct xen_dom *xen; /* under Xen (xen.c), else NULL */
	struct kvm_pair *direct; /* under QEMU: its direct channels (kvm_direct.c) */
	size_t n_direct;
	char *direct_lines[KVM_DIRECT_MAX];
};

void feed(struct appliance *a, enum sup_event ev);
/* Bytes of vapp.ctl from the appliance (its port, or xenstore). */
void vappd_ctl_input(struct appliance *a, const char *data, size_t len);
/* What a launch tells the appliance first on vapp.ctl (appliance.c). */
void vappd_launch_text(struct appliance *a, struct vapp_buf *b);
/* Xen: the domain is made and unpaused; its channel can be called. */
void vappd_vm_created(struct appliance *a);
int start_vm(struct appliance *a);
/* (Re)starts the boot timer: not ready by then is SUP_EV_BOOT_TIMEOUT. */
void arm_boot(struct appliance *a);
void appliance_free(struct appliance *a);
int64_t mono_ms(void);
/* DIR/FILE into @p out; empty when it does not fit. */
void path_in(char *out, size_t len, const char *dir, const char *file);

/* ---- xen.c: the Xen backend (a->xen) ---- */
struct xen_dom;
/* RUN_DIR/xl.cfg with the measured command line; a->xen made.
 * @return 0, or -errno with @p err (-EOPNOTSUPP: a device Xen is not
 * given yet). */
int vappd_xen_prepare(struct appliance *a, const char *cmdline, char *err, size_t errlen);
/* xl create -p -F: a->pid; vappd_vm_created() once made and unpaused. */
int vappd_xen_start(struct appliance *a);
/* xl destroy (or xl create stopped while it makes the domain). */
void vappd_xen_kill(struct appliance *a);
/* The domain is gone (xl create ended): keys, watch and console let go. */
void vappd_xen_gone(struct appliance *a);
void vappd_xen_free(struct appliance *a);
/* One or more of vapp.ctl's bytes for the appliance. @return 0 or -errno. */
int vappd_xen_ctl_write(struct appliance *a, const char *buf, size_t len);
bool vappd_xen_ctl_up(const struct appliance *a);
/* The channel forwarded from RUN_DIR/CHANNEL.sock to its vchan; its
 * address ("unix:...") into @p addr. @return 0 or -errno. */
int vappd_xen_forward_channel(struct appliance *a, char *addr, size_t len);
/* Xen released the domain (then xl create's end says nothing more). */
bool vappd_xen_domain_died(const struct appliance *a);
uint32_t vappd_xen_domid(const struct appliance *a);

/* ---- xen_disk.c: the state volume under Xen ---- */
struct xs_handle;
/* A loop device on @p img (its path into @p dev), cleared once nothing
 * holds it. @return its fd, or -errno with @p err. */
int vappd_xen_disk_attach(const char *img, char *dev, size_t len, char *err, size_t errlen);
/* Domain @p domid's xvda, made by xl for @p dev, given @p loop_fd's device
 * (blkback's physical-device). @return 0, or -errno with @p err. */
int vappd_xen_disk_connect(struct xs_handle *xs, uint32_t domid, int loop_fd, const char *dev,
			   char *err, size_t errlen);

#endif /* VAPPD_APPLIANCE_H */
