/*
 * initconf.h - the pure half of vapp-init: reading the /etc/vapp files the
 * builder writes, the restart back-off, the control-channel line reader and
 * the state disk probe. No system calls here, so tests/unit/test_vapp_init.c
 * runs all of it on the host.
 *
 * The files (written by the builder, builder/src/build.c):
 *   /etc/vapp/modules   module paths in load order, one a line; a relative
 *                       path is under /lib/modules/$(uname -r)/
 *   /etc/vapp/channels  virtio-serial port names to wait for, one a line
 *   /etc/vapp/daemon    the daemon's argv, one argument a line, verbatim
 *   /etc/vapp/restart   "always|on-failure|never", then the first back-off
 *                       in ms on a second line (default 500)
 *   /etc/vapp/state     "SIZE_MIB MOUNTPOINT" when there is a state volume
 *   /etc/vapp/name      the appliance's name, one line: the hostname
 *   /etc/vapp/settings  the settings the host may send, one name a line
 *                       (parsed as the channels are: the same names)
 * In the list files (modules, channels) blank lines and lines starting with
 * '#' are skipped and surrounding blanks trimmed; the daemon's argv is taken
 * as it is, since an argument may be anything.
 *
 * Error convention: -errno (-EINVAL for a malformed file, -ENOMEM);
 * a parse function that fails leaves its output empty.
 */
#ifndef VAPP_INITCONF_H
#define VAPP_INITCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INITCONF_BACKOFF_DEFAULT_MS 500u
#define INITCONF_BACKOFF_CAP_MS 30000u
/* A daemon that ran this long starts the back-off over. */
#define INITCONF_BACKOFF_RESET_MS 60000u
/* A port or host name longer than this is refused. */
#define INITCONF_NAME_MAX 63
#define INITCONF_LINE_MAX 256

/* A NULL-terminated list of strings, each malloc'd. */
struct initconf_list {
	char **v;
	size_t n;
};

enum initconf_restart {
	INITCONF_RESTART_ALWAYS,
	INITCONF_RESTART_ON_FAILURE,
	INITCONF_RESTART_NEVER,
};

struct initconf_restart_policy {
	enum initconf_restart when;
	uint32_t first_ms;
};

struct initconf_state {
	uint32_t size_mib;
	char mount[INITCONF_LINE_MAX];
};

/* Modules and channels: trimmed lines, no blanks or comments. A channel
 * name must pass initconf_port_name_ok(); a module path must not be empty.
 * A NUL byte anywhere is -EINVAL. */
int initconf_parse_list(const char *buf, size_t len, struct initconf_list *out);
int initconf_parse_channels(const char *buf, size_t len, struct initconf_list *out);
/* The daemon's argv: every line one argument, as it is; at least one line,
 * and argv[0] absolute (there is no PATH search in PID 1). */
int initconf_parse_argv(const char *buf, size_t len, struct initconf_list *out);
void initconf_list_free(struct initconf_list *l);
/* True when @p name is in @p l. */
bool initconf_list_has(const struct initconf_list *l, const char *name);

int initconf_parse_restart(const char *buf, size_t len, struct initconf_restart_policy *out);
const char *initconf_restart_name(enum initconf_restart r);
/* Whether a daemon that ended with @p status (exit code, 128+signal) is
 * started again under @p r. */
bool initconf_should_restart(enum initconf_restart r, int status);

/* "SIZE_MIB MOUNTPOINT": size 1..1048576, an absolute mount point that is
 * not "/" and has no ".." component. */
int initconf_parse_state(const char *buf, size_t len, struct initconf_state *out);

/* /etc/vapp/name: one line (its newline optional) that is a valid host
 * name ([a-z0-9][a-z0-9-]*, at most 63), into @p out. @return 0 or -EINVAL. */
int initconf_parse_name(const char *buf, size_t len, char out[INITCONF_NAME_MAX + 1]);

/* A virtio-serial port name as the host gave it (sysfs), safe as a file name
 * in /dev/virtio-ports: [A-Za-z0-9._-], not starting with '.', 1..63. */
bool initconf_port_name_ok(const char *name);

/*
 * The restart back-off: first_ms after the first exit, then doubled on every
 * exit up to INITCONF_BACKOFF_CAP_MS; a daemon that ran for at least
 * INITCONF_BACKOFF_RESET_MS before it exited starts over at first_ms.
 * first_ms is kept in 1..CAP, so a crashing daemon never restarts in a loop.
 */
struct initconf_backoff {
	uint32_t first_ms;
	uint32_t cur_ms; /* 0 until the first exit */
};

void initconf_backoff_init(struct initconf_backoff *b, uint32_t first_ms);
/* The delay before the next start, after a run of @p ran_ms. */
uint32_t initconf_backoff_next(struct initconf_backoff *b, uint64_t ran_ms);

