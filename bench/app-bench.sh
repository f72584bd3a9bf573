#!/usr/bin/env bash
# The desktop app's benchmark (BENCHMARKS.md "The desktop app"): the release `repxp` side by side
# with a bare Tauri 2 tray app built with the same profile (bench/baseline-tray/), in ONE run, under
# Xvfb + a private D-Bus session + an unlocked gnome-keyring + a temp HOME (scripts/with-session.sh).
#
#   bench/app-bench.sh            build what is missing, measure, print Markdown tables
#   bench/app-bench.sh --build    rebuild both release binaries first (cargo decides what is stale)
#
# Measures, per app: RSS / anonymous (RssAnon) / PSS of every app process (main + WebKit children)
# with the panel never opened, open, and closed again after CYCLES open/close cycles (sampled every
# SAMPLE_EVERY cycles); CPU (utime+stime of the app and its children) and context switches (summed
# over every thread; voluntary ones are wake-ups) over IDLE seconds; spawn-to-"tray ready" wall time
# (STARTS runs each, interleaved, median); binary size. The panel is its own process (panel.rs), a
# child of the tray with the WebKit processes under it; "closed" means it and they have exited.
# The panel is opened like a rep does it (the desktop entry's launcher `repxp-open` while the tray
# runs) and closed like a window manager's close button does (WM_DELETE_WINDOW, bench/wm-close.c). RepXP runs on a temp REPXP_DATA_DIR with no
# Twenty configured, so the only timers are the scheduler's.
# Env: CYCLES (100) SAMPLE_EVERY (10) IDLE (60 s) STARTS (9) SETTLE (8 s) REPXP_BIN REPXP_OPEN_BIN BASELINE_BIN
#      BASELINE_TARGET (/tmp/baseline-tray-target: the baseline's cargo target dir, kept out of git).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export CYCLES=${CYCLES:-100} SAMPLE_EVERY=${SAMPLE_EVERY:-10} IDLE=${IDLE:-60} STARTS=${STARTS:-9} SETTLE=${SETTLE:-8}
export BASELINE_TARGET=${BASELINE_TARGET:-/tmp/baseline-tray-target}
export REPXP_BIN=${REPXP_BIN:-$root/target/release/repxp}
export REPXP_OPEN_BIN=${REPXP_OPEN_BIN:-$(dirname "$REPXP_BIN")/repxp-open}
export BASELINE_BIN=${BASELINE_BIN:-$BASELINE_TARGET/release/baseline-tray}

if [ "${APP_BENCH_INNER:-}" != 1 ]; then
  if [ "${1:-}" = --build ] || [ ! -x "$REPXP_BIN" ]; then
    (cd "$root" && cargo build --release -p repxp)
  fi
  if [ "${1:-}" = --build ] || [ ! -x "$REPXP_OPEN_BIN" ]; then
    (cd "$root" && cargo build --release -p repxp-cli --bin repxp-open)
  fi
  if [ "${1:-}" = --build ] || [ ! -x "$BASELINE_BIN" ]; then
    (cd "$root/bench/baseline-tray" && CARGO_TARGET_DIR=$BASELINE_TARGET cargo build --release)
  fi
  tools=$(mktemp -d)
  trap 'rm -rf "$tools"' EXIT
  cc -O2 -o "$tools/wm-close" "$root/bench/wm-close.c" -lX11
  cc -O2 -o "$tools/paint-probe" "$root/bench/paint-probe.c" -lX11 -lm
  export WM_CLOSE=$tools/wm-close PAINT_PROBE=$tools/paint-probe APP_BENCH_INNER=1
  "$root/scripts/with-session.sh" "$0" "$@"
  exit
fi

