#!/usr/bin/env bash
# Opening the panel, two builds side by side (BENCHMARKS.md "Opening the panel"): both trays run in
# one private session (scripts/with-session.sh), each on its own temp data directory, and the
# panel is opened by a second launch and closed again, alternating between the two builds, so
# both see the same machine at the same moments. Prints per build: the first open, then the
# median/min/max of the others, launch to painted (bench/paint-probe.c) and launch to mapped.
#   bench/panel-open.sh OLD NEW      Env: OPENS (30)
# OLD and NEW are TRAY_BIN or TRAY_BIN,LAUNCH_BIN: the tray, and what a second launch runs (the
# tray binary itself unless given; `repxp-open` for the desktop entry's launcher).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${PANEL_OPEN_INNER:-}" != 1 ]; then
  tools=$(mktemp -d); trap 'rm -rf "$tools"' EXIT
  cc -O2 -o "$tools/paint-probe" "$root/bench/paint-probe.c" -lX11 -lm
  cc -O2 -o "$tools/wm-close" "$root/bench/wm-close.c" -lX11
  PANEL_OPEN_INNER=1 PAINT_PROBE=$tools/paint-probe WM_CLOSE=$tools/wm-close \
    "$root/scripts/with-session.sh" "$0" "$@"
  exit
fi
set +e
builds=("$1" "$2"); opens=${OPENS:-30}
bins=("${1%%,*}" "${2%%,*}"); launchers=("${1#*,}" "${2#*,}")
work=$(mktemp -d); pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
unset REPXP_TWENTY_URL REPXP_REP_EMAIL REPXP_TWENTY_API_KEY
for i in 0 1; do
  mkdir -p "$work/d$i"
  REPXP_DATA_DIR=$work/d$i "${bins[$i]}" >/dev/null 2>"$work/tray$i.log" &
  pids+=($!)
  for _ in $(seq 300); do grep -q "tray ready" "$work/tray$i.log" && break; sleep 0.1; done
done
sleep 3
close() {
  local w; w=$(xdotool search --onlyvisible --name '^RepXP$' 2>/dev/null | head -1)
  [ -n "$w" ] && "$WM_CLOSE" "$w"
  for _ in $(seq 100); do [ -z "$(pgrep -P "$1")" ] && return; sleep 0.05; done
}
for n in $(seq "$opens"); do
  for i in 0 1; do
    REPXP_DATA_DIR=$work/d$i "$PAINT_PROBE" 20000 "${launchers[$i]}" >>"$work/open$i"
    sleep 0.3; close "${pids[$i]}"; sleep 0.5
  done
done
stats() { sort -n | awk '{a[NR]=$1} END {printf "%d / %d / %d", a[int((NR+1)/2)], a[1], a[NR]}'; }
echo "| build | first open, ms | later opens: median / min / max, ms | later opens over 600 ms | launch to mapped: median, ms | timeouts |"
echo "|---|---|---|---|---|---|"
for i in 0 1; do
  f=$(head -1 "$work/open$i" | awk '{print $2}')
  later=$(tail -n +2 "$work/open$i" | grep -v timeout | awk '{print $2}' | stats)
  mapped=$(grep -v timeout "$work/open$i" | awk '{print $1}' | stats | cut -d' ' -f1)
  slow=$(tail -n +2 "$work/open$i" | grep -v timeout | awk '$2 > 600' | wc -l)
  echo "| ${builds[$i]} | $f | $later | $slow of $((opens - 1)) | $mapped | $(grep -c timeout "$work/open$i") |"
done
