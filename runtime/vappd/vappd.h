/*
 * vappd.h - private to vappd: the daemon, its appliances, and the pieces
 * each file offers the others.
 *
 *   main.c       options, the control socket, signals, the loop
 *   control.c    the vapp.runtime.v1.Control service (runtime/proto/control.proto)
 *   appliance.c  one appliance: prepare (copy + verify), start, vapp.ctl,
 *                ready (HELLO), the supervise.c state machine's actions
 *   hello.c      the HELLO that proves ready, on a thread (it may wait a boot)
 *   console.c    console.log: tails for errors, lines for `vapp logs`
 *   launch.c     `vapp run`: copy, verify, the measured manifest, QEMU's argv
 *   image.c      the image folder: the copy of its measured files, the facts
 *                of its manifest
 *   supervise.c  back-off and state machine, pure
 *   settings.c   --setting: the administrator's files an appliance takes,
 *                sent on vapp.ctl at each launch
 *   broker.c     the broker's privileged half: gates, policy files, the child
 *   broker_child.c  the broker child (vappd run as vappd-broker): the relay
 *   privsep.c    the messages between the two; jail.c the child's seccomp
 *
 * QEMU's argv, spawning, the KVM probe and the user QEMU runs as are
 * hypervisor-config's (hvconfig.h, hvrun.h).
 *
 * Error convention as everywhere: 0 or -errno; a human-readable reason, when
 * there is one, goes into a caller's buffer of VAPPD_ERR_LEN bytes.
 */
#ifndef VAPPD_H
#define VAPPD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vrpc.h"
#include "supervise.h"
#include "image.h"
#include "hvrun.h"

#define VAPPD_ERR_LEN 4096
#define VAPPD_DEFAULT_SOCKET "/run/vapp/vappd.sock"
#define VAPPD_DEFAULT_RUN_DIR "/run/vapp"
#define VAPPD_DEFAULT_STATE_DIR "/var/lib/vapp"
#define VAPPD_DEFAULT_QEMU_USER "vapp-qemu"
#define VAPPD_DEFAULT_IMAGES "/var/lib/vapp/images"
#define VAPPD_DEFAULT_TRUST_DIR "/etc/vapp/trusted.d"
#define VAPPD_BOOT_TIMEOUT_MS 60000
#define VAPPD_STOP_GRACE_MS 15000
#define VAPPD_PROBE_TIMEOUT_MS 5000
#define VAPPD_CONSOLE_TAIL 20

enum vappd_accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };
/* What runs appliances: QEMU (KVM or TCG), or Xen's xl when vappd is in
 * dom0 (xen.c). */
enum vappd_hypervisor { HYPERVISOR_AUTO, HYPERVISOR_QEMU, HYPERVISOR_XEN };

struct appliance;

struct vappd {
	struct vrpc_loop *loop;
	struct vrpc_server *srv;
	const char *socket_path;
	const char *run_dir;
	const char *state_dir;
	const char *images_dir;
	const char *qemu;            /* the QEMU binary; NULL: qemu-system-x86_64 */
	const char *audiodev;        /* --audiodev: none, wav or alsa */
	struct hv_user qemu_user;  /* who QEMU runs as (--qemu-user) */
	gid_t gid;                   /* --group: may use the control socket and gates */
	char **trusted;              /* NULL-terminated key paths */
	struct vappd_setting *settings; /* --setting, n_settings of them */
	size_t n_settings;
	bool trust_image_key;        /* development: the image's own signer.pub */
	bool release_channel;        /* close the service connection once ready */
	enum vappd_accel accel;      /* default for Run requests */
	enum vappd_hypervisor hypervisor; /* resolved at start: QEMU or XEN */
	void *xs;                    /* Xen: the xenstore handle (xen.c) */
	int xs_fd;
	struct xen_gate *xen_gates;  /* Xen: the guests' vchans (xen_gates.c) */
	size_t n_xen_gates;
	int probe_result;            /* -1 not probed, else enum vappd_accel */
	char probe_why[256];
	int boot_timeout_ms;
	int probe_timeout_ms;
	int sigfd;
	int hello_fd[2];             /* hello.c threads -> loop */
	int logs_timer;              /* console followers poll (control.c) */
	void *control;               /* control.c's service and its followers */
	unsigned hello_jobs;         /* hello.c's threads not yet come back */
	bool quitting;
	struct appliance *apps;
	/* For the broker: told when an appliance's service connection comes
	 * and goes (a new one after every daemon or VM restart). May be NULL. */
	void (*on_ready)(struct vappd *d, struct appliance *a);
	void (*on_down)(struct vappd *d, struct appliance *a);
	/* A child that is no appliance ended (the broker's). May be NULL. */
	void (*on_reaped)(struct vappd *d, pid_t pid, int status);
	void *broker;
	char host_gate[4096];        /* "unix:RUN_DIR/host.sock" with a broker, else "" */
};

