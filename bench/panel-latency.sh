#!/usr/bin/env bash
# How soon XP recorded by `repxp award` (another process) shows in the open panel: the time from
# the CLI returning (committed) to the panel's pixels changing, RUNS times. Inside
# scripts/with-session.sh: `scripts/with-session.sh bench/panel-latency.sh [REPXP_BIN]`.
# Resolution is one `import` screenshot (~50-100 ms), which the figure includes.
set -uo pipefail
B=${1:-$(cd "$(dirname "$0")/.." && pwd)/target/debug/repxp}
RUNS=${RUNS:-5}
export REPXP_DATA_DIR=$(mktemp -d) REPXP_AWARD_PORT=0
trap 'kill $t 2>/dev/null; rm -rf "$REPXP_DATA_DIR"' EXIT
"$B" award 100 >/dev/null
"$B" --open-panel 2>/dev/null & t=$!
panel() { for w in $(xdotool search --onlyvisible --name '^RepXP$' 2>/dev/null); do
  [ "$(xdotool getwindowname "$w")" = RepXP ] && echo "$w"; done | head -1; }
for _ in $(seq 80); do w=$(panel); [ -n "$w" ] && break; sleep 0.25; done
[ -n "$w" ] || { echo "no panel"; exit 1; }
sleep 4 # first paint and the page's first overview
shot=$REPXP_DATA_DIR/shot
for n in $(seq "$RUNS"); do
  import -window "$w" "$shot-base.png"
  "$B" award 7 >/dev/null
  t1=$(date +%s%N)
  while :; do
    import -window "$w" "$shot-now.png"
    d=$(compare -metric AE "$shot-base.png" "$shot-now.png" null: 2>&1)
    [ "${d%% *}" -gt 50 ] 2>/dev/null && break
    [ $((($(date +%s%N) - t1) / 1000000)) -gt 5000 ] && { echo "run $n: not shown within 5 s"; continue 2; }
  done
  echo "run $n: shown $((($(date +%s%N) - t1) / 1000000)) ms after repxp award returned"
  sleep 3
done
