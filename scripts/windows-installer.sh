#!/usr/bin/env bash
# RepXP's Windows installer from the Windows build in target/windows (packaging/windows/repxp.nsi,
# Debian's makensis). Prints the installer's path.
# Usage: scripts/windows-installer.sh [debug|release]   (the profile repxp.exe was built with)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-release}"
target="${TEST_WINDOWS_TARGET_DIR:-target/windows}"
bin="$target/x86_64-pc-windows-gnu/$profile"
for exe in repxp.exe repxp-cli.exe repxp-open.exe; do
  [ -f "$bin/$exe" ] || { echo "no $bin/$exe: scripts/windows-cargo.sh build -p repxp -p repxp-cli$([ "$profile" = release ] && echo " --release")" >&2; exit 1; }
done
scripts/apt-ensure.sh nsis
conf() { python3 -c "import json; print(json.load(open('tauri.conf.json'))['$1'])"; }
version="$(conf version)"
out="$target/RepXP_${version}_x64-setup.exe"
makensis -V2 -DVERSION="$version" -DAUMID="$(conf identifier)" -DBIN="$PWD/$bin" \
  -DICON="$PWD/icons/icon.ico" -DPNG="$PWD/icons/128x128.png" -DOUT="$PWD/$out" \
  packaging/windows/repxp.nsi >&2
echo "$out"
