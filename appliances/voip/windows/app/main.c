/*
 * main.c - vapp-voip-ui.exe (see window.h): its options and settings, and
 * the message loop. The loop waits on the plugin's event handles and on
 * the window's messages in one MsgWaitForMultipleObjects() call, so a
 * reply or an event from the appliance is handled as soon as it comes and
 * an idle window uses no CPU (a one-second wake-up redraws the calls'
 * durations while there are calls).
 *
 * Settings live under HKCU\Software\vapp\VoIP UI: "Address" (string) and
 * "StartMinimized" (DWORD). --save writes the options given into them;
 * --autostart on|off adds or removes the program under HKCU's Run key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include "window.h"

static const char usage[] =
	"Usage: vapp-voip-ui.exe [options]\n"
	"\n"
	"The VoIP appliance's user interface: calls are placed, answered, held,\n"
	"muted and hung up here; the SIP stack and the audio stay in the appliance.\n"
	"\n"
	"  --address ADDR      the appliance (default: the setting, else\n"
	"                      serial:vapp.voip, the virtio-serial port\n"
	"                      \\\\.\\Global\\vapp.voip)\n"
	"  --minimized         start minimised (the notification-area icon shows it)\n"
	"  --save              keep --address and --minimized as the settings\n"
	"  --autostart on|off  start with Windows (HKCU Run key), or not\n"
	"  --help              this help\n"
	"\n"
	"Settings: HKCU\\Software\\vapp\\VoIP UI (Address, StartMinimized).";

static void read_settings(char *addr, size_t len, int *minimized)
{
	DWORD n = (DWORD)len, v = 0, vn = sizeof(v);

	if (RegGetValueA(HKEY_CURRENT_USER, APP_REG_KEY, "Address", RRF_RT_REG_SZ, NULL, addr,
			 &n) != ERROR_SUCCESS)
		snprintf(addr, len, "%s", APP_DEFAULT_ADDR);
	if (RegGetValueA(HKEY_CURRENT_USER, APP_REG_KEY, "StartMinimized", RRF_RT_REG_DWORD, NULL,
			 &v, &vn) == ERROR_SUCCESS)
		*minimized = v != 0;
}

static int save_settings(const char *addr, int minimized)
{
	HKEY k;
	DWORD v = (DWORD)minimized;
	LONG rc = RegCreateKeyExA(HKEY_CURRENT_USER, APP_REG_KEY, 0, NULL, 0, KEY_SET_VALUE, NULL,
				  &k, NULL);

	if (rc != ERROR_SUCCESS)
		return -1;
	rc = RegSetValueExA(k, "Address", 0, REG_SZ, (const BYTE *)addr, (DWORD)strlen(addr) + 1);
	if (rc == ERROR_SUCCESS)
		rc = RegSetValueExA(k, "StartMinimized", 0, REG_DWORD, (const BYTE *)&v, sizeof(v));
	RegCloseKey(k);
	return rc == ERROR_SUCCESS ? 0 : -1;
}

static int autostart(int on)
{
	static const char run[] = "Software\\Microsoft\\Windows\\CurrentVersion\\Run";
	char exe[MAX_PATH + 32], cmd[MAX_PATH + 48];
	HKEY k;
	LONG rc = RegCreateKeyExA(HKEY_CURRENT_USER, run, 0, NULL, 0, KEY_SET_VALUE, NULL, &k, NULL);

	if (rc != ERROR_SUCCESS)
		return -1;
	if (on) {
		GetModuleFileNameA(NULL, exe, MAX_PATH);
		snprintf(cmd, sizeof(cmd), "\"%s\" --minimized", exe);
		rc = RegSetValueExA(k, APP_TITLE, 0, REG_SZ, (const BYTE *)cmd,
				    (DWORD)strlen(cmd) + 1);
	} else {
		rc = RegDeleteValueA(k, APP_TITLE);
		if (rc == ERROR_FILE_NOT_FOUND)
			rc = ERROR_SUCCESS;
	}
	RegCloseKey(k);
	return rc == ERROR_SUCCESS ? 0 : -1;
}

/* Keyboard shortcuts that work wherever the focus is: Alt+ the button's
 * underlined letter, Enter in the dial field dials. */
