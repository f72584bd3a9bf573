#!/usr/bin/env bash
# End-to-end test of the real `repxp` binary and its real webview, run by `make test-gui` inside
# scripts/with-session.sh (Xvfb, private D-Bus, unlocked gnome-keyring). It types the settings
# into the panel with real X input (xdotool), awards XP through the CLI and the local award API
# (curl with the per-install secret), checks it reaches a fake
# Twenty, freezes Twenty and checks the offline state and exactly one notification on D-Bus, then
# recovers through the panel's Retry button and checks the queue drains, "Back in sync" and the
# failure notification withdrawn; then single instance, and that closing the panel ends its process
# and every WebKit process while the tray lives on; last, a web page asking to send XP.
# Screenshots go to docs/screenshots/. Ends with "e2e-gui: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
app=${REPXP_BIN:-$root/target/debug/repxp}
# The desktop entry's launcher (cli/src/open.rs): the app starts through it, as from the menu.
launcher=${REPXP_OPEN_BIN:-$(dirname "$app")/repxp-open}
fake=${FAKE_TWENTY_BIN:-$root/target/debug/fake-twenty}
shots=${SHOTS_DIR:-$root/docs/screenshots}
work=$(mktemp -d)
# Port 0: the award API takes any free port and names it in award-api.json.
export REPXP_DATA_DIR="$work/data" RUST_LOG=${RUST_LOG:-info} REPXP_AWARD_PORT=0
unset REPXP_TWENTY_URL REPXP_REP_EMAIL REPXP_TWENTY_API_KEY
mkdir -p "$REPXP_DATA_DIR" "$shots"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
passed=0; failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAILED: $*"; failed=$((failed + 1)); }
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.25 s.
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$((SECONDS + secs))
  while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && { ok "$what"; return 0; }; sleep 0.25; done
  bad "$what (not within ${secs}s)"; return 1
}
shot() { import -window root -crop 380x560+"$wx"+"$wy" +repage "$shots/$1"; echo "screenshot $shots/$1"; }
twenty_xp() { curl -fsS "$url/__fake/state" | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin)["records"] if x.get("repEmail")=="e2e.rep@acme.test"]; print(r[0]["totalXp"] if r else -1)'; }
twenty_has() { [ "$(twenty_xp)" = "$1" ]; }
notices() { grep -c "string \"$1\"" "$work/notify.log" 2>/dev/null || true; }
notice_count_is() { [ "$(notices "$1")" = "$2" ]; }

command -v /usr/lib/notification-daemon/notification-daemon >/dev/null &&
  { /usr/lib/notification-daemon/notification-daemon >/dev/null 2>&1 & pids+=($!); }
dbus-monitor "interface='org.freedesktop.Notifications',member='Notify'" \
  "interface='org.freedesktop.Notifications',member='CloseNotification'" >"$work/notify.log" 2>/dev/null &
pids+=($!)

# An XEmbed tray host: with no StatusNotifier host on the bus, the app's indicator falls back to a
# classic tray icon, which trayer shows (so the menu can be opened and photographed).
# At the bottom: notification bubbles appear at the top right.
trayer --edge bottom --align right --widthtype request --height 24 --SetDockType true \
  --transparent false --tint 0xdddddd >/dev/null 2>&1 &
pids+=($!)