void vappd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- appliance.c ---- */

/* The name of NIC @p i's tap of appliance @p appliance (manifest @p m),
 * within IFNAMSIZ: <name, 6 at most>-<guest> for a NIC in front of a guest
 * (devices.nics[i].guest), else vp<name, 8 at most>n<i>. */
void vappd_tap_name(const char *appliance, const struct manifest *m, size_t i, char name[16]);

/* A finished `vapp run`: ok, or a failure with its reason. */
typedef void (*app_run_done_fn)(void *ud, struct appliance *a, bool ok, const char *err);
typedef void (*app_stop_done_fn)(void *ud, struct appliance *a);

struct appliance_info {
	const char *name, *image, *accel, *service, *channel, *measurement, *signer, *error;
	const char *image_copy, *gate;
	const struct manifest *manifest; /* the measured one */
	enum sup_state state;
	pid_t pid;
	uint64_t uptime_ms, memory_bytes;
	uint32_t restarts, boot_ms, backoff_ms;
	const char *run_dir;
	char **direct;   /* its direct channels, one line each (kvm_direct.h) */
	size_t n_direct;
};

/**
 * Copies and verifies the image folder @p image, then starts it. @p done
 * runs once: when the service answers HELLO, or when the first boot
 * failed (the VM is then stopped and the appliance stays listed as failed).
 * @return the appliance, or NULL with @p err filled in and errno set
 *         (EPERM: refused by verification; ENOENT: no such image; EEXIST:
 *         the name is taken; EINVAL, EIO ...); nothing is left running.
 */
struct appliance *appliance_run(struct vappd *d, const char *image, const char *name,
				enum vappd_accel accel, int boot_timeout_ms,
				app_run_done_fn done, void *ud, char *err, size_t errlen,
				char *notes, size_t noteslen);
struct appliance *appliance_find(struct vappd *d, const char *name);
/** Iterates: the first appliance for @p a NULL, else the one after @p a. */
struct appliance *appliance_next(struct vappd *d, struct appliance *a);
/** Stops it (poweroff; SIGKILL after VAPPD_STOP_GRACE_MS, or at once with
 * @p force); @p done runs when QEMU is gone, and the appliance is freed
 * right after it. @return 0, or -EALREADY when a stop is under way (then
 * @p done is not kept; with @p force the VM is killed all the same). */
int appliance_stop(struct appliance *a, bool force, app_stop_done_fn done, void *ud);
void appliance_info(struct appliance *a, struct appliance_info *out);
/** Makes the broker's connection to a ready appliance again (a new
 * broker child: the old one took the connection with it); on_ready is
 * said once it answers HELLO. Nothing for one not ready. */
void vappd_appliance_relink(struct appliance *a);
/** The connection to its service once ready, else NULL (for the broker). */
struct vrpc_client *appliance_client(struct appliance *a);
const char *appliance_name(const struct appliance *a);
const char *appliance_run_dir(const struct appliance *a);
/* A child ended: finds whose and feeds the state machine. */
void appliances_reap(struct vappd *d);
/* Stops every appliance; true once none is left running. */
bool appliances_stop_all(struct vappd *d, bool force);
void appliances_free(struct vappd *d);

/* ---- xen.c ---- */

/* Is this dom0 (/proc/xen/capabilities says control_d)? */
bool vappd_xen_is_dom0(void);
/* xenstore, and its watches in the loop. @return 0 or -errno with @p err. */
int vappd_xen_open(struct vappd *d, char *err, size_t errlen);
void vappd_xen_close(struct vappd *d);
/* The domain dom0's toolstack named @p name (/local/domain/N/name, which
 * the domain cannot write), or 0 when there is none. */