# ---- inside the session -------------------------------------------------------------------
# No -e from here: pgrep and friends return 1 for "none", which is an answer, not a failure.
set +e
work=$(mktemp -d)
export REPXP_DATA_DIR=$work/data RUST_LOG=info
unset REPXP_TWENTY_URL REPXP_REP_EMAIL REPXP_TWENTY_API_KEY
mkdir -p "$REPXP_DATA_DIR"
running=()
cleanup() { for p in "${running[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
tck=$(getconf CLK_TCK)
log() { echo "# $*" >&2; }

# The app process and all its descendants.
tree_pids() { local p=$1 c; echo "$p"; for c in $(pgrep -P "$p" || true); do tree_pids "$c"; done; }
kb() { if [ -r "$2" ]; then awk -v k="$1:" '$1 == k {print $2; f=1} END {if (!f) print 0}' "$2"; else echo 0; fi; }

# mem APP STATE PID: one row of the memory table; per-process detail goes to $work/detail.
mem() {
  local app=$1 state=$2 pid=$3 p n=0 web=0 net=0 trss=0 tanon=0 tpss=0 mrss mano rss anon pss comm names=""
  for p in $(tree_pids "$pid"); do
    [ -r /proc/$p/status ] || continue
    comm=$(cat /proc/$p/comm); rss=$(kb VmRSS /proc/$p/status); anon=$(kb RssAnon /proc/$p/status)
    pss=$(kb Pss /proc/$p/smaps_rollup)
    n=$((n + 1)); trss=$((trss + rss)); tanon=$((tanon + anon)); tpss=$((tpss + pss))
    case $comm in WebKitWebProces*) web=$((web + 1)) ;; WebKitNetworkPr*) net=$((net + 1)) ;; esac
    [ "$p" = "$pid" ] && { mrss=$rss; mano=$anon; }
    echo "| $app | $state | $comm | $((rss / 1024)) | $((anon / 1024)) | $((pss / 1024)) |" >>"$work/detail"
  done
  printf '| %s | %s | %d (%d web, %d network) | %.1f | %.1f | %.1f | %.1f | %.1f |\n' "$app" "$state" $n $web $net \
    "$(bc <<<"scale=1; $mrss/1024")" "$(bc <<<"scale=1; $mano/1024")" "$(bc <<<"scale=1; $trss/1024")" \
    "$(bc <<<"scale=1; $tanon/1024")" "$(bc <<<"scale=1; $tpss/1024")" >>"$work/mem"
  echo "$tanon" >"$work/last_tree_anon"; echo "$trss" >"$work/last_tree_rss"
}

ticks() { # utime+stime of the given pids, in clock ticks (fields 14, 15 after the "(comm)")
  local p t=0 s
  for p in "$@"; do s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null) || continue; set -- $s; t=$((t + ${12} + ${13})); done 2>/dev/null
  echo $t
}
threads() { # "pid/tid comm voluntary nonvoluntary" for every thread of the given pids
  local p t
  for p in "$@"; do for t in /proc/$p/task/*; do
    [ -r "$t/status" ] || continue
    echo "$p/${t##*/} $(tr ' ' _ <"$t/comm") $(kb voluntary_ctxt_switches "$t/status") $(kb nonvoluntary_ctxt_switches "$t/status")"
  done; done
}

# idle APP STATE PID: CPU and context switches of the app tree over IDLE seconds, nothing touched.
idle() {
  local app=$1 state=$2 pid=$3 pids t0 t1 perf_out vol invol top
  pids=$(tree_pids "$pid" | tr '\n' ' ')
  t0=$(ticks $pids); threads $pids >"$work/th0"
  if ! perf_out=$(perf stat -x, -e context-switches -p "$(echo $pids | tr ' ' ,)" -- sleep "$IDLE" 2>&1 >/dev/null); then
    perf_out=""; sleep "$IDLE"
  fi
  t1=$(ticks $pids); threads $pids >"$work/th1"
  # Threads present at both ends (a thread that exits in between loses its count; none did here).
  join <(sort "$work/th0") <(sort "$work/th1") | awk '{v=$6-$3; i=$7-$4; if (v+i>0) print $2, v, i}' >"$work/thd"
  vol=$(awk '{s+=$2} END {print s+0}' "$work/thd"); invol=$(awk '{s+=$3} END {print s+0}' "$work/thd")
  top=$(awk '{n[$1]+=$2} END {for (k in n) print n[k], k}' "$work/thd" | sort -rn | head -6 | awk '{printf "%s%s %s", (NR>1?", ":""), $2, $1}')
  local perf_cs; perf_cs=$(awk -F, '/context-switches/ {print $1}' <<<"$perf_out")
  printf '| %s | %s | %d | %.0f | %.2f | %d | %d | %s | %s |\n' "$app" "$state" "$(wc -w <<<"$pids")" \
    "$(bc <<<"($t1 - $t0) * 1000 / $tck")" "$(bc <<<"scale=4; ($t1 - $t0) * 100 / $tck / $IDLE")" \
    "$vol" "$invol" "${perf_cs:-n/a}" "${top:-none}" >>"$work/idle"
}

start_app() { # start_app BIN LOG: starts the app, waits for "tray ready", prints its pid
  local bin=$1 lg=$2 pid
  "$bin" >/dev/null 2>"$lg" &
  pid=$!
  for _ in $(seq 300); do grep -q "tray ready" "$lg" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  grep -q "tray ready" "$lg" || { echo "app did not start; log:" >&2; cat "$lg" >&2; exit 1; }
  echo $pid
}
stop_app() {
  local pid=$1 kids
  kids=$(tree_pids "$pid" | tail -n +2)
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  for _ in $(seq 50); do [ -z "$(for k in $kids; do kill -0 $k 2>/dev/null && echo $k; done)" ] && return; sleep 0.1; done
  log "children of $pid still alive after 5 s: $kids"
}

