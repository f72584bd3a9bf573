#!/usr/bin/env bash
# Runs a command inside a throwaway desktop session: Xvfb on a free display, a private D-Bus
# session bus and an unlocked gnome-keyring (secret service), with HOME in a temp dir so nothing
# touches the real user's keychain. Everything it starts is stopped when the command ends.
set -euo pipefail
if [ "${REPXP_IN_SESSION:-}" = 1 ]; then exec "$@"; fi
work=$(mktemp -d)
cleanup() {
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null || true
  # GTK apps D-Bus-activate xdg-document-portal, which FUSE-mounts ~/.cache/doc in our temp HOME.
  fusermount -uz "$work/home/.cache/doc" 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT
for d in $(seq 90 130); do
  [ -e /tmp/.X11-unix/X$d ] || [ -e /tmp/.X$d-lock ] || { disp=$d; break; }
done
Xvfb ":$disp" -screen 0 1280x800x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$disp" ] && break; sleep 0.1; done
cat >"$work/inner.sh" <<'INNER'
#!/usr/bin/env bash
set -euo pipefail
# An unlocked login keyring for this session only.
eval "$(printf 'repxp-test' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null | sed 's/^/export /')"
export REPXP_IN_SESSION=1
status=0
"$@" || status=$?
exit $status
INNER
chmod +x "$work/inner.sh"
# cargo and rustup find their homes from HOME: pin them before HOME moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
mkdir -p "$work/home/.local/share" "$work/home/.cache"
export HOME="$work/home" XDG_DATA_HOME="$work/home/.local/share" XDG_CACHE_HOME="$work/home/.cache"
export DISPLAY=":$disp"
dbus-run-session -- "$work/inner.sh" "$@"