uint32_t vappd_xen_find_domain(struct vappd *d, const char *name);
/* A child ended: one of xen.c's xl commands (then true). */
bool vappd_xen_reaped(struct vappd *d, pid_t pid, int status);

/* ---- xen_gates.c ---- */
struct xen_gate {
	char name[64];              /* the --guest name */
	uint32_t domid;             /* 0: no such domain now */
	struct vrpc_forward *fwd;
};


/* Under Xen, each --guest NAME's gate is also reached from the domain
 * named NAME, over a vchan (xen_gates.c). @p guests as --guest gives them. */
int vappd_xen_gates_init(struct vappd *d, char *const *guests);
/* Domains came or went: each guest's vchan follows its domain. */
void vappd_xen_gates_scan(struct vappd *d);
void vappd_xen_gates_free(struct vappd *d);

/* ---- xen_direct.c ---- */
/* Opens and closes the direct channels the policy grants (direct=yes)
 * between the guests' domains and the running appliances' ones: called
 * whenever a guest or an appliance comes or goes. */
void vappd_xen_direct_sync(struct vappd *d);

/* ---- hello.c ---- */

struct hello_job;
struct vrpc_relay_upstream;
/* The HELLO that proves @p service ready at @p addr, on a thread. With
 * @p for_relay its connection is made for the broker's relay to adopt
 * (vrpc_relay_upstream_open()), else it is a plain client. */
struct hello_job *hello_start(struct vappd *d, const char *addr, const char *service,
			      bool for_relay, int timeout_ms, void *owner);
/* The owner no longer wants it; it is freed (and its connection closed) when done. */
void hello_abandon(struct hello_job *job);
/* Loop callback for d->hello_fd[0]. */
void hello_on_done(void *ud, int fd, short revents);
/* Called by hello_on_done for a job not abandoned; takes the connection
 * (@p cli or @p up, whichever the job made; both NULL on failure). */
void appliance_hello_done(struct appliance *a, struct vrpc_client *cli,
			  struct vrpc_relay_upstream *up, int err, uint32_t elapsed_ms);
/* Waits (bounded) for running jobs; at exit. */
void hello_drain(struct vappd *d, int timeout_ms);

/* ---- settings.c ---- */

/* One --setting APPLIANCE:NAME=FILE; FILE made absolute when given. */
struct vappd_setting {
	char *appliance, *name, *file;
};

#define VAPPD_SETTING_MAX (32u << 10)   /* bytes in one setting's file */
#define VAPPD_SETTINGS_MAX (64u << 10)  /* bytes in all of one appliance's */

/* Parses "APPLIANCE:NAME=FILE" into d->settings, checking that FILE can be
 * read now. @return 0, or -errno with the reason in @p err. */
int vappd_setting_add(struct vappd *d, const char *arg, char *err, size_t errlen);
void vappd_settings_free(struct vappd *d);
/* Before a launch of @p appliance: every setting given for it must be one
 * its measured manifest takes. @return 0 or -EINVAL (said in @p err). */
int vappd_settings_check(const struct vappd *d, const char *appliance,
			 const struct manifest *m, char *err, size_t errlen);
/* Appends to @p out the vapp.ctl lines that hand @p appliance its
 * settings, read from their files now, then "settings-end"; nothing when
 * the manifest takes none. A file that cannot be read, or is too big, fails
 * the whole (said in @p err) and @p out gets nothing: without its
 * "settings-end" the daemon does not start, so it never runs without a
 * setting its administrator gave. @return 0 or -errno. */
struct vapp_buf;
int vappd_settings_text(const struct vappd *d, const char *appliance, const struct manifest *m,
			struct vapp_buf *out, char *err, size_t errlen);

/* ---- console.c ---- */

/** The last @p n lines of the file at @p path, sanitized, joined by "\n"
 * into @p out (cut at @p outlen). @return the number of lines. */
int console_tail(const char *path, unsigned n, char *out, size_t outlen);
/** Makes one console line safe to show: printable ASCII and tab kept,
 * everything else '?', a trailing CR dropped. @return the new length. */
size_t console_sanitize(char *line, size_t len);

#endif /* VAPPD_H */