/*
 * Lines from the control channel, fed as they arrive. A line longer than
 * the buffer is dropped whole (up to its newline), never cut in two.
 */
struct initconf_lines {
	char buf[INITCONF_LINE_MAX];
	size_t len;
	bool overlong;
};

/* Takes bytes from @p *data (advanced, *len decreased) until one line is
 * complete. @return 1 with the line in @p line (NUL-terminated, no newline,
 * a trailing '\r' removed), 0 when more bytes are needed. */
int initconf_lines_feed(struct initconf_lines *l, const char **data, size_t *len,
			char line[INITCONF_LINE_MAX]);

/*
 * The settings the host sends on vapp.ctl (initconf_settings.c): files of
 * the administrator's that the daemon finds in /run/vapp/settings/NAME.
 *   "setting NAME HEX"   appends the bytes HEX spells (lower- or upper-case
 *                        hex digits, an even count) to setting NAME
 *   "settings-end"       all are sent: vapp-init writes them and starts the
 *                        daemon
 * Only names the image declares are taken, each at most
 * INITCONF_SETTING_BYTES. A line that breaks a rule marks its setting bad:
 * a bad setting is never written, so the daemon sees none rather than part
 * of one.
 */
#define INITCONF_SETTINGS_MAX 16
#define INITCONF_SETTING_BYTES (32u << 10)

struct initconf_settings {
	size_t n;
	char *name[INITCONF_SETTINGS_MAX];
	unsigned char *data[INITCONF_SETTINGS_MAX];
	size_t len[INITCONF_SETTINGS_MAX];
	bool sent[INITCONF_SETTINGS_MAX]; /* a line came for it */
	bool bad[INITCONF_SETTINGS_MAX];
	bool ended;
};

/* The declared names, from /etc/vapp/settings (a repeated one counts
 * once). @return 0, -EINVAL (a bad name, more than INITCONF_SETTINGS_MAX),
 * -ENOMEM. */
int initconf_settings_init(struct initconf_settings *s, const char *buf, size_t len);
/* Whether @p line is one of the two settings lines (the caller passes only
 * those to initconf_settings_line). */
bool initconf_settings_is_line(const char *line);
/* @return 1 for "settings-end", 0 for bytes taken, -EINVAL for a line that
 * breaks a rule (a setting not declared, bad hex, too long, a line after
 * the end), -ENOMEM. */
int initconf_settings_line(struct initconf_settings *s, const char *line);
void initconf_settings_free(struct initconf_settings *s);

/*
 * Direct channels (initconf_direct.c): a peer vappd pairs with the daemon's
 * channel, served by libvrpc on an address of its own (direct.c there).
 *   "direct CHAN PEER ADDRESS SERVICE..."  open (or replace) PEER's
 *   "direct-end CHAN PEER"                 close it
 * CHAN must be one of the image's channels, PEER a name
 * ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 63 bytes), ADDRESS printable with no
 * blank, SERVICE a protobuf name, each followed by "!METHOD" for each of its
 * methods the policy denies PEER; 1 to INITCONF_DIRECT_SERVICES words, the
 * first a SERVICE. vapp-init writes /run/vapp/direct/CHAN/PEER: ADDRESS,
 * PEER, each word, a line each (initconf_direct_file).
 */
#define INITCONF_DIRECT_SERVICES 16

struct initconf_direct {
	bool end;                     /* direct-end */
	char chan[INITCONF_NAME_MAX + 1];
	char peer[64];
	char address[INITCONF_LINE_MAX];
	char services[INITCONF_LINE_MAX]; /* blank-separated as sent */
};

bool initconf_direct_is_line(const char *line);
/* @return 0, or -EINVAL for a line that breaks a rule (a channel not in
 * @p chans included). */
int initconf_direct_line(const char *line, const struct initconf_list *chans,
			 struct initconf_direct *out);
/* The file's text for @p d into @p buf. @return its length, or -ENOSPC. */
int initconf_direct_file(const struct initconf_direct *d, char *buf, size_t len);

enum initconf_disk {
	INITCONF_DISK_BLANK,   /* all zero: a new volume, to be formatted */
	INITCONF_DISK_EXT,     /* an ext2/3/4 superblock */
	INITCONF_DISK_UNKNOWN, /* data, but no filesystem we know: never formatted */
};

/* How much of the disk's start initconf_disk_kind() wants: enough to see the
 * signatures that sit furthest in (btrfs at 64 KiB), so that a disk holding
 * some other filesystem is never taken for a blank one and formatted. */
#define INITCONF_DISK_PROBE (128u << 10)
enum initconf_disk initconf_disk_kind(const uint8_t *buf, size_t len);

#endif /* VAPP_INITCONF_H */