panel() { xdotool search --onlyvisible --name '^RepXP$' 2>/dev/null | head -1; }
now() { date +%s%N; }
# open_panel: a second launch (the desktop entry's `repxp-open`); prints ms from launch to painted (the
# panel shows more than its flat background), or "timeout". bench/paint-probe.c starts the launch
# and looks at the window every 5 ms from one process; the ImageMagick `import` per look that this
# script used before took ~100 ms a look and competed with the panel for the CPUs. The time to the
# window's first map goes to $work/mapped.
open_panel() {
  local r; r=$("$PAINT_PROBE" 20000 "$REPXP_OPEN_BIN")
  [ "$r" = timeout ] && { echo timeout; return; }
  echo "${r% *}" >>"$work/mapped"
  echo "${r#* }"
}
close_panel() {
  local w; w=$(panel); [ -n "$w" ] && "$WM_CLOSE" $w
  for _ in $(seq 100); do [ -z "$(panel)" ] && return; sleep 0.05; done
  log "panel still visible 5 s after WM_DELETE_WINDOW"
}
# Processes under the tray: the panel process and its WebKit children while the panel is open.
kids() { tree_pids "$1" | tail -n +2 | wc -l; }
wait_web_gone() { # prints ms until the tray has no child processes left (or "timeout" after 60 s)
  local t0; t0=$(now)
  for _ in $(seq 600); do [ "$(kids "$1")" = 0 ] && { echo $((($(now) - t0) / 1000000)); return; }; sleep 0.1; done
  echo timeout
}

: >"$work/mem"; : >"$work/idle"; : >"$work/detail"; : >"$work/cycles"; : >"$work/mapped"
BL=baseline-tray; RX=repxp

# 0. Warm-up, not measured: the first GTK app of a fresh session pays for caches (fontconfig in the
# temp HOME) and D-Bus activations (a11y bus, portals); start and stop each app once first.
log "warm-up: each app once"
for b in "$BASELINE_BIN" "$REPXP_BIN"; do p=$(start_app "$b" "$work/warmup.log"); sleep "$SETTLE"; stop_app "$p"; done

# 1. The baseline: tray only (it never creates a window).
log "baseline: start, settle ${SETTLE}s, memory, ${IDLE}s idle"
bpid=$(start_app "$BASELINE_BIN" "$work/baseline.log"); running+=("$bpid")
sleep "$SETTLE"
mem $BL "(a) tray only" "$bpid"
base_anon=$(cat "$work/last_tree_anon"); base_rss=$(cat "$work/last_tree_rss")
idle $BL "tray only" "$bpid"
stop_app "$bpid"

# 2. RepXP: tray only, panel open, then CYCLES open/close cycles.
log "repxp: start, settle ${SETTLE}s, memory, ${IDLE}s idle"
rpid=$(start_app "$REPXP_BIN" "$work/repxp.log"); running+=("$rpid")
sleep "$SETTLE"
mem $RX "(a) tray only, panel never opened" "$rpid"
rx_a_anon=$(cat "$work/last_tree_anon"); rx_a_rss=$(cat "$work/last_tree_rss")
kb RssAnon /proc/$rpid/status >"$work/rx_a_main_anon"
idle $RX "tray only" "$rpid"
log "repxp: open the panel"
first_open=$(open_panel); sleep 3
mem $RX "(b) panel open" "$rpid"
import -window "$(panel)" "$work/panel-normal.png"
close_panel; gone=$(wait_web_gone "$rpid"); sleep 2
mem $RX "closed after 1 cycle" "$rpid"
echo "| 1 |$(tail -1 "$work/mem" | cut -d'|' -f4-8)| $gone |" >>"$work/cycles"
opens=()
for i in $(seq 2 "$CYCLES"); do
  opens+=("$(open_panel)")
  sleep 0.3 # the page's first IPC round trips
  close_panel
  if [ $((i % SAMPLE_EVERY)) = 0 ]; then
    left=$(kids "$rpid"); gone=$(wait_web_gone "$rpid"); sleep 2
    mem $RX "closed after $i cycles" "$rpid"
    echo "| $i |$(tail -1 "$work/mem" | cut -d'|' -f4-8)| $gone (processes just after close: $left) |" >>"$work/cycles"
    log "cycle $i"
  fi
done
sleep "$SETTLE"
mem $RX "(c) closed after $CYCLES cycles" "$rpid"
rx_c_anon=$(cat "$work/last_tree_anon"); rx_c_rss=$(cat "$work/last_tree_rss")
rx_c_main_anon=$(kb RssAnon /proc/$rpid/status)
idle $RX "panel closed after $CYCLES cycles" "$rpid"
created=$(grep -c "panel opened" "$work/repxp.log" || true)

stop_app "$rpid"

