/*
 * window.h - vapp-voip-ui.exe, the VoIP UI's window program for Windows
 * guests: the first user of vapp-voip-ui.dll (vapp_voip_ui.h).
 *
 *   main.c      options and settings (HKCU), the message loop that waits on
 *               the plugin's handles and the window's messages together
 *   window.c    the window: its controls, what they do, what the plugin's
 *               events change in it; the notification-area icon
 */
#ifndef VAPP_VOIP_UI_WINDOW_H
#define VAPP_VOIP_UI_WINDOW_H

#include <windows.h>

#include "vapp_voip_ui.h"

#define APP_TITLE "vapp VoIP"
#define APP_REG_KEY "Software\\vapp\\VoIP UI"
#define APP_DEFAULT_ADDR "serial:vapp.voip"

/* The controls' ids (the shortcuts in main.c send them too). */
enum {
	ID_DIAL = 100, ID_DIAL_EDIT, ID_CALLS, ID_VOLUME,
	ID_ANSWER, ID_REJECT, ID_HOLD, ID_MUTE, ID_HANGUP,
	ID_KEY0 = 200, /* .. ID_KEY0 + 11: 1-9, *, 0, # */
};

struct app {
	struct vvui *ui;
	HWND wnd;
	HWND status, dial_edit, dial_btn, calls, level, error, volume;
	HWND btn_answer, btn_reject, btn_hold, btn_mute, btn_hangup;
	HWND keys[12];
	char selected[VVUI_TEXT]; /* the call the buttons act on */
	char registration[VVUI_TEXT];
	int tray;                 /* the notification-area icon is there */
	int minimized;            /* started minimised */
};

/** Makes the window (shown, or minimised to its icon). @return 0 or -1. */
int window_create(struct app *a, HINSTANCE inst);
/** The plugin's event callback: the window follows. */
void window_on_event(void *ud, const struct vvui_event *ev);
/** Once a second: the calls' durations. */
void window_tick(struct app *a);
/** The window's handling of a message for IsDialogMessage (keyboard). */
int window_is_dialog_message(struct app *a, MSG *m);
void window_destroy(struct app *a);

#endif /* VAPP_VOIP_UI_WINDOW_H */
