/*
 * vapp_voip_ui.h - the VoIP UI plugin's C API (vapp-voip-ui.dll on Windows):
 * everything a softphone window needs from the VoIP appliance, without the
 * window. The window program (vapp-voip-ui.exe) is its first user; another
 * shell, or a scripting host, can embed the same DLL.
 *
 * One struct vvui is one connection to the appliance's vapp.voip.v1.Voip,
 * kept up by the plugin: it connects, watches the events, keeps the call
 * list, and when the appliance goes away (restarted, crashed) says so and
 * connects again by itself. Its calls are made from one thread, and never
 * block for long (connecting happens on a thread of the plugin's own): the
 * caller's loop waits on vvui_handles() (Windows: event HANDLEs for
 * MsgWaitForMultipleObjects; elsewhere an fd) and then calls
 * vvui_process(), which runs the event callback.
 *
 *     struct vvui *ui = vvui_open("serial:vapp.voip", on_event, window);
 *     for (;;) {
 *         void *h[VVUI_MAX_HANDLES];
 *         int timeout, n = vvui_handles(ui, h, VVUI_MAX_HANDLES, &timeout);
 *         MsgWaitForMultipleObjects(n, h, FALSE, timeout, QS_ALLINPUT);
 *         ... dispatch the window's messages ...
 *         vvui_process(ui);
 *     }
 *
 * Commands (vvui_dial(), vvui_answer() ...) return at once: 0 when sent,
 * -errno when they could not be (not connected: -ENOTCONN; a bad argument
 * the plugin can see itself: -EINVAL). What the appliance then says comes
 * as events: the call changing, or VVUI_EV_ERROR with the appliance's
 * reason. Strings are UTF-8, and what came from the appliance has no
 * control characters. The appliance is not trusted: a call it says with an
 * unusable id or an unknown state is not listed, and the list holds at
 * most VVUI_MAX_CALLS calls, each id once.
 */
#ifndef VAPP_VOIP_UI_H
#define VAPP_VOIP_UI_H

#include <stdint.h>

#ifdef _WIN32
#ifdef VVUI_BUILD
#define VVUI_API __declspec(dllexport)
#else
#define VVUI_API __declspec(dllimport)
#endif
#else
#define VVUI_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define VVUI_MAX_HANDLES 2
#define VVUI_MAX_CALLS 8
#define VVUI_TEXT 256

enum vvui_connection {
	VVUI_CONNECTING = 1,   /* the first connect, not yet made */
	VVUI_CONNECTED = 2,
	VVUI_RECONNECTING = 3, /* it was connected, the appliance went away */
};

enum vvui_call_state {
	VVUI_CALL_INCOMING = 1, /* ringing here: answer or reject */
	VVUI_CALL_RINGING = 2,  /* dialled, ringing there */
	VVUI_CALL_ESTABLISHED = 3,
	VVUI_CALL_HELD = 4,
	VVUI_CALL_ENDED = 5,
};

struct vvui_call {
	char id[VVUI_TEXT];      /* what the commands take */
	char peer[VVUI_TEXT];    /* the other side's SIP URI */
	char account[VVUI_TEXT]; /* ours */
	int state;               /* enum vvui_call_state */
	int incoming;
	int muted;
	uint64_t since_ms;       /* when it took its state (vvui_now_ms()) */
};

enum vvui_event_kind {
	VVUI_EV_CONNECTION = 1,  /* connection changed: vvui_connection() */
	VVUI_EV_CALL = 2,        /* a call appeared or changed: call */
	VVUI_EV_INCOMING = 3,    /* a new incoming call (also a VVUI_EV_CALL) */
	VVUI_EV_CALL_ENDED = 4,  /* call ended, detail: why; gone from the list */
	VVUI_EV_REGISTRATION = 5, /* account, detail: "registered", "failed: ..." or "off" */
	VVUI_EV_DTMF = 6,        /* a digit received in call: detail */
	VVUI_EV_LEVEL = 7,       /* call's audio levels: tx_dbov, rx_dbov */
	VVUI_EV_ERROR = 8,       /* a command failed: detail says why */
	VVUI_EV_PERMISSION = 9,  /* what the policy allows is known: vvui_can_dial() */
};

struct vvui_event {
	int kind;                      /* enum vvui_event_kind */
	const struct vvui_call *call;  /* CALL, INCOMING, CALL_ENDED, DTMF, LEVEL */
	const char *account;           /* REGISTRATION */
	const char *detail;            /* never NULL */
	double tx_dbov, rx_dbov;       /* LEVEL */
};

typedef void (*vvui_event_fn)(void *ud, const struct vvui_event *ev);

/** The plugin for the appliance at @p addr ("serial:vapp.voip" in a Windows
 * guest: the virtio-serial port \\.\Global\vapp.voip; "tcp:HOST:PORT",
 * "unix:PATH"). It connects from vvui_process(), never here.
 * @return NULL only on a bad address or no memory. */
VVUI_API struct vvui *vvui_open(const char *addr, vvui_event_fn fn, void *ud);
/** Closes the connection; a connection being made is waited for first (at
 * most its 1.5 s timeout). */
VVUI_API void vvui_close(struct vvui *ui);

/** What to wait on before the next vvui_process(): on Windows up to
 * VVUI_MAX_HANDLES event HANDLEs into @p handles (elsewhere one fd,
 * as (void *)(intptr_t)fd), and in @p timeout_ms how long at most (-1:
 * for ever). @return how many (0: just the timeout). */
VVUI_API int vvui_handles(struct vvui *ui, void **handles, int max, int *timeout_ms);
/** Does what is due: reads, runs the event callback, reconnects. */
VVUI_API void vvui_process(struct vvui *ui);

VVUI_API int vvui_connection(const struct vvui *ui);
/** The calls now (at most @p max into @p out). @return how many. */
VVUI_API int vvui_calls(const struct vvui *ui, struct vvui_call *out, int max);
/** May this guest place calls? 1 yes, 0 no (@p why, if not NULL, gets
 * the policy's reason), -1 not known yet (not connected). */
VVUI_API int vvui_can_dial(const struct vvui *ui, const char **why);
/** The speaker's and microphone's levels (0-100) as last known, -1 if not. */
VVUI_API void vvui_volume(const struct vvui *ui, int *output, int *input);

VVUI_API int vvui_dial(struct vvui *ui, const char *to, const char *account);
VVUI_API int vvui_answer(struct vvui *ui, const char *call_id);
VVUI_API int vvui_reject(struct vvui *ui, const char *call_id);
VVUI_API int vvui_hangup(struct vvui *ui, const char *call_id);
VVUI_API int vvui_hold(struct vvui *ui, const char *call_id);
VVUI_API int vvui_resume(struct vvui *ui, const char *call_id);
VVUI_API int vvui_mute(struct vvui *ui, const char *call_id, int mute);
VVUI_API int vvui_dtmf(struct vvui *ui, const char *call_id, const char *digits);
/** Levels 0-100; -1 leaves one as it is. */
VVUI_API int vvui_set_volume(struct vvui *ui, int output, int input);

/** A monotonic clock in milliseconds (the calls' since_ms). */
VVUI_API uint64_t vvui_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif /* VAPP_VOIP_UI_H */
