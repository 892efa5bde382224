/*
 * window.c - the VoIP UI's window (see window.h): the connection and
 * registration on top, a dial field with a keypad (its keys send DTMF
 * while a call talks), the volume, the call list, the buttons for the
 * selected call, the last audio levels and the last error. The window's
 * title says the state in words ("ready", "incoming call from ...",
 * "reconnecting ..."), which is also what a test reads. An incoming call
 * brings the window to the front and shows a balloon on the notification-
 * area icon; clicking the icon shows the window.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <windows.h>
#include <commctrl.h>
#include <shellapi.h>

#include "window.h"

enum { ID_TRAY = 1, WM_TRAY = WM_APP + 1 };

static const char *const key_text[12] = { "1", "2", "3", "4", "5", "6",
					   "7", "8", "9", "*", "0", "#" };

static const char *state_name(int st)
{
	switch (st) {
	case VVUI_CALL_INCOMING: return "incoming";
	case VVUI_CALL_RINGING: return "ringing";
	case VVUI_CALL_ESTABLISHED: return "established";
	case VVUI_CALL_HELD: return "held";
	default: return "ended";
	}
}

static HWND make(struct app *a, const char *cls, const char *text, DWORD style, int x, int y,
		 int w, int h, int id)
{
	HWND c = CreateWindowExA(0, cls, text, WS_CHILD | WS_VISIBLE | style, x, y, w, h, a->wnd,
				 (HMENU)(INT_PTR)id, GetModuleHandleA(NULL), NULL);

	SendMessageA(c, WM_SETFONT, (WPARAM)GetStockObject(DEFAULT_GUI_FONT), TRUE);
	return c;
}

/* The call the buttons act on: the list's selection, else the only call. */
static int selected(struct app *a, struct vvui_call *out)
{
	struct vvui_call calls[VVUI_MAX_CALLS];
	int n = vvui_calls(a->ui, calls, VVUI_MAX_CALLS);
	int sel = (int)SendMessageA(a->calls, LB_GETCURSEL, 0, 0);

	if (sel >= 0 && sel < n) {
		*out = calls[sel];
		return 1;
	}
	for (int i = 0; i < n; i++)
		if (!strcmp(calls[i].id, a->selected) || n == 1) {
			*out = calls[i];
			return 1;
		}
	return 0;
}

static void set_title(struct app *a)
{
	struct vvui_call calls[VVUI_MAX_CALLS], c;
	int n = vvui_calls(a->ui, calls, VVUI_MAX_CALLS);
	char title[2 * VVUI_TEXT];

	switch (vvui_connection(a->ui)) {
	case VVUI_CONNECTING:
		snprintf(title, sizeof(title), "%s - connecting", APP_TITLE);
		break;
	case VVUI_RECONNECTING:
		snprintf(title, sizeof(title), "%s - reconnecting", APP_TITLE);
		break;
	default:
		if (!n)
			snprintf(title, sizeof(title), "%s - ready", APP_TITLE);
		else if (selected(a, &c) && c.state == VVUI_CALL_INCOMING)
			snprintf(title, sizeof(title), "%s - incoming call from %s", APP_TITLE,
				 c.peer);
		else if (selected(a, &c))
			snprintf(title, sizeof(title), "%s - %s: %s", APP_TITLE, state_name(c.state),
				 c.peer);
		else
			snprintf(title, sizeof(title), "%s - %d calls", APP_TITLE, n);
	}
	SetWindowTextA(a->wnd, title);
}

