# Shared by tests/windows/cli.sh, tray.sh and installer.sh: the Windows build's paths, a native fake-twenty on
# a free loopback port, the rep's record on it, and cleanup of everything started.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${TEST_WINDOWS_TARGET_DIR:-$root/target/windows}"
bin_dir="$target/x86_64-pc-windows-gnu/debug"
cli_exe="$bin_dir/repxp-cli.exe"
fake="${CARGO_TARGET_DIR:-$root/target}/debug/fake-twenty"
[ -x "$fake" ] || { echo "no $fake: cargo build -p repxp-fake-twenty" >&2; exit 1; }
[ -f "$cli_exe" ] || { echo "no $cli_exe: run scripts/test-windows.sh first" >&2; exit 1; }
export WINEPREFIX="${WINEPREFIX:-$target/wineprefix}"
wine_cli() { "$here/wine-run.sh" "$cli_exe" "$@"; }
local_app="$WINEPREFIX/drive_c/users/$(id -un)/AppData/Local"

fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
finish() { echo "$(basename "$0"): $fails failed"; [ "$fails" = 0 ]; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wineserver -k 2>/dev/null || true
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="wine-key-$RANDOM$RANDOM"
"$fake" --port "$port" --api-key "$key" >"/tmp/repxp-wine-fake-$port.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  [ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/rest/repProgressions")" != 000 ] && break
  sleep 0.1
done

record() {
  curl -sf -H "Authorization: Bearer $key" \
    "http://127.0.0.1:$port/rest/repProgressions?filter=repEmail%5Beq%5D%3A%22ana%40acme.test%22" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["repProgressions"]; print(json.dumps(r[0] if r else {}))'
}
field() { record | python3 -c "import json,sys; r=json.load(sys.stdin); v=r.get('$1'); print(len(json.loads(v)) if '$1'=='syncWatermarks' and v else v)"; }
# Waits up to 30 s for Twenty's totalXp to read $1.
await_total() { for _ in $(seq 60); do [ "$(field totalXp)" = "$1" ] && return 0; sleep 0.5; done; return 1; }

# A rep's first day: nothing of an earlier run, then `connect` (the key into Credential Manager).
connect_rep() {
  rm -rf "$local_app/repxp" "$local_app/repxp-identity"
  echo "$key" | wine_cli connect --url "http://127.0.0.1:$port" --email ana@acme.test >/dev/null
}
id_of() { printf '7e57a11d-0000-4000-8000-%012d' "$1"; }

# A private virtual display for repxp.exe (Wine draws the notification area on it).
start_display() {
  local n=90
  while [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
  Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  pids+=($!)
  export DISPLAY=":$n"
}
# Waits up to 60 s for the tray's "tray ready" line.
await_tray_ready() {
  for _ in $(seq 240); do grep -qs "tray ready" "$local_app/repxp/logs/tray.log" && return 0; sleep 0.25; done
  return 1
}
