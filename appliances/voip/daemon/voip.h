/*
 * voip.h - vapp-voipd, the VoIP appliance's daemon: vapp.voip.v1.Voip over
 * libvrpc, translated to baresip's ctrl_tcp commands.
 *
 *   ctl.c      baresip's control protocol, pure: netstrings, its JSON
 *              responses and events, the commands we send
 *   check.c    every argument a caller sends, checked (pure)
 *   sip.c      the baresip process: its config, spawn, restart, the
 *              control connection and its one-at-a-time command queue
 *   audio.c    the sound cards (ALSA): their devices, the volume levels
 *   service.c  the RPC methods, the accounts and the call table
 *   main.c     options, signals, the loop
 *
 * Error convention: 0 or -errno; a reason for people in a caller's buffer.
 */
#ifndef VAPP_VOIP_H
#define VAPP_VOIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vrpc.h"
#include "appliances/voip/voip.pb-c.h"

#define VOIP_URI_MAX 255
#define VOIP_ID_MAX 255
#define VOIP_DTMF_MAX 64
#define VOIP_NUMBER_MAX 32
#define VOIP_SECRET_MAX 127

/* ---- ctl.c ---- */

/* Netstrings ("LEN:BYTES,") accumulated from a stream. */
struct ns_reader {
	char *buf;
	size_t len, cap;
};

/* The largest message baresip sends us (a call list, help text). */
#define NS_MAX (256u * 1024)

/**
 * Appends @p n bytes and hands each whole netstring's bytes to @p fn.
 * @return 0, -EBADMSG (not a netstring, or over NS_MAX: the stream cannot
 *         be trusted after that), -ENOMEM, or @p fn's non-zero value.
 */
int ns_feed(struct ns_reader *r, const char *data, size_t n,
	    int (*fn)(void *ud, const char *msg, size_t len), void *ud);
void ns_reset(struct ns_reader *r);

/* One message from baresip: a response to a command, or an event. */
struct bs_msg {
	bool event;              /* else a response */
	bool ok;                 /* response: the command worked */
	char token[32];          /* response: the command's token */
	char type[48];           /* event: "CALL_INCOMING", ... */
	char id[VOIP_ID_MAX + 1];  /* event: the call's id, "" if none */
	bool id_cut;             /* the id was longer than VOIP_ID_MAX */
	char peer[VOIP_URI_MAX + 1];
	char account[VOIP_URI_MAX + 1];
	char param[VOIP_URI_MAX + 1];
	char data[1024];         /* response: its text, cut */
	bool incoming;           /* event: direction "incoming" */
};

/** Parses one JSON message (@p len bytes, not NUL-terminated). Strings are
 * cut to their fields' sizes and control bytes replaced by '?'.
 * @return 0 or -EBADMSG. */
int bs_parse(const char *json, size_t len, struct bs_msg *m);

/** The netstring of {"command":..,"params":..,"token":..}, malloc'd, its
 * length in *@p len. @return NULL on ENOMEM. */
char *bs_command(const char *command, const char *params, const char *token, size_t *len);

/* ---- check.c ---- */

/** A SIP URI a caller may give: sip: or sips:, then 1..VOIP_URI_MAX
 * printable bytes with no space, quote, '<', '>', ';' or ',' (nothing that
 * could end the URI in baresip's command or account syntax).
 * @return 0 or -EINVAL with @p why naming the field @p field. */
int voip_check_uri(const char *field, const char *s, char *why, size_t whylen);
/** Digits, '+', '*', '#', 1..VOIP_NUMBER_MAX. */
bool voip_is_number(const char *s);
/** 1..VOIP_DTMF_MAX of 0-9 * # A-D. */
int voip_check_dtmf(const char *s, char *why, size_t whylen);
/** A registrar (a SIP URI), a user name or a password: printable, no
 * space, quote, ';', ',', '<' or '>', at most VOIP_SECRET_MAX. Empty is
 * fine. */
int voip_check_token(const char *field, const char *s, char *why, size_t whylen);
/** Where Dial @p to goes: a URI as it is, a number at @p account's domain
 * ("sip:NUMBER@DOMAIN"). @return 0 or -EINVAL with @p why. */
int voip_dial_target(const char *to, const char *account, char *out, size_t outlen, char *why,
		     size_t whylen);

/* ---- sip.c ---- */

typedef void (*sip_done_fn)(void *ud, bool ok, const char *data);

struct sip_cmd;