/* The list, its selection kept; the buttons as the selected call allows. */
static void refresh(struct app *a)
{
	struct vvui_call calls[VVUI_MAX_CALLS], c;
	int n = vvui_calls(a->ui, calls, VVUI_MAX_CALLS), sel = -1, have, vol_out, vol_in;
	uint64_t now = vvui_now_ms();
	const char *why;

	SendMessageA(a->calls, WM_SETREDRAW, FALSE, 0);
	SendMessageA(a->calls, LB_RESETCONTENT, 0, 0);
	for (int i = 0; i < n; i++) {
		unsigned s = (unsigned)((now - calls[i].since_ms) / 1000);
		char line[3 * VVUI_TEXT];

		snprintf(line, sizeof(line), "%-11s %s  %u:%02u%s%s", state_name(calls[i].state),
			 calls[i].peer, s / 60, s % 60, calls[i].incoming ? "  (in)" : "",
			 calls[i].muted ? "  muted" : "");
		SendMessageA(a->calls, LB_ADDSTRING, 0, (LPARAM)line);
		if (!strcmp(calls[i].id, a->selected))
			sel = i;
	}
	if (sel < 0 && n) {
		sel = 0;
		snprintf(a->selected, sizeof(a->selected), "%s", calls[0].id);
	}
	SendMessageA(a->calls, LB_SETCURSEL, (WPARAM)sel, 0);
	SendMessageA(a->calls, WM_SETREDRAW, TRUE, 0);
	InvalidateRect(a->calls, NULL, TRUE);
	have = selected(a, &c);
	EnableWindow(a->btn_answer, have && c.state == VVUI_CALL_INCOMING);
	EnableWindow(a->btn_reject, have && c.state == VVUI_CALL_INCOMING);
	EnableWindow(a->btn_hold, have && (c.state == VVUI_CALL_ESTABLISHED ||
					   c.state == VVUI_CALL_HELD));
	SetWindowTextA(a->btn_hold, have && c.state == VVUI_CALL_HELD ? "Res&ume" : "H&old");
	EnableWindow(a->btn_mute, have && c.state == VVUI_CALL_ESTABLISHED);
	SetWindowTextA(a->btn_mute, have && c.muted ? "Un&mute" : "&Mute");
	EnableWindow(a->btn_hangup, have);
	EnableWindow(a->dial_btn, vvui_connection(a->ui) == VVUI_CONNECTED &&
				  vvui_can_dial(a->ui, &why) != 0);
	vvui_volume(a->ui, &vol_out, &vol_in);
	if (vol_out >= 0 && GetCapture() != a->volume)
		SendMessageA(a->volume, TBM_SETPOS, TRUE, vol_out);
	set_title(a);
}

static void set_status(struct app *a)
{
	char text[3 * VVUI_TEXT];
	const char *conn = vvui_connection(a->ui) == VVUI_CONNECTED ? "Connected to the appliance"
			   : vvui_connection(a->ui) == VVUI_RECONNECTING
				   ? "Reconnecting to the appliance..."
				   : "Connecting to the appliance...";

	snprintf(text, sizeof(text), "%s%s%s", conn, a->registration[0] ? "  |  " : "",
		 a->registration);
	SetWindowTextA(a->status, text);
}

static void tray_balloon(struct app *a, const char *title, const char *text)
{
	NOTIFYICONDATAA n = { .cbSize = sizeof(n), .hWnd = a->wnd, .uID = ID_TRAY,
			      .uFlags = NIF_INFO, .dwInfoFlags = NIIF_INFO };

	if (!a->tray)
		return;
	snprintf(n.szInfoTitle, sizeof(n.szInfoTitle), "%s", title);
	snprintf(n.szInfo, sizeof(n.szInfo), "%s", text);
	Shell_NotifyIconA(NIM_MODIFY, &n);
}

static void bring_up(struct app *a)
{
	ShowWindow(a->wnd, IsIconic(a->wnd) ? SW_RESTORE : SW_SHOW);
	SetForegroundWindow(a->wnd);
	FlashWindow(a->wnd, TRUE);
}

void window_on_event(void *ud, const struct vvui_event *ev)
{
	struct app *a = ud;
	char text[3 * VVUI_TEXT];
	const char *why;

	switch (ev->kind) {
	case VVUI_EV_CONNECTION:
		set_status(a);
		if (vvui_connection(a->ui) == VVUI_RECONNECTING) {
			snprintf(text, sizeof(text), "The appliance went away: %s", ev->detail);
			SetWindowTextA(a->error, text);
		} else {
			SetWindowTextA(a->error, "");
		}
		break;
	case VVUI_EV_PERMISSION:
		if (vvui_can_dial(a->ui, &why) == 0) {
			snprintf(text, sizeof(text), "Dialling is not allowed here: %s", why);
			SetWindowTextA(a->error, text);
		}
		break;
	case VVUI_EV_INCOMING:
		snprintf(a->selected, sizeof(a->selected), "%s", ev->call->id);
		snprintf(text, sizeof(text), "Incoming call from %s", ev->call->peer);
		tray_balloon(a, APP_TITLE, text);
		refresh(a);
		bring_up(a);
		return;
	case VVUI_EV_REGISTRATION:
		snprintf(a->registration, sizeof(a->registration), "%s: %s", ev->account,
			 ev->detail);
		set_status(a);
		break;
	case VVUI_EV_LEVEL:
		snprintf(text, sizeof(text), "Microphone %.0f dB, speaker %.0f dB", ev->tx_dbov,
			 ev->rx_dbov);
		SetWindowTextA(a->level, text);
		return;
	case VVUI_EV_DTMF:
		snprintf(text, sizeof(text), "DTMF received: %s", ev->detail);
		SetWindowTextA(a->error, text);
		return;
	case VVUI_EV_ERROR:
		SetWindowTextA(a->error, ev->detail);
		return;
	case VVUI_EV_CALL_ENDED:
		snprintf(text, sizeof(text), "Call with %s ended%s%s", ev->call->peer,
			 ev->detail[0] ? ": " : "", ev->detail);
		SetWindowTextA(a->error, text);
		SetWindowTextA(a->level, "");
		break;
	default:
		break;
	}
	refresh(a);
}

