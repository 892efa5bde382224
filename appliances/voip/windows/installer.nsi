; installer.nsi - the VoIP UI's installer for a Windows guest (NSIS,
; Debian's nsis package): vapp-voip-ui.exe and vapp-voip-ui.dll into
; Program Files, the header for other shells, a Start menu shortcut, the
; settings' defaults under HKCU, an uninstaller registered with Windows.
; One command in the guest: vapp-voip-ui-setup.exe (or /S for no questions,
; /AUTOSTART=1 to start the UI with Windows).
;
;   makensis -DBIN=build/win/bin -DHDR=appliances/voip/windows \
;            -DOUT=build/win/vapp-voip-ui-setup.exe installer.nsi
Unicode true
; A 64-bit installer: the guest is 64-bit, and wine64 runs no 32-bit program.
Target amd64-unicode
SetCompressor /SOLID lzma
!include "FileFunc.nsh"

Name "vapp VoIP"
OutFile "${OUT}"
InstallDir "$PROGRAMFILES64\vapp VoIP"
RequestExecutionLevel admin
ShowInstDetails show

!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\vapp VoIP"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "vapp VoIP"
	SetOutPath "$INSTDIR"
	File "${BIN}\vapp-voip-ui.exe"
	File "${BIN}\vapp-voip-ui.dll"
	File "${HDR}\vapp_voip_ui.h"
	WriteUninstaller "$INSTDIR\uninstall.exe"
	CreateShortCut "$SMPROGRAMS\vapp VoIP.lnk" "$INSTDIR\vapp-voip-ui.exe"
	; The settings' defaults; an existing Address is kept.
	ReadRegStr $0 HKCU "Software\vapp\VoIP UI" "Address"
	StrCmp $0 "" 0 +2
	WriteRegStr HKCU "Software\vapp\VoIP UI" "Address" "serial:vapp.voip"
	${GetOptions} $CMDLINE "/AUTOSTART=" $1
	StrCmp $1 "1" 0 +2
	WriteRegStr HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "vapp VoIP" \
		'"$INSTDIR\vapp-voip-ui.exe" --minimized'
	WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "vapp VoIP"
	WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
	WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
	WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "vapp"
SectionEnd

Section "Uninstall"
	Delete "$INSTDIR\vapp-voip-ui.exe"
	Delete "$INSTDIR\vapp-voip-ui.dll"
	Delete "$INSTDIR\vapp_voip_ui.h"
	Delete "$INSTDIR\uninstall.exe"
	RMDir "$INSTDIR"
	Delete "$SMPROGRAMS\vapp VoIP.lnk"
	DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "vapp VoIP"
	DeleteRegKey HKLM "${UNINST_KEY}"
SectionEnd
