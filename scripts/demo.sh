#!/usr/bin/env bash
# `make demo`: the tray app against a local fake Twenty, in a throwaway data directory, so a
# newcomer can watch XP sync, take Twenty away, see the queue grow and drain when it is back.
# Usage: scripts/demo.sh [REPXP_BINARY] [FAKE_TWENTY_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
app=${1:-$root/target/debug/repxp}
fake=${2:-$root/target/debug/fake-twenty}
work=$(mktemp -d "${TMPDIR:-/tmp}/repxp-demo.XXXXXX")
fake_pid=""
cleanup() {
  [ -n "$fake_pid" ] && { kill -CONT "$fake_pid"; kill "$fake_pid"; } 2>/dev/null || true
  echo "demo data left in $work (delete it when done)" >&2
}
trap cleanup EXIT

# fake-twenty prints "listening on http://127.0.0.1:PORT" first; port 0 picks a free one.
coproc FAKE { exec "$fake" --port 0 --api-key test-key; }
fake_pid=$FAKE_PID
read -r -t 20 first <&"${FAKE[0]}" || { echo "fake-twenty did not start" >&2; exit 1; }
url=${first#listening on }

export REPXP_DATA_DIR="$work/data"
export REPXP_TWENTY_URL="$url"
export REPXP_REP_EMAIL="demo.rep@acme.test"
export REPXP_TWENTY_API_KEY="test-key"
# Short request timeout so a frozen Twenty shows as offline within seconds, not 20 s.
export REPXP_HTTP_TIMEOUT_MS=3000
mkdir -p "$REPXP_DATA_DIR"

# A helper with the demo's environment baked in.
cat >"$work/demo" <<HELPER
#!/usr/bin/env bash
# Demo controls: award N | offline | online | twenty | status | panel
export REPXP_DATA_DIR="$REPXP_DATA_DIR" REPXP_TWENTY_URL="$url" REPXP_REP_EMAIL="$REPXP_REP_EMAIL" REPXP_TWENTY_API_KEY=test-key REPXP_HTTP_TIMEOUT_MS=3000
case "\${1:-}" in
  award)   exec "$app" award "\${2:-50}" --source demo ;;
  offline) kill -STOP $fake_pid && echo "Twenty is frozen: requests time out (3 s), then RepXP shows offline" ;;
  online)  kill -CONT $fake_pid && echo "Twenty is back: press Retry now in the panel, or wait for the next retry" ;;
  twenty)  curl -fsS "$url/__fake/state"; echo ;;
  status)  exec "$app" status ;;
  panel)   DISPLAY="\${DISPLAY:-}" exec "$app" ;;
  *) echo "usage: \$0 award N | offline | online | twenty | status | panel" >&2; exit 2 ;;
esac
HELPER
chmod +x "$work/demo"

cat <<MSG

RepXP demo
  fake Twenty:  $url  (API key "test-key", rep $REPXP_REP_EMAIL)
  data:         $REPXP_DATA_DIR

Open the tray menu (or run "$work/demo panel" to open the panel), then in another terminal:
  $work/demo award 50     record XP: the panel shows it at once, it reaches Twenty ~2 s later
  $work/demo twenty       what Twenty holds now
  $work/demo offline      freeze Twenty (SIGSTOP), then award more: after the 3 s request timeout,
                          offline icon, a growing queue, one notification (none in the app's first 15 s)
  $work/demo online       thaw it (SIGCONT): Retry now (or the next retry) drains the queue, one
                          "Back in sync" notification
Quit from the tray menu (or Ctrl-C here) to end the demo.

MSG
"$root/scripts/run-app.sh" "$app" --open-panel