void window_tick(struct app *a)
{
	struct vvui_call calls[VVUI_MAX_CALLS];

	if (vvui_calls(a->ui, calls, VVUI_MAX_CALLS) > 0 && IsWindowVisible(a->wnd))
		refresh(a);
}

static void command(struct app *a, int id)
{
	struct vvui_call c;
	char to[VVUI_TEXT];
	int have = selected(a, &c), err = 0;

	if (id >= ID_KEY0 && id < ID_KEY0 + 12) {
		/* In a call that talks, a key is a DTMF digit; else it dials. */
		if (have && c.state == VVUI_CALL_ESTABLISHED) {
			err = vvui_dtmf(a->ui, c.id, key_text[id - ID_KEY0]);
		} else {
			int len = GetWindowTextLengthA(a->dial_edit);

			SendMessageA(a->dial_edit, EM_SETSEL, (WPARAM)len, (LPARAM)len);
			SendMessageA(a->dial_edit, EM_REPLACESEL, FALSE,
				     (LPARAM)key_text[id - ID_KEY0]);
		}
	} else if (id == ID_DIAL) {
		GetWindowTextA(a->dial_edit, to, sizeof(to));
		err = to[0] ? vvui_dial(a->ui, to, NULL) : 0;
	} else if (have) {
		switch (id) {
		case ID_ANSWER: err = vvui_answer(a->ui, c.id); break;
		case ID_REJECT: err = vvui_reject(a->ui, c.id); break;
		case ID_HOLD:
			err = c.state == VVUI_CALL_HELD ? vvui_resume(a->ui, c.id)
							: vvui_hold(a->ui, c.id);
			break;
		case ID_MUTE: err = vvui_mute(a->ui, c.id, !c.muted); break;
		case ID_HANGUP: err = vvui_hangup(a->ui, c.id); break;
		default: break;
		}
	}
	if (err)
		SetWindowTextA(a->error, err == -EINVAL ? "That is not a valid entry."
						    : "Not connected to the appliance.");
}

static void tray_add(struct app *a)
{
	NOTIFYICONDATAA n = { .cbSize = sizeof(n), .hWnd = a->wnd, .uID = ID_TRAY,
			      .uFlags = NIF_ICON | NIF_MESSAGE | NIF_TIP,
			      .uCallbackMessage = WM_TRAY,
			      .hIcon = LoadIconA(NULL, (LPCSTR)IDI_APPLICATION) };

	snprintf(n.szTip, sizeof(n.szTip), "%s", APP_TITLE);
	a->tray = Shell_NotifyIconA(NIM_ADD, &n) ? 1 : 0;
}

static LRESULT CALLBACK wndproc(HWND w, UINT msg, WPARAM wp, LPARAM lp)
{
	struct app *a = (struct app *)GetWindowLongPtrA(w, GWLP_USERDATA);

	switch (msg) {
	case WM_COMMAND:
		if (a && HIWORD(wp) == LBN_SELCHANGE && LOWORD(wp) == ID_CALLS) {
			int sel = (int)SendMessageA(a->calls, LB_GETCURSEL, 0, 0);
			struct vvui_call calls[VVUI_MAX_CALLS];
			int n = vvui_calls(a->ui, calls, VVUI_MAX_CALLS);

			if (sel >= 0 && sel < n)
				snprintf(a->selected, sizeof(a->selected), "%s", calls[sel].id);
			refresh(a);
		} else if (a && (HIWORD(wp) == BN_CLICKED || HIWORD(wp) == 1 /* accelerator */)) {
			command(a, LOWORD(wp));
		}
		return 0;
	case WM_HSCROLL:
		if (a && (HWND)lp == a->volume && LOWORD(wp) == TB_ENDTRACK) {
			int v = (int)SendMessageA(a->volume, TBM_GETPOS, 0, 0);

			vvui_set_volume(a->ui, v, -1);
		}
		return 0;
	case WM_TRAY:
		if (a && (lp == WM_LBUTTONUP || lp == WM_LBUTTONDBLCLK))
			bring_up(a);
		return 0;
	case WM_CLOSE:
		DestroyWindow(w);
		return 0;
	case WM_DESTROY:
		PostQuitMessage(0);
		return 0;
	default:
		return DefWindowProcA(w, msg, wp, lp);
	}
}