static HACCEL shortcuts(void)
{
	ACCEL acc[] = {
		{ FALT | FVIRTKEY, 'D', ID_DIAL }, { FALT | FVIRTKEY, 'A', ID_ANSWER },
		{ FALT | FVIRTKEY, 'R', ID_REJECT }, { FALT | FVIRTKEY, 'O', ID_HOLD },
		{ FALT | FVIRTKEY, 'U', ID_HOLD }, { FALT | FVIRTKEY, 'M', ID_MUTE },
		{ FALT | FVIRTKEY, 'H', ID_HANGUP }, { FVIRTKEY, VK_RETURN, ID_DIAL },
	};

	return CreateAcceleratorTableA(acc, (int)(sizeof(acc) / sizeof(acc[0])));
}

static int loop(struct app *a)
{
	HACCEL acc = shortcuts();
	DWORD last_tick = GetTickCount();
	MSG m;

	for (;;) {
		void *h[VVUI_MAX_HANDLES];
		int timeout, n = vvui_handles(a->ui, h, VVUI_MAX_HANDLES, &timeout);
		DWORD wait = timeout < 0 || timeout > 1000 ? 1000 : (DWORD)timeout;

		MsgWaitForMultipleObjects((DWORD)n, (HANDLE *)h, FALSE, wait, QS_ALLINPUT);
		while (PeekMessageA(&m, NULL, 0, 0, PM_REMOVE)) {
			if (m.message == WM_QUIT) {
				DestroyAcceleratorTable(acc);
				return (int)m.wParam;
			}
			if (TranslateAcceleratorA(a->wnd, acc, &m) || window_is_dialog_message(a, &m))
				continue;
			TranslateMessage(&m);
			DispatchMessageA(&m);
		}
		vvui_process(a->ui);
		if (GetTickCount() - last_tick >= 1000) {
			last_tick = GetTickCount();
			window_tick(a);
		}
	}
}

int WINAPI WinMain(HINSTANCE inst, HINSTANCE prev, LPSTR cmdline, int show)
{
	static struct app a;
	char addr[512];
	int save = 0, rc;

	(void)prev;
	(void)cmdline;
	(void)show;
	read_settings(addr, sizeof(addr), &a.minimized);
	for (int i = 1; i < __argc; i++) {
		const char *o = __argv[i];

		if (!strcmp(o, "--address") && i + 1 < __argc) {
			snprintf(addr, sizeof(addr), "%s", __argv[++i]);
		} else if (!strcmp(o, "--minimized")) {
			a.minimized = 1;
		} else if (!strcmp(o, "--save")) {
			save = 1;
		} else if (!strcmp(o, "--autostart") && i + 1 < __argc &&
			   (!strcmp(__argv[i + 1], "on") || !strcmp(__argv[i + 1], "off"))) {
			if (autostart(!strcmp(__argv[++i], "on"))) {
				MessageBoxA(NULL, "Could not change the Run key.", APP_TITLE,
					    MB_ICONERROR);
				return 1;
			}
			return 0;
		} else {
			MessageBoxA(NULL, usage, APP_TITLE,
				    !strcmp(o, "--help") ? MB_ICONINFORMATION : MB_ICONWARNING);
			return !strcmp(o, "--help") ? 0 : 2;
		}
	}
	if (save && save_settings(addr, a.minimized)) {
		MessageBoxA(NULL, "Could not write the settings.", APP_TITLE, MB_ICONERROR);
		return 1;
	}
	a.ui = vvui_open(addr, window_on_event, &a);
	if (!a.ui) {
		char text[640];

		snprintf(text, sizeof(text), "\"%s\" is not an appliance address.\n\n%s", addr,
			 usage);
		MessageBoxA(NULL, text, APP_TITLE, MB_ICONERROR);
		return 2;
	}
	if (window_create(&a, inst)) {
		vvui_close(a.ui);
		return 1;
	}
	rc = loop(&a);
	window_destroy(&a);
	vvui_close(a.ui);
	return rc;
}
