#!/usr/bin/env bash
# Starts the tray app. Without a display (a server, an SSH session) it says so and runs it under
# a throwaway Xvfb session instead, so `make run` never fails for lack of a desktop.
set -euo pipefail
bin=${1:?usage: run-app.sh BINARY [ARGS...]}; shift
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin" "$@"
fi
echo "no DISPLAY: running RepXP in a virtual session (Xvfb); use a desktop session to see the tray" >&2
# What that session needs (`make test` installs the same and more).
"$(dirname "$0")/apt-ensure.sh" xvfb xauth dbus-daemon gnome-keyring
exec "$(dirname "$0")/with-session.sh" "$bin" "$@"