coproc FAKE { exec "$fake" --port 0 --api-key test-key; }
pids+=($FAKE_PID)
read -r -t 20 first <&"${FAKE[0]}" || { echo "fake-twenty did not start"; exit 1; }
url=${first#listening on }
# The rep's sales team: 200 more reps, written by the academy and RepXP, a duplicate, the trash.
curl -fsS "$url/__fake/team" -d '{"reps":200}' >"$work/team.json"

# With no tray running the launcher becomes `repxp --open-panel` in its own process (exec), so
# $! is the tray.
"$launcher" 2>"$work/app.log" &
tray=$!
pids+=($tray)
started=$SECONDS
# The panel is the visible window named exactly "RepXP" (xdotool's --name is case-insensitive and
# would also match the tray icon's window, "repxp").
panel_win() {
  local w
  for w in $(xdotool search --onlyvisible --name '^RepXP$' 2>/dev/null); do
    [ "$(xdotool getwindowname "$w" 2>/dev/null)" = RepXP ] && echo "$w"
  done
}
wait_panel() { local i; for i in $(seq 1 $(($1 * 4))); do [ -n "$(panel_win)" ] && return 0; sleep 0.25; done; return 1; }
wait_panel 30; win=$(panel_win | head -1)
[ -n "$win" ] && ok "the panel window opens" || { bad "no panel window"; cat "$work/app.log"; exit 1; }
eval "$(xdotool getwindowgeometry --shell "$win")"
wx=$X; wy=$Y
sleep 2 # first paint

# Yesterday's reading of the team, as the tray would have kept it had it read Twenty yesterday
# (team_days): each of the fake's reps with less XP than now, by 0 to 250, so the Team tab shows
# the change since yesterday and places moved.
yesterday=$(date -d yesterday +%F)
python3 - "$REPXP_DATA_DIR/repxp.db" "$url" "$yesterday" "$work/team.json" >"$work/yesterday.json" <<'PY'
import json, sqlite3, sys
db, workspace, day, team = sys.argv[1:]
steps = [0, 15, 40, 90, 250]
then = {e: x - steps[i * 7 % 5] for i, (e, x) in enumerate(sorted(json.load(open(team))))}
then["e2e.rep@acme.test"] = 1000
con = sqlite3.connect(db, timeout=10)
with con:
    con.executemany("INSERT INTO team_days (workspace, day, email, xp) VALUES (?, ?, ?, ?)",
                    [(workspace, day, e, x) for e, x in then.items()])
json.dump(then, sys.stdout)
PY

# Loader order (src-tauri/src/loader_order.rs): a panel process and the WebKit processes it starts
# get, first in the loader's order, the self-relocating libraries the tray has loaded (Debian's
# WebKit links a flite voice); a later panel also those the last panel loaded (Mesa's LLVM).
lib_in() { awk -v re="$2" '$6 ~ re {print $6; exit}' "/proc/$1/maps" 2>/dev/null; }
flite_re='/libflite_cmu_time_awb[.]so'; llvm_re='/libLLVM(-|[.]so)'
preload_of() { tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^LD_PRELOAD=//p'; }
check_preload() { # WHICH EXPECTED
  local panel web
  panel=$(pgrep -P "$tray" -x repxp | head -1)
  web=$(pgrep -P "${panel:-0}" WebKitWebProces | head -1)
  if [ -n "$web" ] && [ "$(preload_of "$panel")" = "$2" ] && [ "$(preload_of "$web")" = "$2" ]; then
    ok "the $1 panel and its web process preload '$2'"
  else
    bad "the $1 panel: preload '$(preload_of "${panel:-0}")' (web ${web:-none}: '$(preload_of "${web:-0}")'), expected '$2'"
  fi
  panel_llvm=$(lib_in "${panel:-0}" "$llvm_re")
}
flite=$(lib_in "$tray" "$flite_re")
check_preload first "$flite"
# The page names the desktop's font by its installed family (desktop_font.rs): GTK's default
# "Sans" here, which fontconfig resolves as it would for any page.
want_font=$(fc-match -f '%{family[0]}' sans-serif)
grep "panel opened" "$REPXP_DATA_DIR/logs/panel.log" | head -1 | grep -qF "font=\"$want_font\"" &&
  ok "the page is given the desktop font by name ($want_font)" ||
  bad "desktop font: $(grep "panel opened" "$REPXP_DATA_DIR/logs/panel.log" | head -1), expected $want_font"

# Settings, typed into the real form (not connected yet, so the panel opens on Settings):
# click each field, type, then click Save.
field() { xdotool mousemove $((wx + 190)) $((wy + $1)) click 1; sleep 0.2; xdotool key ctrl+a; xdotool type --delay 60 "$2"; }
field 309 "$url"
field 373 "e2e.rep@acme.test"
field 437 "test-key"
xdotool mousemove $((wx + 333)) $((wy + 500)) click 1
wait_for 10 "settings saved to the database" \
  sh -c "! '$app' status | grep -q 'not connected'"
wait_for 10 "API key stored in the keychain" \
  sh -c "secret-tool lookup service app.repxp.desktop username twenty-api-key | grep -qx test-key"
sleep 1
shot settings.png

# XP recorded by the CLI and by the dialer over the local award API reaches Twenty.
"$app" award 1200 --source academy >/dev/null
api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$REPXP_DATA_DIR/award-api.json")
api_award() { curl -sS -o /dev/null -w '%{http_code}' "$api/v1/awards" -H "authorization: Bearer $1" -d "$2"; }
[ "$(api_award wrong '{"kind":"xp","amount":999}')" = 401 ] && ok "the award API refuses a wrong secret" ||
  bad "the award API accepted a wrong secret"
[ "$(api_award "$(cat "$REPXP_DATA_DIR/award-api.secret")" '{"kind":"xp","amount":40,"source":"dialer"}')" = 201 ] &&
  ok "the award API records an award with the secret" || bad "the award API refused the right secret"
xdotool mousemove $((wx + 50)) $((wy + 240)) click 1 # Activity tab
wait_for 15 "awarded XP reaches Twenty (1,240)" twenty_has 1240
sleep 1.5
shot panel-synced.png

# Break Twenty (requests hang until the 20 s timeout) after the 15 s start grace.
while [ $((SECONDS - started)) -lt 16 ]; do sleep 0.5; done
curl -fsS -X POST "$url/__fake/faults" -H 'content-type: application/json' -d '{"kind":"hang"}' >/dev/null
"$app" award 30 --source dialer >/dev/null
"$app" award 15 --source dialer >/dev/null
wait_for 60 "one failure notification on D-Bus" notice_count_is "RepXP can't reach Twenty" 1
sleep 1
shot panel-offline.png
"$app" award 5 --source dialer >/dev/null
sleep 25 # more failed retries
notice_count_is "RepXP can't reach Twenty" 1 && ok "still one notification after more retries" ||
  bad "notifications per retry: $(notices "RepXP can't reach Twenty")"

# Recover through the panel: the error banner's "Retry now" button.
curl -fsS -X DELETE "$url/__fake/faults" >/dev/null
xdotool mousemove $((wx + 305)) $((wy + 218)) click 1
wait_for 40 "the queue drains to Twenty (1,290)" twenty_has 1290
wait_for 10 "one 'Back in sync' notification" notice_count_is "Back in sync" 1
grep -q "member=CloseNotification" "$work/notify.log" && ok "the failure notification was withdrawn" ||
  bad "the failure notification was not withdrawn (no CloseNotification)"

# Rejoining a network (DHCP adding an address) reaches the tray's network watch, which makes a
# sync waiting out its backoff retry at once. Needs root, like the rest of `make test`.
if ip addr add 10.254.253.1/32 dev lo 2>/dev/null; then
  wait_for 10 "the tray notices a network change" grep -q "network configuration changed" "$work/app.log"
  ip addr del 10.254.253.1/32 dev lo
else
  bad "cannot add a test address to lo (root and iproute2 needed)"
fi

# Single instance: a second launch raises the open panel and ends.
"$app" >"$work/second.out" 2>&1 && grep -q "already running" "$work/second.out" &&
  [ "$(panel_win | wc -l)" = 1 ] &&
  ok "a second launch ends at once and leaves one panel" || bad "second launch: $(cat "$work/second.out")"

# Start at login: the panel's toggle command, sent the way the panel process relays it, writes and
# removes the XDG autostart entry (HOME is the session's temp HOME).
ctl() { # ctl COMMAND_JSON: one relayed command over the tray's control socket; prints its result
  python3 - "$REPXP_DATA_DIR/app.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall((json.dumps({"op": "call", "id": 1, "command": json.loads(sys.argv[2])}) + "\n").encode())
for line in s.makefile():
    m = json.loads(line)
    if m.get("type") == "reply":
        print(json.dumps(m["result"]))
        break
PY
}
entry() { grep -ls "^Exec=.*repxp" "$HOME"/.config/autostart/*.desktop 2>/dev/null | head -1; }
ctl '{"name":"set_autostart","args":{"enabled":true}}' >/dev/null
[ -n "$(entry)" ] && ok "start at login writes an autostart entry ($(basename "$(entry)"))" ||
  bad "no autostart entry after enabling"
ctl '{"name":"set_autostart","args":{"enabled":false}}' >/dev/null
[ -z "$(entry)" ] && ok "turning it off removes the entry" || bad "autostart entry left after disabling"

# An event Twenty refuses for good is held back with Twenty's reason, the XP after it still lands,
# the panel says what is held and offers "Send again", which delivers it once Twenty takes it.
curl -fsS -X POST "$url/__fake/faults" -H 'content-type: application/json' \
  -d '{"kind":"reject_writes","contains":"poison","message":"Invalid value \"poison\" for field \"defeatedBosses\""}' >/dev/null
"$app" boss poison >/dev/null
"$app" award 10 --source dialer >/dev/null
wait_for 30 "a refused event is held back and the XP after it lands (1,300)" twenty_has 1300
held() { "$app" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["held"])'; }
[ "$(held)" = 1 ] && ok "status counts one held event" || bad "held: $(held)"
ctl '{"name":"get_overview"}' | grep -q '"kind": *"held_rejected"' &&
  ok "the panel is told what is held back and why" || bad "no held_rejected note in the overview"
sleep 1.5
shot panel-attention.png
curl -fsS -X DELETE "$url/__fake/faults" >/dev/null
ctl '{"name":"resolve_held","args":{"action":"retry"}}' >/dev/null
boss_on_twenty() { curl -fsS "$url/__fake/state" | grep -q 'poison'; }
wait_for 30 "Send again delivers it once Twenty takes it" boss_on_twenty
wait_for 10 "nothing is held back any more" sh -c "[ \"\$('$app' status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"held\"])')\" = 0 ]"

# A key replaced by `repxp connect` in another process reaches the running tray: a wrong key
# stops the sync (auth), the right one, stored from the command line, starts it again by itself.
echo wrong-key | "$app" connect --url "$url" --email e2e.rep@acme.test >/dev/null 2>&1 || true
"$app" award 7 --source dialer >/dev/null
wait_for 30 "a wrong key from the command line stops the tray's sync (auth)" \
  sh -c "'$app' status --json | grep -q '\"last_error_kind\": *\"auth\"'"
echo test-key | "$app" connect --url "$url" --email e2e.rep@acme.test >/dev/null 2>&1
wait_for 30 "the right key from the command line reaches the running tray (1,307)" twenty_has 1307

# The team view: the tray read the 200 reps (and the rep) from Twenty when the panel connected, in
# pages of 200; the panel's later reads within 5 minutes cost no request; the ranking is the one
# Twenty holds, with the rep's own row at their local XP.
read_at() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Ok"]["read_at"])' "$1"; }
ctl '{"name":"get_team"}' >"$work/team-a.json"
ctl '{"name":"get_team"}' >"$work/team-b.json"
[ -n "$(read_at "$work/team-a.json")" ] && [ "$(read_at "$work/team-a.json")" = "$(read_at "$work/team-b.json")" ] &&
  ok "team reads within 5 minutes are answered from the last reading (no request)" ||
  bad "team read again: $(head -c 300 "$work/team-b.json")"
python3 - "$work/team.json" "$work/team-b.json" <<'PY' && ok "the leaderboard ranks the fake's 200 reps and the rep as Twenty holds them" || bad "leaderboard differs"
import json, sys
truth = {e: x for e, x in json.load(open(sys.argv[1]))}
truth["e2e.rep@acme.test"] = 1307
team = json.load(open(sys.argv[2]))["Ok"]
rows = sorted(truth.items(), key=lambda r: (-r[1], r[0]))
got = [(m["email"], m["xp"]) for m in team["members"]]
me = [m["email"] for m in team["members"] if m["me"]]
ranks = [m["rank"] for m in team["members"]]
want_ranks = []
for i, (e, x) in enumerate(rows):
    want_ranks.append(want_ranks[-1] if i and rows[i - 1][1] == x else i + 1)
ok = got == rows and me == ["e2e.rep@acme.test"] and ranks == want_ranks and team["requests"] == 2
if not ok:
    print(len(got), len(rows), me, team["requests"], got[:3], rows[:3])
sys.exit(0 if ok else 1)
PY
python3 - "$work/yesterday.json" "$work/team-b.json" "$yesterday" <<'PY' && ok "each rep's change since yesterday: XP and places, against the reading kept yesterday" || bad "changes since yesterday differ"
import json, sys
then = json.load(open(sys.argv[1]))
team = json.load(open(sys.argv[2]))["Ok"]
rows = sorted(then.items(), key=lambda r: (-r[1], r[0]))
rank_then = {}
for i, (e, x) in enumerate(rows):
    rank_then[e] = rank_then[rows[i - 1][0]] if i and rows[i - 1][1] == x else i + 1
others = [m for m in team["members"] if not m["me"]]
bad = [(m["email"], m["xp_change"], m["rank_change"]) for m in others
       if (m["xp_change"], m["rank_change"]) != (m["xp"] - then[m["email"]], rank_then[m["email"]] - m["rank"])]
moved = sum(1 for m in others if m["rank_change"])
ok = team["since"] == sys.argv[3] and not bad and moved > 0 and len(others) == len(then) - 1
if not ok:
    print(team["since"], sys.argv[3], bad[:5], moved, len(others))
sys.exit(0 if ok else 1)
PY
xdotool mousemove $((wx + 200)) $((wy + 240)) click 1 # Team tab
sleep 1.5
shot panel-team.png
# The Progress tab: what is on Twenty and what waits (sync paused for the picture).
ctl '{"name":"set_paused","args":{"paused":true}}' >/dev/null
"$app" boss closer >/dev/null
"$app" exam objections --score 92 >/dev/null
"$app" metric talk_ratio 0.42 >/dev/null
xdotool mousemove $((wx + 130)) $((wy + 240)) click 1 # Progress tab
sleep 1.5
ctl '{"name":"get_overview"}' | python3 -c 'import json,sys; p=json.load(sys.stdin)["Ok"]["progression"]["pending_items"]; sys.exit(0 if p["bosses"]==["closer"] and p["exams"]==["objections"] else 1)' &&
  ok "the panel is told which bosses and exams are not on Twenty yet" || bad "pending items wrong"
shot panel-progress.png
ctl '{"name":"set_paused","args":{"paused":false}}' >/dev/null
wait_for 20 "the paused items reach Twenty" sh -c "curl -fsS '$url/__fake/state' | grep -q closer"
xdotool mousemove $((wx + 50)) $((wy + 240)) click 1 # Activity tab

# Closing the panel (a window manager's close: WM_DELETE_WINDOW) ends the panel process and every
# WebKit process with it: the tray process is left with no children.
cc -O2 -o "$work/wm-close" "$root/bench/wm-close.c" -lX11
no_children() { ! pgrep -P "$tray" >/dev/null; }
"$work/wm-close" "$(panel_win | head -1)"
wait_for 10 "closing the panel ends its process and its WebKit processes" no_children
kill -0 "$tray" 2>/dev/null && ok "the tray lives on with the panel closed" || bad "the tray quit with the panel"
"$launcher" >"$work/launcher.out" 2>&1 && grep -q "already running" "$work/launcher.out" &&
wait_panel 20 &&
  ok "the menu entry's launcher opens the panel again" || bad "no panel after the launcher: $(cat "$work/launcher.out")"
# The window came with the tray's overview, so its first paint shows the XP (window.rs).
tail -1 <(grep "panel opened" "$REPXP_DATA_DIR/logs/panel.log") | grep -q "first_overview=true" &&
  ok "the reopened panel got the tray's overview with its window" || bad "the panel opened without an overview"
sleep 1
check_preload reopened "$(echo "$flite" "$panel_llvm" | xargs | tr ' ' ':')"

# The tray menu: its first line carries XP, level and last sync. Right-click the tray icon.
icon=$(xwininfo -root -tree | grep "tray-icon tray app repxp" | grep -oE '\+[0-9]+\+[0-9]+$' | tail -1)
if [ -n "$icon" ]; then
  ok "the tray icon is shown"
  ix=$(cut -d+ -f2 <<<"$icon"); iy=$(cut -d+ -f3 <<<"$icon")
  crop=420x200+$((ix - 396))+$((iy + 24 - 200))
  import -window root -crop "$crop" +repage "$work/before.png"
  xdotool mousemove $((ix + 12)) $((iy + 11)) click 3
  sleep 1.5
  import -window root -crop "$crop" +repage "$shots/tray-menu.png"
  echo "screenshot $shots/tray-menu.png"
  changed=$(compare -metric AE "$work/before.png" "$shots/tray-menu.png" null: 2>&1 || true)
  [ "${changed%% *}" -gt 2000 ] 2>/dev/null && ok "the tray menu opens" || bad "no tray menu ($changed pixels changed)"
  xdotool key Escape
else
  bad "no tray icon in the tray host"
fi

# Sync without the tray: quit the tray, `repxp run` syncs headless and pushes an award; a tray
# started later asks it to hand over (through the database), and it stops cleanly.
kill "$tray"; wait "$tray" 2>/dev/null || true
"$app" run >"$work/run.out" 2>"$work/run.err" &
runner=$!
pids+=($runner)
wait_for 15 "repxp run syncs with no tray" grep -q "syncing" "$work/run.out"
"$app" award 3 --source dialer >/dev/null
wait_for 15 "with no tray, repxp run pushes the award (1,310)" twenty_has 1310
"$app" 2>"$work/app2.log" &
tray=$!
pids+=($tray)
wait_for 60 "a starting tray takes over from repxp run" grep -q "tray ready" "$work/app2.log"
runner_rc=0; wait "$runner" || runner_rc=$?
[ "$runner_rc" = 0 ] && grep -q "syncs this data from now on" "$work/run.err" &&
  ok "repxp run hands over and exits 0" || bad "runner: rc=$runner_rc $(cat "$work/run.err")"
"$app" award 4 --source dialer >/dev/null
wait_for 15 "the tray syncs after the handover (1,314)" twenty_has 1314

# A web page asks to send XP: one notification, the panel puts the question to the rep, the rep's
# click on Allow gives the page its token, and the page's award reaches Twenty. (README "Award XP from a web app"; tests/browser covers the browser.)
api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$REPXP_DATA_DIR/award-api.json")
page=https://dialer.example.com
"$launcher" >/dev/null 2>&1; wait_panel 20
request=$(curl -sS -X POST "$api/v1/pair" -H "origin: $page" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("request",""))')
[ -n "$request" ] && ok "a web page asks to pair" || bad "no pairing request"
wait_for 10 "one notification asks the rep about the page" notice_count_is "A web page wants to send XP" 1
asking() { ctl '{"name":"get_overview"}' | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["Ok"]["web"]["asking"]==sys.argv[1] else 1)' "$page"; }
wait_for 10 "the panel is told which page asks" asking
sleep 1.5
shot panel-web-ask.png
# The rep clicks Allow in the banner (the reopened panel may sit elsewhere: measure it again).
eval "$(xdotool getwindowgeometry --shell "$(panel_win | head -1)")"
wx=$X; wy=$Y
xdotool mousemove $((wx + 322)) $((wy + 203)) click 1
# Each origin also carries when the rep decided ("at"): only who and what are compared.
decided() { python3 -c 'import json,sys; w=json.load(sys.stdin)["Ok"]["web"]; print(json.dumps({"asking": w["asking"], "origins": [[o["origin"], o["state"]] for o in w["origins"]]}))'; }
allowed() { ctl '{"name":"get_overview"}' | decided | grep -qF "[\"$page\", \"allowed\"]"; }
wait_for 10 "the rep allows the page with the panel's Allow button" allowed
token=$(curl -sS "$api/v1/pair" -H "origin: $page" -H "x-repxp-pairing: $request" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("token",""))')
[ -n "$token" ] && ok "the page gets its token once the rep allowed it" || bad "no token for the page"
code=$(curl -sS -o /dev/null -w '%{http_code}' "$api/v1/awards" -H "origin: $page" -H "authorization: Bearer $token" \
  -d '{"kind":"xp","amount":6,"source":"dialer-web","id":"0d1a1e7b-0000-4000-8000-0000000e2e01"}')
[ "$code" = 201 ] && ok "the allowed page's award is recorded" || bad "the page's award: $code"
wait_for 15 "the page's award reaches Twenty (1,320)" twenty_has 1320
web=$(ctl '{"name":"get_overview"}' | decided)
[ "$web" = "{\"asking\": null, \"origins\": [[\"$page\", \"allowed\"]]}" ] &&
  ok "the panel lists the page as allowed, nothing asking" || bad "web pages in the overview: $web"

echo "e2e-gui: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
