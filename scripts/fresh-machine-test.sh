#!/usr/bin/env bash
# Proves the fresh-machine claims in a clean Debian 12 root (debootstrap, ../shared/tools/fresh-root.sh
# or its copy below), as root:
#   deb       the .deb from `make package` installs with its Depends; its menu entry (the launcher
#             repxp-open) reaches "tray ready" under Xvfb with the panel open, and a second click
#             reaches that tray; without a display it says so in one line; the systemd user unit.
#   make-run  `make run` from a clean clone with no desktop: installs what it needs, builds, and
#             reaches "tray ready" in its virtual session.
# Usage: scripts/fresh-machine-test.sh deb|make-run   (FRESH_ROOT=DIR keeps the root for a look;
# FRESH_REV=commit tests that commit instead of HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
what=${1:?usage: fresh-machine-test.sh deb|make-run}
tool=../shared/tools/fresh-root.sh
[ -x "$tool" ] || { echo "needs $tool (a debootstrap wrapper)" >&2; exit 2; }
root=${FRESH_ROOT:-$(mktemp -d /tmp/fresh-root.XXXXXX)}
[ -n "${FRESH_ROOT:-}" ] || trap 'rm -rf --one-file-system "$root"' EXIT
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
fail() { echo "FAILED: $*"; exit 1; }

start=$SECONDS
"$tool" create "$root"
echo "root ready in $((SECONDS - start)) s"

case "$what" in
deb)
  deb=$(ls -t target/release/bundle/deb/*.deb "${CARGO_TARGET_DIR:-target}"/release/bundle/deb/*.deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || fail "no .deb: run make package first"
  cp "$deb" "$root/tmp/repxp.deb"
  # What a rep's desktop has anyway (a display, a session bus) comes from the test; the rest must
  # come from the package's Depends.
  "$tool" run "$root" -- 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends /tmp/repxp.deb xvfb xauth dbus-daemon >/tmp/install.log 2>&1 ||
    { tail -20 /tmp/install.log; exit 1; }
    dpkg-query -W -f="\${Depends}\n" repxp > /tmp/depends
    (env -u DISPLAY repxp --data-dir /tmp/nodisplay; echo "rc=$?") > /tmp/nodisplay.out 2>&1
    # The menu entry as a rep clicks it: its Exec starts the tray, then a second click asks it
    # for the panel.
    exec=$(sed -n "s/^Exec=//p" /usr/share/applications/repxp.desktop); echo "$exec" > /tmp/exec
    xvfb-run -a dbus-run-session -- sh -c "timeout 30 $exec --data-dir /tmp/repxp-data > /tmp/tray.log 2>&1 &
      for i in \$(seq 300); do grep -q \"tray ready\" /tmp/tray.log && break; sleep 0.1; done
      $exec --data-dir /tmp/repxp-data > /tmp/second.out 2>&1; echo rc=\$? >> /tmp/second.out; wait" || true
    repxp --data-dir /tmp/repxp-data status > /tmp/status.out 2>&1 || true'
  echo "Depends: $(cat "$root/tmp/depends")"
  [ "$(cat "$root/tmp/exec")" = repxp-open ] && [ -x "$root/usr/bin/repxp-open" ] &&
    ok "the menu entry runs the launcher /usr/bin/repxp-open" || fail "menu entry Exec: $(cat "$root/tmp/exec")"
  grep -q "tray ready" "$root/tmp/tray.log" && ok "the menu entry of the installed .deb reaches \"tray ready\" under Xvfb" ||
    { cat "$root/tmp/tray.log"; fail "no \"tray ready\" from the installed package"; }
  grep -q "panel process started" "$root/tmp/tray.log" && ok "the first click opens the panel" ||
    { cat "$root/tmp/tray.log"; fail "the first click did not open the panel"; }
  grep -q "already running; its panel is open" "$root/tmp/second.out" && grep -q "rc=0" "$root/tmp/second.out" &&
    ok "a second click reaches the running tray" || fail "second click: $(cat "$root/tmp/second.out")"
  out=$(cat "$root/tmp/nodisplay.out")
  { grep -q "rc=1" <<<"$out" && ! grep -qi "panicked\|backtrace" <<<"$out" && [ "$(wc -l <<<"$out")" -eq 2 ]; } &&
    ok "no display: one line and exit 1 ($(head -1 <<<"$out" | cut -c1-80)…)" || fail "no display: $out"
  grep -q "not connected" "$root/tmp/status.out" && ok "the CLI of the package answers: $(head -1 "$root/tmp/status.out")" ||
    fail "status: $(cat "$root/tmp/status.out")"
  grep -q "ExecStart=/usr/bin/repxp run" "$root/usr/lib/systemd/user/repxp-sync.service" &&
    ok "the systemd user unit is installed" || fail "no systemd user unit in the package"
  ;;
make-run)
  # A newcomer's machine: git and make, Rust from rustup (bound from this machine), a clean clone.
  git clone -q "$repo" "$root/src/app"
  # FRESH_REV: another commit than HEAD (e.g. to check one while HEAD is being worked on).
  [ -z "${FRESH_REV:-}" ] || git -C "$root/src/app" checkout -q "$FRESH_REV"
  mkdir -p "$root/root/.cargo" "$root/root/.rustup" "$root/cache"
  cache=${FRESH_CACHE:-/work/fresh-target}
  mkdir -p "$cache"
  "$tool" run "$root" --bind "$HOME/.cargo:/root/.cargo" --bind "$HOME/.rustup:/root/.rustup" \
    --bind "$cache:/cache" -- 'export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends make ca-certificates >/dev/null
    cd /src/app && unset DISPLAY WAYLAND_DISPLAY
    CARGO_TARGET_DIR=/cache timeout 3000 make run > /tmp/make-run.log 2>&1 &
    for i in $(seq 3000); do grep -q "tray ready" /tmp/make-run.log 2>/dev/null && break; kill -0 $! 2>/dev/null || break; sleep 1; done
    pkill -x repxp || true; wait || true'
  grep -q "tray ready" "$root/tmp/make-run.log" &&
    ok "make run on a fresh machine with no desktop reaches \"tray ready\" ($(grep -c "^installing" "$root/tmp/make-run.log") install steps)" ||
    { tail -30 "$root/tmp/make-run.log"; fail "make run did not reach tray ready"; }
  ! grep -qi "panicked" "$root/tmp/make-run.log" && ok "no panic in the log" || fail "a panic in make run"
  ;;
*) echo "usage: fresh-machine-test.sh deb|make-run" >&2; exit 2 ;;
esac
echo "$passed passed in $((SECONDS - start)) s"
