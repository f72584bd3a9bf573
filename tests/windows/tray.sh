#!/usr/bin/env bash
# repxp.exe, the tray app built for Windows, under Wine on a virtual display (Xvfb; Wine draws the
# notification area itself): it reaches "tray ready", its first sync pushes what the CLI queued
# before it started, and an award made while it runs reaches Twenty by its debounced push.
# The panel needs WebView2, which Wine lacks: opening it must fail in one line, the tray living on.
# A failing sync asks for one toast, which Wine cannot show; the tray lives on.
# Usage: tests/windows/tray.sh  (after `scripts/windows-cargo.sh build -p repxp` and
# scripts/test-windows.sh; `make test-windows-tray` does all three)
set -euo pipefail
source "$(dirname "$0")/common.sh"
tray_exe="$bin_dir/repxp.exe"
[ -f "$tray_exe" ] || { echo "no $tray_exe: scripts/windows-cargo.sh build -p repxp" >&2; exit 1; }

start_display

connect_rep || bad "connect"
wine_cli award 10 --id "$(id_of 1)" >/dev/null

log="$local_app/repxp/logs/tray.log"
started=$(date +%s%N)
"$here/wine-run.sh" "$tray_exe" >/tmp/repxp-wine-tray.log 2>&1 &
pids+=($!)
if await_tray_ready; then
  ok "tray ready under Wine ($(( ($(date +%s%N) - started) / 1000000 )) ms from start, Wine's own start-up included)"
else
  bad "no \"tray ready\": $(tail -5 "$log" 2>/dev/null) $(tail -5 /tmp/repxp-wine-tray.log)"
fi
await_total 10 && ok "the tray's first sync pushed the queued award (10)" || bad "Twenty holds $(field totalXp), not 10"
wine_cli award 5 --id "$(id_of 2)" >/dev/null
await_total 15 && ok "an award made while the tray runs reached Twenty (15)" || bad "Twenty holds $(field totalXp), not 15"

# The panel: WebView2 is missing under Wine. The tray says so in one line and starts no panel
# process (which Tauri would make panic in its setup hook).
"$here/wine-run.sh" "$bin_dir/repxp-open.exe" >/tmp/repxp-wine-open.log 2>&1 || true
for _ in $(seq 40); do grep -qs "the panel needs Microsoft Edge WebView2" "$log" && break; sleep 0.25; done
line=$(grep -s "the panel needs Microsoft Edge WebView2" "$log" | tail -1)
[ -n "$line" ] && ok "opening the panel says why it cannot: ${line##*WARN}" || bad "nothing says why the panel did not open: $(tail -3 "$log")"
if grep -qs "panicked" "$log" "$local_app/repxp/logs/panel.log"; then bad "a panic: $(grep -h -A1 panicked "$local_app/repxp/logs/"*.log | head -2)"; else ok "no panic"; fi
kill -0 "${pids[-1]}" 2>/dev/null && ok "the tray lives on" || bad "the tray died: $(tail -5 "$log")"

# A failing sync asks for a toast. Wine 8 cannot build one (combase: "Failed to find library for
# L"Windows.Data.Xml.Dom.XmlDocument""; the plugin drops the error): the tray must ask once and go on.
curl -fsS -X POST "http://127.0.0.1:$port/__fake/faults" -H 'content-type: application/json' \
  -d '{"kind":"auth_failure"}' >/dev/null
wine_cli award 2 --id "$(id_of 3)" >/dev/null
for _ in $(seq 120); do grep -qs "notification title=RepXP sync is failing" "$log" && break; sleep 0.5; done
[ "$(grep -c "notification title=RepXP sync is failing" "$log")" = 1 ] \
  && ok "a failing sync asks for one toast" || bad "toasts asked for: $(grep -c "notification title" "$log")"
sleep 2
kill -0 "${pids[-1]}" 2>/dev/null && ! grep -qs "panicked" "$log" && ok "the tray lives on after its toast" \
  || bad "the tray died after its toast: $(tail -5 "$log")"
finish