struct sip {
	struct vrpc_loop *loop;
	const char *baresip;      /* the program */
	const char *modules;      /* its module folder */
	char dir[4096];           /* its config folder (ours, made at start) */
	const char *sip_addr;     /* the address SIP listens on */
	int sip_port, ctl_port;   /* RTP takes sip_port + 1000 .. + 1099 */
	const char *audio_source, *audio_player; /* baresip's "DRIVER,DEVICE" */
	const char *record;       /* every call's audio both ways as WAV here, or NULL */
	const char *accounts;     /* the accounts file's text, rewritten at start */
	pid_t pid;
	int fd;                   /* the control connection, -1 when none */
	int out_fd;               /* its stdout and stderr, read by us, -1 when none */
	char out_line[512];       /* a line of it not yet whole */
	size_t out_len;
	int timer;                /* connect retry or restart */
	unsigned restarts;
	bool stopping;
	struct ns_reader rd;
	struct sip_cmd *head, *tail; /* head is in flight once sent */
	bool sent;
	unsigned next_token;
	void (*on_event)(void *ud, const struct bs_msg *m);
	void (*on_up)(void *ud, bool restarted); /* connected (again) */
	void *ud;
};

/** Writes the config, starts baresip and connects (retrying on the loop).
 * @return 0 or -errno. */
int sip_start(struct sip *s);
/** Queues a command; commands go one at a time, in order, so that a
 * sequence queued together ("callfind ID", then "accept") runs together.
 * @p fn (may be NULL) runs with the response, or with ok false when the
 * stack went away first. */
void sip_command(struct sip *s, const char *command, const char *params, sip_done_fn fn,
		 void *ud);
/** The same, but it goes next, before anything queued: from a command's
 * @p fn, the step that must follow it with nothing in between. */
void sip_command_next(struct sip *s, const char *command, const char *params, sip_done_fn fn,
		      void *ud);
/** A child ended: baresip's? Then it is started again (1 s later). */
void sip_reaped(struct sip *s, pid_t pid, int status);
bool sip_running(const struct sip *s);
void sip_stop(struct sip *s);

/* ---- audio.c ---- */

struct voip_audio_dev {
	char id[24];    /* "hw:0,0" */
	char name[96];  /* "Intel ICH9: Generic Analog" */
	bool playback, capture;
};

/** The ALSA card of baresip's audio driver "DRIVER,DEVICE" ("alsa,default"
 * is card 0), or -1 when it is not on a sound card. */
int voip_audio_card(const char *spec);
/** Sets the speaker's (@p out) and the microphone's (@p in) levels, 0..100,
 * on @p card. The daemon keeps the levels it set: the controls have steps,
 * and after a boot they read 0 while the codec plays at full level.
 * @return 0, -ENODEV (no such card or control), -EIO; @p why says. */
int voip_audio_set_volume(int card, unsigned out, unsigned in, char *why, size_t whylen);
/** Waits up to @p ms for @p card's control and first playback and capture
 * devices (a PCI card's codecs are probed after its driver has loaded: in
 * a VM they come seconds after the daemon starts). A card < 0: no wait.
 * @return the milliseconds waited, or -ETIMEDOUT. */
int voip_audio_wait(int card, int ms);
/** Every card's PCM devices, at most @p max. */
size_t voip_audio_devices(struct voip_audio_dev *out, size_t max);

/* ---- service.c ---- */

#define VOIP_MAX_ACCOUNTS 16
#define VOIP_MAX_CALLS 8
#define VOIP_MAX_WATCHES 16

struct voip_account {
	char uri[VOIP_URI_MAX + 1];
	char registrar[VOIP_SECRET_MAX + 1];
	char auth_user[VOIP_SECRET_MAX + 1];
	char password[VOIP_SECRET_MAX + 1];
	bool registered;
	bool registration_off;    /* UnregisterAccount'd (the accounts file's "off") */
};

struct voip_call {
	char id[VOIP_ID_MAX + 1];
	char peer[VOIP_URI_MAX + 1];
	char account[VOIP_URI_MAX + 1];
	bool incoming, used, muted;
	Vapp__Voip__V1__CallState state;
	double level_tx, level_rx;  /* the last audio levels the stack said (dBov) */
};

struct voip_watch;
struct voip_dial;

struct voip_daemon {
	Vapp__Voip__V1__Voip_Service svc;
	struct sip sip;
	const char *state_dir;    /* the accounts file lives here; NULL: memory only */
	struct voip_account accounts[VOIP_MAX_ACCOUNTS];
	size_t n_accounts;
	struct voip_call calls[VOIP_MAX_CALLS];
	struct voip_watch *watches;
	unsigned n_watches;
	struct voip_dial *dials;  /* Dials waiting for their call's id */
	char accounts_text[VOIP_MAX_ACCOUNTS * 1024];
	uint64_t boot_ms;
	unsigned volume_out, volume_in; /* the levels as set (the card has steps) */
	uint64_t level_sent_ms;         /* when EVENT_AUDIO_LEVEL last went out */
	bool volume_set;          /* they are on the card */
};

/** Loads the accounts from the state volume and wires the service to
 * @p d->sip. @return 0 or -errno (a damaged accounts file, said). */
int voip_service_init(struct voip_daemon *d);
void voip_service_fini(struct voip_daemon *d);
uint64_t voip_now_ms(void);

#endif /* VAPP_VOIP_H */
