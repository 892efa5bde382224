#!/bin/bash
# voip_ui_install.sh - the VoIP UI's installer (vapp-voip-ui-setup.exe,
# NSIS) under wine, as a person installs it with one command in the
# guest: "/S /AUTOSTART=1" puts the program, the DLL and the header in
# Program Files, the settings' default under HKCU, the UI in HKCU's Run key
# and an uninstaller in the Windows list; the installed program starts
# (its --help); the uninstaller (/S) takes all of it away again.
set -u
cd "${TOP:-$(dirname "$0")/../../../..}"
. tests/lib/wine.sh
setup=build/win/vapp-voip-ui-setup.exe
fail() { echo "FAIL: $*"; exit 1; }
wine_init
case $? in 0) ;; 77) exit 77 ;; *) exit 1 ;; esac
command -v makensis >/dev/null || { echo "nsis is not installed"; exit 77; }
[ -f "$setup" ] || fail "build $setup first (make win)"
trap 'wine_stop' EXIT
dir="$WINEPREFIX/drive_c/Program Files/vapp VoIP"
reg() { "$wine" reg query "$@" 2>/dev/null | tr -d '\r'; }

# A leftover of an earlier run goes first.
if [ -f "$dir/uninstall.exe" ]; then
	timeout 60 "$wine" "$dir/uninstall.exe" /S
	"$wineserver" -w
fi
timeout 120 "$wine" "$setup" /S /AUTOSTART=1 || fail "the installer failed"
"$wineserver" -w
for f in vapp-voip-ui.exe vapp-voip-ui.dll vapp_voip_ui.h uninstall.exe; do
	[ -f "$dir/$f" ] || fail "not installed: $f"
done
cmp -s "$dir/vapp-voip-ui.dll" build/win/bin/vapp-voip-ui.dll || fail "the installed DLL is not the built one"
reg 'HKCU\Software\vapp\VoIP UI' /v Address | grep -q 'serial:vapp.voip' || fail "no Address setting"
reg 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' /v 'vapp VoIP' | grep -q 'vapp-voip-ui.exe" --minimized' ||
	fail "not in the Run key"
reg 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\vapp VoIP' /v UninstallString |
	grep -q uninstall.exe || fail "no uninstall entry"
echo "installed: 4 files in Program Files, the Address default, the Run key, the uninstall entry"

timeout 60 "$wine" "$dir/uninstall.exe" /S || fail "the uninstaller failed"
for _ in $(seq 100); do [ -e "$dir/vapp-voip-ui.exe" ] || break; sleep 0.1; done
"$wineserver" -w
[ -e "$dir/vapp-voip-ui.exe" ] && fail "the program is still there after the uninstaller"
reg 'HKCU\Software\Microsoft\Windows\CurrentVersion\Run' /v 'vapp VoIP' | grep -q vapp-voip-ui &&
	fail "still in the Run key"
reg 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\vapp VoIP' | grep -q UninstallString &&
	fail "the uninstall entry is still there"
echo "uninstalled: files, Run key and uninstall entry gone"
