#!/usr/bin/env bash
# Cargo's target runner for x86_64-pc-windows-gnu: runs a Windows program under Wine in a
# throwaway prefix of the project's own (never the developer's ~/.wine). The prefix is made once
# and given bcryptprimitives.dll (process_prng.c), which Wine 8 lacks and Rust's std needs.
# Usage: tests/windows/wine-run.sh program.exe [args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export WINEPREFIX="${WINEPREFIX:-$root/target/windows/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
# No Mono or Gecko download prompts: nothing here is .NET or HTML.
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
system32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -f "$system32/bcryptprimitives.dll" ]; then
  mkdir -p "$(dirname "$WINEPREFIX")"
  # Two runners starting at once (cargo runs test binaries one by one, but be safe) make it once.
  exec 9>"$WINEPREFIX.lock"
  flock 9
  if [ ! -f "$system32/bcryptprimitives.dll" ]; then
    wine wineboot --init >/dev/null 2>&1
    wineserver -w
    x86_64-w64-mingw32-gcc -shared -O2 -o "$system32/bcryptprimitives.dll" "$here/process_prng.c"
  fi
  flock -u 9
fi
exec wine "$@"
