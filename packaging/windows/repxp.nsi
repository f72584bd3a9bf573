; RepXP's Windows installer, built on Linux by Debian's makensis (scripts/windows-installer.sh).
; Not Tauri's NSIS bundle: that one downloads its plugin DLL (nsis_tauri_utils) from GitHub at
; build time, which CI cannot reach; this script needs nothing but makensis.
;
; Per user, no administrator: a rep installs it like any other app. The rep's data
; (%LOCALAPPDATA%\repxp: progression, the outbox of XP not yet in Twenty, logs) and the key in
; Credential Manager are never the installer's: an upgrade or an uninstall leaves them, so no XP is
; lost by reinstalling.
;
; makensis -DVERSION=0.1.0 -DAUMID=<tauri.conf.json identifier> -DBIN=<folder of the .exe files>
;          -DICON=<.ico> -DPNG=<.png> -DOUT=<setup.exe>
; Silent: setup.exe /S [/D=C:\path]   Uninstall: "%LOCALAPPDATA%\Programs\RepXP\uninstall.exe" /S

; x64 only, as RepXP is; and Debian's Wine (wine64) runs no 32-bit programs.
Target amd64-unicode
ManifestDPIAware true
!include "MUI2.nsh"

!define APP "RepXP"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\RepXP"
; Where tauri-plugin-autostart (auto-launch) records "start at sign-in", under the product name.
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define APPROVED_KEY "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
; The installed app's toasts carry this AppUserModelID (tauri-plugin-notification: the
; identifier), and Windows shows toasts of an unpackaged app only for a registered one.
!define AUMID_KEY "Software\Classes\AppUserModelId\${AUMID}"

Name "${APP}"
OutFile "${OUT}"
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "${UNINST_KEY}" "InstallLocation"
RequestExecutionLevel user
SetCompressor /SOLID lzma
BrandingText "${APP} ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} installer"
VIAddVersionKey "LegalCopyright" "MIT"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!define MUI_FINISHPAGE_RUN "$INSTDIR\repxp.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP}"
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; A running tray (or `repxp-cli run`) keeps its .exe open, and Windows refuses to replace or delete
; an open file. Ending them is safe: RepXP is built to be killed at any instant (every award is in
; SQLite before it is acknowledged; the fault matrix kills it mid-sync), and the rep starts the new
; one from the Finish page or at the next sign-in.
!macro STOP_REPXP
  nsExec::Exec 'taskkill /F /IM repxp.exe'
  Pop $0
  nsExec::Exec 'taskkill /F /IM repxp-cli.exe'
  Pop $0
  nsExec::Exec 'taskkill /F /IM repxp-open.exe'
  Pop $0
  Sleep 500
!macroend

; The panel is drawn by Microsoft Edge WebView2 (in Windows 11, not in every Windows 10). This
; installer cannot carry Microsoft's bootstrapper (built where Microsoft's servers are out of
; reach), so it tells the rep; XP, sync and the tray menu work without it.
!define WEBVIEW2_KEY "Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
Function WarnWithoutWebView2
  SetRegView 64
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\${WEBVIEW2_KEY}" "pv"
  StrCmp $0 "" 0 found
  ReadRegStr $0 HKLM "SOFTWARE\${WEBVIEW2_KEY}" "pv"
  StrCmp $0 "" 0 found
  ReadRegStr $0 HKCU "Software\${WEBVIEW2_KEY}" "pv"
  StrCmp $0 "" 0 found
  IfSilent found
  MessageBox MB_OK|MB_ICONINFORMATION "RepXP's panel needs Microsoft Edge WebView2, which this Windows does not have.$\r$\n$\r$\nXP, sync and the tray menu work without it. To see the panel, install WebView2 from https://go.microsoft.com/fwlink/p/?LinkId=2124703"
  found:
  SetRegView default
FunctionEnd

Section "RepXP" main
  SectionIn RO
  !insertmacro STOP_REPXP
  SetOutPath "$INSTDIR"
  File "${BIN}\repxp.exe"
  File "${BIN}\repxp-cli.exe"
  File "${BIN}\repxp-open.exe"
  File "${BIN}\WebView2Loader.dll"
  File "/oname=repxp.png" "${PNG}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortCut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\repxp.exe" "" "$INSTDIR\repxp.exe" 0

  WriteRegStr HKCU "${AUMID_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${AUMID_KEY}" "IconUri" "$INSTDIR\repxp.png"

  ; Settings > Apps lists it, and can remove it quietly.
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINST_KEY}" "Publisher" "${APP}"
  WriteRegStr HKCU "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\repxp.exe"
  WriteRegStr HKCU "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINST_KEY}" "NoRepair" 1
  Call WarnWithoutWebView2
SectionEnd

Section "Uninstall"
  !insertmacro STOP_REPXP
  Delete "$INSTDIR\repxp.exe"
  Delete "$INSTDIR\repxp-cli.exe"
  Delete "$INSTDIR\repxp-open.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\repxp.png"
  Delete "$INSTDIR\uninstall.exe"
  ; Only if empty: a folder the rep chose may hold their own files.
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${APP}.lnk"
  ; "Start at sign-in" would point at a program no longer there.
  DeleteRegValue HKCU "${RUN_KEY}" "${APP}"
  DeleteRegValue HKCU "${APPROVED_KEY}" "${APP}"
  DeleteRegKey HKCU "${AUMID_KEY}"
  DeleteRegKey HKCU "${UNINST_KEY}"
SectionEnd
