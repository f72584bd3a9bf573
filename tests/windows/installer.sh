#!/usr/bin/env bash
# The Windows installer under Wine, as a rep meets it: a silent install (/S) per user, the CLI and
# the tray from the installed place, an upgrade over a running tray, a silent uninstall that
# leaves the rep's data and key, and a reinstall that finds them.
# Usage: tests/windows/installer.sh  (after `scripts/windows-cargo.sh build -p repxp -p repxp-cli`;
# `make test-windows-tray` runs it)
set -euo pipefail
source "$(dirname "$0")/common.sh"

# WINDOWS_PROFILE=release tests what `make package-windows` built.
profile="${WINDOWS_PROFILE:-debug}"
setup_exe="$(cd "$root" && scripts/windows-installer.sh "$profile")"
setup_exe="$root/${setup_exe#"$root/"}"
[ -f "$setup_exe" ] && ok "installer built: $(basename "$setup_exe") ($(( $(stat -c %s "$setup_exe") / 1048576 )) MB)" \
  || { bad "no installer"; finish; }

start_display

inst="$local_app/Programs/RepXP"
start_menu="$WINEPREFIX/drive_c/users/$(id -un)/AppData/Roaming/Microsoft/Windows/Start Menu/Programs/RepXP.lnk"
uninst_key='HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\RepXP'
run_key='HKCU\Software\Microsoft\Windows\CurrentVersion\Run'
identifier=$(python3 -c "import json; print(json.load(open('$root/tauri.conf.json'))['identifier'])")
aumid_key="HKCU\\Software\\Classes\\AppUserModelId\\$identifier"
wine_do() { "$here/wine-run.sh" "$@"; }
# The installer and uninstaller hand over to child processes (the uninstaller copies itself to
# %TEMP% and exits): done means every process of the prefix has ended.
settle() { timeout 120 wineserver -w; }
reg_has() { wine_do reg query "$1" /v "$2" >/dev/null 2>&1; }
status_json() { wine_cli status --json 2>/dev/null; }
status_is() { status_json | python3 -c "import json,sys; s=json.load(sys.stdin); sys.exit(0 if (s['xp'],s['pending'])==($1,0) else 1)"; }

rm -rf "$inst" "$start_menu"
wine_do "$setup_exe" /S >/dev/null 2>&1 || bad "the installer exited with $?"
settle
missing=()
for f in repxp.exe repxp-cli.exe repxp-open.exe uninstall.exe; do [ -f "$inst/$f" ] || missing+=("$f"); done
[ ${#missing[@]} = 0 ] && ok "installed per user in %LOCALAPPDATA%\\Programs\\RepXP" || bad "not installed: ${missing[*]}"
[ -f "$start_menu" ] && ok "a Start menu shortcut" || bad "no Start menu shortcut"
reg_has "$uninst_key" QuietUninstallString && ok "listed in Apps, with a quiet uninstall" || bad "no uninstall entry"
reg_has "$aumid_key" DisplayName && ok "the toasts' AppUserModelID is registered" || bad "no $aumid_key"

# The rep's first day, with the installed CLI.
cli_exe="$inst/repxp-cli.exe"
connect_rep && ok "connect (installed repxp-cli.exe)" || bad "connect"
wine_cli award 7 --id "$(id_of 1)" >/dev/null && wine_cli sync >/dev/null 2>&1 || true
await_total 7 && ok "the installed CLI awards and syncs (Twenty holds 7)" || bad "Twenty holds $(field totalXp), not 7"
status_is 7 && ok "status from the installed place: 7 XP, nothing pending" || bad "status: $(status_json)"

# The installed tray runs and the rep chose "start at sign-in" (what tauri-plugin-autostart writes).
wine_do "$inst/repxp.exe" >/tmp/repxp-wine-installed-tray.log 2>&1 &
tray_pid=$!
await_tray_ready && ok "the installed tray is ready" || bad "the installed tray: $(tail -3 "$local_app/repxp/logs/tray.log" 2>/dev/null)"
wine_do reg add "$run_key" /v RepXP /d "\"C:\\users\\$(id -un)\\AppData\\Local\\Programs\\RepXP\\repxp.exe\"" /f >/dev/null 2>&1

# An upgrade while the tray runs: the installer ends it and replaces its files.
# The installer gives each file its build time (to NSIS's 2-second steps): an old time on the running
# copy tells a replaced file apart.
touch -d @1000000000 "$inst/repxp.exe"
wine_do "$setup_exe" /S >/dev/null 2>&1 || bad "the upgrade exited with $?"
for _ in $(seq 40); do kill -0 "$tray_pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$tray_pid" 2>/dev/null && bad "the running tray was not ended by the upgrade" || ok "the upgrade ended the running tray"
settle
[ "$(stat -c %Y "$inst/repxp.exe")" != 1000000000 ] && cmp -s "$inst/repxp.exe" "$target/x86_64-pc-windows-gnu/$profile/repxp.exe" && ok "the upgrade replaced repxp.exe while it was running" \
  || bad "repxp.exe was not replaced"
status_is 7 && ok "after the upgrade: the same 7 XP" || bad "after the upgrade: $(status_json)"

# Uninstall, silently.
wine_do "$inst/uninstall.exe" /S >/dev/null 2>&1 || bad "the uninstaller exited with $?"
settle
[ ! -e "$inst" ] && ok "uninstalled: the program folder is gone" || bad "left behind: $(ls "$inst" 2>&1)"
[ ! -f "$start_menu" ] && ok "the Start menu shortcut is gone" || bad "the shortcut stays"
! reg_has "$uninst_key" DisplayName && ok "gone from Apps" || bad "the uninstall entry stays"
! reg_has "$run_key" RepXP && ok "no start at sign-in of a removed program" || bad "the Run entry stays"
! reg_has "$aumid_key" DisplayName && ok "the AppUserModelID is unregistered" || bad "$aumid_key stays"
[ -f "$local_app/repxp/repxp.db" ] && ok "the rep's data stays (%LOCALAPPDATA%\\repxp)" || bad "the data is gone"

# A reinstall finds the data and the key: nothing to redo, nothing lost, nothing counted twice.
wine_do "$setup_exe" /S >/dev/null 2>&1 || bad "the reinstall exited with $?"
settle
wine_cli award 3 --id "$(id_of 2)" >/dev/null && wine_cli sync >/dev/null 2>&1 || true
await_total 10 && ok "after a reinstall, with no new connect: Twenty holds 10" || bad "Twenty holds $(field totalXp), not 10"
status_is 10 && ok "status: 10 XP, nothing pending" || bad "status: $(status_json)"
finish