# 4. Start to tray ready: spawn to the "tray ready" line on stderr, interleaved runs.
log "start-up: $STARTS runs each"
cat >"$work/start.py" <<'PY'
import subprocess, sys, time, re
t0 = time.monotonic()
p = subprocess.Popen([sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
own = ""
for line in p.stderr:
    if "tray ready" in line:
        ms = (time.monotonic() - t0) * 1000
        m = re.search(r"ms=(\d+)", re.sub(r"\x1b\[[0-9;]*m", "", line))
        own = m.group(1) if m else ""
        break
else:
    ms = -1
p.terminate(); p.wait()
print(f"{ms:.0f} {own}")
PY
: >"$work/start-$BL"; : >"$work/start-$RX"
for i in $(seq "$STARTS"); do
  python3 "$work/start.py" "$BASELINE_BIN" >>"$work/start-$BL"; sleep 1
  python3 "$work/start.py" "$REPXP_BIN" >>"$work/start-$RX"; sleep 1
done
stats() { sort -n | awk '{a[NR]=$1} END {printf "%d | %d | %d", a[int((NR+1)/2)], a[1], a[NR]}'; }

# ---- report ------------------------------------------------------------------------------------
echo "### Memory (MB; RSS and RssAnon from /proc/PID/status, PSS from smaps_rollup; tree = main + children)"
echo
echo "| app | state | processes | main RSS | main anon | tree RSS | tree anon | tree PSS |"
echo "|---|---|---|---|---|---|---|---|"
cat "$work/mem"
echo
echo "Panel windows created: $created for $CYCLES opens (each close destroyed the window)."
echo "First open, launch to painted: ${first_open} ms; later opens median/min/max:" \
  "$(printf '%s\n' "${opens[@]}" | grep -v timeout | stats) ms; opens that did not paint within 20 s: $(printf '%s\n' "${opens[@]}" | grep -c timeout || true)."
echo "Launch to the window's first map (all opens) median/min/max: $(stats <"$work/mapped") ms."
echo
echo "### Over the cycles (tree, MB; last column: ms from close until the panel process and its WebKit processes had exited)"
echo
echo "| cycle | processes | main RSS | main anon | tree RSS | tree anon | panel exit ms |"
echo "|---|---|---|---|---|---|---|"
cat "$work/cycles"
echo
echo "### Per process (MB)"
echo
echo "| app | state | process | RSS | anon | PSS |"
echo "|---|---|---|---|---|---|"
cat "$work/detail"
echo
echo "### Idle ${IDLE} s (nothing touched)"
echo
echo "| app | state | processes | CPU ms | CPU % of one core | voluntary switches (wake-ups) | involuntary | perf context-switches | wake-ups by thread |"
echo "|---|---|---|---|---|---|---|---|---|"
cat "$work/idle"
echo
echo "### Start to tray ready (ms, spawn to the \"tray ready\" line on stderr, $STARTS runs each, interleaved)"
echo
echo "| app | median | min | max | app's own measure (median, from process start to tray) |"
echo "|---|---|---|---|---|"
echo "| $BL | $(awk '{print $1}' "$work/start-$BL" | stats) | $(awk '{print $2}' "$work/start-$BL" | stats | cut -d' ' -f1) |"
echo "| $RX | $(awk '{print $1}' "$work/start-$RX" | stats) | $(awk '{print $2}' "$work/start-$RX" | stats | cut -d' ' -f1) |"
echo
echo "### Release binary"
echo
echo "| app | bytes | MB |"
echo "|---|---|---|"
for b in "$BASELINE_BIN" "$REPXP_BIN"; do
  s=$(stat -c %s "$b"); printf '| %s | %d | %.1f |\n' "$(basename "$b")" "$s" "$(bc <<<"scale=1; $s/1048576")"
done
echo
echo "### Ratios"
echo
r() { bc <<<"scale=3; $1 / $2"; }
echo "- tree anon, closed after $CYCLES cycles / baseline tray only: $(r "$rx_c_anon" "$base_anon") ($((rx_c_anon / 1024)) / $((base_anon / 1024)) MB)"
echo "- tree RSS,  closed after $CYCLES cycles / baseline tray only: $(r "$rx_c_rss" "$base_rss") ($((rx_c_rss / 1024)) / $((base_rss / 1024)) MB)"
echo "- tree anon, closed after $CYCLES cycles / RepXP tray only:    $(r "$rx_c_anon" "$rx_a_anon")"
echo "- tree RSS,  closed after $CYCLES cycles / RepXP tray only:    $(r "$rx_c_rss" "$rx_a_rss")"
echo "- RepXP main-process anon after the cycles: $((rx_c_main_anon / 1024)) MB"
echo "- RepXP main-process anon before the first open: $(( $(awk '{print $1}' "$work/rx_a_main_anon") / 1024 )) MB"
