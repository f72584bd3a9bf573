#!/usr/bin/env bash
# repxp-cli.exe, built for Windows, under Wine against fake-twenty (native, on loopback), as a rep
# on Windows uses it: `connect` puts the key into Windows Credential Manager, the data lives in
# %LOCALAPPDATA%\repxp, one CLI process per award. Checks that Twenty holds exactly what was
# awarded, that the database never forked (one device, one watermark) however often it was
# opened, and that `repxp-cli run` (the headless runner) pushes an award by itself, one at a time.
# Usage: tests/windows/cli.sh  (after scripts/test-windows.sh built repxp-cli.exe)
set -euo pipefail
source "$(dirname "$0")/common.sh"

connect_rep && ok "connect" || bad "connect"
[ -f "$local_app/repxp/repxp.db" ] && ok "the data is in %LOCALAPPDATA%\\repxp" \
  || bad "no database under $local_app/repxp"
if grep -rqs "$key" "$local_app/repxp"; then bad "the key is in the data directory"; else ok "the key is not in the data directory"; fi

# One process per award, a sync after each: every open is a new process opening the same file.
for i in $(seq 1 8); do
  wine_cli award 7 --id "$(id_of "$i")" >/dev/null
  wine_cli sync >/dev/null || bad "sync $i"
done
wine_cli award 7 --id "$(id_of 1)" >/dev/null  # a retry of the first: counted once
wine_cli sync >/dev/null || bad "sync after the retry"
total=$(field totalXp)
[ "$total" = 56 ] && ok "Twenty holds exactly the XP awarded (56)" || bad "Twenty holds $total, not 56"
marks=$(field syncWatermarks)
[ "$marks" = 1 ] && ok "one watermark: the database never forked" || bad "$marks watermarks on the record"
devices=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from devices').fetchone()[0])" "$local_app/repxp/repxp.db")
[ "$devices" = 1 ] && ok "one device id after 19 opens" || bad "$devices device ids"

status=$(wine_cli status --json)
echo "$status" | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if (s["xp"],s["pending"])==(56,0) else 1)' \
  && ok "status: 56 XP, nothing pending" || bad "status: $status"
wine_cli doctor >/tmp/repxp-wine-doctor.log 2>&1 && ok "doctor passes" || bad "doctor: $(tail -3 /tmp/repxp-wine-doctor.log)"
wine_cli team 2>&1 | grep -q "ana@acme.test" && ok "team lists the rep" || bad "team"

# The headless runner: an award from another process reaches Twenty with no sync command.
"$here/wine-run.sh" "$cli_exe" run >/tmp/repxp-wine-run.log 2>&1 &
pids+=($!)
sleep 5
wine_cli award 5 --id "$(id_of 99)" >/dev/null
await_total 61 && ok "repxp-cli run pushed the award by itself (61)" \
  || bad "the runner did not push: Twenty holds $(field totalXp); $(tail -3 /tmp/repxp-wine-run.log)"

# One runner per data directory (the lock, and the control channel's named pipe): a second
# waits for the first to quit instead of syncing beside it.
"$here/wine-run.sh" "$cli_exe" run >/tmp/repxp-wine-run2.log 2>&1 &
pids+=($!)
for _ in $(seq 40); do grep -q "syncs this data; waiting" /tmp/repxp-wine-run2.log && break; sleep 0.5; done
grep -q "syncs this data; waiting" /tmp/repxp-wine-run2.log && ok "a second runner waits for the first" \
  || bad "a second runner: $(tail -3 /tmp/repxp-wine-run2.log)"

finish