int window_create(struct app *a, HINSTANCE inst)
{
	INITCOMMONCONTROLSEX icc = { sizeof(icc), ICC_BAR_CLASSES | ICC_STANDARD_CLASSES };
	WNDCLASSA wc = { .lpfnWndProc = wndproc, .hInstance = inst,
			 .hCursor = LoadCursorA(NULL, (LPCSTR)IDC_ARROW),
			 .hIcon = LoadIconA(NULL, (LPCSTR)IDI_APPLICATION),
			 .hbrBackground = (HBRUSH)(COLOR_BTNFACE + 1),
			 .lpszClassName = "vappVoipUi" };
	static const struct { const char *text; int id; } buttons[] = {
		{ "&Answer", ID_ANSWER }, { "&Reject", ID_REJECT }, { "H&old", ID_HOLD },
		{ "&Mute", ID_MUTE }, { "&Hang up", ID_HANGUP },
	};
	HWND *bw[] = { &a->btn_answer, &a->btn_reject, &a->btn_hold, &a->btn_mute,
		       &a->btn_hangup };
	RECT r = { 0, 0, 460, 430 };

	InitCommonControlsEx(&icc);
	if (!RegisterClassA(&wc))
		return -1;
	AdjustWindowRect(&r, WS_OVERLAPPEDWINDOW & ~WS_THICKFRAME & ~WS_MAXIMIZEBOX, FALSE);
	a->wnd = CreateWindowExA(WS_EX_CONTROLPARENT, wc.lpszClassName, APP_TITLE " - connecting",
				 WS_OVERLAPPEDWINDOW & ~WS_THICKFRAME & ~WS_MAXIMIZEBOX,
				 CW_USEDEFAULT, CW_USEDEFAULT, r.right - r.left, r.bottom - r.top,
				 NULL, NULL, inst, NULL);
	if (!a->wnd)
		return -1;
	SetWindowLongPtrA(a->wnd, GWLP_USERDATA, (LONG_PTR)a);
	a->status = make(a, "STATIC", "Connecting to the appliance...", 0, 10, 10, 440, 20, 0);
	a->dial_edit = make(a, "EDIT", "", WS_BORDER | WS_TABSTOP | ES_AUTOHSCROLL, 10, 40, 320,
			    24, ID_DIAL_EDIT);
	a->dial_btn = make(a, "BUTTON", "&Dial", WS_TABSTOP | BS_DEFPUSHBUTTON, 340, 40, 110, 24,
			   ID_DIAL);
	for (int i = 0; i < 12; i++)
		a->keys[i] = make(a, "BUTTON", key_text[i], 0, 10 + (i % 3) * 50, 74 + (i / 3) * 30,
				  45, 26, ID_KEY0 + i);
	make(a, "STATIC", "Volume", 0, 180, 74, 100, 20, 0);
	a->volume = make(a, TRACKBAR_CLASSA, "", WS_TABSTOP | TBS_HORZ, 180, 96, 270, 30,
			 ID_VOLUME);
	SendMessageA(a->volume, TBM_SETRANGE, TRUE, MAKELPARAM(0, 100));
	SendMessageA(a->volume, TBM_SETPOS, TRUE, 100);
	a->calls = make(a, "LISTBOX", "", WS_BORDER | WS_VSCROLL | WS_TABSTOP | LBS_NOTIFY, 10,
			200, 440, 110, ID_CALLS);
	for (int i = 0; i < 5; i++)
		*bw[i] = make(a, "BUTTON", buttons[i].text, WS_TABSTOP, 10 + i * 88, 318, 82, 26,
			      buttons[i].id);
	a->level = make(a, "STATIC", "", 0, 10, 356, 440, 20, 0);
	a->error = make(a, "STATIC", "", 0, 10, 380, 440, 40, 0);
	tray_add(a);
	refresh(a);
	ShowWindow(a->wnd, a->minimized ? SW_SHOWMINNOACTIVE : SW_SHOW);
	SetFocus(a->dial_edit);
	return 0;
}

int window_is_dialog_message(struct app *a, MSG *m)
{
	return IsDialogMessageA(a->wnd, m);
}

void window_destroy(struct app *a)
{
	NOTIFYICONDATAA n = { .cbSize = sizeof(n), .hWnd = a->wnd, .uID = ID_TRAY };

	if (a->tray)
		Shell_NotifyIconA(NIM_DELETE, &n);
}
